import Testing
@testable import PlugworkerCore

/// Every conversion, through the real libffi path, against the C functions
/// of Tests/Fixtures/Plugins/conversions.c.
@Suite("Argument and result conversions")
struct ConversionTests {
    static let registry: Registry = {
        let loader = Fixtures.loader()
        do {
            _ = try loader.loadPlugin(at: Fixtures.fixture("conversions"))
        } catch {
            fatalError("conversions fixture: \(error)")
        }
        return loader.registry
    }()

    static func task(_ name: String) -> NativeTask {
        guard let t = registry.task(named: name) else { fatalError("\(name) not registered") }
        return t
    }

    @Test("values round-trip", arguments: [
        ("conv.bool", "[true]", "true"),
        ("conv.bool", "[false]", "false"),
        ("conv.i8", "[-128]", "-128"),
        ("conv.i8", "[127]", "127"),
        ("conv.i8", "[3.0]", "3"),
        ("conv.i16", "[-32768]", "-32768"),
        ("conv.i32", "[2147483647]", "2147483647"),
        ("conv.i64", "[-9223372036854775808]", "-9223372036854775808"),
        ("conv.i64", "[9223372036854775807]", "9223372036854775807"),
        ("conv.u8", "[255]", "255"),
        ("conv.u16", "[65535]", "65535"),
        ("conv.u32", "[4294967295]", "4294967295"),
        ("conv.u64", "[18446744073709551615]", "18446744073709551615"),
        ("conv.float", "[0.1]", "0.1"),
        ("conv.float", "[2]", "2.0"),
        ("conv.double", "[1e308]", "1e+308"),
        ("conv.double", "[-0.25]", "-0.25"),
        ("conv.double", "[Infinity]", "Infinity"),
        ("conv.double", "[7]", "7.0"),
        ("conv.string", #"["héllo \"q\" \\ \n 😀"]"#, #""héllo \"q\" \\ \n 😀""#),
        ("conv.string", #"[""]"#, #""""#),
        ("conv.null_string", "[]", "null"),
        ("conv.bytes", #"[{"__type__": "base64", "__value__": "aGVsbG8="}]"#, #"{"__type__": "base64", "__value__": "aGVsbG8="}"#),
        ("conv.bytes", #"[{"__value__": "AP8=", "__type__": "base64"}]"#, #"{"__type__": "base64", "__value__": "AP8="}"#),
        ("conv.bytes", #"["hi"]"#, #"{"__type__": "base64", "__value__": "aGk="}"#),
        ("conv.bytes", #"[""]"#, #"{"__type__": "base64", "__value__": ""}"#),
        ("conv.json", #"[{"a": [1, 2.5, null], "b": "x"}]"#, #"{"a": [1, 2.5, null], "b": "x"}"#),
        ("conv.json", "[[]]", "[]"),
        ("conv.json", "[null]", "null"),
        ("conv.void", "[]", "null"),
        ("conv.mixed", #"[1, "s", 2.5, true, {"k": 1}]"#, #""1|s|2.5|1|{\"k\": 1}""#),
        ("conv.many", "[-128, -32768, -2147483648, 1, 255, 65535, 4294967295, 2, 0.5, 0.25]", "2147516544.75"),
    ])
    func roundTrip(_ task: String, _ args: String, _ expected: String) {
        let outcome = Self.task(task).call(args)
        #expect(outcome.resultText == expected, "\(task)\(args) gave \(outcome)")
    }

    @Test("kwargs bind by name, mixed with positional")
    func kwargs() {
        let t = Self.task("conv.mixed")
        #expect(t.call(#"[1, "s"]"#, #"{"doc": [1], "flag": false, "d": 3}"#).resultText == #""1|s|3|0|[1]""#)
        #expect(t.call("[]", #"{"a": 1, "s": "s", "d": 3, "flag": false, "doc": null}"#).resultText == #""1|s|3|0|null""#)
    }

    @Test("arguments that do not fit raise TypeError naming the argument and position", arguments: [
        ("conv.bool", "[1]", "echo_bool() argument 'v' (position 1) must be bool, not int"),
        ("conv.i64", #"["1"]"#, "echo_i64() argument 'v' (position 1) must be int64, not str"),
        ("conv.i64", "[true]", "echo_i64() argument 'v' (position 1) must be int64, not bool"),
        ("conv.i64", "[null]", "echo_i64() argument 'v' (position 1) must be int64, not NoneType"),
        ("conv.i64", "[[1]]", "echo_i64() argument 'v' (position 1) must be int64, not list"),
        ("conv.i64", "[2.5]", "echo_i64() argument 'v' (position 1) must be an integer for int64, not 2.5"),
        ("conv.i8", "[128]", "echo_i8() argument 'v' (position 1) is out of range for int8: 128"),
        ("conv.i8", "[-129]", "echo_i8() argument 'v' (position 1) is out of range for int8: -129"),
        ("conv.u8", "[-1]", "echo_u8() argument 'v' (position 1) is out of range for uint8: -1"),
        ("conv.i64", "[9223372036854775808]", "is out of range for int64: 9223372036854775808"),
        ("conv.u64", "[18446744073709551616]", "is out of range for uint64: 18446744073709551616"),
        ("conv.float", "[1e39]", "echo_float() argument 'v' (position 1) is out of range for float"),
        ("conv.double", #"[{"x": 1}]"#, "must be double, not dict"),
        ("conv.double", "[false]", "must be double, not bool"),
        ("conv.string", "[5]", "echo_string() argument 'v' (position 1) must be string, not int"),
        ("conv.string", #"["a\u0000b"]"#, "echo_string() argument 'v' (position 1) contains a NUL character"),
        ("conv.bytes", "[5]", "must be bytes, not int"),
        ("conv.bytes", #"[{"__type__": "base64", "__value__": "!!"}]"#, "is not valid base64"),
        ("conv.bytes", #"[{"__type__": "datetime", "__value__": "2026-01-01"}]"#, "must be bytes"),
        ("conv.mixed", #"[1, "s", 2.5, "yes", {}]"#, "mixed() argument 'flag' (position 4) must be bool, not str"),
        ("conv.mixed", #"[1, "s", 2.5, true, {}, 6]"#, "mixed() takes 5 positional arguments but 6 were given"),
        ("conv.void", "[1]", "nothing() takes 0 positional arguments but 1 was given"),
        ("conv.mixed", "[1]", "mixed() missing 4 required positional arguments: 's', 'd', 'flag', and 'doc'"),
        ("conv.mixed", #"[1, "s", 2.5]"#, "mixed() missing 2 required positional arguments: 'flag' and 'doc'"),
        ("conv.i64", "[]", "echo_i64() missing 1 required positional argument: 'v'"),
    ])
    func typeErrors(_ task: String, _ args: String, _ message: String) {
        let e = Self.task(task).call(args).exception
        #expect(e?.type == "TypeError", "\(task)\(args): \(String(describing: e))")
        #expect(e?.module == "builtins")
        #expect(e?.message.contains(message) == true, "\(task)\(args): \(e?.message ?? "no error")")
    }

    @Test("keyword errors read like Python's", arguments: [
        (#"[1]"#, #"{"a": 2, "s": "x", "d": 1, "flag": true, "doc": 1}"#, "mixed() got multiple values for argument 'a'"),
        (#"[]"#, #"{"a": 2, "zz": 1}"#, "mixed() got an unexpected keyword argument 'zz'"),
        (#"[]"#, #"{"a": 2, "a": 3, "s": "x", "d": 1, "flag": true, "doc": 1}"#, "mixed() got multiple values for keyword argument 'a'"),
        (#"[1, 2, 3, 4, 5, 6]"#, #"{"zz": 1}"#, "mixed() takes 5 positional arguments but 6 were given"),
    ])
    func keywordErrors(_ args: String, _ kwargs: String, _ message: String) {
        let e = Self.task("conv.mixed").call(args, kwargs).exception
        #expect(e?.type == "TypeError")
        #expect(e?.message == message, "got \(e?.message ?? "no error")")
    }

    @Test("binding errors come before conversion errors, as Python reports them")
    func errorOrder() {
        let e = Self.task("conv.i64").call(#"["x", 2]"#).exception
        #expect(e?.message == "echo_i64() takes 1 positional argument but 2 were given")
    }

    @Test("malformed argument JSON is a ValueError, never a crash", arguments: ["[1,", "{", "[1 2]", "[\"\\q\"]", "5"])
    func malformed(_ args: String) {
        let e = Self.task("conv.i64").call(args).exception
        #expect(e?.type == "ValueError")
        #expect(e?.message.contains("malformed JSON arguments") == true)
    }

    @Test("invalid UTF-8 in an argument is reported as such")
    func invalidUTF8Argument() {
        let bytes: [UInt8] = Array("[\"a".utf8) + [0xFF] + Array("b\"]".utf8)
        let outcome = bytes.withUnsafeBytes { a in
            Self.task("conv.string").invoke(args: a, kwargs: UnsafeRawBufferPointer(start: nil, count: 0), context: TaskContext(id: "u", taskName: "conv.string"))
        }
        #expect(outcome.exception?.message.contains("invalid UTF-8") == true, "\(outcome)")
    }

    @Test("a task returning invalid JSON fails with ValueError")
    func badJSONResult() {
        let e = Self.task("conv.bad_json").call("[]").exception
        #expect(e?.type == "ValueError")
        #expect(e?.message.contains("conv.bad_json returned invalid JSON") == true)
    }

    @Test("the context gives the request and is the current one")
    func context() throws {
        let outcome = Self.task("conv.ctx").call("[]", retries: 2, id: "id-42")
        let json = try JSON.parse(try #require(outcome.resultText))
        #expect(json["id"] == "id-42")
        #expect(json["task"] == "conv.ctx")
        #expect(json["retries"] == 2)
        #expect(json["current_matches"] == true)
    }

    @Test("ctx_fail names the exception the client raises", arguments: [
        ("KeyError", "KeyError", "builtins"),
        ("mypkg.errors.MyError", "MyError", "mypkg.errors"),
        ("ParseError", "ParseError", "plugworker"),
        ("", "RuntimeError", "builtins"),
    ])
    func fail(_ kind: String, _ type: String, _ module: String) {
        let e = Self.task("conv.fail").call(JSON.array([.string(kind), "boom"]).serialized).exception
        #expect(e == TaskException(type: type, module: module, message: "boom"))
    }

    @Test("ctx_retry asks for a retry until max_retries, then MaxRetriesExceededError")
    func retry() {
        let t = Self.task("conv.retry")
        #expect(t.call("[0.5]") == .retry(countdown: 0.5, reason: "fixture_conv retry"))
        #expect(t.call("[-1]", retries: 2) == .retry(countdown: 180, reason: "fixture_conv retry"))
        let e = t.call("[0.5]", retries: 3).exception
        #expect(e?.type == "MaxRetriesExceededError")
        #expect(e?.module == "celery.exceptions")
    }

    @Test("context calls outside a running task are refused")
    func staleContext() {
        let host = HostTable.table.pointee
        #expect(host.current!() == nil)
        let stale = TaskContext(id: "x", taskName: "y")
        #expect(host.ctx_id!(stale.opaque) == nil)
        #expect(host.ctx_fail!(stale.opaque, "ValueError", "no") == Int32(2))  // PW_E_STATE
        #expect(stale.request == .none)
    }
}
