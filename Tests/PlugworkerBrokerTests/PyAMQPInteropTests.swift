import Foundation
import Testing
import PlugworkerCore
@testable import PlugworkerBroker

/// Headers round-tripped between this code and py-amqp, the AMQP client
/// Celery's Python side uses. Needs a Python with the `amqp` package:
/// `PLUGWORKER_PYAMQP_PYTHON=/path/to/venv/bin/python` (e.g. after
/// `python3 -m venv /tmp/v && /tmp/v/bin/pip install amqp`). Skipped
/// otherwise.
@Suite("py-amqp interoperability",
       .enabled(if: BrokerTest.enabled && BrokerTest.environment["PLUGWORKER_PYAMQP_PYTHON"] != nil,
                "set PLUGWORKER_PYAMQP_PYTHON to a python with the amqp package (and a broker) to run"))
struct PyAMQPInteropTests {
    /// Reads one message from argv[1] and prints each header's Python type
    /// and repr as JSON; then publishes to argv[2] a message with a header of
    /// every kind py-amqp writes.
    static let script = #"""
import amqp, datetime, decimal, json, sys
host, port, user, password, vhost, qa, qb = sys.argv[1:8]
conn = amqp.Connection(f"{host}:{port}", userid=user, password=password, virtual_host=vhost)
conn.connect()
ch = conn.channel()
msg = ch.basic_get(qa, no_ack=True)
def describe(v):
    if isinstance(v, dict):
        return {"type": "dict", "items": {k: describe(x) for k, x in v.items()}}
    if isinstance(v, list):
        return {"type": "list", "items": [describe(x) for x in v]}
    return {"type": type(v).__name__, "repr": repr(v)}
out = {"body": msg.body.decode(), "headers": {k: describe(v) for k, v in msg.headers.items()},
       "content_type": msg.properties.get("content_type"), "delivery_mode": msg.properties.get("delivery_mode")}
print(json.dumps(out))
headers = {
    "str": "héllo", "bytes-invalid": b"a\xffb", "true": True, "small": 42, "negative": -7,
    "big": 2**53 + 1, "neg-big": -(2**53 + 1), "i64-min": -2**63, "float": 0.25,
    "decimal": decimal.Decimal("-12.345"), "datetime": datetime.datetime(2024, 1, 2, 3, 4, 5),
    "none": None, "list": [1, "a", None, [True]], "dict": {"nested": {"deep": 1}},
}
ch.basic_publish(amqp.Message(b"from python", content_type="application/json", application_headers=headers),
                 exchange="", routing_key=qb)
conn.close()
"""#

    @Test("headers published here read back in Python as the Python types Celery expects, and vice versa")
    func roundTrip() throws {
        let python = try #require(BrokerTest.environment["PLUGWORKER_PYAMQP_PYTHON"])
        let c = try BrokerTest.connect()
        defer { c.close() }
        let qa = BrokerTest.unique("py-a")
        let qb = BrokerTest.unique("py-b")
        try c.queueDeclare(name: qa, durable: false)
        defer { _ = try? c.queueDelete(name: qa) }
        try c.queueDeclare(name: qb, durable: false)
        defer { _ = try? c.queueDelete(name: qb) }

        let headers = JSONObject([
            "str": "héllo", "true": true, "false": false, "small": 42, "negative": -7,
            "i32-max": 2_147_483_647, "beyond-i32": 2_147_483_648, "big": 9_007_199_254_740_993,
            "neg-big": -9_007_199_254_740_993, "i64-min": .int(.min), "double": 0.25, "null": nil,
            "list": [1, "a", nil, [true]], "dict": ["nested": ["deep": 1.5]], "u64-max": .uint(.max),
        ] as KeyValuePairs<String, JSON>)
        try c.basicPublish(exchange: "", routingKey: qa,
                           properties: MessageProperties(contentType: "application/json", headers: headers, deliveryMode: 2),
                           body: Array("from swift".utf8))

        let url = BrokerTest.url
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", Self.script, url.host, String(url.port), url.user, url.password, url.virtualHost, qa, qb]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let report = try JSON.parse(Array(data))

        // Python's view of what we sent.
        #expect(report["body"] == "from swift")
        #expect(report["content_type"] == "application/json")
        #expect(report["delivery_mode"] == 2)
        let seen = try #require(report["headers"]?.objectValue)
        func pythonType(_ key: String) -> String? { seen[key]?["type"]?.stringValue }
        func pythonRepr(_ key: String) -> String? { seen[key]?["repr"]?.stringValue }
        let expected: [(String, String, String)] = [
            ("str", "str", "'héllo'"), ("true", "bool", "True"), ("false", "bool", "False"),
            ("small", "int", "42"), ("negative", "int", "-7"), ("i32-max", "int", "2147483647"),
            ("beyond-i32", "int", "2147483648"), ("big", "int", "9007199254740993"),
            ("neg-big", "int", "-9007199254740993"), ("i64-min", "int", "-9223372036854775808"),
            ("double", "float", "0.25"), ("null", "NoneType", "None"), ("u64-max", "str", "'18446744073709551615'"),
        ]
        for (key, type, repr) in expected {
            #expect(pythonType(key) == type, "\(key)")
            #expect(pythonRepr(key) == repr, "\(key)")
        }
        #expect(pythonType("list") == "list")
        #expect(seen["list"]?["items"]?.arrayValue?.map { $0["type"]?.stringValue ?? "?" } == ["int", "str", "NoneType", "list"])
        #expect(pythonType("dict") == "dict")
        #expect(seen["dict"]?["items"]?["nested"]?["items"]?["deep"]?["type"] == "float")

        // Our view of what Python sent.
        try c.basicConsume(queue: qb, noAck: true)
        let d = try #require(try BrokerTest.nextDelivery(c))
        #expect(d.body == Array("from python".utf8))
        let h = try #require(d.properties.headers)
        let want = JSONObject([
            "str": "héllo", "bytes-invalid": "a\u{FFFD}b", "true": true, "small": 42, "negative": -7,
            "big": 9_007_199_254_740_993, "neg-big": -9_007_199_254_740_993, "i64-min": .int(.min),
            "float": 0.25, "decimal": -12.345, "datetime": 1_704_164_645, "none": nil,
            "list": [1, "a", nil, [true]], "dict": ["nested": ["deep": 1]],
        ] as KeyValuePairs<String, JSON>)
        #expect(h == want)
    }
}
