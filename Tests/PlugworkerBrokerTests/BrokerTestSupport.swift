import Foundation
import Testing
import PlugworkerCore
@testable import PlugworkerBroker

/// Shared helpers for the tests that talk to a real RabbitMQ.
///
/// The broker is `PLUGWORKER_TEST_BROKER` or `amqp://guest:guest@localhost:5672//`.
/// `PLUGWORKER_NO_BROKER=1` skips these tests (Swift Testing lists them as
/// skipped, with the reason); otherwise a broker that does not answer is a
/// failure, with the connection error's hint.
enum BrokerTest {
    static let environment = ProcessInfo.processInfo.environment

    /// False when `PLUGWORKER_NO_BROKER=1`.
    static let enabled = environment["PLUGWORKER_NO_BROKER"] != "1"

    /// Why broker tests are skipped, shown by the test runner.
    static let skipReason: Comment = "PLUGWORKER_NO_BROKER=1: skipping tests that need RabbitMQ"

    static var url: BrokerURL {
        // A bad value here is a test-setup error; fail loudly.
        try! BrokerURL(parsing: environment["PLUGWORKER_TEST_BROKER"] ?? "amqp://guest:guest@localhost:5672//")
    }

    /// A name no other test (or run) uses.
    static func unique(_ prefix: String) -> String {
        "pw-test-\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// A connected connection.
    static func connect(heartbeat: Int = 30, name: String? = nil) throws -> AMQPConnection {
        let connection = AMQPConnection(url: url, heartbeat: heartbeat, connectionName: name ?? unique("conn"))
        try connection.connect(timeout: 5)
        return connection
    }

    /// Waits for the next delivery, failing on any other event.
    static func nextDelivery(_ connection: AMQPConnection, timeout: Double = 5) throws -> Delivery? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            switch try connection.nextEvent(timeout: max(0, deadline.timeIntervalSinceNow)) {
            case .delivery(let d): return d
            case nil: continue
            case let other?: Issue.record("expected a delivery, got \(other)")
            }
        }
        return nil
    }

    /// Waits for the next event that is not nil.
    static func nextEvent(_ connection: AMQPConnection, timeout: Double = 5) throws -> BrokerEvent? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let event = try connection.nextEvent(timeout: max(0, deadline.timeIntervalSinceNow)) { return event }
        }
        return nil
    }

    /// Runs `rabbitmqctl -q ARGS` and returns its standard output.
    static func rabbitmqctl(_ args: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["rabbitmqctl", "-q"] + args
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// The rows of `rabbitmqctl list_connections COLUMNS… client_properties`
    /// (as JSON) of the connections whose `connection_name` is `name`.
    static func connections(named name: String, columns: [String]) throws -> [JSONObject] {
        let text = try rabbitmqctl(["list_connections"] + columns + ["client_properties", "--formatter", "json"])
        guard case .array(let rows) = try JSON.parse(text) else { return [] }
        return rows.compactMap { row -> JSONObject? in
            guard let object = row.objectValue, case .array(let props)? = object["client_properties"] else { return nil }
            // client_properties is a list of [key, type, value] triples.
            let named = props.contains { $0.arrayValue?.first == "connection_name" && $0.arrayValue?.last == .string(name) }
            return named ? object : nil
        }
    }

    /// The broker-side pid (`<rabbit@host.1.2.3>`, the form `close_connection`
    /// takes) of `connection`, found by its local port.
    static func brokerPid(of connection: AMQPConnection) throws -> String? {
        var addr = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(connection.fileDescriptor, $0, &len) }
        }
        guard rc == 0 else { return nil }
        let port = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        for line in try rabbitmqctl(["list_connections", "pid", "peer_port"]).split(separator: "\n") {
            let cols = line.split(separator: "\t")
            if cols.count == 2, cols[1] == String(port) { return String(cols[0]) }
        }
        return nil
    }

    static func sleep(_ seconds: Double) {
        usleep(UInt32(seconds * 1_000_000))
    }
}
