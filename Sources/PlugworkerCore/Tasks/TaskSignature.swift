/// The declared C signature of a task: `add(a: int64, b: int64) -> int64`.
///
/// Parsed once, at registration; the parsed form drives the libffi call
/// interface and the per-call conversion of Celery's JSON args and kwargs.
public struct TaskSignature: Sendable, Equatable, CustomStringConvertible {
    /// One parameter. `ctx` parameters take no JSON argument.
    public struct Parameter: Sendable, Equatable {
        public var name: String
        public var type: ValueType
    }

    /// The function's name as the signature gives it (used in TypeErrors,
    /// like Python's `add() missing 1 required positional argument`).
    public var name: String
    public var parameters: [Parameter]
    public var result: ValueType

    /// The parameters that take a JSON argument, in order.
    public var jsonParameters: [Parameter] { parameters.filter { $0.type != .ctx } }

    /// Normalised text: `add(a: int64, b: int64) -> int64`.
    public var description: String {
        let params = parameters.map { $0.type == .ctx && $0.name == "ctx" ? "ctx" : "\($0.name): \($0.type.rawValue)" }
        return "\(name)(\(params.joined(separator: ", "))) -> \(result.rawValue)"
    }

    public init(name: String, parameters: [Parameter], result: ValueType) {
        self.name = name
        self.parameters = parameters
        self.result = result
    }

    /// Parses signature text.
    /// - Throws: `SignatureError` saying what is wrong and where; its kind
    ///   tells a syntax error from an unknown type.
    public init(parsing text: String) throws(SignatureError) {
        var p = SignatureParser(text)
        self = try p.parse()
    }
}

/// Why a signature was refused.
public struct SignatureError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The text does not follow `name(param: type, ...) -> type`.
        case syntax
        /// A type name that plugworker does not know.
        case unknownType(String)
        /// Well-formed but not allowed (e.g. `void` parameter, two `ctx`).
        case invalid
    }

    public var kind: Kind
    public var message: String
    /// 1-based column in the signature text.
    public var column: Int
    public var text: String

    public var description: String { "\(message) (column \(column) of \"\(text)\")" }
}

/// A recursive-descent parser for signature text.
struct SignatureParser {
    let text: String
    let chars: [Character]
    var i = 0

    init(_ text: String) {
        self.text = text
        self.chars = Array(text)
    }

    mutating func parse() throws(SignatureError) -> TaskSignature {
        skipSpaces()
        let name = try identifier("a function name")
        skipSpaces()
        try expect("(", "'(' after the function name")
        var params: [TaskSignature.Parameter] = []
        skipSpaces()
        if !consume(")") {
            repeat {
                skipSpaces()
                params.append(try parameter(existing: params))
                skipSpaces()
            } while consume(",")
            try expect(")", "',' or ')' after a parameter")
        }
        skipSpaces()
        guard consume("-"), consume(">") else {
            throw fail(.syntax, i < chars.count ? "expected '-> type' after ')'" : "expected '-> type' after ')', the result type is missing")
        }
        skipSpaces()
        let resultColumn = i
        let result = try type()
        if result == .ctx { throw SignatureError(kind: .invalid, message: "'ctx' is not a result type", column: resultColumn + 1, text: text) }
        skipSpaces()
        if i < chars.count { throw fail(.syntax, "unexpected '\(chars[i])' after the result type") }
        return TaskSignature(name: name, parameters: params, result: result)
    }

    mutating func parameter(existing: [TaskSignature.Parameter]) throws(SignatureError) -> TaskSignature.Parameter {
        let column = i
        let name = try identifier("a parameter name")
        skipSpaces()
        let type: ValueType
        if consume(":") {
            skipSpaces()
            type = try self.type()
        } else if name == "ctx" {
            type = .ctx
        } else {
            throw fail(.syntax, "expected ':' and a type after parameter '\(name)'")
        }
        if type == .void { throw SignatureError(kind: .invalid, message: "parameter '\(name)' cannot be void", column: column + 1, text: text) }
        if existing.contains(where: { $0.name == name }) {
            throw SignatureError(kind: .invalid, message: "duplicate parameter name '\(name)'", column: column + 1, text: text)
        }
        if type == .ctx && existing.contains(where: { $0.type == .ctx }) {
            throw SignatureError(kind: .invalid, message: "more than one ctx parameter", column: column + 1, text: text)
        }
        return .init(name: name, type: type)
    }

    mutating func type() throws(SignatureError) -> ValueType {
        let column = i
        let word = try identifier("a type")
        guard let t = ValueType(rawValue: word) else {
            throw SignatureError(kind: .unknownType(word), message: "unknown type '\(word)'", column: column + 1, text: text)
        }
        return t
    }

    mutating func identifier(_ what: String) throws(SignatureError) -> String {
        let start = i
        while i < chars.count, chars[i] == "_" || chars[i].isLetter && chars[i].isASCII || (i > start && chars[i].isASCII && chars[i].isNumber) {
            i += 1
        }
        guard i > start else { throw fail(.syntax, "expected \(what)") }
        return String(chars[start..<i])
    }

    mutating func skipSpaces() {
        while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 }
    }

    mutating func consume(_ c: Character) -> Bool {
        if i < chars.count, chars[i] == c {
            i += 1
            return true
        }
        return false
    }

    mutating func expect(_ c: Character, _ what: String) throws(SignatureError) {
        if !consume(c) { throw fail(.syntax, "expected \(what)") }
    }

    func fail(_ kind: SignatureError.Kind, _ message: String) -> SignatureError {
        let found = i < chars.count ? ", found '\(chars[i])'" : ", found the end"
        return SignatureError(kind: kind, message: message + found, column: i + 1, text: text)
    }
}
