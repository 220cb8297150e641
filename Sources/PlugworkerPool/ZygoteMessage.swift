/// A message on the zygote's control socket (a `SOCK_SEQPACKET` pair, so
/// each message arrives whole): a kind byte and three little-endian i32s.
///
///     spawn (1)         master → zygote   a: slot index
///     spawned (2)       zygote → master   a: index, b: pid, c: process number;
///                                         the master's end of the new
///                                         process's socket attached (SCM_RIGHTS)
///     spawnFailed (3)   zygote → master   a: index, b: errno
///     exited (4)        zygote → master   a: pid, b: raw waitpid status
struct ZygoteMessage: Equatable {
    enum Kind: UInt8 {
        case spawn = 1, spawned = 2, spawnFailed = 3, exited = 4
    }

    static let size = 13

    var kind: Kind
    var a: Int32
    var b: Int32 = 0
    var c: Int32 = 0

    var bytes: [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.u8(kind.rawValue)
        w.i32(a)
        w.i32(b)
        w.i32(c)
        return w.bytes
    }

    /// Decodes a message; nil if it is not one.
    init?(_ raw: UnsafeRawBufferPointer) {
        guard raw.count == Self.size, let kind = Kind(rawValue: raw[0]) else { return nil }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: raw[1...]), frame: "zygote")
        guard let a = try? r.i32("a"), let b = try? r.i32("b"), let c = try? r.i32("c") else { return nil }
        self.init(kind: kind, a: a, b: b, c: c)
    }

    init(kind: Kind, a: Int32, b: Int32 = 0, c: Int32 = 0) {
        self.kind = kind
        self.a = a
        self.b = b
        self.c = c
    }
}
