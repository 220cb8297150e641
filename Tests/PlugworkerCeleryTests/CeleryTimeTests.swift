import Foundation
import PlugworkerCore
import Testing
@testable import PlugworkerCelery

@Suite("ISO-8601 timestamps")
struct CeleryTimeTests {
    @Test("parses what clients send", arguments: [
        ("2026-11-21T11:01:13.786105+00:00", 1_795_258_873.786105),
        ("2026-11-21T11:01:13.786105Z", 1_795_258_873.786105),
        ("2026-11-21T11:01:13.786105z", 1_795_258_873.786105),
        ("2026-11-21T11:01:13.786105", 1_795_258_873.786105),
        ("2026-11-21 11:01:13.786105", 1_795_258_873.786105),
        ("2026-11-21T11:01:13.7861050000001+00:00", 1_795_258_873.786105),
        ("2026-11-21T11:01:13.7+00:00", 1_795_258_873.7),
        ("2026-11-21T11:01:13,5Z", 1_795_258_873.5),
        ("2031-01-02T03:04:05+00:00", 1_925_089_445.0),
        ("2031-01-02T05:04:05+02:00", 1_925_089_445.0),
        ("2031-01-02T05:04:05+0200", 1_925_089_445.0),
        ("2031-01-02T05:04:05+02", 1_925_089_445.0),
        ("2031-01-02T01:34:05-01:30", 1_925_089_445.0),
        ("2031-01-02T03:04:35+00:00:30", 1_925_089_445.0),
        ("2031-01-02T03:04:35+00:00:30.000001", 1_925_089_445.0),
        ("2031-01-02T03:04+00:00", 1_925_089_440.0),
        ("1970-01-01T00:00:00+00:00", 0.0),
        ("1970-01-01", 0.0),
        ("1969-12-31T23:59:59.5+00:00", -0.5),
        ("2000-02-29T00:00:00Z", 951_782_400.0),
        ("0001-01-01T00:00:00Z", -62_135_596_800.0),
        ("9999-12-31T23:59:59Z", 253_402_300_799.0),
    ])
    func parses(_ text: String, _ expected: Double) throws {
        let value = try CeleryTime.parse(text)
        #expect(abs(value - expected) < 1e-6, "\(text) → \(value)")
    }

    @Test("agrees with Foundation over many dates")
    func agreesWithFoundation() throws {
        var rng = SystemRandomNumberGenerator()
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        for _ in 0..<2000 {
            let seconds = Double(Int64.random(in: -2_000_000_000...4_000_000_000, using: &rng))
            let text = formatter.string(from: Date(timeIntervalSince1970: seconds))
            #expect(try CeleryTime.parse(text) == seconds, "\(text)")
            #expect(CeleryTime.format(seconds) == text.replacingOccurrences(of: "Z", with: "+00:00"))
        }
    }

    @Test("parses kombu's tagged datetime and null")
    func tagged() throws {
        let tagged: JSON = ["__type__": "datetime", "__value__": "2026-01-02T03:04:05+00:00"]
        #expect(try CeleryTime.parse(tagged) == 1_767_323_045)
        #expect(try CeleryTime.parse(JSON.null) == nil)
        #expect(CeleryTime.text(of: tagged) == "2026-01-02T03:04:05+00:00")
        #expect(throws: CeleryTime.ParseError.self) { try CeleryTime.parse(JSON.int(5)) }
        #expect(throws: CeleryTime.ParseError.self) { try CeleryTime.parse(JSON.object(JSONObject(["__type__": "date", "__value__": "2026-01-02"]))) }
    }

    @Test("rejects garbage", arguments: [
        "", "garbage", "2026", "2026-11", "2026-11-21T", "2026-11-21T11", "2026-11-21T11:01:",
        "2026-13-01T00:00:00", "2026-00-10T00:00:00", "2026-02-29T00:00:00", "2026-04-31",
        "2026-11-21T24:00:00", "2026-11-21T11:60:00", "2026-11-21T11:01:60", "2026-11-21T11:01:13.",
        "2026-11-21T11:01:13+25:00", "2026-11-21T11:01:13+00:61", "2026-11-21T11:01:13+", "2026-11-21T11:01:13 UTC",
        "2026-11-21X11:01:13", "0000-01-01", "2026-11-21T11:01:13+00:00junk", "２０２６-11-21", "-2026-11-21",
        "2026-1-21", "2026-11-21T1:01:13",
    ])
    func rejects(_ text: String) {
        #expect(throws: CeleryTime.ParseError.self) { try CeleryTime.parse(text) }
    }

    @Test("error messages quote the text on one line")
    func errorMessage() {
        do {
            _ = try CeleryTime.parse("bad\nvalue")
            Issue.record("parsed")
        } catch {
            #expect(error.message.contains("'bad\\nvalue'"))
            #expect(!error.message.contains("\n"))
        }
    }

    @Test("formats like Python's isoformat()", arguments: [
        (1_795_258_874.289864, "2026-11-21T11:01:14.289864+00:00"),
        (1_925_089_445.0, "2031-01-02T03:04:05+00:00"),
        (0.0, "1970-01-01T00:00:00+00:00"),
        (-0.5, "1969-12-31T23:59:59.500000+00:00"),
        (951_782_400.000001, "2000-02-29T00:00:00.000001+00:00"),
        (1_795_258_874.9999996, "2026-11-21T11:01:15+00:00"),
        (1e300, "9999-12-31T23:59:59.999999+00:00"),
        (-1e300, "0001-01-01T00:00:00+00:00"),
    ])
    func formats(_ epoch: Double, _ expected: String) {
        #expect(CeleryTime.format(epoch) == expected)
    }

    @Test("format and parse round-trip to the microsecond")
    func roundTrip() throws {
        for _ in 0..<1000 {
            let micros = Int64.random(in: 0...4_000_000_000_000_000)
            let t = Double(micros) / 1e6
            let back = try CeleryTime.parse(CeleryTime.format(t))
            #expect(abs(back - t) < 1e-6)
            #expect(CeleryTime.format(back) == CeleryTime.format(t))
        }
    }

    @Test("civil date arithmetic round-trips")
    func civil() {
        for days in stride(from: Int64(-800_000), through: 3_000_000, by: 997) {
            let (y, m, d) = CeleryTime.civilFromDays(days)
            #expect(CeleryTime.daysFromCivil(year: y, month: m, day: d) == days)
        }
    }

    @Test("now() is close to Foundation's clock")
    func now() {
        #expect(abs(CeleryTime.now() - Date().timeIntervalSince1970) < 1)
    }
}
