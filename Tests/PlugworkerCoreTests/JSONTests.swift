import Testing
@testable import PlugworkerCore

@Suite("JSON reader and writer")
struct JSONTests {
    @Test("parses every kind of value", arguments: [
        ("null", JSON.null),
        ("true", .bool(true)),
        ("false", .bool(false)),
        ("0", .int(0)),
        ("-12", .int(-12)),
        ("9223372036854775807", .int(.max)),
        ("-9223372036854775808", .int(.min)),
        ("9223372036854775808", .uint(9_223_372_036_854_775_808)),
        ("18446744073709551616", .bigint("18446744073709551616")),
        ("-9223372036854775809", .bigint("-9223372036854775809")),
        ("2.5", .double(2.5)),
        ("1e3", .double(1000)),
        ("-0.5E-2", .double(-0.005)),
        ("Infinity", .double(.infinity)),
        ("-Infinity", .double(-.infinity)),
        (#""a\"b\\c\/\n\t\u00e9""#, .string("a\"b\\c/\n\té")),
        (#""\ud83d\ude00""#, .string("😀")),
        (#""\ud800x""#, .string("\u{FFFD}x")),
        ("[1, [], {}]", .array([.int(1), .array([]), .object(JSONObject())])),
        (#" { "b": 1, "a": [true, null] } "#, JSON.object(JSONObject(["b": 1, "a": [true, nil]]))),
    ])
    func parses(_ text: String, _ expected: JSON) throws {
        #expect(try JSON.parse(text) == expected)
    }

    @Test("NaN parses as a NaN double")
    func nan() throws {
        guard case .double(let d) = try JSON.parse("NaN") else { Issue.record("not a double"); return }
        #expect(d.isNaN)
    }

    @Test("rejects malformed text with the offset", arguments: [
        ("", "unexpected end"),
        ("[1,", "unexpected end"),
        ("[1 2]", "expected ',' or ']'"),
        ("{\"a\" 1}", "expected ':'"),
        ("{1: 2}", "expected a string key"),
        ("01", "leading zero"),
        ("1.", "no digits after '.'"),
        ("1e", "no digits in exponent"),
        ("\"abc", "unterminated string"),
        ("\"a\u{01}\"", "control character"),
        (#""\x""#, "invalid escape"),
        (#""\u12""#, "\\u escape"),
        ("tru", "expected true or false"),
        ("[] x", "extra data"),
    ])
    func rejects(_ text: String, _ fragment: String) {
        #expect {
            _ = try JSON.parse(text)
        } throws: { error in
            guard let e = error as? JSONError else { return false }
            return e.message.contains(fragment)
        }
    }

    @Test("rejects invalid UTF-8 inside strings")
    func invalidUTF8() {
        for bytes: [UInt8] in [[0x22, 0xC3, 0x28, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF8, 0x22], [0x22, 0xE2, 0x82, 0x22]] {
            #expect(throws: JSONError.self) { _ = try JSON.parse(bytes) }
        }
        #expect((try? JSON.parse([0x22, 0xC3, 0xA9, 0x22] as [UInt8])) == .string("é"))
    }

    @Test("limits nesting depth")
    func depth() throws {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(throws: JSONError.self) { _ = try JSON.parse(deep) }
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(try JSON.parse(ok).arrayValue != nil)
    }

    @Test("writes Python's json.dumps form and reads it back")
    func writes() throws {
        let value: JSON = ["status": "SUCCESS", "result": [1, 2.5, true, nil, "é\"\n\u{01}"], "n": .int(-7), "big": .bigint("123456789012345678901234567890")]
        let text = value.serialized
        #expect(text == #"{"status": "SUCCESS", "result": [1, 2.5, true, null, "é\"\n\u0001"], "n": -7, "big": 123456789012345678901234567890}"#)
        #expect(try JSON.parse(text) == value)
        #expect(JSON.double(.infinity).serialized == "Infinity")
        #expect(JSON.double(1e-5).serialized == "1e-05")
        #expect(JSON.double(5).serialized == "5.0")
    }

    @Test("base64 round trip and rejects", arguments: ["", "f", "fo", "foo", "foob", "fooba", "foobar"])
    func base64(_ text: String) {
        let encoded = Array(text.utf8).withUnsafeBytes { Base64.encode($0) }
        var decoded: [UInt8] = []
        let ok = encoded.withUnsafeBufferPointer { Base64.decode($0, appendingTo: &decoded) }
        #expect(ok)
        #expect(decoded == Array(text.utf8))
    }

    @Test("base64 rejects bad text", arguments: ["a", "ab=c", "a$==", "abc==="])
    func base64Rejects(_ text: String) {
        var out: [UInt8] = []
        #expect(!Array(text.utf8).withUnsafeBufferPointer { Base64.decode($0, appendingTo: &out) })
    }
}
