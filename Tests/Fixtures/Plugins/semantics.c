/*
 * semantics.c — fixture: task options of ABI 1.1 and the task semantics
 * they drive (libsemantics.so, module "semantics" version "0.1").
 *
 * Used by the unit tests (options parsed, backoff computed) and by the
 * integration tests in Tests/Integration/test_semantics.py, which build it
 * with plain cc and run a worker with --plugins on its directory.
 *
 *   semantics.limited(x: int64) -> int64        rate_limit "10/s"; returns x
 *   semantics.late_sleep(seconds: double) -> int64
 *                                               acks_late, reject_on_worker_lost;
 *                                               sleeps, returns the pid it ran in
 *   semantics.backoff(failures: int64, ctx) -> int64
 *                                               retries with countdown -1 while
 *                                               retries < failures, then returns
 *                                               retries; retry_backoff 0.2 s,
 *                                               retry_backoff_max 0.5 s, no
 *                                               jitter, max_retries 5
 *   semantics.fail_late() -> void               acks_late,
 *                                               acks_on_failure_or_timeout false:
 *                                               fails with ValueError (the
 *                                               message is rejected, dead-lettered)
 *   semantics.old_abi(x: int64) -> int64        registered with the ABI 1.0
 *                                               size of pw_task_def: the host
 *                                               must take the 1.1 defaults
 */
#define _POSIX_C_SOURCE 200809L
#include <plugworker.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

PLUGWORKER_MODULE("semantics", "0.1")

static const pw_host *host;

PW_EXPORT int64_t sem_identity(int64_t x) { return x; }

PW_EXPORT int64_t sem_late_sleep(double seconds) {
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
    return (int64_t)getpid();
}

PW_EXPORT int64_t sem_backoff(int64_t failures, pw_ctx *ctx) {
    int64_t retries = host->ctx_retries(ctx);
    if (retries < failures) {
        host->ctx_retry(ctx, -1, "backoff");
        return 0;
    }
    return retries;
}

PW_EXPORT void sem_fail_late(void) {
    host->ctx_fail(host->current(), "ValueError", "fail_late always fails");
}

static const pw_task_def tasks[] = {
    {.size = sizeof(pw_task_def), .name = "semantics.limited", .symbol = "sem_identity",
     .signature = "limited(x: int64) -> int64", .options = {.rate_limit = "10/s"}},
    {.size = sizeof(pw_task_def), .name = "semantics.late_sleep", .symbol = "sem_late_sleep",
     .signature = "late_sleep(seconds: double) -> int64",
     .options = {.acks_late = PW_TRUE, .reject_on_worker_lost = PW_TRUE}},
    {.size = sizeof(pw_task_def), .name = "semantics.backoff", .symbol = "sem_backoff",
     .signature = "backoff(failures: int64, ctx) -> int64",
     .options = {.max_retries = 5, .retry_backoff = 0.2, .retry_backoff_max = 0.5, .retry_jitter = PW_FALSE}},
    {.size = sizeof(pw_task_def), .name = "semantics.fail_late", .symbol = "sem_fail_late",
     .signature = "fail_late() -> void",
     .options = {.acks_late = PW_TRUE, .acks_on_failure_or_timeout = PW_FALSE}},
    /* A 1.0 plugin's descriptor: everything from acks_on_failure_or_timeout
     * on is past its size, so the host must not read the 1 below. */
    {.size = offsetof(pw_task_def, options.acks_on_failure_or_timeout), .name = "semantics.old_abi",
     .symbol = "sem_identity", .signature = "old_abi(x: int64) -> int64",
     .options = {.acks_on_failure_or_timeout = 1, .retry_backoff = 1}},
};

PW_EXPORT int plugworker_init(const pw_host *h, pw_plugin *plugin) {
    host = h;
    for (size_t i = 0; i < sizeof tasks / sizeof tasks[0]; i++) {
        int rc = h->register_task(plugin, &tasks[i]);
        if (rc != PW_OK) {
            h->set_error(plugin, "semantics: a task failed to register");
            return rc;
        }
    }
    return PW_OK;
}
