import PlugworkerCore
import Testing

@Suite("TOML reader")
struct TOMLReaderTests {
    @Test("tables, arrays of tables, dotted and quoted keys, every value kind")
    func document() throws {
        let doc = try TOMLReader.parse(#"""
            # a comment
            title = "plugworker"   # trailing comment
            "quoted key" = 'C:\literal'
            a.b.c = 1_000
            hex = 0xff
            neg = -3
            pi = 3.14
            big = 6.02e23
            off = false
            list = [1, "two", [3], { four = 4 },]
            multi = """
            line one
            line two"""
            escaped = "tab\there \u00e9"

            [beat]
            timezone = "UTC"

            [beat.schedule.x]
            task = "arith.add"

            [[jobs]]
            name = "first"
            [[jobs]]
            name = "second"
            [jobs.extra]
            k = true
            """#)
        #expect(doc["title"] == "plugworker")
        #expect(doc["quoted key"] == #"C:\literal"#)
        #expect(doc["a"]?["b"]?["c"] == 1000)
        #expect(doc["hex"] == 255 && doc["neg"] == -3 && doc["pi"] == 3.14 && doc["big"] == 6.02e23 && doc["off"] == false)
        #expect(doc["list"] == [1, "two", [3], ["four": 4]])
        #expect(doc["multi"] == "line one\nline two")
        #expect(doc["escaped"] == "tab\there é")
        #expect(doc["beat"]?["schedule"]?["x"]?["task"] == "arith.add")
        #expect(doc["jobs"] == [["name": "first"], ["name": "second", "extra": ["k": true]]])
        #expect(doc.members.map(\.key) == ["title", "quoted key", "a", "hex", "neg", "pi", "big", "off", "list", "multi",
                                           "escaped", "beat", "jobs"])
    }

    @Test("errors carry the line and say what is wrong", arguments: [
        ("a = 1\na = 2", 2, "defined twice"),
        ("[t]\n[t]", 2, "table [t] is defined twice"),
        (#"a = "open"#, 1, "unterminated string"),
        ("a = 1979-05-27", 1, "dates and times are not supported"),
        ("a = hello", 1, "not a value: hello"),
        ("a = 1 b = 2", 1, "unexpected text after the value"),
        ("a = [1 2]", 1, "expected ',' or ']'"),
        (#"a = "\q""#, 1, "unknown escape"),
        ("a = 007", 1, "leading zeros"),
        ("= 1", 1, "expected a key"),
        ("a.b = 1\na.b.c = 2", 2, "not a table"),
    ])
    func errors(text: String, line: Int, fragment: String) {
        do {
            _ = try TOMLReader.parse(text)
            Issue.record("parsed: \(text)")
        } catch {
            #expect(error.line == line, "\(error)")
            #expect(error.message.contains(fragment), "\(error)")
        }
    }
}
