// swift-tools-version:6.0
//
// plugworker: a Celery worker whose tasks are native code in shared libraries.
//
// Targets, from the bottom up:
//   CPlugworker        the public plugin ABI: one documented C header
//   CFFI, CRabbitMQ    system libraries (libffi, rabbitmq-c) with thin shims
//   CPlugworkerSystem  small C shims for what Swift cannot reach directly
//                      (thread-locals, variadic prctl, signal-safe flags)
//   CZlib              zlib, for Celery's compressed bodies
//   PlugworkerCore     the host: JSON, plugin loader, registry, libffi calls
//   PlugworkerBroker   AMQP 0-9-1 over rabbitmq-c: URL, connection, tables
//   PlugworkerCelery   Celery's wire protocol: task messages, results, canvas
//   PlugworkerClient   the producer library: send tasks, wait for results
//   PlugworkerPool     the prefork pool: zygote, pool processes, frames
//   PlugworkerBeat     the periodic scheduler: crontab, time zones, state
//   PlugworkerWorker   the worker: Hub, consumer, strategies, requests
//   plugworker         the command-line tool
//   plugworker-bench   benchmarks (release builds, never timed tests)
//   plugworker-fuzz    libFuzzer targets (scripts/fuzz.sh), and their replay
//   plugworker-client-example   Examples/swift-producer (PlugworkerClient)
import PackageDescription

let package = Package(
    name: "plugworker",
    products: [
        .executable(name: "plugworker", targets: ["plugworker"]),
        .library(name: "PlugworkerCore", targets: ["PlugworkerCore"]),
        .library(name: "PlugworkerClient", targets: ["PlugworkerClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
    ],
    targets: [
        .target(name: "CPlugworker"),
        .systemLibrary(
            name: "CFFI",
            pkgConfig: "libffi",
            providers: [.apt(["libffi-dev"])]
        ),
        .systemLibrary(
            name: "CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        .target(name: "CPlugworkerSystem"),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "PlugworkerCore",
            dependencies: [
                "CPlugworker",
                "CFFI",
                "CPlugworkerSystem",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "PlugworkerBroker",
            dependencies: [
                "CRabbitMQ",
                "PlugworkerCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "PlugworkerCelery",
            dependencies: ["CZlib", "PlugworkerCore", "PlugworkerBroker"]
        ),
        .target(
            name: "PlugworkerClient",
            dependencies: ["PlugworkerCore", "PlugworkerBroker", "PlugworkerCelery"]
        ),
        .executableTarget(
            name: "plugworker-client-example",
            dependencies: ["PlugworkerClient"],
            path: "Examples/swift-producer",
            exclude: ["README.md"]
        ),
        .target(
            name: "PlugworkerBeat",
            dependencies: ["PlugworkerCore"]
        ),
        .target(
            name: "PlugworkerPool",
            dependencies: [
                "CPlugworkerSystem",
                "PlugworkerCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "PlugworkerWorker",
            dependencies: [
                "CPlugworker",
                "CPlugworkerSystem",
                "PlugworkerCore",
                "PlugworkerBroker",
                "PlugworkerCelery",
                "PlugworkerPool",
                "PlugworkerBeat",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "plugworker",
            dependencies: [
                "PlugworkerCore",
                "PlugworkerBroker",
                "PlugworkerCelery",
                "PlugworkerClient",
                "PlugworkerPool",
                "PlugworkerWorker",
                "PlugworkerBeat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "CFuzzerDriver"),
        .executableTarget(
            name: "plugworker-fuzz",
            dependencies: ["CFuzzerDriver", "PlugworkerCore", "PlugworkerBroker", "PlugworkerCelery",
                           .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "plugworker-bench",
            dependencies: ["PlugworkerCore", "CFFI", "CPlugworker"]
        ),
        .testTarget(
            name: "PlugworkerCoreTests",
            dependencies: ["PlugworkerCore", "CPlugworker", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "PlugworkerBrokerTests",
            dependencies: ["PlugworkerBroker", "PlugworkerCore"]
        ),
        .testTarget(
            name: "PlugworkerCeleryTests",
            dependencies: ["PlugworkerCelery", "PlugworkerBroker", "PlugworkerCore"],
            exclude: ["Vectors"]
        ),
        .testTarget(
            name: "PlugworkerWorkerTests",
            dependencies: ["PlugworkerWorker", "PlugworkerCore", "PlugworkerCelery", "PlugworkerBroker",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "Metrics", package: "swift-metrics"),
                           .product(name: "Prometheus", package: "swift-prometheus")],
            exclude: ["EventVectors", "Vectors"]
        ),
        .testTarget(
            name: "PlugworkerClientTests",
            dependencies: ["PlugworkerClient"]
        ),
        .testTarget(
            name: "PlugworkerBeatTests",
            dependencies: ["PlugworkerBeat", "PlugworkerCore"]
        ),
        .testTarget(
            name: "PlugworkerPoolTests",
            dependencies: ["PlugworkerPool", "PlugworkerCore"],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
