import PlugworkerCore
import Testing
@testable import PlugworkerPool

/// The stream side: split reads, coalesced reads, and garbage.
@Suite struct FrameReaderTests {
    static var stream: [UInt8] { PoolFrameTests.frames.flatMap { $0.encoded() } }

    func drain(_ reader: inout FrameReader) throws -> [PoolFrame] {
        var out: [PoolFrame] = []
        while let f = try reader.next() { out.append(f) }
        return out
    }

    @Test("all frames at once")
    func coalesced() throws {
        var reader = FrameReader()
        reader.append(Self.stream)
        #expect(try drain(&reader) == PoolFrameTests.frames)
        #expect(reader.bufferedByteCount == 0)
    }

    @Test("one byte at a time")
    func byteByByte() throws {
        var reader = FrameReader()
        var out: [PoolFrame] = []
        for b in Self.stream {
            reader.append([b])
            out += try drain(&reader)
        }
        #expect(out == PoolFrameTests.frames)
    }

    @Test("chunks of every size cutting frames anywhere", arguments: [2, 3, 5, 7, 13, 64, 1000])
    func chunks(_ size: Int) throws {
        var reader = FrameReader()
        var out: [PoolFrame] = []
        let s = Self.stream
        var i = 0
        while i < s.count {
            let chunk = Array(s[i..<min(i + size, s.count)])
            chunk.withUnsafeBytes { reader.append($0) }
            out += try drain(&reader)
            i += size
        }
        #expect(out == PoolFrameTests.frames)
    }

    @Test("a partial frame waits, then completes")
    func partial() throws {
        let bytes = PoolFrame.progress(seq: 1, current: 1, total: 2).encoded()
        var reader = FrameReader()
        reader.append(Array(bytes.prefix(3)))
        #expect(try reader.next() == nil)
        reader.append(Array(bytes.dropFirst(3).dropLast()))
        #expect(try reader.next() == nil)
        reader.append([bytes.last!])
        #expect(try reader.next() == .progress(seq: 1, current: 1, total: 2))
        #expect(try reader.next() == nil)
    }

    /// Builds a frame from a raw kind and body.
    static func raw(_ kind: UInt8, _ body: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(body.count + 1))
        w.u8(kind)
        return w.bytes + body
    }

    static let garbage: [(String, [UInt8], PoolFrameError.Code)] = [
        ("zero length", [0, 0, 0, 0, 1], .badLength),
        ("length over the limit", [0xFF, 0xFF, 0xFF, 0xFF], .badLength),
        ("unknown kind", raw(99, []), .unknownKind),
        ("kind 0", raw(0, [1, 2, 3]), .unknownKind),
        ("ready without its pid", raw(3, [1, 2]), .truncated),
        ("ready with bytes after the pid", raw(3, [1, 2, 3, 4, 5]), .trailingBytes),
        ("a string longer than its frame", raw(1, [0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F, 65]), .truncated),
        ("invalid UTF-8 in the task id", raw(1, [0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0xC3, 0x28]), .badValue),
        ("result with outcome tag 7", raw(2, [UInt8](repeating: 0, count: 16) + [7]), .badValue),
        ("retry with presence byte 2", raw(2, [UInt8](repeating: 0, count: 16) + [2] + [UInt8](repeating: 0, count: 8) + [2]), .badValue),
    ]

    @Test("garbage is an error naming what is wrong", arguments: garbage.indices)
    func corrupt(_ i: Int) {
        let (name, bytes, code) = Self.garbage[i]
        var reader = FrameReader()
        reader.append(bytes)
        do {
            let frame = try reader.next()
            Issue.record("\(name): decoded \(String(describing: frame))")
        } catch {
            #expect(error.code == code, "\(name): \(error)")
        }
    }

    @Test("a declared length above the limit fails before the body arrives")
    func limit() {
        var reader = FrameReader(maxFrameLength: 16)
        reader.append([17, 0, 0, 0])
        #expect(throws: PoolFrameError.self) { try reader.next() }
    }

    @Test("after an error the reader stays failed")
    func sticky() {
        var reader = FrameReader()
        reader.append(Self.raw(99, []) + PoolFrame.ready(pid: 1).encoded())
        #expect(throws: PoolFrameError.self) { try reader.next() }
        #expect(throws: PoolFrameError.self) { try reader.next() }
    }

    @Test("random bytes never crash the reader")
    func fuzz() {
        var rng = SplitMix(seed: 0x5EED)
        for _ in 0..<2000 {
            var bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            // Often a plausible small length and a real kind, so that the
            // field decoders see garbage too, not only the length check.
            if bytes.count >= 5 && rng.next() % 2 == 0 {
                bytes[0] = UInt8(bytes.count - 4)
                bytes[1] = 0; bytes[2] = 0; bytes[3] = 0
                bytes[4] = UInt8(1 + rng.next() % 4)
            }
            var reader = FrameReader()
            reader.append(bytes)
            _ = try? reader.next()
        }
        // And every truncation and single-byte corruption of real frames.
        for frame in PoolFrameTests.frames {
            let good = frame.encoded()
            for cut in 0..<good.count {
                var reader = FrameReader()
                reader.append(Array(good.prefix(cut)))
                #expect((try? reader.next()) == .some(nil))
            }
            for i in 0..<good.count {
                var bad = good
                bad[i] ^= 0xA5
                var reader = FrameReader()
                reader.append(bad)
                _ = try? reader.next()
            }
        }
    }
}

/// A small deterministic generator for the fuzz test.
struct SplitMix {
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
