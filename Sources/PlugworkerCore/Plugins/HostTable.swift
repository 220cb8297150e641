#if canImport(Glibc)
import Glibc
#endif
import CPlugworker
import CPlugworkerSystem
import Logging

/// The `pw_host` function table handed to every plugin's init.
///
/// One table per process, with static storage: plugins may keep the pointer.
/// Its entries are C-convention closures that find their Swift object through
/// the opaque handle they receive (`pw_plugin *`, `pw_ctx *`, `pw_step *`).
/// The table only ever grows at the end (see plugworker.h).
enum HostTable {
    /// Size of `pw_task_def` in ABI 1.0: the least a plugin may pass.
    static let taskDefSize1_0 = MemoryLayout<pw_task_def>.offset(of: \pw_task_def.options.acks_on_failure_or_timeout)!
    /// Size of `pw_step_def` in ABI 1.0.
    static let stepDefSize1_0 = MemoryLayout<pw_step_def>.size
    /// Size of `pw_magic` in ABI 1.0.
    static let magicSize1_0 = MemoryLayout<pw_magic>.size

    /// Where plugin log lines go. Set by the process before plugins load.
    nonisolated(unsafe) static var logger = Logger(label: "plugworker.plugin")

    nonisolated(unsafe) static let table: UnsafeMutablePointer<pw_host> = makeTable()

    static func makeTable() -> UnsafeMutablePointer<pw_host> {
        let t = UnsafeMutablePointer<pw_host>.allocate(capacity: 1)
        var h = pw_host()
        h.size = UInt32(MemoryLayout<pw_host>.stride)
        h.abi_major = UInt16(PW_ABI_MAJOR)
        h.abi_minor = UInt16(PW_ABI_MINOR)
        h.register_task = { plugin, def in
            PluginRegistration.from(plugin)?.registerTask(def) ?? Int32(PW_E_INVALID.rawValue)
        }
        h.register_step = { plugin, symbol in
            PluginRegistration.from(plugin)?.registerStep(symbol) ?? Int32(PW_E_INVALID.rawValue)
        }
        h.connect_signal = { plugin, signal, symbol in
            PluginRegistration.from(plugin)?.connectSignal(signal, symbol) ?? Int32(PW_E_INVALID.rawValue)
        }
        h.set_error = { plugin, message in
            guard let r = PluginRegistration.from(plugin), let message else { return }
            r.initMessage = String(cString: message)
        }
        h.log = { level, message in
            guard let message else { return }
            HostTable.logger.log(level: HostTable.level(level), "\(String(cString: message))")
        }
        h.current = {
            pws_current_task().map { OpaquePointer($0) }
        }
        h.ctx_id = { ctx in
            guard let c = TaskContext.running(ctx) else { return nil }
            return c.cString(&c.cId, c.id)
        }
        h.ctx_task_name = { ctx in
            guard let c = TaskContext.running(ctx) else { return nil }
            return c.cString(&c.cName, c.taskName)
        }
        h.ctx_retries = { ctx in
            TaskContext.running(ctx)?.retries ?? -1
        }
        h.ctx_headers_json = { ctx in
            guard let c = TaskContext.running(ctx) else { return nil }
            return c.cString(&c.cHeaders, c.headersJSON)
        }
        h.ctx_retry = { ctx, countdown, reason in
            guard let c = TaskContext.running(ctx) else { return Int32(PW_E_STATE.rawValue) }
            guard !countdown.isNaN else { return Int32(PW_E_INVALID.rawValue) }
            c.request = .retry(countdown: countdown < 0 ? nil : countdown, reason: reason.map { String(cString: $0) })
            return Int32(PW_OK.rawValue)
        }
        h.ctx_fail = { ctx, type, message in
            guard let c = TaskContext.running(ctx) else { return Int32(PW_E_STATE.rawValue) }
            let typeName = type.map { String(cString: $0) } ?? ""
            c.request = .fail(TaskException(named: typeName.isEmpty ? "RuntimeError" : typeName, message: message.map { String(cString: $0) } ?? ""))
            return Int32(PW_OK.rawValue)
        }
        h.ctx_progress = { ctx, current, total in
            guard let c = TaskContext.running(ctx) else { return Int32(PW_E_STATE.rawValue) }
            c.onProgress?(current, total)
            return Int32(PW_OK.rawValue)
        }
        h.ctx_soft_time_limit_exceeded = { ctx in
            TaskContext.running(ctx)?.softTimeLimitExceeded() ?? false
        }
        h.ctx_log = { ctx, level, message in
            guard let message else { return }
            let text = String(cString: message)
            if let c = TaskContext.running(ctx) {
                let line = "\(c.taskName)[\(c.id)]: \(text)"
                if let onLog = c.onLog { onLog(level, line) } else { HostTable.logger.log(level: HostTable.level(level), "\(line)") }
            } else {
                HostTable.logger.log(level: HostTable.level(level), "\(text)")
            }
        }
        h.step_data = { step in
            StepInstance.from(step)?.data
        }
        h.step_set_data = { step, data in
            StepInstance.from(step)?.data = data
        }
        h.step_state = { step in
            StepInstance.from(step)?.stateCString
        }
        h.step_hostname = { step in
            StepInstance.from(step).map { UnsafePointer($0.hostnameCString) }
        }
        h.step_name = { step in
            StepInstance.from(step)?.definition.definition.pointee.name
        }
        t.initialize(to: h)
        return t
    }

    static func level(_ pw: Int32) -> Logger.Level {
        switch pw {
        case ..<Int32(PW_LOG_INFO.rawValue): return .debug
        case ..<Int32(PW_LOG_WARNING.rawValue): return .info
        case ..<Int32(PW_LOG_ERROR.rawValue): return .warning
        default: return .error
        }
    }

    /// Reads a size-prefixed struct from a plugin: refuses one smaller than
    /// `minimumSize`, and zero-fills fields a plugin built against an older
    /// minor version does not have.
    static func read<T>(_ p: UnsafePointer<T>?, minimumSize: Int) -> T? {
        guard let p else { return nil }
        let size = Int(UnsafeRawPointer(p).load(as: UInt32.self))
        guard size >= minimumSize else { return nil }
        let full = MemoryLayout<T>.size
        if size >= full { return p.pointee }
        return withUnsafeTemporaryAllocation(byteCount: full, alignment: MemoryLayout<T>.alignment) { buf in
            buf.initializeMemory(as: UInt8.self, repeating: 0)
            buf.baseAddress!.copyMemory(from: UnsafeRawPointer(p), byteCount: size)
            return buf.baseAddress!.load(as: T.self)
        }
    }

    /// Converts C task options, checking each.
    static func options(_ o: pw_task_options) throws -> TaskOptions {
        var options = TaskOptions()
        if let r = o.rate_limit { options.rateLimit = try RateLimit(parsing: String(cString: r)) }
        options.softTimeLimit = try seconds(o.soft_time_limit, "soft_time_limit")
        options.timeLimit = try seconds(o.time_limit, "time_limit")
        options.acksLate = try tristate(o.acks_late, "acks_late")
        options.ignoreResult = try tristate(o.ignore_result, "ignore_result")
        options.trackStarted = try tristate(o.track_started, "track_started")
        options.rejectOnWorkerLost = try tristate(o.reject_on_worker_lost, "reject_on_worker_lost")
        switch o.max_retries {
        case 0: options.maxRetries = 3
        case -1: options.maxRetries = nil
        case -2: options.maxRetries = 0
        case let n where n > 0: options.maxRetries = Int(n)
        default: throw OptionError("max_retries \(o.max_retries) is not valid (n > 0, PW_MAX_RETRIES_DEFAULT, _UNLIMITED or _NONE)")
        }
        if let d = try seconds(o.default_retry_delay, "default_retry_delay") { options.defaultRetryDelay = d }
        if let q = o.queue {
            let queue = String(cString: q)
            if !queue.isEmpty { options.queue = queue }
        }
        // Since 1.1 (zero from a 1.0 plugin: the defaults).
        options.acksOnFailureOrTimeout = try tristate(o.acks_on_failure_or_timeout, "acks_on_failure_or_timeout")
        let jitter = try tristate(o.retry_jitter, "retry_jitter") ?? true
        let cap = try seconds(o.retry_backoff_max, "retry_backoff_max")
        if let factor = try seconds(o.retry_backoff, "retry_backoff") {
            options.retryBackoff = RetryBackoff(factor: factor, maximum: cap ?? RetryBackoff.defaultMaximum, jitter: jitter)
        }
        return options
    }

    static func seconds(_ v: Double, _ name: String) throws -> Double? {
        guard v.isFinite, v >= 0 else { throw OptionError("\(name) must be a non-negative number of seconds, not \(v)") }
        return v == 0 ? nil : v
    }

    static func tristate(_ v: Int8, _ name: String) throws -> Bool? {
        switch Int32(v) {
        case PW_UNSET.rawValue: return nil
        case PW_TRUE.rawValue: return true
        case PW_FALSE.rawValue: return false
        default: throw OptionError("\(name) must be PW_UNSET, PW_TRUE or PW_FALSE, not \(v)")
        }
    }

    struct OptionError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
}
