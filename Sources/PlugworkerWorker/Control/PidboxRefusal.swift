/// Why a message from the mailbox queue was not taken as a control request.
///
/// The worker logs it (one line, `description`) and drops the message; a
/// malformed request never gets a reply, since its reply address may be the
/// very thing that is broken.
public struct PidboxRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong, e.g. `"field \"method\" is missing"`.
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { "refused control request: \(reason)" }
}
