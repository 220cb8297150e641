/// A task named on the command line:
/// `--task 'm.pow=libm.so.6:pow(x: double, y: double) -> double'`.
///
/// The part before `=` is the Celery task name; then `module:Symbol`; then
/// the parameter list and result, which with the symbol make the signature.
public struct TaskSpec: Sendable, Equatable {
    public var name: String
    public var symbol: SymbolName
    /// `pow(x: double, y: double) -> double`.
    public var signature: String

    public init(parsing spec: String) throws(PluginError) {
        func bad(_ detail: String) -> PluginError {
            PluginError(.badTaskSpec, "--task \"\(spec)\" is not a task specification", detail: detail,
                        hint: "write NAME=MODULE:SYMBOL(param: type, ...) -> type, e.g. m.pow=libm.so.6:pow(x: double, y: double) -> double")
        }
        guard let eq = spec.firstIndex(of: "=") else { throw bad("no '=' between the task name and the function") }
        let name = spec[..<eq].trimmingSpaces
        let rest = spec[spec.index(after: eq)...]
        guard Self.isValidTaskName(name) else { throw bad("\"\(name)\" is not a valid task name") }
        guard let paren = rest.firstIndex(of: "(") else { throw bad("no parameter list after the function") }
        let target = rest[..<paren].trimmingSpaces
        guard let symbol = SymbolName(parsing: target), symbol.module != nil else {
            throw bad("\"\(target)\" is not MODULE:SYMBOL")
        }
        self.name = name
        self.symbol = symbol
        self.signature = symbol.symbol + rest[paren...]
    }

    /// Celery task names: non-empty, printable, no spaces.
    public static func isValidTaskName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && name.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F }
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`.
    public static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }
}
