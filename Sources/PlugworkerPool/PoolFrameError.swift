/// A frame between the master and a pool process that cannot be decoded.
///
/// The stream carries no resynchronisation marks, so after one of these the
/// connection is unusable: the master kills the process, a pool process
/// exits.
public struct PoolFrameError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong; stable, for callers that want to tell cases apart.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The declared length is 0 or above the limit.
        public static let badLength = Code(name: "bad length")
        /// The kind byte names no known frame.
        public static let unknownKind = Code(name: "unknown kind")
        /// A field runs past the end of its frame.
        public static let truncated = Code(name: "truncated")
        /// The frame has bytes after its last field.
        public static let trailingBytes = Code(name: "trailing bytes")
        /// A field has a value it cannot have (bad tag, invalid UTF-8, …).
        public static let badValue = Code(name: "bad value")
        public var description: String { name }
    }

    public var code: Code
    /// A one-line explanation naming the frame and the field.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "corrupt pool frame (\(code)): \(message)" }
}
