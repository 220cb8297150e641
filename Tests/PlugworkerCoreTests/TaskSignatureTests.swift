import Testing
@testable import PlugworkerCore

@Suite("Task signatures")
struct TaskSignatureTests {
    @Test("parses and normalises", arguments: [
        ("add(a: int64, b: int64) -> int64", "add(a: int64, b: int64) -> int64"),
        ("  add ( a:int64 ,b :  int64 )->int64  ", "add(a: int64, b: int64) -> int64"),
        ("crash() -> void", "crash() -> void"),
        ("flaky(failures: int64, ctx) -> int64", "flaky(failures: int64, ctx) -> int64"),
        ("info(c: ctx) -> json", "info(c: ctx) -> json"),
        ("f(a: bool, b: int8, c: int16, d: int32, e: uint8, f: uint16, g: uint32, h: uint64, i: float, j: double, k: string, l: bytes, m: json) -> bytes",
         "f(a: bool, b: int8, c: int16, d: int32, e: uint8, f: uint16, g: uint32, h: uint64, i: float, j: double, k: string, l: bytes, m: json) -> bytes"),
        ("_x1(_y2: string) -> string", "_x1(_y2: string) -> string"),
    ])
    func parses(_ text: String, _ normalised: String) throws {
        let s = try TaskSignature(parsing: text)
        #expect(s.description == normalised)
    }

    @Test("flaky's ctx takes no JSON argument")
    func ctxParameter() throws {
        let s = try TaskSignature(parsing: "flaky(failures: int64, ctx) -> int64")
        #expect(s.parameters.map(\.type) == [.int64, .ctx])
        #expect(s.jsonParameters.map(\.name) == ["failures"])
    }

    @Test("refuses malformed signatures", arguments: [
        ("", "expected a function name"),
        ("add", "expected '('"),
        ("add(a int64) -> int64", "expected ':' and a type after parameter 'a'"),
        ("add(a: int64", "expected ',' or ')'"),
        ("add(a: int64,) -> int64", "expected a parameter name"),
        ("add(a: int64)", "result type is missing"),
        ("add(a: int64) int64", "expected '-> type'"),
        ("add(a: int64) -> int64 extra", "unexpected 'e'"),
        ("1add() -> void", "expected a function name"),
    ])
    func syntax(_ text: String, _ fragment: String) {
        #expect {
            _ = try TaskSignature(parsing: text)
        } throws: { error in
            guard let e = error as? SignatureError, e.kind == .syntax else { return false }
            return e.message.contains(fragment)
        }
    }

    @Test("names unknown types", arguments: [
        ("add(a: int128, b: int64) -> int64", "int128"),
        ("f() -> str", "str"),
        ("f(x: Int64) -> void", "Int64"),
    ])
    func unknownType(_ text: String, _ type: String) {
        #expect {
            _ = try TaskSignature(parsing: text)
        } throws: { error in
            (error as? SignatureError)?.kind == .unknownType(type)
        }
    }

    @Test("refuses well-formed but invalid signatures", arguments: [
        ("f(a: void) -> void", "cannot be void"),
        ("f(a: int64, a: int64) -> void", "duplicate parameter name 'a'"),
        ("f(ctx, c: ctx) -> void", "more than one ctx"),
        ("f() -> ctx", "'ctx' is not a result type"),
    ])
    func invalid(_ text: String, _ fragment: String) {
        #expect {
            _ = try TaskSignature(parsing: text)
        } throws: { error in
            guard let e = error as? SignatureError, e.kind == .invalid else { return false }
            return e.message.contains(fragment)
        }
    }

    @Test("the column points at the problem")
    func column() {
        do {
            _ = try TaskSignature(parsing: "add(a: int128) -> int64")
            Issue.record("parsed")
        } catch {
            #expect(error.column == 8)
        }
    }

    @Test("--task specifications", arguments: [
        ("m.pow=libm.so.6:pow(x: double, y: double) -> double", "m.pow", "libm.so.6", "pow", "pow(x: double, y: double) -> double"),
        (" t = ./lib/libx.so:fn() -> void", "t", "./lib/libx.so", "fn", "fn() -> void"),
    ])
    func taskSpec(_ text: String, _ name: String, _ module: String, _ symbol: String, _ sig: String) throws {
        let spec = try TaskSpec(parsing: text)
        #expect(spec.name == name)
        #expect(spec.symbol == SymbolName(module: module, symbol: symbol))
        #expect(spec.signature == sig)
    }

    @Test("bad --task specifications", arguments: ["pow", "m.pow=pow(x: double) -> double", "m.pow=libm.so.6:pow", "=libm.so.6:pow() -> void"])
    func badTaskSpec(_ text: String) {
        #expect {
            _ = try TaskSpec(parsing: text)
        } throws: { error in
            (error as? PluginError)?.code == .badTaskSpec
        }
    }

    @Test("rate limits", arguments: [("10/s", 10.0), ("100/m", 100.0 / 60), ("36/h", 0.01), ("7", 7.0), (" 5 / m ", 5.0 / 60)])
    func rateLimit(_ text: String, _ perSecond: Double) throws {
        let r = try #require(try RateLimit(parsing: text))
        #expect(abs(r.perSecond - perSecond) < 1e-9)
    }

    @Test("bad rate limits", arguments: ["x/s", "10/d", "1/2/3", "-1/s"])
    func badRateLimit(_ text: String) {
        #expect(throws: RateLimitError.self) { _ = try RateLimit(parsing: text) }
    }

    @Test("no rate limit")
    func noRateLimit() throws {
        #expect(try RateLimit(parsing: "") == nil)
        #expect(try RateLimit(parsing: "0/s") == nil)
    }
}
