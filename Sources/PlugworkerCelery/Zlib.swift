import CZlib

/// zlib for Celery's `compression='zlib'` bodies (header `compression:
/// application/x-gzip`, an RFC 1950 stream despite the name).
public enum Zlib {
    /// Why `inflate` failed.
    public enum InflateError: Error, Sendable, Equatable {
        /// Not a zlib (or gzip) stream, damaged, or cut short.
        case corrupt(String)
        /// The output would exceed the limit.
        case tooLarge(limit: Int)
    }

    /// Decompresses a zlib stream (a gzip stream is accepted too), never
    /// producing more than `limit` bytes: a small "zip bomb" fails with
    /// `.tooLarge` after at most `limit + 1` bytes of output were made.
    /// Bytes after the end of the stream are ignored, as Python does.
    public static func inflate(_ input: [UInt8], limit: Int) throws(InflateError) -> [UInt8] {
        let limit = min(max(limit, 0), Int.max - 1)
        // zlib remembers the stream's address, so it must not move: keep
        // it on the heap rather than in a Swift variable.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        // 15 + 32: the largest window, and detect a zlib or gzip header.
        guard inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt("zlib could not be initialised")
        }
        defer { inflateEnd(stream) }

        var out = [UInt8](repeating: 0, count: min(limit + 1, max(4096, input.count * 4)))
        var produced = 0
        let outcome: InflateError? = input.withUnsafeBufferPointer { inp -> InflateError? in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: inp.baseAddress)
            stream.pointee.avail_in = UInt32(clamping: inp.count)
            while true {
                if produced == out.count {
                    if out.count > limit { return .tooLarge(limit: limit) }
                    let grown = min(out.count * 2, limit + 1)
                    out.append(contentsOf: repeatElement(0, count: grown - out.count))
                }
                let rc: Int32 = out.withUnsafeMutableBufferPointer { ob in
                    stream.pointee.next_out = ob.baseAddress! + produced
                    stream.pointee.avail_out = UInt32(clamping: ob.count - produced)
                    let before = Int(stream.pointee.avail_out)
                    let rc = CZlib.inflate(stream, Z_NO_FLUSH)
                    produced += before - Int(stream.pointee.avail_out)
                    return rc
                }
                if produced > limit { return .tooLarge(limit: limit) }
                switch rc {
                case Z_STREAM_END:
                    return nil
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    // There was room for output, so the input ran out.
                    return .corrupt("incomplete or truncated stream")
                default:
                    let why = stream.pointee.msg.map { String(cString: $0) } ?? "error \(rc)"
                    return .corrupt(why)
                }
            }
        }
        if let outcome { throw outcome }
        out.removeSubrange(produced...)
        return out
    }

    /// Compresses to a zlib stream, as kombu's `zlib` compressor does.
    public static func deflate(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
        var size = compressBound(uLong(input.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let rc = out.withUnsafeMutableBufferPointer { ob in
            input.withUnsafeBufferPointer { ib in
                compress2(ob.baseAddress!, &size, ib.baseAddress, uLong(ib.count), level)
            }
        }
        precondition(rc == Z_OK, "zlib compress2 failed: \(rc)")
        out.removeSubrange(Int(size)...)
        return out
    }
}
