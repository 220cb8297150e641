import Testing
import PlugworkerCore
@testable import PlugworkerBroker

/// Builds field-table wire bytes by hand, letter by letter.
struct WireTable {
    var entries: [UInt8] = []

    mutating func add(_ key: String, _ kind: Character, _ payload: [UInt8]) {
        entries.append(UInt8(key.utf8.count))
        entries += Array(key.utf8)
        entries.append(kind.asciiValue!)
        entries += payload
    }

    var bytes: [UInt8] { be(UInt32(entries.count)) + entries }
}

func be<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
    withUnsafeBytes(of: v.bigEndian) { Array($0) }
}

func longString(_ bytes: [UInt8]) -> [UInt8] { be(UInt32(bytes.count)) + bytes }

@Suite("AMQP field tables ⇄ JSON")
struct AMQPTableTests {
    @Test("decodes every field kind")
    func decodesEveryKind() throws {
        var w = WireTable()
        w.add("bool", "t", [1])
        w.add("i8", "b", [0xFE])
        w.add("u8", "B", [0xFE])
        w.add("i16", "s", be(Int16(-300)))
        w.add("u16", "u", be(UInt16(65000)))
        w.add("i32", "I", be(Int32(-70000)))
        w.add("u32", "i", be(UInt32(4_000_000_000)))
        w.add("i64", "l", be(Int64(-9_007_199_254_740_993)))
        // py-amqp writes every int beyond 32 bits as 'L': signed, though
        // rabbitmq-c calls the kind U64.
        w.add("L-neg", "L", be(Int64(-1000)))
        w.add("L-big", "L", be(Int64(9_007_199_254_740_993)))
        w.add("f32", "f", be(Float(1.5).bitPattern))
        w.add("f64", "d", be(Double(-2.25).bitPattern))
        w.add("decimal", "D", [2] + be(Int32(-12345)))
        w.add("utf8", "S", longString(Array("héllo".utf8)))
        w.add("bad-utf8", "S", longString([0x61, 0xFF, 0x62]))
        w.add("bytes", "x", longString([0x68, 0x69]))
        var inner = WireTable()
        inner.add("k", "I", be(Int32(1)))
        w.add("table", "F", inner.bytes)
        let array: [UInt8] = [UInt8(ascii: "I")] + be(Int32(7)) + [UInt8(ascii: "S")] + longString(Array("x".utf8))
            + [UInt8(ascii: "V")] + [UInt8(ascii: "A")] + be(UInt32(0))
        w.add("array", "A", be(UInt32(array.count)) + array)
        w.add("void", "V", [])
        w.add("timestamp", "T", be(UInt64(1_700_000_000)))

        let json = try AMQPTable.decode(wire: w.bytes)
        let expected = JSONObject([
            "bool": true, "i8": -2, "u8": 254, "i16": -300, "u16": 65000, "i32": -70000,
            "u32": 4_000_000_000, "i64": -9_007_199_254_740_993, "L-neg": -1000, "L-big": 9_007_199_254_740_993,
            "f32": 1.5, "f64": -2.25, "decimal": -123.45, "utf8": "héllo", "bad-utf8": "a\u{FFFD}b", "bytes": "hi",
            "table": ["k": 1], "array": [7, "x", nil, []], "void": nil, "timestamp": 1_700_000_000,
        ] as KeyValuePairs<String, JSON>)
        #expect(json.members.map(\.key) == expected.members.map(\.key), "order is kept")
        for member in expected {
            #expect(json[member.key] == member.value, "\(member.key)")
        }
        // Ints come back as .int, never .uint or .double.
        for key in ["u32", "i64", "L-neg", "L-big", "timestamp"] {
            guard case .int = json[key] else {
                Issue.record("\(key) decoded as \(String(describing: json[key]))")
                continue
            }
        }
    }

    @Test("refuses a broken table")
    func refusesBroken() {
        var w = WireTable()
        w.add("k", "Z", [0])
        #expect(throws: BrokerError.self) { try AMQPTable.decode(wire: w.bytes) }
        #expect(throws: BrokerError.self) { try AMQPTable.decode(wire: [0, 0, 0, 9, 1]) }
        do {
            _ = try AMQPTable.decode(wire: w.bytes)
        } catch {
            #expect(error.code == .protocolError)
        }
    }

    @Test("encodes with py-amqp's letters and decodes back")
    func encodesLikePyAMQP() throws {
        let object = JSONObject([
            "str": "héllo", "true": true, "false": false, "small": 42, "neg": -2_147_483_647,
            "i32-edge": 2_147_483_647, "beyond-i32": 2_147_483_648, "big": 9_007_199_254_740_993,
            "neg-big": -9_223_372_036_854_775_808, "double": 0.5, "null": nil,
            "list": [1, "a", [true], ["k": nil]], "dict": ["nested": ["deep": 1.25]], "empty-list": [], "empty-dict": [:],
        ] as KeyValuePairs<String, JSON>)
        let wire = try AMQPTable.encode(wire: object)
        #expect(try AMQPTable.decode(wire: wire) == object)

        // Walk the top level and check each letter.
        var letters: [String: Character] = [:]
        var i = 4
        while i < wire.count {
            let klen = Int(wire[i])
            let key = String(decoding: wire[(i + 1)...(i + klen)], as: UTF8.self)
            let kind = Character(Unicode.Scalar(wire[i + 1 + klen]))
            letters[key] = kind
            i += 2 + klen
            switch kind {
            case "t": i += 1
            case "I": i += 4
            case "L", "d": i += 8
            case "V": break
            case "S", "A", "F":
                let n = wire[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) }
                i += 4 + n
            default: Issue.record("unexpected letter \(kind)"); return
            }
        }
        #expect(letters == [
            "str": "S", "true": "t", "false": "t", "small": "I", "neg": "I", "i32-edge": "I", "beyond-i32": "L",
            "big": "L", "neg-big": "L", "double": "d", "null": "V", "list": "A", "dict": "F", "empty-list": "A",
            "empty-dict": "F",
        ])
    }

    @Test("writes integers wider than 64 bits as decimal strings")
    func wideIntegers() throws {
        let object = JSONObject([
            "u64": .uint(18_446_744_073_709_551_615), "fits": .uint(5), "huge": .bigint("123456789012345678901234567890"),
        ] as KeyValuePairs<String, JSON>)
        let back = try AMQPTable.decode(wire: try AMQPTable.encode(wire: object))
        #expect(back["u64"] == "18446744073709551615")
        #expect(back["fits"] == 5)
        #expect(back["huge"] == "123456789012345678901234567890")
    }

    @Test("refuses a key longer than 255 bytes")
    func longKey() {
        let object = JSONObject([JSONObject.Member(String(repeating: "k", count: 256), 1)])
        #expect(throws: BrokerError.self) { try AMQPTable.encode(wire: object) }
        do {
            _ = try AMQPTable.encode(wire: object)
        } catch {
            #expect(error.code == .invalidArgument)
        }
    }

    @Test("an empty table is four zero bytes")
    func emptyTable() throws {
        #expect(try AMQPTable.encode(wire: JSONObject()) == [0, 0, 0, 0])
        #expect(try AMQPTable.decode(wire: [0, 0, 0, 0]) == JSONObject())
    }
}
