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

    /// Celery's `node_format`, for per-node file names such as `--statedb`:
    /// `%p` the full node name, `%n` its name part (before `@`), `%h` its
    /// host part, `%d` the host's domain, `%%` a percent sign.
    public static func format(_ template: String, node: String) -> String {
        let at = node.firstIndex(of: "@")
        let name = at.map { String(node[..<$0]) } ?? node
        let host = at.map { String(node[node.index(after: $0)...]) } ?? ""
        let domain = host.firstIndex(of: ".").map { String(host[host.index(after: $0)...]) } ?? ""
        var out = ""
        var it = template.makeIterator()
        while let c = it.next() {
            guard c == "%" else { out.append(c); continue }
            switch it.next() {
            case "p": out += node
            case "n": out += name
            case "h": out += host
            case "d": out += domain
            case "%": out += "%"
            case let other?: out += "%" + String(other)
            case nil: out += "%"
            }
        }
        return out
    }
}
