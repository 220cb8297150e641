import PlugworkerBroker
import PlugworkerCore

/// Hides secrets in settings before `conf` and `report` send them, as
/// Celery's `filter_hidden_settings` does:
///
/// - a key containing `API`, `TOKEN`, `KEY`, `SECRET`, `PASS`,
///   `PROFANITIES_LIST`, `SIGNATURE` or `DATABASE` (any case) has its value
///   replaced by `********` (so `broker_password`, `PASSWORD`, also
///   `task_default_routing_key`, as in Python);
/// - any URL with a password (`amqp://user:pw@host/…`, also in `;`-separated
///   lists and inside arrays) shows `user:********@` instead: Python does
///   this for `broker_url` and `*backend*` keys; here every string gets it;
/// - nested objects are censored the same way;
/// - keys starting with `__` are left out (Python's `_wanted_config_key`).
public enum SettingsCensor {
    /// What a hidden value or password becomes.
    public static let mask = "********"

    static let hiddenWords = ["API", "TOKEN", "KEY", "SECRET", "PASS", "PROFANITIES_LIST", "SIGNATURE", "DATABASE"]

    /// The settings with secrets hidden.
    public static func censor(_ settings: JSONObject) -> JSONObject {
        var out = JSONObject()
        for m in settings where !m.key.hasPrefix("__") {
            out.members.append(JSONObject.Member(m.key, censor(key: m.key, value: m.value)))
        }
        return out
    }

    /// Whether a setting of this name is a secret as a whole.
    public static func isHidden(key: String) -> Bool {
        let upper = key.uppercased()
        return hiddenWords.contains { upper.contains($0) }
    }

    static func censor(key: String, value: JSON) -> JSON {
        if case .object(let o) = value { return .object(censor(o)) }
        if isHidden(key: key) { return .string(mask) }
        return scrub(value)
    }

    /// Masks passwords in URL strings anywhere inside `value`.
    static func scrub(_ value: JSON) -> JSON {
        switch value {
        case .string(let s): return .string(maskURLs(s))
        case .array(let items): return .array(items.map(scrub))
        case .object(let o): return .object(censor(o))
        default: return value
        }
    }

    /// `amqp://guest:secret@host:5672/vh` → `amqp://guest:********@host:5672/vh`;
    /// several URLs separated by `;` are each masked; text that is not a URL
    /// with a password comes back unchanged.
    public static func maskURLs(_ text: String) -> String {
        guard text.contains("://") else { return text }
        return text.split(separator: ";", omittingEmptySubsequences: false)
            .map { maskURL(String($0)) }
            .joined(separator: ";")
    }

    static func maskURL(_ url: String) -> String {
        guard let sep = url.firstRange(of: "://") else { return url }
        let rest = url[sep.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else { return url }
        let userinfo = authority[..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return url }
        return String(url[..<sep.upperBound]) + userinfo[..<colon] + ":" + mask + String(rest[at...])
    }

    /// A broker URL as `conf` and `report` show it:
    /// `amqp://guest:********@localhost:5672//` (`BrokerURL.masked`, which
    /// the banner uses, has two stars; Celery's settings dump has eight).
    public static func masked(_ url: BrokerURL) -> String {
        url.masked.replacing(":**@", with: ":" + mask + "@", maxReplacements: 1)
    }
}
