import Foundation
import PlugworkerBroker
import PlugworkerCore
@testable import PlugworkerCelery

/// The recorded wire vectors copied from `/work/shared/wire-vectors`
/// (data, read from the source tree, not bundle resources).
enum Vectors {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Vectors")

    /// The names of the `task-*.json` files.
    static var taskFiles: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix("task-") && $0.hasSuffix(".json") }.sorted()
    }

    /// A vector file, parsed.
    static func load(_ name: String) throws -> JSON {
        let file = name.hasSuffix(".json") ? name : name + ".json"
        let data = try Data(contentsOf: directory.appendingPathComponent(file))
        return try JSON.parse([UInt8](data))
    }

    /// The messages of a vector: the file itself, or its `messages` list.
    static func messages(_ vector: JSON) -> [JSON] {
        vector["messages"]?.arrayValue ?? [vector]
    }

    /// AMQP properties as recorded.
    static func properties(_ message: JSON) -> MessageProperties {
        let p = message["properties"] ?? .null
        return MessageProperties(
            contentType: p["content_type"]?.stringValue,
            contentEncoding: p["content_encoding"]?.stringValue,
            headers: p["headers"]?.objectValue,
            deliveryMode: p["delivery_mode"]?.int64Value.map { UInt8($0) },
            priority: p["priority"]?.int64Value.map { UInt8($0) },
            correlationID: p["correlation_id"]?.stringValue,
            replyTo: p["reply_to"]?.stringValue,
            expiration: p["expiration"]?.stringValue)
    }

    /// The body bytes as sent: the zlib bytes for the compressed vector,
    /// else the recorded body written as Python's `json.dumps` does.
    static func body(_ message: JSON) -> [UInt8] {
        if let b64 = message["body_raw_b64"]?.stringValue, let data = Data(base64Encoded: b64) {
            return [UInt8](data)
        }
        return (message["body"] ?? .null).serializedBytes
    }

    /// The decoded body the vector records.
    static func decodedBody(_ message: JSON) -> JSON {
        if let after = message["body_after_decompression"] { return after }
        return message["body"] ?? .null
    }

    static func delivery(_ message: JSON) -> Delivery {
        Delivery(consumerTag: "ctag", deliveryTag: 1, redelivered: false, exchange: message["exchange"]?.stringValue ?? "",
                 routingKey: message["routing_key"]?.stringValue ?? "celery",
                 properties: properties(message), body: body(message))
    }
}

/// JSON with every object's keys sorted, to compare values whose key
/// order differs (the vectors were recorded with sorted keys).
func sortedKeys(_ value: JSON) -> JSON {
    switch value {
    case .array(let a): return .array(a.map(sortedKeys))
    case .object(let o):
        return .object(JSONObject(o.members.sorted { $0.key < $1.key }.map { .init($0.key, sortedKeys($0.value)) }))
    default: return value
    }
}

func text(_ bytes: some Sequence<UInt8>) -> String { String(decoding: Array(bytes), as: UTF8.self) }
