/// A message on the zygote's control socket (a `SOCK_SEQPACKET` pair, so
/// each message arrives whole): a kind byte and three little-endian i32s.
///
///     spawn (1)         master → zygote   a: slot index
///     spawned (2)       zygote → master   a: index, b: pid, c: process number;
///                                         the master's end of the new
///                                         process's socket attached (SCM_RIGHTS)
///     spawnFailed (3)   zygote → master   a: index, b: errno
///     exited (4)        zygote → master   a: pid, b: raw waitpid status
///     plugins (5)       master → zygote   a: generation; then the plugin
///                                         files, each NUL-terminated (see
///                                         `pluginSet`): the files every
///                                         process spawned after it loads
struct ZygoteMessage: Equatable {
    enum Kind: UInt8 {
        case spawn = 1, spawned = 2, spawnFailed = 3, exited = 4, plugins = 5
    }

    /// The largest `plugins` message the zygote reads.
    static let maxPluginSetSize = 1 << 16

    /// A `plugins` message: the fixed part (kind, generation, count, 0) and
    /// the paths.
    static func pluginSet(generation: Int32, files: [String]) -> [UInt8] {
        var bytes = ZygoteMessage(kind: .plugins, a: generation, b: Int32(files.count)).bytes
        for f in files {
            bytes += f.utf8
            bytes.append(0)
        }
        return bytes
    }

    /// Decodes a `plugins` message: the generation and the files.
    static func decodePluginSet(_ raw: UnsafeRawBufferPointer) -> (generation: Int32, files: [String])? {
        guard raw.count >= size, raw[0] == Kind.plugins.rawValue,
              let head = ZygoteMessage(UnsafeRawBufferPointer(rebasing: raw[0..<size])) else { return nil }
        var files: [String] = []
        var start = size
        for i in size..<raw.count where raw[i] == 0 {
            files.append(String(decoding: UnsafeRawBufferPointer(rebasing: raw[start..<i]), as: UTF8.self))
            start = i + 1
        }
        guard files.count == Int(head.b), start == raw.count else { return nil }
        return (head.a, files)
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
