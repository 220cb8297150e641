import PlugworkerCore
import Testing
@testable import PlugworkerCelery

@Suite("Python repr of JSON values")
struct PythonReprTests {
    @Test("renders values as Python does", arguments: [
        (JSON.null, "None"),
        (.bool(true), "True"),
        (.bool(false), "False"),
        (.int(-12), "-12"),
        (.uint(18_446_744_073_709_551_615), "18446744073709551615"),
        (.bigint("123456789012345678901234567890"), "123456789012345678901234567890"),
        (.string("boom"), "'boom'"),
        (.string("it's"), "\"it's\""),
        (.string("a\"b"), "'a\"b'"),
        (.string("both'\""), "'both\\'\"'"),
        (.string("tab\tnl\ncr\rbs\\"), "'tab\\tnl\\ncr\\rbs\\\\'"),
        (.string("\u{0}\u{7f}\u{80}\u{a0}é😀\u{2028}\u{feff}"), "'\\x00\\x7f\\x80\\xa0é😀\\u2028\\ufeff'"),
        (.string("\u{E000}\u{10FFFF}"), "'\\ue000\\U0010ffff'"),
        (.array([1, "a", nil]), "[1, 'a', None]"),
        (.array([]), "[]"),
        (JSON.object(JSONObject(["x": 4, "y": ["z"]])), "{'x': 4, 'y': ['z']}"),
    ])
    func repr(_ value: JSON, _ expected: String) {
        #expect(PythonRepr.repr(value) == expected)
    }

    @Test("floats follow Python's repr", arguments: [
        (1.0, "1.0"), (0.1, "0.1"), (2.5, "2.5"), (-0.0, "-0.0"), (0.0, "0.0"),
        (1e15, "1000000000000000.0"), (1e16, "1e+16"), (1.5e16, "1.5e+16"),
        (123456789012345678.0, "1.2345678901234568e+17"),
        (0.0001, "0.0001"), (0.00001, "1e-05"), (1.5e-7, "1.5e-07"), (2.5e-310, "2.5e-310"),
        (1.7976931348623157e308, "1.7976931348623157e+308"), (123.456, "123.456"),
        (100.0, "100.0"), (9007199254740993.0, "9007199254740992.0"),
        (Double.nan, "nan"), (Double.infinity, "inf"), (-Double.infinity, "-inf"),
    ])
    func floats(_ value: Double, _ expected: String) {
        #expect(PythonRepr.float(value) == expected)
    }

    @Test("args render as a tuple, kwargs as a dict")
    func argsAndKwargs() {
        #expect(PythonRepr.argsTuple([]) == "()")
        #expect(PythonRepr.argsTuple([2]) == "(2,)")
        #expect(PythonRepr.argsTuple([2, 3]) == "(2, 3)")
        #expect(PythonRepr.argsTuple(["boom"]) == "('boom',)")
        #expect(PythonRepr.kwargsDict(JSONObject()) == "{}")
        #expect(PythonRepr.kwargsDict(JSONObject(["x": 4, "y": 5])) == "{'x': 4, 'y': 5}")
    }

    @Test("long reprs are cut at a character boundary")
    func truncation() {
        let long = PythonRepr.argsTuple([.string(String(repeating: "é", count: 2000))], maxLength: 100)
        #expect(long.hasSuffix("..."))
        #expect(long.utf8.count <= 103)
        #expect(!long.contains("\u{FFFD}"))
        let many = PythonRepr.argsTuple(Array(repeating: JSON.int(1), count: 100_000))
        #expect(many.utf8.count <= PythonRepr.defaultMaxLength + 3)
    }
}
