/// The worker and task signals plugins can connect handlers to, named and
/// timed as Celery's (see plugworker.h for the process each runs in).
public enum SignalName: String, Sendable, CaseIterable {
    case workerInit = "worker_init"
    case workerProcessInit = "worker_process_init"
    case workerReady = "worker_ready"
    case workerShuttingDown = "worker_shutting_down"
    case workerShutdown = "worker_shutdown"
    case workerProcessShutdown = "worker_process_shutdown"
    case taskReceived = "task_received"
    case taskPrerun = "task_prerun"
    case taskPostrun = "task_postrun"
    case taskSuccess = "task_success"
    case taskFailure = "task_failure"
    case taskRetry = "task_retry"
    case taskRevoked = "task_revoked"
    case taskRejected = "task_rejected"
    case taskUnknown = "task_unknown"
    case heartbeatSent = "heartbeat_sent"
}
