#if canImport(Glibc)
import Glibc
#endif
import Logging

/// A swift-log handler that writes lines the way Celery's worker does:
/// `[2026-11-21 13:14:14,123: INFO/MainProcess] message`, to standard error.
public struct CeleryLogHandler: LogHandler {
    /// The process name in each line: `MainProcess`, `ForkPoolWorker-1`, …
    /// Process-wide, since a forked pool process renames itself.
    nonisolated(unsafe) public static var processName = "MainProcess"

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public let label: String

    public init(label: String, level: Logger.Level = .info) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// When true, lines below WARNING are collected and written by
    /// `flush()` (the worker's Hub calls it once per loop turn) or when 64 KiB
    /// have gathered: at thousands of tasks a second, one write per line is
    /// a measurable share of the master's time. Warnings and errors flush at
    /// once, after what was buffered, so the order of lines is kept.
    nonisolated(unsafe) public static var buffered = false
    nonisolated(unsafe) static var buffer: [UInt8] = []

    public func log(event: LogEvent) {
        var line = "[\(Self.timestamp()): \(Self.name(event.level))/\(Self.processName)] \(event.message)"
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        if !merged.isEmpty {
            line += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        line += "\n"
        Self.buffer.append(contentsOf: line.utf8)
        if !Self.buffered || event.level >= .warning || Self.buffer.count >= 65536 { Self.flush() }
    }

    /// Writes out buffered lines.
    public static func flush() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(2, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    break
                }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    static func name(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: return "DEBUG"
        case .info, .notice: return "INFO"
        case .warning: return "WARNING"
        case .error: return "ERROR"
        case .critical: return "CRITICAL"
        }
    }

    nonisolated(unsafe) static var cachedSecond = -1
    nonisolated(unsafe) static var cachedPrefix = ""

    /// Local time as `2026-11-21 13:14:14,123` (the date and time part is
    /// formatted once per second).
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        if ts.tv_sec != cachedSecond {
            var t = ts.tv_sec
            var tm = tm()
            localtime_r(&t, &tm)
            cachedSecond = ts.tv_sec
            cachedPrefix = "\(tm.tm_year + 1900)-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2)) \(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)),"
        }
        return cachedPrefix + pad(Int32(ts.tv_nsec / 1_000_000), 3)
    }

    /// Parses Celery's `-l` levels (`debug`, `info`, `warning`, `error`,
    /// `critical`, any case).
    public static func level(named name: String) -> Logger.Level? {
        switch name.lowercased() {
        case "debug": return .debug
        case "info": return .info
        case "warning", "warn": return .warning
        case "error": return .error
        case "critical", "fatal": return .critical
        default: return nil
        }
    }
}
