#if canImport(Glibc)
import Glibc
#endif
import Logging
import PlugworkerCore
import Testing
@testable import PlugworkerWorker

/// A Prometheus text-format reader, just enough for these tests: samples by
/// their full series name (`name{label="v",...}`) and the TYPE of each family.
struct Exposition {
    var samples: [String: Double] = [:]
    var types: [String: String] = [:]
    var help: [String: String] = [:]

    init(_ bytes: [UInt8]) {
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                types[String(parts[0])] = String(parts[1])
            } else if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                let name = rest.prefix { $0 != " " }
                help[String(name)] = String(rest.dropFirst(name.count + 1))
            } else if !line.hasPrefix("#"), let space = line.lastIndex(of: " ") {
                samples[String(line[..<space])] = Double(line[line.index(after: space)...])
            }
        }
    }

    subscript(_ series: String) -> Double? { samples[series] }
}

@Suite("Worker metrics (Prometheus exposition)")
struct WorkerMetricsTests {
    @Test("a fresh registry has every family, the task counters at 0")
    func families() {
        let m = WorkerMetrics()
        _ = m.task(named: "arith.add")
        let e = Exposition(m.exposition(.init()))
        #expect(e.types == [
            "plugworker_tasks_total": "counter",
            "plugworker_task_runtime_seconds": "histogram",
            "plugworker_messages_rejected_total": "counter",
            "plugworker_pool_processes": "gauge",
            "plugworker_pool_processes_busy": "gauge",
            "plugworker_pool_concurrency": "gauge",
            "plugworker_prefetch_in_use": "gauge",
            "plugworker_prefetch_limit": "gauge",
            "plugworker_broker_connected": "gauge",
            "plugworker_broker_reconnects_total": "counter",
            "plugworker_plugin_loads_total": "counter",
            "plugworker_plugin_load_failures_total": "counter",
        ])
        #expect(Set(e.help.keys) == Set(e.types.keys))
        for state in WorkerMetrics.taskStates {
            #expect(e[#"plugworker_tasks_total{name="arith.add",state="\#(state)"}"#] == 0)
        }
        #expect(e[#"plugworker_task_runtime_seconds_count{name="arith.add"}"#] == 0)
    }

    @Test("recorded tasks, runtimes, refusals, reconnects and plugin loads show in the text")
    func recording() {
        let m = WorkerMetrics()
        let add = m.task(named: "arith.add"), div = m.task(named: "arith.div")
        #expect(m.task(named: "arith.add") === add)  // cached: no second set of handles
        for _ in 0..<20 {
            add.received.increment()
            add.started.increment()
            add.succeeded.increment()
            add.runtime.recordSeconds(0.0002)
        }
        for _ in 0..<3 {
            div.received.increment()
            div.started.increment()
            div.failed.increment()
            div.runtime.recordSeconds(2.0)
        }
        div.retried.increment()
        div.revoked.increment()
        add.rejected.increment()
        m.messageRejected(.unregistered)
        m.messageRejected(.unregistered)
        m.messageRejected(.invalid)
        m.brokerReconnected()
        m.pluginLoaded(count: 3)
        m.pluginFailed()
        let e = Exposition(m.exposition(.init(poolProcesses: 3, poolBusy: 2, poolConcurrency: 4, prefetchInUse: 7,
                                              prefetchLimit: 16, brokerConnected: true)))
        #expect(e[#"plugworker_tasks_total{name="arith.add",state="received"}"#] == 20)
        #expect(e[#"plugworker_tasks_total{name="arith.add",state="succeeded"}"#] == 20)
        #expect(e[#"plugworker_tasks_total{name="arith.add",state="failed"}"#] == 0)
        #expect(e[#"plugworker_tasks_total{name="arith.add",state="rejected"}"#] == 1)
        #expect(e[#"plugworker_tasks_total{name="arith.div",state="failed"}"#] == 3)
        #expect(e[#"plugworker_tasks_total{name="arith.div",state="retried"}"#] == 1)
        #expect(e[#"plugworker_tasks_total{name="arith.div",state="revoked"}"#] == 1)
        #expect(e[#"plugworker_task_runtime_seconds_count{name="arith.add"}"#] == 20)
        #expect(e[#"plugworker_task_runtime_seconds_bucket{name="arith.add",le="0.0005"}"#] == 20)
        #expect(e[#"plugworker_task_runtime_seconds_bucket{name="arith.add",le="0.0001"}"#] == 0)
        #expect(e[#"plugworker_task_runtime_seconds_bucket{name="arith.div",le="1.0"}"#] == 0)
        #expect(e[#"plugworker_task_runtime_seconds_bucket{name="arith.div",le="2.5"}"#] == 3)
        #expect(e[#"plugworker_task_runtime_seconds_bucket{name="arith.div",le="+Inf"}"#] == 3)
        #expect(abs((e[#"plugworker_task_runtime_seconds_sum{name="arith.div"}"#] ?? 0) - 6.0) < 1e-6)
        #expect(e[#"plugworker_messages_rejected_total{reason="unregistered"}"#] == 2)
        #expect(e[#"plugworker_messages_rejected_total{reason="invalid"}"#] == 1)
        #expect(e["plugworker_broker_reconnects_total"] == 1)
        #expect(e["plugworker_plugin_loads_total"] == 3)
        #expect(e["plugworker_plugin_load_failures_total"] == 1)
        #expect(e["plugworker_pool_processes"] == 3)
        #expect(e["plugworker_pool_processes_busy"] == 2)
        #expect(e["plugworker_pool_concurrency"] == 4)
        #expect(e["plugworker_prefetch_in_use"] == 7)
        #expect(e["plugworker_prefetch_limit"] == 16)
        #expect(e["plugworker_broker_connected"] == 1)
    }

    @Test("the Metrics step comes after Hub and before Pool, included only with a metrics port")
    func step() throws {
        var options = WorkerOptions()
        var worker = try Bootsteps.describe(options: options, registry: Registry())[0]
        #expect(worker.steps.first { $0.name == "Metrics" }?.included == false)
        options.metricsPort = 9808
        worker = try Bootsteps.describe(options: options, registry: Registry())[0]
        #expect(worker.steps.prefix(4).map(\.name) == ["Timer", "Hub", "Metrics", "Pool"])
        #expect(worker.steps[2].included && worker.steps[2].requires == ["Hub"])
    }

    @Test("two workers' metrics never share counters")
    func separateRegistries() {
        let a = WorkerMetrics(), b = WorkerMetrics()
        a.task(named: "t").succeeded.increment()
        #expect(Exposition(a.exposition(.init()))[#"plugworker_tasks_total{name="t",state="succeeded"}"#] == 1)
        #expect(Exposition(b.exposition(.init()))[#"plugworker_tasks_total{name="t",state="succeeded"}"#] == nil)
    }
}

@Suite("Metrics server (a real socket, served by a Hub)", .serialized)
struct MetricsServerTests {
    /// A blocking client: connects, sends `request`, then lets the Hub turn
    /// until the server closed the connection; returns what came back.
    func exchange(_ server: MetricsServer, hub: Hub, _ request: [UInt8], closeWriteAfter: Bool = false) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(server.port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(ok == 0)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Timer.now() + 10
        while Timer.now() < deadline {
            // One short Hub run, then whatever arrived.
            hub.timer.call(after: 0.02) { hub.stop() }
            hub.run()
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 { out += buffer[0..<n] }
            if n == 0 { break }
        }
        return String(decoding: out, as: UTF8.self)
    }

    func makeServer(_ hub: Hub) throws -> MetricsServer {
        let server = try MetricsServer(host: "127.0.0.1", port: 0, hub: hub, logger: Logger(label: "test"))
        server.respond = { head in
            MetricsEndpoint.respond(to: head, metrics: { Array(repeating: UInt8(ascii: "x"), count: 300_000) },
                                    health: { MetricsEndpointTests.healthy })
        }
        try server.start()
        return server
    }

    @Test("GET /healthz, a large /metrics, 404, 405 and 400 over TCP")
    func serve() throws {
        let hub = try Hub(logger: Logger(label: "test"))
        let server = try makeServer(hub)
        #expect(server.port > 0)
        let health = exchange(server, hub: hub, Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(health.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(health.contains(#""status": "ok""#))
        // Larger than a socket buffer: written as the socket drains.
        let metrics = exchange(server, hub: hub, Array("GET /metrics HTTP/1.1\r\n\r\n".utf8))
        #expect(metrics.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(metrics.hasSuffix(String(repeating: "x", count: 300_000)))
        #expect(exchange(server, hub: hub, Array("GET /x HTTP/1.1\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(exchange(server, hub: hub, Array("DELETE /metrics HTTP/1.1\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
        #expect(exchange(server, hub: hub, Array("HELLO\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(server.connections.isEmpty)
        server.stop()
    }

    @Test("a client that never finishes its request gets 408 after the timeout")
    func slowClient() throws {
        let hub = try Hub(logger: Logger(label: "test"))
        let server = try makeServer(hub)
        server.timeout = 0.2
        let started = Timer.now()
        let reply = exchange(server, hub: hub, Array("GET /metrics HTTP/1.1\r\n".utf8))
        #expect(reply.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(Timer.now() - started < 5)
        #expect(server.connections.isEmpty)
        server.stop()
    }

    @Test("a port in use is PW402 naming the address; a bad host is PW401")
    func bindErrors() throws {
        let hub = try Hub(logger: Logger(label: "test"))
        let first = try makeServer(hub)
        #expect(throws: MetricsServerError.self) { _ = try MetricsServer(host: "127.0.0.1", port: first.port, hub: hub, logger: Logger(label: "test")) }
        do {
            _ = try MetricsServer(host: "127.0.0.1", port: first.port, hub: hub, logger: Logger(label: "test"))
        } catch {
            #expect(error.code == .addressInUse)
            #expect(error.message.contains("127.0.0.1:\(first.port)"))
            #expect(error.description.hasPrefix("error PW402 metrics-port-in-use: "))
        }
        do {
            _ = try MetricsServer(host: "metrics.example.com", port: 9808, hub: hub, logger: Logger(label: "test"))
            Issue.record("a host name was accepted")
        } catch {
            #expect(error.code == .invalidHost)
        }
        first.stop()
    }
}
