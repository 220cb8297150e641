#if canImport(Glibc)
import Glibc
#endif
import CFuzzerDriver
import Logging
import PlugworkerBroker
import PlugworkerCelery
import PlugworkerCore

/// The fuzz targets: what untrusted bytes reach in plugworker.
///
/// - `decoder`: a delivery's headers and body through `TaskMessageDecoder`
///   (every message the worker consumes). Input: the headers as JSON, a NUL
///   byte, then the body; without a NUL, all of it is the body under a
///   valid header table. The first byte's low bits also pick the content
///   type and compression properties.
/// - `binder`: Celery's JSON args and kwargs converted to C arguments and
///   the C call made (`NativeTask.invoke`) for the `conv.*` tasks of the
///   test fixture `libconversions.so` (every parameter type). Input: a task
///   index byte, then the args JSON, a NUL, the kwargs JSON.
/// - `signature`: a task signature through `TaskSignature(parsing:)`, and a
///   `--task` specification through `TaskSpec(parsing:)`.
///
/// Built normally, `plugworker-fuzz TARGET FILE...` replays inputs (the
/// seeds in CI, or a crash file from a fuzzing run). Built with
/// `-sanitize=fuzzer,address -DFUZZING` (scripts/fuzz.sh) its `main` hands
/// over to libFuzzer's driver (`LLVMFuzzerRunDriver`: SwiftPM gives every
/// executable a main of its own, so libFuzzer's cannot be used); the target
/// comes from `PLUGWORKER_FUZZ_TARGET`.
enum FuzzTarget: String, CaseIterable {
    case decoder, binder, signature
}

/// Writes a line to standard error.
func warn(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// What the targets need, set up once per process.
final class FuzzState: @unchecked Sendable {
    nonisolated(unsafe) static var shared: FuzzState!

    let target: FuzzTarget
    var tasks: [NativeTask] = []

    init(target: FuzzTarget) {
        self.target = target
        guard target == .binder else { return }
        let dir = getenv("PLUGWORKER_FUZZ_FIXTURES").map { String(cString: $0) } ?? ".build/fuzz-fixtures"
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        let registry = Registry()
        let loader = PluginLoader(registry: registry, searchPaths: [dir], logger: logger)
        _ = loader.loadDirectories()
        tasks = registry.tasks.values.filter { $0.name.hasPrefix("conv.") }.sorted { $0.name < $1.name }
        if tasks.isEmpty {
            warn("plugworker-fuzz: no conv.* tasks in \(dir); build them: make -C Tests/Fixtures/Plugins OUT=\(dir)\n")
            exit(2)
        }
    }

    func run(_ input: UnsafeRawBufferPointer) {
        switch target {
        case .decoder: Self.decode(input)
        case .binder: bind(input)
        case .signature: Self.parseSignature(input)
        }
    }

    static func decode(_ input: UnsafeRawBufferPointer) {
        let bytes = Array(input)
        var headers: JSONObject = [
            "lang": "py", "task": "arith.add", "id": "5e1f0bd4-fd63-4ef6-a04a-0e76b1a1d1a2", "retries": 0,
            "timelimit": [nil, nil], "eta": nil, "expires": nil, "root_id": nil, "parent_id": nil,
        ]
        var body = bytes[...]
        if let nul = bytes.firstIndex(of: 0) {
            if let parsed = try? JSON.parse(bytes[..<nul]), let object = parsed.objectValue { headers = object }
            body = bytes[(nul + 1)...]
        }
        let flags = bytes.first ?? 0
        if flags & 0x10 != 0 { headers["compression"] = "application/x-gzip" }
        let contentType: String? = switch flags & 0x3 {
        case 0: "application/json"
        case 1: nil
        case 2: "application/json; charset=utf-8"
        default: "application/x-yaml"
        }
        let properties = MessageProperties(contentType: contentType, contentEncoding: "utf-8", headers: headers,
                                           correlationID: "5e1f0bd4-fd63-4ef6-a04a-0e76b1a1d1a2", replyTo: "r")
        do {
            let message = try TaskMessageDecoder.decode(properties: properties, body: Array(body), maxMessageSize: 1 << 16)
            // What the worker reads of a decoded message, read here too.
            _ = message.argsJSON.count + message.kwargsJSON.count
            _ = message.isExpired(at: 0)
        } catch {
            _ = error.description
        }
    }

    func bind(_ input: UnsafeRawBufferPointer) {
        guard let first = input.first else { return }
        let task = tasks[Int(first) % tasks.count]
        let rest = UnsafeRawBufferPointer(rebasing: input[1...])
        let nul = rest.firstIndex(of: 0)
        let args = nul.map { UnsafeRawBufferPointer(rebasing: rest[..<$0]) } ?? rest
        let kwargsText: [UInt8] = nul.map { Array(rest[($0 + 1)...]) } ?? Array("{}".utf8)
        let context = TaskContext(id: "fuzz", taskName: task.name)
        let outcome = kwargsText.withUnsafeBytes { kwargs in task.invoke(args: args, kwargs: kwargs, context: context) }
        if case .success(let result) = outcome {
            // Results are JSON the worker sends on: they must parse.
            if (try? JSON.parse(result)) == nil {
                fatalError("\(task.name) produced invalid JSON: \(String(decoding: result, as: UTF8.self))")
            }
        }
    }

    static func parseSignature(_ input: UnsafeRawBufferPointer) {
        let text = String(decoding: input, as: UTF8.self)
        if let signature = try? TaskSignature(parsing: text) {
            // A signature that parses must read back the same.
            guard let again = try? TaskSignature(parsing: signature.description), again == signature else {
                fatalError("signature does not round-trip: \(text) -> \(signature.description)")
            }
        }
        _ = try? TaskSpec(parsing: "fuzz.task=m:" + text)
    }
}

#if FUZZING
/// libFuzzer's callback: one input through the chosen target.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzState.shared.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// libFuzzer's driver, with the target from `PLUGWORKER_FUZZ_TARGET`.
@main
struct FuzzMain {
    static func main() {
        let name = getenv("PLUGWORKER_FUZZ_TARGET").map { String(cString: $0) } ?? "decoder"
        guard let target = FuzzTarget(rawValue: name) else {
            warn("PLUGWORKER_FUZZ_TARGET must be one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n")
            exit(2)
        }
        FuzzState.shared = FuzzState(target: target)
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        let status = withUnsafeMutablePointer(to: &argv) { argvPointer in
            argvPointer.withMemoryRebound(to: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?.self, capacity: 1) {
                LLVMFuzzerRunDriver(&argc, $0, fuzzTestOneInput)
            }
        }
        exit(status)
    }
}
#else
/// `plugworker-fuzz TARGET FILE|DIR...`: runs each input once.
@main
struct FuzzReplay {
    static func main() {
        let args = CommandLine.arguments
        guard args.count >= 2, let target = FuzzTarget(rawValue: args[1]) else {
            warn("usage: plugworker-fuzz decoder|binder|signature FILE|DIR...\n")
            exit(64)
        }
        FuzzState.shared = FuzzState(target: target)
        var count = 0
        for path in args.dropFirst(2) {
            for file in files(at: path) {
                guard let bytes = FileBytes.read(file) else { continue }
                bytes.withUnsafeBytes { FuzzState.shared.run($0) }
                count += 1
            }
        }
        print("plugworker-fuzz: \(target.rawValue): \(count) inputs replayed, no crash")
    }

    static func files(at path: String) -> [String] {
        guard let dir = opendir(path) else { return [path] }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if !name.hasPrefix(".") { out.append(path + "/" + name) }
        }
        return out.sorted()
    }

}
#endif
