/// Cuts a byte stream into `PoolFrame`s: feed it whatever each `read`
/// returned (half a frame, several frames, a frame and a half) and take the
/// complete frames out with `next()`.
///
/// A corrupt stream (a length of 0 or above `maxFrameLength`, an unknown
/// kind, a frame whose fields do not fit) is an error, and the reader stays
/// failed: the stream has no marks to resynchronise on.
public struct FrameReader {
    /// The largest frame length accepted; a larger declared length fails at
    /// once, before any of that frame is buffered.
    public let maxFrameLength: Int
    var buffer: [UInt8] = []
    var start = 0
    var failure: PoolFrameError?

    public init(maxFrameLength: Int = PoolFrame.maxLength) {
        self.maxFrameLength = maxFrameLength
    }

    /// Bytes received but not yet returned as frames.
    public var bufferedByteCount: Int { buffer.count - start }

    /// Adds bytes read from the stream.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Adds bytes read from the stream.
    public mutating func append(_ bytes: [UInt8]) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, or nil until more bytes arrive.
    /// - Throws: `PoolFrameError` when the stream is corrupt; every later
    ///   call throws the same error.
    public mutating func next() throws(PoolFrameError) -> PoolFrame? {
        if let failure { throw failure }
        guard bufferedByteCount >= PoolFrame.headerSize else { return nil }
        let length = buffer.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt32.self)) }
        guard length >= 1, Int(length) <= maxFrameLength else {
            let error = PoolFrameError(.badLength, "frame length \(length) is outside 1...\(maxFrameLength)")
            failure = error
            throw error
        }
        let total = PoolFrame.headerSize + Int(length)
        guard bufferedByteCount >= total else { return nil }
        let bodyStart = start + PoolFrame.headerSize
        let result = buffer.withUnsafeBytes { raw -> Result<PoolFrame, PoolFrameError> in
            let body = UnsafeRawBufferPointer(rebasing: raw[(bodyStart + 1)..<(start + total)])
            do throws(PoolFrameError) {
                return .success(try PoolFrame.decode(kind: raw[bodyStart], body: body))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let frame):
            start += total
            return frame
        case .failure(let error):
            failure = error
            throw error
        }
    }

    /// Drops consumed bytes once they are the larger part of the buffer.
    mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 4096 && start > buffer.count / 2 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
    }
}
