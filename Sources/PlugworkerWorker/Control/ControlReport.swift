#if canImport(Glibc)
import Glibc
#endif
import PlugworkerBroker
import PlugworkerCelery
import PlugworkerCore

/// The text `inspect report` answers (`{"ok": text}`), laid out like
/// Celery's `app.bugreport()`: software and versions, platform, the node,
/// the broker (password masked), the plugins, then the settings one per
/// line as `name: repr(value)`, secrets censored.
///
///     (blank line)
///     software -> plugworker:0.1.0 (celery 5.x wire protocol) swift:6.3
///     platform -> system:Linux arch:x86_64
///                 kernel version:6.8.0 imp:Swift
///     node     -> w1@host pid:4242
///     settings -> transport:amqp results:rpc://
///     broker   -> amqp://guest:********@localhost:5672//
///     plugins  -> libmath 1.2.0  /opt/plugins/libmath.so
///
///     broker_url: 'amqp://guest:********@localhost:5672//'
public struct ControlReport: Sendable {
    /// plugworker's version, as the banner shows it.
    public static let version = "0.1.0"

    public var node: String
    public var pid: Int
    /// nil leaves the broker line out.
    public var broker: BrokerURL?
    /// Loaded plugins: name, version (if it declares one) and path.
    public var plugins: [(name: String, version: String?, path: String)]
    /// The settings, not yet censored.
    public var settings: JSONObject

    public init(node: String, pid: Int, broker: BrokerURL?, plugins: [(name: String, version: String?, path: String)],
                settings: JSONObject) {
        self.node = node
        self.pid = pid
        self.broker = broker
        self.plugins = plugins
        self.settings = settings
    }

    /// The report text (it starts with a newline, as Celery's does).
    public var text: String {
        let (system, release, machine) = Self.uname()
        var lines = [""]
        lines.append("software -> plugworker:\(Self.version) (celery 5.x wire protocol) swift:\(Self.swiftVersion)")
        lines.append("platform -> system:\(system) arch:\(machine)")
        lines.append("            kernel version:\(release) imp:Swift")
        lines.append("node     -> \(node) pid:\(pid)")
        lines.append("settings -> transport:amqp results:rpc://")
        if let broker {
            lines.append("broker   -> \(SettingsCensor.masked(broker))")
        }
        if plugins.isEmpty {
            lines.append("plugins  -> (none)")
        } else {
            for (i, p) in plugins.enumerated() {
                let head = i == 0 ? "plugins  -> " : "            "
                lines.append(head + p.name + (p.version.map { " " + $0 } ?? "") + "  " + p.path)
            }
        }
        lines.append("")
        for m in SettingsCensor.censor(settings) {
            lines.append("\(m.key): \(PythonRepr.repr(m.value))")
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    static var swiftVersion: String {
        #if swift(>=6.3)
        return "6.3"
        #elseif swift(>=6.2)
        return "6.2"
        #elseif swift(>=6.1)
        return "6.1"
        #else
        return "6.0"
        #endif
    }

    /// `uname()`: system name, kernel release, machine.
    static func uname() -> (String, String, String) {
        var u = utsname()
        guard Glibc.uname(&u) == 0 else { return ("Linux", "unknown", "unknown") }
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { raw in
                let bytes = raw.prefix(while: { $0 != 0 })
                return String(decoding: bytes, as: UTF8.self)
            }
        }
        return (text(u.sysname), text(u.release), text(u.machine))
    }
}
