import PlugworkerCore

/// The Celery and kombu exceptions the worker itself reports (§2.4 of the
/// wire notes). Python clients have these modules imported, so they raise
/// the real classes.
extension TaskException {
    /// `celery.exceptions.NotRegistered(name)`: no task of that name.
    public static func notRegistered(_ name: String) -> TaskException {
        TaskException(type: "NotRegistered", module: "celery.exceptions", message: name)
    }

    /// `celery.exceptions.TaskRevokedError(reason)`; reason is `expired`,
    /// `revoked` or `terminated`.
    public static func taskRevoked(_ reason: String) -> TaskException {
        TaskException(type: "TaskRevokedError", module: "celery.exceptions", message: reason)
    }

    /// `celery.exceptions.InvalidTaskError`: the message is not a valid task.
    public static func invalidTask(_ message: String) -> TaskException {
        TaskException(type: "InvalidTaskError", module: "celery.exceptions", message: message)
    }

    /// `kombu.exceptions.ContentDisallowed`: a serializer we refuse.
    public static func contentDisallowed(_ message: String) -> TaskException {
        TaskException(type: "ContentDisallowed", module: "kombu.exceptions", message: message)
    }

    /// `kombu.exceptions.DecodeError`: the body does not decode.
    public static func decodeError(_ message: String) -> TaskException {
        TaskException(type: "DecodeError", module: "kombu.exceptions", message: message)
    }

    /// `kombu.exceptions.LimitExceeded`: the message is too large.
    public static func limitExceeded(_ message: String) -> TaskException {
        TaskException(type: "LimitExceeded", module: "kombu.exceptions", message: message)
    }
}
