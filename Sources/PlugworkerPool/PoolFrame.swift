import PlugworkerCore

/// A message on the socket between the master and one pool process.
///
/// Wire format (all integers little-endian):
///
///     u32  length       bytes that follow (kind + body), 1 ... maxLength
///     u8   kind         1 task, 2 result, 3 ready, 4 progress, 5 recycle
///     ...  body         the kind's fields, in order, nothing after them
///
/// Field encodings: `u64`/`i64`/`u32`/`i32` fixed width; `f64` the IEEE bit
/// pattern as u64; `str` and `bytes` a u32 length then the bytes (UTF-8 for
/// `str`, checked); `str?` a presence byte (0/1) then a `str` if 1.
///
///     task (1)      u64 seq, str taskID, str taskName, i64 retries,
///                   str headersJSON, bytes args, bytes kwargs,
///                   f64 softTimeLimit, f64 hardTimeLimit, str hostname
///     result (2)    u64 seq, f64 runtime, u8 outcome, then by outcome:
///                   0 success  bytes resultJSON
///                   1 failure  str type, str module, str message, str? traceback
///                   2 retry    f64 countdown, str? reason
///     ready (3)     i32 pid
///     progress (4)  u64 seq, f64 current, f64 total
///     recycle (5)   str reason
///
/// Master to process: `task`. Process to master: `ready` once after its
/// init, then `result` (and any `progress`) per task, and `recycle` after a
/// result when it wants to be replaced (`--max-memory-per-child`). Both ends are the same
/// binary (the process is forked from it), so the format has no version; a
/// new kind gets a new number and an old one never changes meaning.
public enum PoolFrame: Sendable, Equatable {
    /// Run this task (master → process).
    case task(PoolJob)
    /// The task `seq` came to `outcome` after `runtime` seconds of call
    /// (process → master).
    case result(seq: UInt64, outcome: TaskOutcome, runtime: Double)
    /// The process has loaded its plugins and run `worker_process_init`;
    /// sent once (process → master).
    case ready(pid: Int32)
    /// The task `seq` reported progress through its context (process → master).
    case progress(seq: UInt64, current: Double, total: Double)
    /// The process wants to be replaced (it exceeded
    /// `--max-memory-per-child`); `reason` is for the master's log. It goes
    /// on running what it is sent until the master retires it
    /// (process → master).
    case recycle(reason: String)

    /// The largest `length` accepted: RabbitMQ's default `max_message_size`
    /// (128 MiB), so that any message the broker delivers fits in a frame.
    public static let maxLength = 128 << 20

    /// The size of the length prefix.
    public static let headerSize = 4

    enum Kind: UInt8 {
        case task = 1, result = 2, ready = 3, progress = 4, recycle = 5
    }

    var kind: Kind {
        switch self {
        case .task: return .task
        case .result: return .result
        case .ready: return .ready
        case .progress: return .progress
        case .recycle: return .recycle
        }
    }

    /// Appends the frame's bytes to `out`.
    public func encode(into out: inout [UInt8]) {
        out.append(contentsOf: encoded())
    }

    /// The frame as bytes, length prefix included.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.u32(0) // patched below
        w.u8(kind.rawValue)
        switch self {
        case .task(let job):
            w.u64(job.seq)
            w.string(job.taskID)
            w.string(job.taskName)
            w.i64(job.retries)
            w.string(job.headersJSON)
            w.blob(job.args)
            w.blob(job.kwargs)
            w.f64(job.softTimeLimit)
            w.f64(job.hardTimeLimit)
            w.string(job.hostname)
        case .result(let seq, let outcome, let runtime):
            w.u64(seq)
            w.f64(runtime)
            switch outcome {
            case .success(let json):
                w.u8(0)
                w.blob(json)
            case .failure(let e):
                w.u8(1)
                w.string(e.type)
                w.string(e.module)
                w.string(e.message)
                w.optionalString(e.traceback)
            case .retry(let countdown, let reason):
                w.u8(2)
                w.f64(countdown)
                w.optionalString(reason)
            }
        case .ready(let pid):
            w.i32(pid)
        case .progress(let seq, let current, let total):
            w.u64(seq)
            w.f64(current)
            w.f64(total)
        case .recycle(let reason):
            w.string(reason)
        }
        let length = UInt32(w.bytes.count - Self.headerSize)
        withUnsafeBytes(of: length.littleEndian) { p in
            for i in 0..<4 { w.bytes[i] = p[i] }
        }
        return w.bytes
    }

    /// Decodes one frame from its kind byte and the body after it (the
    /// length prefix already removed).
    /// - Throws: `PoolFrameError` for an unknown kind, a field that runs
    ///   past the body, bytes left over, or a bad value.
    public static func decode(kind: UInt8, body: UnsafeRawBufferPointer) throws(PoolFrameError) -> PoolFrame {
        guard let k = Kind(rawValue: kind) else {
            throw PoolFrameError(.unknownKind, "kind byte \(kind) is not a known frame (1 task, 2 result, 3 ready, 4 progress, 5 recycle)")
        }
        var r = ByteReader(body, frame: "\(k)")
        let frame: PoolFrame
        switch k {
        case .task:
            let seq = try r.u64("seq")
            let taskID = try r.string("taskID")
            let taskName = try r.string("taskName")
            let retries = try r.i64("retries")
            let headers = try r.string("headersJSON")
            let args = try r.blob("args")
            let kwargs = try r.blob("kwargs")
            let soft = try r.f64("softTimeLimit")
            let hard = try r.f64("hardTimeLimit")
            let hostname = try r.string("hostname")
            frame = .task(PoolJob(seq: seq, taskID: taskID, taskName: taskName, retries: retries, headersJSON: headers,
                                  args: args, kwargs: kwargs, softTimeLimit: soft, hardTimeLimit: hard, hostname: hostname))
        case .result:
            let seq = try r.u64("seq")
            let runtime = try r.f64("runtime")
            let outcome: TaskOutcome
            switch try r.u8("outcome") {
            case 0:
                outcome = .success(try r.blob("result"))
            case 1:
                let type = try r.string("exception type")
                let module = try r.string("exception module")
                let message = try r.string("exception message")
                let traceback = try r.optionalString("traceback")
                outcome = .failure(TaskException(type: type, module: module, message: message, traceback: traceback))
            case 2:
                let countdown = try r.f64("countdown")
                outcome = .retry(countdown: countdown, reason: try r.optionalString("reason"))
            case let tag:
                throw PoolFrameError(.badValue, "result frame: outcome tag \(tag) is not 0 (success), 1 (failure) or 2 (retry)")
            }
            frame = .result(seq: seq, outcome: outcome, runtime: runtime)
        case .ready:
            frame = .ready(pid: try r.i32("pid"))
        case .progress:
            frame = .progress(seq: try r.u64("seq"), current: try r.f64("current"), total: try r.f64("total"))
        case .recycle:
            frame = .recycle(reason: try r.string("reason"))
        }
        try r.expectEnd()
        return frame
    }

    /// Decodes exactly one complete frame (length prefix included).
    /// - Throws: `PoolFrameError` if `bytes` is not exactly one valid frame.
    public static func decode(_ bytes: [UInt8]) throws(PoolFrameError) -> PoolFrame {
        var reader = FrameReader()
        reader.append(bytes)
        guard let frame = try reader.next() else {
            throw PoolFrameError(.truncated, "\(bytes.count) bytes are less than one frame")
        }
        if reader.bufferedByteCount != 0 {
            throw PoolFrameError(.trailingBytes, "\(reader.bufferedByteCount) bytes after the frame")
        }
        return frame
    }
}
