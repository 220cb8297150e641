import PlugworkerCelery
import PlugworkerCore

/// How the `inspect` and `control` subcommands print replies, as Celery's
/// CLI does (`celery/bin/control.py`):
///
///     ->  w1@host: OK
///             pong
///     ->  w2@host: OK
///         * tasks.add
///         * tasks.mul
///
///     2 nodes online.
///
/// `{"ok": text}` shows the text (indented 8), `{"error": text}` shows
/// `ERROR` and the text, lists show `* item` lines (`- empty -` when
/// empty; objects in them as Python reprs), other objects as JSON with
/// sorted keys and an indent of 4.
public enum ControlOutput {
    /// The lines for one node's reply.
    public static func reply(node: String, payload: JSON) -> String {
        let (ok, body) = pretty(payload)
        return "->  \(node): \(ok ? "OK" : "ERROR")\n" + indent(body, 4)
    }

    /// `"\nN node(s) online."`, the closing line of `inspect`.
    public static func summary(count: Int) -> String {
        "\n\(count) \(count == 1 ? "node" : "nodes") online."
    }

    /// Celery's `pretty`: whether the payload reads as success, and its text.
    public static func pretty(_ payload: JSON) -> (ok: Bool, text: String) {
        switch payload {
        case .array(let items):
            if items.isEmpty { return (true, "- empty -") }
            return (true, items.map { "* " + (($0.stringValue) ?? PythonRepr.repr($0)) }.joined(separator: "\n"))
        case .object(let o):
            if let value = o["ok"] { return (true, indent(pretty(value).text, 4)) }
            if let value = o["error"] { return (false, indent(pretty(value).text, 4)) }
            return (true, indentedJSON(payload))
        case .string(let s):
            return (true, s)
        default:
            return (true, PythonRepr.repr(payload))
        }
    }

    /// Prefixes every line (empty ones too) with `n` spaces.
    public static func indent(_ text: String, _ n: Int) -> String {
        let pad = String(repeating: " ", count: n)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { pad + $0 }.joined(separator: "\n")
    }

    /// `json.dumps(value, sort_keys=True, indent=4)`.
    public static func indentedJSON(_ value: JSON, level: Int = 0) -> String {
        let pad = String(repeating: " ", count: 4 * (level + 1))
        let close = String(repeating: " ", count: 4 * level)
        switch value {
        case .array(let items):
            if items.isEmpty { return "[]" }
            return "[\n" + items.map { pad + indentedJSON($0, level: level + 1) }.joined(separator: ",\n") + "\n\(close)]"
        case .object(let o):
            if o.count == 0 { return "{}" }
            let members = o.members.sorted { $0.key < $1.key }
            return "{\n" + members.map { m in
                pad + JSON.string(m.key).serialized + ": " + indentedJSON(m.value, level: level + 1)
            }.joined(separator: ",\n") + "\n\(close)}"
        default:
            return value.serialized
        }
    }
}
