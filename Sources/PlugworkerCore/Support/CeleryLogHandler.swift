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

    public func log(event: LogEvent) {
        var line = "[\(Self.timestamp()): \(Self.name(event.level))/\(Self.processName)] \(event.message)"
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        if !merged.isEmpty {
            line += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        line += "\n"
        var text = line
        text.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
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

    /// Local time as `2026-11-21 13:14:14,123`.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tm = tm()
        localtime_r(&t, &tm)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(tm.tm_year + 1900)-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2)) \(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)),\(pad(Int32(ts.tv_nsec / 1_000_000), 3))"
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
