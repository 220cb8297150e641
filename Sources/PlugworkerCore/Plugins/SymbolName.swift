/// A `module:Symbol` name, resolved like Celery's `symbol_by_name`.
///
/// `module` is a plugin name (`arith` → `libarith.so` or `arith.so` in a
/// plugin directory, or a loaded plugin's declared name), a path (contains
/// `/`), or a soname for the dynamic linker (`libm.so.6`). Without a colon,
/// or with an empty module, the symbol belongs to the plugin that names it.
public struct SymbolName: Sendable, Hashable, CustomStringConvertible {
    public var module: String?
    public var symbol: String

    public init(module: String?, symbol: String) {
        self.module = module
        self.symbol = symbol
    }

    /// Splits at the last colon (paths may contain colons, C symbols never).
    /// Returns nil for an empty symbol.
    public init?(parsing text: String) {
        if let colon = text.lastIndex(of: ":") {
            let m = String(text[..<colon])
            symbol = String(text[text.index(after: colon)...])
            module = m.isEmpty ? nil : m
        } else {
            module = nil
            symbol = text
        }
        if symbol.isEmpty || symbol.contains(where: { $0 == " " || $0 == "/" }) { return nil }
    }

    public var description: String { module.map { "\($0):\(symbol)" } ?? symbol }

    /// How the module part is found.
    enum Lookup: Equatable {
        case path(String)
        case soname(String)
        case name(String)
    }

    static func lookup(forModule module: String) -> Lookup {
        if module.contains("/") { return .path(module) }
        if module.contains(".so") { return .soname(module) }
        return .name(module)
    }
}
