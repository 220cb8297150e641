#if canImport(Glibc)
import Glibc
#endif
import PlugworkerCore

/// A time zone's rules, read from the system's tz database (TZif files in
/// `$TZDIR`, else `/usr/share/zoneinfo`, from Debian's `tzdata`).
///
/// It answers the two questions a scheduler asks: the UTC offset in force
/// at an instant, and the instant of a wall-clock time — which, around a
/// DST change, may not exist (spring forward) or exist twice (fall back).
/// The transitions listed in the file are used as they are; after the last
/// one, the POSIX TZ rule in the file's footer (`CET-1CEST,M3.5.0,M10.5.0/3`)
/// computes each year's changes, so "slim" files work as well as "fat" ones.
///
/// Why not Foundation's `TimeZone`: on Linux, the full time zone support
/// lives in FoundationInternationalization, with ICU, which every worker
/// process would then map; the tz files themselves are small and exact.
public struct ZoneInfo: Sendable, Equatable {
    /// The zone's name, e.g. `Europe/Paris` or `UTC`.
    public let name: String
    /// UTC instants (seconds) at which `offsets[transitionTypes[i]]` begins.
    let transitions: [Int64]
    let transitionTypes: [Int]
    /// Offsets east of UTC in seconds, and whether each is DST.
    let offsets: [(seconds: Int32, isDST: Bool)]
    /// The rule for instants after the last transition.
    let footer: PosixTZRule?

    /// UTC.
    public static let utc = ZoneInfo(name: "UTC", transitions: [], transitionTypes: [], offsets: [(0, false)], footer: nil)

    public static func == (a: ZoneInfo, b: ZoneInfo) -> Bool { a.name == b.name }

    init(name: String, transitions: [Int64], transitionTypes: [Int], offsets: [(seconds: Int32, isDST: Bool)],
         footer: PosixTZRule?) {
        self.name = name
        self.transitions = transitions
        self.transitionTypes = transitionTypes
        self.offsets = offsets
        self.footer = footer
    }

    /// The zone named `name` (`Europe/Paris`, `America/New_York`, `UTC`).
    /// - Throws: `BeatError.unknownTimeZone` when there is no such file or
    ///   it is not a TZif file.
    public static func named(_ name: String, directory: String? = nil) throws(BeatError) -> ZoneInfo {
        if name == "UTC" || name == "Etc/UTC" || name == "GMT" || name == "Z" { return .utc }
        let dir = directory ?? getenv("TZDIR").map { String(cString: $0) } ?? "/usr/share/zoneinfo"
        guard !name.isEmpty, !name.hasPrefix("/"), !name.split(separator: "/").contains("..") else {
            throw BeatError(.unknownTimeZone, "time zone \"\(name)\" is not a zone name",
                            hint: "use a name from the tz database, e.g. Europe/Paris or UTC")
        }
        let path = dir + "/" + name
        guard let bytes = FileBytes.read(path, limit: 1 << 20) else {
            throw BeatError(.unknownTimeZone, "unknown time zone \"\(name)\": cannot read \(path)",
                            hint: "use a name from the tz database (see \(dir)); on Debian install the tzdata package")
        }
        do {
            return try parse(name: name, bytes)
        } catch {
            throw BeatError(.unknownTimeZone, "time zone file \(path) is not usable: \(error)",
                            hint: "reinstall tzdata, or pick another zone")
        }
    }

    /// The offset east of UTC, in seconds, at the UTC instant `t`.
    public func offset(at t: Int64) -> Int32 {
        if let last = transitions.last, t >= last, let footer {
            return footer.offset(at: t)
        }
        // The last transition at or before t.
        var lo = 0, hi = transitions.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if transitions[mid] <= t { lo = mid + 1 } else { hi = mid }
        }
        if lo == 0 {
            if transitions.isEmpty, let footer { return footer.offset(at: t) }
            // Before the first transition: the first standard-time type.
            return (offsets.first(where: { !$0.isDST }) ?? offsets[0]).seconds
        }
        return offsets[transitionTypes[lo - 1]].seconds
    }

    /// The UTC instant of a wall-clock time in this zone.
    ///
    /// - A time that exists once maps to that instant.
    /// - A time skipped by a change (02:30 when clocks go from 02:00 to
    ///   03:00) maps to the instant that time would have with the offset in
    ///   force before the change, which falls just after it (03:30 new time):
    ///   a scheduled run moves forward by the gap, it is never dropped.
    /// - A time that occurs twice (fall back) maps to its first occurrence.
    public func instant(ofLocal local: Int64) -> Int64 {
        let before = offset(at: local - 86_400 * 2)
        let after = offset(at: local + 86_400 * 2)
        var candidates: [Int64] = []
        for off in Set([before, after]) {
            let t = local - Int64(off)
            if offset(at: t) == off { candidates.append(t) }
        }
        if let first = candidates.min() { return first }
        return local - Int64(before)
    }

    /// The wall-clock time at the UTC instant `t`.
    public func civil(at t: Int64) -> CivilTime {
        CivilTime(localSeconds: t + Int64(offset(at: t)))
    }

    // MARK: TZif

    static func parse(name: String, _ b: [UInt8]) throws(TZifError) -> ZoneInfo {
        var r = ByteReader(b)
        func header() throws(TZifError) -> (version: UInt8, isut: Int, isstd: Int, leap: Int, time: Int, type: Int, char: Int) {
            guard try r.take(4) == Array("TZif".utf8) else { throw TZifError("no TZif magic") }
            let version = try r.take(1)[0]
            _ = try r.take(15)
            let c = try (0..<6).map { (_: Int) throws(TZifError) in Int(try r.u32()) }
            return (version, c[0], c[1], c[2], c[3], c[4], c[5])
        }
        var h = try header()
        var timeSize = 4
        if h.version >= UInt8(ascii: "2") {
            // Skip the v1 block; the v2 block has 64-bit times.
            _ = try r.take(h.time * 4 + h.time + h.type * 6 + h.char + h.leap * 8 + h.isstd + h.isut)
            h = try header()
            timeSize = 8
        }
        var transitions: [Int64] = []
        transitions.reserveCapacity(h.time)
        for _ in 0..<h.time { transitions.append(timeSize == 8 ? Int64(bitPattern: try r.u64()) : Int64(Int32(bitPattern: try r.u32()))) }
        var types: [Int] = []
        for _ in 0..<h.time { types.append(Int(try r.take(1)[0])) }
        var offsets: [(seconds: Int32, isDST: Bool)] = []
        for _ in 0..<h.type {
            let off = Int32(bitPattern: try r.u32())
            let dst = try r.take(1)[0] != 0
            _ = try r.take(1)
            offsets.append((off, dst))
        }
        guard !offsets.isEmpty, types.allSatisfy({ $0 < offsets.count }) else { throw TZifError("bad type indices") }
        _ = try r.take(h.char + h.leap * (timeSize + 4) + h.isstd + h.isut)
        var footer: PosixTZRule? = nil
        if timeSize == 8, let rest = try? r.rest(), rest.first == 0x0A, let end = rest.dropFirst().firstIndex(of: 0x0A) {
            let text = String(decoding: rest[rest.index(after: rest.startIndex)..<end], as: UTF8.self)
            footer = PosixTZRule(parsing: text)
        }
        return ZoneInfo(name: name, transitions: transitions, transitionTypes: types, offsets: offsets, footer: footer)
    }

}

/// A TZif file that could not be read.
struct TZifError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Big-endian reads over a byte array.
struct ByteReader {
    let bytes: [UInt8]
    var pos = 0
    init(_ b: [UInt8]) { bytes = b }

    mutating func take(_ n: Int) throws(TZifError) -> [UInt8] {
        guard n >= 0, pos + n <= bytes.count else { throw TZifError("truncated") }
        defer { pos += n }
        return Array(bytes[pos..<pos + n])
    }

    mutating func u32() throws(TZifError) -> UInt32 {
        try take(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func u64() throws(TZifError) -> UInt64 {
        try take(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    func rest() throws(TZifError) -> ArraySlice<UInt8> { bytes[pos...] }
}
