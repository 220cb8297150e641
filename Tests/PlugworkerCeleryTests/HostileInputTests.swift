import PlugworkerBroker
import PlugworkerCore
import Testing
@testable import PlugworkerCelery

/// One message that must be refused.
struct Hostile: Sendable, CustomTestStringConvertible {
    var name: String
    var properties: MessageProperties
    var body: [UInt8]
    var maxSize: Int = 1 << 20
    var reason: MessageRejection.Reason
    /// The exception class expected in the FAILURE, "module.Type".
    var exception: String
    /// The task id the rejection must recover (nil: none).
    var taskID: String?
    /// A fragment the message must contain.
    var fragment: String? = nil

    var testDescription: String { name }
}

let hostileID = "6f1e0c1d-0000-4000-8000-000000000001"
let hostileReplyTo = "reply-queue-1"
let hostileCorrelation = "corr-0001"

/// Properties of a well-formed protocol-2 message, with `changes` applied
/// to its headers (`nil` removes a header).
func v2(_ changes: KeyValuePairs<String, JSON?> = [:], contentType: String? = "application/json",
        encoding: String? = "utf-8", correlationID: String? = hostileID) -> MessageProperties {
    var headers = JSONObject([
        "lang": "py", "task": "tasks.add", "id": .string(hostileID), "shadow": nil, "eta": nil, "expires": nil,
        "group": nil, "group_index": nil, "retries": 0, "timelimit": [nil, nil], "root_id": .string(hostileID),
        "parent_id": nil, "argsrepr": "(2, 3)", "kwargsrepr": "{}", "origin": "gen1@vm", "ignore_result": false,
        "replaced_task_nesting": 0, "stamped_headers": nil, "stamps": [:],
    ])
    for (k, v) in changes { headers[k] = v }
    return MessageProperties(contentType: contentType, contentEncoding: encoding, headers: headers, deliveryMode: 2,
                             priority: 0, correlationID: correlationID, replyTo: hostileReplyTo)
}

let goodBody = Array(#"[[2, 3], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]"#.utf8)

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

func nested(_ depth: Int) -> [UInt8] {
    bytes("[" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + ", {}, null]")
}

let zeros = Zlib.deflate([UInt8](repeating: 0, count: 1 << 20))
let compressedGood = Zlib.deflate(goodBody)

let hostileCases: [Hostile] = [
    // Content types and encodings.
    Hostile(name: "pickle", properties: v2(contentType: "application/x-python-serialize"), body: [0x80, 0x04, 0x95],
            reason: .contentDisallowed, exception: "kombu.exceptions.ContentDisallowed", taskID: hostileID,
            fragment: "Refusing to deserialize untrusted content of type pickle (application/x-python-serialize)"),
    Hostile(name: "yaml", properties: v2(contentType: "application/x-yaml"), body: bytes("- [2, 3]"),
            reason: .contentDisallowed, exception: "kombu.exceptions.ContentDisallowed", taskID: hostileID,
            fragment: "yaml (application/x-yaml)"),
    Hostile(name: "msgpack", properties: v2(contentType: "application/x-msgpack"), body: [0x93, 0x92, 0x02, 0x03],
            reason: .contentDisallowed, exception: "kombu.exceptions.ContentDisallowed", taskID: hostileID,
            fragment: "msgpack (application/x-msgpack)"),
    Hostile(name: "text/plain", properties: v2(contentType: "text/plain"), body: goodBody,
            reason: .contentDisallowed, exception: "kombu.exceptions.ContentDisallowed", taskID: hostileID),
    Hostile(name: "JSON in latin-1 charset", properties: v2(contentType: "application/json; charset=latin-1"), body: goodBody,
            reason: .contentDisallowed, exception: "kombu.exceptions.ContentDisallowed", taskID: hostileID),
    Hostile(name: "content_encoding latin-1", properties: v2(encoding: "latin-1"), body: goodBody,
            reason: .contentDisallowed, exception: "kombu.exceptions.ContentDisallowed", taskID: hostileID),
    Hostile(name: "pickle without a task header (protocol 1?)",
            properties: MessageProperties(contentType: "application/x-python-serialize", headers: JSONObject(),
                                          correlationID: hostileCorrelation, replyTo: hostileReplyTo),
            body: [0x80, 0x04], reason: .contentDisallowed, exception: "kombu.exceptions.ContentDisallowed",
            taskID: hostileCorrelation),

    // Bodies that are not JSON.
    Hostile(name: "bad JSON", properties: v2(), body: bytes("[[2, 3], {}, {"), reason: .decodeError,
            exception: "kombu.exceptions.DecodeError", taskID: hostileID, fragment: "invalid JSON body"),
    Hostile(name: "truncated body", properties: v2(), body: Array(goodBody.prefix(20)), reason: .decodeError,
            exception: "kombu.exceptions.DecodeError", taskID: hostileID),
    Hostile(name: "empty body", properties: v2(), body: [], reason: .decodeError,
            exception: "kombu.exceptions.DecodeError", taskID: hostileID),
    Hostile(name: "trailing garbage", properties: v2(), body: goodBody + bytes(" x"), reason: .decodeError,
            exception: "kombu.exceptions.DecodeError", taskID: hostileID),
    Hostile(name: "malformed and broken: decode error wins", properties: v2(), body: bytes("[5, [], {"),
            reason: .decodeError, exception: "kombu.exceptions.DecodeError", taskID: hostileID),
    Hostile(name: "invalid UTF-8 in a string", properties: v2(), body: bytes("[[\"") + [0xFF, 0xFE] + bytes("\"], {}, null]"),
            reason: .decodeError, exception: "kombu.exceptions.DecodeError", taskID: hostileID, fragment: "UTF-8"),
    Hostile(name: "invalid UTF-8 outside strings", properties: v2(), body: [0xC3, 0x28] + goodBody,
            reason: .decodeError, exception: "kombu.exceptions.DecodeError", taskID: hostileID),
    Hostile(name: "args nested 10000 deep", properties: v2(), body: nested(10_000), reason: .decodeError,
            exception: "kombu.exceptions.DecodeError", taskID: hostileID, fragment: "nested deeper"),
    Hostile(name: "embed nested 10000 deep", properties: v2(),
            body: bytes("[[], {}, {\"chord\": " + String(repeating: "{\"a\": ", count: 10_000) + "1"
                        + String(repeating: "}", count: 10_000) + "}]"),
            reason: .decodeError, exception: "kombu.exceptions.DecodeError", taskID: hostileID),

    // Wrong shapes.
    Hostile(name: "body not a list", properties: v2(), body: bytes(#""hello""#), reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID, fragment: "not str"),
    Hostile(name: "body a number", properties: v2(), body: bytes("42"), reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID),
    Hostile(name: "2-element list", properties: v2(), body: bytes("[[2, 3], {}]"), reason: .malformed,
            exception: "builtins.ValueError", taskID: hostileID, fragment: "3 elements"),
    Hostile(name: "4-element list", properties: v2(), body: bytes("[[2, 3], {}, null, 1]"), reason: .malformed,
            exception: "builtins.ValueError", taskID: hostileID),
    Hostile(name: "args not an array", properties: v2(), body: bytes(#"[{"a": 1}, {}, null]"#), reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID, fragment: "args must be a list, not dict"),
    Hostile(name: "kwargs a list", properties: v2(), body: bytes("[[], [1], null]"), reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID, fragment: "kwargs must be a dict, not list"),
    Hostile(name: "embed a string", properties: v2(), body: bytes(#"[[], {}, "x"]"#), reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID, fragment: "embed must be a dict or None, not str"),
    Hostile(name: "callbacks a string", properties: v2(), body: bytes(#"[[], {}, {"callbacks": "t"}]"#), reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID, fragment: "callbacks"),
    Hostile(name: "chain holding an int", properties: v2(), body: bytes(#"[[], {}, {"chain": [{"task": "a"}, 3]}]"#),
            reason: .malformed, exception: "builtins.TypeError", taskID: hostileID, fragment: "chain"),
    Hostile(name: "chord a list", properties: v2(), body: bytes(#"[[], {}, {"chord": []}]"#), reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID),
    Hostile(name: "task header with a dict body without args", properties: v2(), body: bytes(#"{"kwargs": {}}"#),
            reason: .malformed, exception: "builtins.TypeError", taskID: hostileID),

    // Bad headers.
    Hostile(name: "id an int, no correlation_id", properties: v2(["id": 5], correlationID: nil), body: goodBody,
            reason: .malformed, exception: "builtins.TypeError", taskID: nil, fragment: "'id' header must be a str, not int"),
    Hostile(name: "id an int, correlation_id recovers it", properties: v2(["id": 5], correlationID: hostileCorrelation),
            body: goodBody, reason: .malformed, exception: "builtins.TypeError", taskID: hostileCorrelation),
    Hostile(name: "missing id with task header", properties: v2(["id": nil], correlationID: hostileCorrelation),
            body: goodBody, reason: .malformed, exception: "builtins.ValueError", taskID: hostileCorrelation,
            fragment: "no 'id' header"),
    Hostile(name: "empty id", properties: v2(["id": ""], correlationID: nil), body: goodBody,
            reason: .malformed, exception: "builtins.ValueError", taskID: nil),
    Hostile(name: "task header an int", properties: v2(["task": 7]), body: goodBody, reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID, fragment: "'task' header must be a str"),
    Hostile(name: "eta garbage", properties: v2(["eta": "garbage"]), body: goodBody, reason: .malformed,
            exception: "builtins.ValueError", taskID: hostileID, fragment: "invalid ETA value 'garbage'"),
    Hostile(name: "eta month 13", properties: v2(["eta": "2026-13-01T00:00:00+00:00"]), body: goodBody, reason: .malformed,
            exception: "builtins.ValueError", taskID: hostileID),
    Hostile(name: "eta an int", properties: v2(["eta": 1_795_258_873]), body: goodBody, reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID),
    Hostile(name: "expires garbage", properties: v2(["expires": "tomorrow\nnoon"]), body: goodBody, reason: .malformed,
            exception: "builtins.ValueError", taskID: hostileID, fragment: "invalid expires value 'tomorrow\\nnoon'"),
    Hostile(name: "expires a bad tagged datetime", properties: v2(["expires": ["__type__": "datetime", "__value__": "x"]]),
            body: goodBody, reason: .malformed, exception: "builtins.ValueError", taskID: hostileID),
    Hostile(name: "timelimit [\"a\", 1]", properties: v2(["timelimit": ["a", 1]]), body: goodBody, reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID, fragment: "timelimit"),
    Hostile(name: "timelimit [-1, null]", properties: v2(["timelimit": [-1, nil]]), body: goodBody, reason: .malformed,
            exception: "builtins.ValueError", taskID: hostileID, fragment: "hard time limit"),
    Hostile(name: "timelimit [null, -0.5]", properties: v2(["timelimit": [nil, -0.5]]), body: goodBody, reason: .malformed,
            exception: "builtins.ValueError", taskID: hostileID, fragment: "soft time limit"),
    Hostile(name: "timelimit [NaN, null]", properties: v2(["timelimit": [.double(.nan), nil]]), body: goodBody,
            reason: .malformed, exception: "builtins.ValueError", taskID: hostileID, fragment: "nan"),
    Hostile(name: "timelimit [inf, 1]", properties: v2(["timelimit": [.double(.infinity), 1]]), body: goodBody,
            reason: .malformed, exception: "builtins.ValueError", taskID: hostileID),
    Hostile(name: "timelimit [1]", properties: v2(["timelimit": [1]]), body: goodBody, reason: .malformed,
            exception: "builtins.ValueError", taskID: hostileID),
    Hostile(name: "timelimit a string", properties: v2(["timelimit": "30"]), body: goodBody, reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID),
    Hostile(name: "retries \"x\"", properties: v2(["retries": "x"]), body: goodBody, reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID, fragment: "'retries' header must be an int, not str"),
    Hostile(name: "retries -1", properties: v2(["retries": -1]), body: goodBody, reason: .malformed,
            exception: "builtins.ValueError", taskID: hostileID),
    Hostile(name: "retries 1.5", properties: v2(["retries": 1.5]), body: goodBody, reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID),
    Hostile(name: "retries true", properties: v2(["retries": true]), body: goodBody, reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID),
    Hostile(name: "retries beyond Int64", properties: v2(["retries": .bigint("123456789012345678901234")]),
            body: goodBody, reason: .malformed, exception: "builtins.ValueError", taskID: hostileID),
    Hostile(name: "group_index \"y\"", properties: v2(["group_index": "y"]), body: goodBody, reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID, fragment: "group_index"),
    Hostile(name: "ignore_result \"yes\"", properties: v2(["ignore_result": "yes"]), body: goodBody, reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID),
    Hostile(name: "root_id an int", properties: v2(["root_id": 5]), body: goodBody, reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID),
    Hostile(name: "parent_id a list", properties: v2(["parent_id": [1]]), body: goodBody, reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID),
    Hostile(name: "group a dict", properties: v2(["group": ["a": 1]]), body: goodBody, reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID),
    Hostile(name: "stamps a list", properties: v2(["stamps": [1]]), body: goodBody, reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID),
    Hostile(name: "stamped_headers of ints", properties: v2(["stamped_headers": [1]]), body: goodBody, reason: .malformed,
            exception: "builtins.TypeError", taskID: hostileID),
    Hostile(name: "header table of odd types", properties: v2(["id": .double(1.5), "task": ["a": [1]], "retries": nil]),
            body: goodBody, reason: .malformed, exception: "builtins.TypeError", taskID: hostileID,
            fragment: "'task' header must be a str, not dict"),

    // Size and compression.
    Hostile(name: "oversized body", properties: v2(), body: [UInt8](repeating: 0x20, count: 100_000) + goodBody,
            maxSize: 64 << 10, reason: .tooLarge, exception: "kombu.exceptions.LimitExceeded", taskID: hostileID,
            fragment: "100081 bytes"),
    Hostile(name: "zlib bomb: 1 MB of zeros", properties: v2(["compression": "application/x-gzip"]), body: zeros,
            maxSize: 64 << 10, reason: .tooLarge, exception: "kombu.exceptions.LimitExceeded", taskID: hostileID),
    Hostile(name: "unknown compression application/x-bz2", properties: v2(["compression": "application/x-bz2"]),
            body: bytes("BZh91AY&SY"), reason: .unsupportedCompression, exception: "kombu.exceptions.DecodeError",
            taskID: hostileID, fragment: "application/x-bz2"),
    Hostile(name: "compression header an int", properties: v2(["compression": 1]), body: goodBody,
            reason: .unsupportedCompression, exception: "kombu.exceptions.DecodeError", taskID: hostileID),
    Hostile(name: "corrupt zlib", properties: v2(["compression": "zlib"]), body: [0x78, 0x9C, 0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3],
            reason: .decodeError, exception: "kombu.exceptions.DecodeError", taskID: hostileID, fragment: "decompress"),
    Hostile(name: "truncated zlib", properties: v2(["compression": "application/x-gzip"]),
            body: Array(compressedGood.prefix(compressedGood.count / 2)),
            reason: .decodeError, exception: "kombu.exceptions.DecodeError", taskID: hostileID, fragment: "truncated"),
    Hostile(name: "compressed JSON, uncompressed header missing", properties: v2(), body: compressedGood,
            reason: .decodeError, exception: "kombu.exceptions.DecodeError", taskID: hostileID),

    // Protocol 1 and non-tasks.
    Hostile(name: "v1 body with args a string",
            properties: MessageProperties(contentType: "application/json", headers: JSONObject(),
                                          correlationID: hostileCorrelation, replyTo: hostileReplyTo),
            body: bytes(#"{"task": "tasks.add", "id": "v1-id", "args": "2, 3", "kwargs": {}}"#),
            reason: .malformed, exception: "builtins.TypeError", taskID: "v1-id", fragment: "args must be a list"),
    Hostile(name: "v1 body with kwargs a list",
            properties: MessageProperties(contentType: "application/json", headers: JSONObject(),
                                          correlationID: hostileCorrelation, replyTo: hostileReplyTo),
            body: bytes(#"{"task": "tasks.add", "id": "v1-id", "args": [], "kwargs": [1]}"#),
            reason: .malformed, exception: "builtins.TypeError", taskID: "v1-id"),
    Hostile(name: "v1 body missing id",
            properties: MessageProperties(contentType: "application/json", headers: JSONObject(),
                                          correlationID: hostileCorrelation, replyTo: hostileReplyTo),
            body: bytes(#"{"task": "tasks.add", "args": [2, 3], "kwargs": {}}"#),
            reason: .malformed, exception: "builtins.ValueError", taskID: hostileCorrelation, fragment: "no 'id' field"),
    Hostile(name: "v1 body with task an int",
            properties: MessageProperties(contentType: "application/json", headers: JSONObject(), replyTo: hostileReplyTo),
            body: bytes(#"{"task": 1, "id": "v1-id", "args": []}"#),
            reason: .malformed, exception: "builtins.TypeError", taskID: "v1-id"),
    Hostile(name: "v1 body with a bad eta",
            properties: MessageProperties(contentType: "application/json", headers: JSONObject(), replyTo: hostileReplyTo),
            body: bytes(#"{"task": "tasks.add", "id": "v1-id", "args": [], "eta": "soon"}"#),
            reason: .malformed, exception: "builtins.ValueError", taskID: "v1-id", fragment: "'soon'"),
    Hostile(name: "no task header, body a list",
            properties: MessageProperties(contentType: "application/json", headers: JSONObject(),
                                          correlationID: hostileCorrelation, replyTo: hostileReplyTo),
            body: goodBody, reason: .notATask, exception: "celery.exceptions.InvalidTaskError", taskID: nil),
    Hostile(name: "no headers at all, body an object without task",
            properties: MessageProperties(correlationID: hostileCorrelation, replyTo: hostileReplyTo),
            body: bytes(#"{"method": "ping"}"#), reason: .notATask, exception: "celery.exceptions.InvalidTaskError",
            taskID: nil),
    Hostile(name: "no task header, invalid JSON",
            properties: MessageProperties(contentType: "application/json", headers: JSONObject(),
                                          correlationID: hostileCorrelation, replyTo: hostileReplyTo),
            body: bytes("{\"task\": "), reason: .decodeError, exception: "kombu.exceptions.DecodeError",
            taskID: hostileCorrelation),
]

@Suite("Hostile task messages")
struct HostileInputTests {
    @Test("the table is big enough")
    func size() {
        #expect(hostileCases.count >= 25)
    }

    @Test("each is rejected with the right reason and what can be recovered", arguments: hostileCases)
    func rejected(_ c: Hostile) {
        do {
            let r = try TaskMessageDecoder.decode(properties: c.properties, body: c.body, maxMessageSize: c.maxSize)
            Issue.record("decoded: \(r.id) \(r.taskName)")
        } catch {
            #expect(error.reason == c.reason, "\(error)")
            #expect("\(error.exception.module).\(error.exception.type)" == c.exception, "\(error)")
            #expect(error.taskID == c.taskID)
            #expect(error.replyTo == c.properties.replyTo)
            #expect(error.correlationID == c.properties.correlationID)
            #expect(error.canPublishFailure == (c.taskID != nil))
            #expect(!error.message.contains("\n") && !error.message.contains("\r"))
            #expect(error.message.utf8.count < 700)
            if let id = c.taskID { #expect(error.message.contains(id), "\(error.message)") }
            if let fragment = c.fragment { #expect(error.message.contains(fragment), "\(error.message)") }
            #expect(error.message.hasSuffix(error.exception.message) || error.message.hasSuffix("..."))
        }
    }

    @Test("the task name is recovered when there is one")
    func recoversName() {
        do {
            _ = try TaskMessageDecoder.decode(properties: v2(["eta": "x"]), body: goodBody, maxMessageSize: 1 << 20)
        } catch {
            #expect(error.taskName == "tasks.add")
            #expect(error.message.hasPrefix("tasks.add[\(hostileID)]: "))
            #expect(error.description.hasPrefix("malformed: "))
        }
    }

    @Test("every prefix of a body is decoded or rejected, never crashes")
    func prefixes() throws {
        let message = Vectors.messages(try Vectors.load("task-v2-chain-first-step"))[0]
        let body = Vectors.body(message)
        let properties = Vectors.properties(message)
        var decoded = 0
        for n in 0...body.count {
            do {
                _ = try TaskMessageDecoder.decode(properties: properties, body: Array(body.prefix(n)), maxMessageSize: 1 << 20)
                decoded += 1
            } catch {
                #expect(error.reason == .decodeError)
                #expect(error.taskID == properties.correlationID)
            }
        }
        #expect(decoded == 1)
    }

    @Test("random byte flips are decoded or rejected, never crash")
    func flips() throws {
        var rng = SplitMix(seed: 0x5EED)
        let message = Vectors.messages(try Vectors.load("task-v2-link-and-link_error"))[0]
        let body = Vectors.body(message)
        let properties = Vectors.properties(message)
        for _ in 0..<3000 {
            var mutated = body
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                mutated[Int.random(in: 0..<mutated.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            do {
                let r = try TaskMessageDecoder.decode(properties: properties, body: mutated, maxMessageSize: 1 << 20)
                _ = try JSON.parse(r.argsJSON)
                _ = try JSON.parse(r.kwargsJSON)
            } catch let rejection as MessageRejection {
                #expect(rejection.taskID == properties.correlationID)
            }
        }
        // Same for compressed bodies.
        let compressed = Zlib.deflate(body)
        var zProperties = properties
        zProperties.headers?["compression"] = "application/x-gzip"
        for _ in 0..<1000 {
            var mutated = compressed
            mutated[Int.random(in: 0..<mutated.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            _ = try? TaskMessageDecoder.decode(properties: zProperties, body: mutated, maxMessageSize: 1 << 20)
        }
    }

    @Test("a compressed body just under the limit is accepted, just over refused")
    func bombBoundary() throws {
        let body = goodBody + [UInt8](repeating: 0x20, count: 10_000)
        let compressed = Zlib.deflate(body)
        let properties = v2(["compression": "zlib"])
        let r = try TaskMessageDecoder.decode(properties: properties, body: compressed, maxMessageSize: body.count)
        #expect(text(r.argsJSON) == "[2, 3]")
        #expect(throws: MessageRejection.self) {
            _ = try TaskMessageDecoder.decode(properties: properties, body: compressed, maxMessageSize: body.count - 1)
        }
        #expect(try Zlib.inflate(compressed, limit: body.count) == body)
        #expect(try Zlib.inflate(compressed, limit: .max) == body)
        #expect(try Zlib.inflate(compressed + [1, 2, 3], limit: .max) == body)  // trailing bytes ignored
        #expect(try Zlib.inflate(Zlib.deflate([]), limit: 0) == [])
        let unlimited = try TaskMessageDecoder.decode(properties: properties, body: compressed, maxMessageSize: .max)
        #expect(unlimited.body == body)
        #expect(throws: Zlib.InflateError.tooLarge(limit: body.count - 1)) {
            _ = try Zlib.inflate(compressed, limit: body.count - 1)
        }
    }
}

/// A small seeded generator, so failures reproduce.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
