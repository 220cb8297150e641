#if canImport(Glibc)
import Glibc
#endif

/// A worker's node name, `name@host` (Celery's `-n`), with Celery's
/// expansions: `%h` the full host name, `%n` the host name up to the first
/// dot, `%d` the domain after it, `%%` a percent sign. A name without `@`
/// gets `@<host>` appended, as Celery does.
public struct NodeName: Sendable, Equatable, CustomStringConvertible {
    public var name: String

    public init(_ template: String = "celery@%h", hostname: String = NodeName.hostname()) {
        let short = hostname.split(separator: ".", maxSplits: 1).first.map(String.init) ?? hostname
        let domain = hostname.contains(".") ? String(hostname[hostname.index(after: hostname.firstIndex(of: ".")!)...]) : ""
        var out = ""
        var it = template.makeIterator()
        while let c = it.next() {
            guard c == "%" else { out.append(c); continue }
            switch it.next() {
            case "h": out += hostname
            case "n": out += short
            case "d": out += domain
            case "%": out += "%"
            case let other?: out += "%" + String(other)
            case nil: out += "%"
            }
        }
        name = out.contains("@") ? out : out + "@" + hostname
    }

    public var description: String { name }

    /// This machine's host name (gethostname).
    public static func hostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "localhost" }
        return String(cString: buf)
    }
}
