/// An exception as Celery puts it on the wire (`exc_type`, `exc_message`,
/// `exc_module`), so that the Python client raises the matching class.
public struct TaskException: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class name, e.g. `ZeroDivisionError`.
    public var type: String
    /// The module the client looks the class up in, e.g. `builtins`.
    public var module: String
    /// The exception's single argument.
    public var message: String
    /// Free-text traceback, when there is one.
    public var traceback: String?

    public init(type: String, module: String, message: String, traceback: String? = nil) {
        self.type = type
        self.module = module
        self.message = message
        self.traceback = traceback
    }

    /// An exception named the way plugins name them: a Python builtin
    /// (`ValueError`) goes to module `builtins`; `pkg.mod.Name` is split at
    /// the last dot; any other bare name goes to module `plugworker`, which
    /// the client does not know, so it raises a made-up class of that name.
    public init(named name: String, message: String) {
        if let dot = name.lastIndex(of: ".") {
            self.init(type: String(name[name.index(after: dot)...]), module: String(name[..<dot]), message: message)
        } else if Self.pythonBuiltins.contains(name) {
            self.init(type: name, module: "builtins", message: message)
        } else {
            self.init(type: name, module: "plugworker", message: message)
        }
    }

    /// `TypeError(message)`: arguments that do not fit the signature.
    public static func typeError(_ message: String) -> TaskException {
        TaskException(type: "TypeError", module: "builtins", message: message)
    }

    /// `ValueError(message)`.
    public static func valueError(_ message: String) -> TaskException {
        TaskException(type: "ValueError", module: "builtins", message: message)
    }

    /// Python's repr, as events and logs show it: `ValueError('boom')`.
    public var description: String { "\(type)(\(Self.pythonRepr(message)))" }

    /// The `result` object of a FAILURE/RETRY message.
    public var json: JSON {
        ["exc_type": .string(type), "exc_message": [.string(message)], "exc_module": .string(module)]
    }

    /// A Python string literal for `s`, as `repr()` would write it.
    static func pythonRepr(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(c) == quote { out += "\\" + String(c) } else if c.value < 0x20 || c.value == 0x7F {
                    out += "\\x" + (c.value < 0x10 ? "0" : "") + String(c.value, radix: 16)
                } else { out.unicodeScalars.append(c) }
            }
        }
        out.append(quote)
        return out
    }

    /// Python's builtin exception classes: plugins name these bare.
    static let pythonBuiltins: Set<String> = [
        "ArithmeticError", "AssertionError", "AttributeError", "BaseException", "BlockingIOError",
        "BrokenPipeError", "BufferError", "ChildProcessError", "ConnectionAbortedError", "ConnectionError",
        "ConnectionRefusedError", "ConnectionResetError", "EOFError", "EnvironmentError", "Exception",
        "FileExistsError", "FileNotFoundError", "FloatingPointError", "IOError", "ImportError",
        "IndexError", "InterruptedError", "IsADirectoryError", "KeyError", "LookupError", "MemoryError",
        "ModuleNotFoundError", "NameError", "NotADirectoryError", "NotImplementedError", "OSError",
        "OverflowError", "PermissionError", "ProcessLookupError", "RecursionError", "ReferenceError",
        "RuntimeError", "StopIteration", "SystemError", "TimeoutError", "TypeError", "UnicodeDecodeError",
        "UnicodeEncodeError", "UnicodeError", "ValueError", "ZeroDivisionError",
    ]
}
