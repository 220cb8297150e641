/// Why a plugin, a library or one of its registrations was refused.
///
/// Each has a stable code (`PW1nn`, never reused), a one-line message naming
/// the object, a detail with the specifics, and a hint telling the plugin's
/// author what to do — PostgreSQL's message/detail/hint triple.
public struct PluginError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable error code. Switch on these; new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let number: Int
        public let name: String

        public var description: String { "PW\(number) \(name)" }

        public static let notFound = Code(number: 101, name: "not-found")
        public static let notSharedObject = Code(number: 102, name: "not-a-shared-object")
        public static let missingDependency = Code(number: 103, name: "missing-dependency")
        public static let noMagicBlock = Code(number: 104, name: "no-magic-block")
        public static let abiTooOld = Code(number: 105, name: "abi-major-older")
        public static let abiTooNew = Code(number: 106, name: "abi-major-newer")
        public static let abiMinorTooNew = Code(number: 107, name: "abi-minor-newer")
        public static let noInitEntry = Code(number: 108, name: "no-init-entry")
        public static let initFailed = Code(number: 109, name: "init-failed")
        public static let unknownSymbol = Code(number: 110, name: "unknown-symbol")
        public static let badSignature = Code(number: 111, name: "bad-signature")
        public static let unknownType = Code(number: 112, name: "unknown-type")
        public static let duplicateTask = Code(number: 113, name: "duplicate-task")
        public static let insecurePermissions = Code(number: 114, name: "insecure-permissions")
        public static let loadFailed = Code(number: 115, name: "load-failed")
        public static let badMagicBlock = Code(number: 116, name: "bad-magic-block")
        public static let invalidDescriptor = Code(number: 117, name: "invalid-descriptor")
        public static let duplicateModule = Code(number: 118, name: "duplicate-module")
        public static let duplicateStep = Code(number: 119, name: "duplicate-step")
        public static let badTaskSpec = Code(number: 120, name: "bad-task-spec")
    }

    public var code: Code
    /// One line naming the object: `libarith.so: unknown symbol "arith:nope"`.
    public var message: String
    /// The specifics: numbers, paths, what the system said.
    public var detail: String
    /// What to do about it.
    public var hint: String
    /// The file concerned, when there is one.
    public var path: String?

    public init(_ code: Code, _ message: String, detail: String, hint: String, path: String? = nil) {
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint
        self.path = path
    }

    /// Three lines: `error PW110 unknown-symbol: …`, `  detail: …`, `  hint: …`.
    public var description: String {
        "error \(code): \(message)\n  detail: \(detail)\n  hint: \(hint)"
    }

    /// One line, for log records.
    public var logLine: String { "\(code): \(message) — \(detail) (hint: \(hint))" }
}
