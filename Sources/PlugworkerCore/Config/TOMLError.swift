/// Why a TOML document could not be read: where, what, and what to do.
public struct TOMLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line and column (in bytes) where reading stopped.
    public var line: Int
    public var column: Int
    /// What was wrong, e.g. `key task is defined twice`.
    public var message: String
    /// What to do about it.
    public var hint: String

    public init(line: Int, column: Int, message: String, hint: String) {
        self.line = line
        self.column = column
        self.message = message
        self.hint = hint
    }

    /// `line 3, column 7: expected '=' after the key (hint: ...)`.
    public var description: String {
        "line \(line), column \(column): \(message)" + (hint.isEmpty ? "" : " (hint: \(hint))")
    }
}
