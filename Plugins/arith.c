/*
 * arith.c — an example plugworker plugin with a few arithmetic tasks.
 *
 *     cc -std=c11 -Wall -Wextra -O2 -shared -fPIC -fvisibility=hidden \
 *        -I../Sources/CPlugworker/include -o libarith.so arith.c
 *
 * It shows the common patterns: plain functions as tasks, failing a task
 * with a Python exception (host->ctx_fail), cooperating with the soft time
 * limit, and retrying (host->ctx_retry).
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep() under -std=c11 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "plugworker.h"

PLUGWORKER_MODULE("arith", "1.0.0")

/* The host table has static storage, so keeping the pointer is safe. */
static const pw_host *host;

/* Fails the running task; the caller returns right after. */
static void fail(const char *exc_type, const char *message) {
    host->ctx_fail(host->current(), exc_type, message);
}

/* ---- Tasks --------------------------------------------------------------- */

PW_EXPORT int64_t arith_add(int64_t a, int64_t b) {
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum)) {
        fail("OverflowError", "int64 overflow in add");
        return 0;
    }
    return sum;
}

PW_EXPORT double arith_mul(double a, double b) {
    return a * b;
}

/* Integer division with Python's semantics: the quotient rounds towards
 * negative infinity (7 // -2 == -4), where C truncates towards zero. */
PW_EXPORT int64_t arith_div(int64_t a, int64_t b) {
    if (b == 0) {
        fail("ZeroDivisionError", "integer division or modulo by zero");
        return 0;
    }
    if (a == INT64_MIN && b == -1) { /* the one quotient int64 cannot hold */
        fail("OverflowError", "int64 overflow in div");
        return 0;
    }
    int64_t q = a / b;
    if (a % b != 0 && (a < 0) != (b < 0))
        q -= 1;
    return q;
}

/* Sleeps in short slices so that it notices the soft time limit soon after
 * it passes; a long-running task should check it the same way. */
PW_EXPORT void arith_sleep(double seconds) {
    if (!(seconds >= 0)) { /* also true for NaN */
        fail("ValueError", "sleep length must be non-negative");
        return;
    }
    const double slice = 0.05;
    double left = seconds;
    while (left > 0) {
        double step = left < slice ? left : slice;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(step * 1e9)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ; /* interrupted by a signal: sleep the rest of the slice */
        left -= step;

        pw_ctx *ctx = host->current();
        if (ctx != NULL && host->ctx_soft_time_limit_exceeded(ctx)) {
            host->ctx_fail(ctx, "billiard.exceptions.SoftTimeLimitExceeded",
                           "SoftTimeLimitExceeded()");
            return;
        }
    }
}

/* Kills the pool process with a real SIGSEGV, to exercise the worker's
 * handling of a lost worker process. */
PW_EXPORT void arith_crash(void) {
    /* Both volatiles matter: the pointer's keeps the compiler from seeing
     * that it is NULL (and emitting a trap, SIGILL, instead), the target's
     * keeps it from dropping the store as dead. */
    volatile int *volatile p = NULL;
    *p = 42;
    raise(SIGSEGV); /* in case the store somehow did not fault */
}

/* Fails `failures` times with a retry, then succeeds with the retry count.
 * The `ctx` parameter in the signature gives the function the context. */
PW_EXPORT int64_t arith_flaky(int64_t failures, pw_ctx *ctx) {
    int64_t retries = host->ctx_retries(ctx);
    if (retries < failures) {
        char reason[96];
        snprintf(reason, sizeof reason, "flaky: retry %lld of %lld",
                 (long long)(retries + 1), (long long)failures);
        host->ctx_retry(ctx, 0.1, reason); /* the host copies `reason` */
        return 0;                          /* ignored after a retry */
    }
    return retries;
}

/* ---- Registration -------------------------------------------------------- */

/* Descriptors must have static storage: the host keeps the pointers.
 * The options are left zero-initialised, which means "all defaults". */
static const pw_task_def tasks[] = {
    {.size = sizeof(pw_task_def), .name = "arith.add", .symbol = "arith:arith_add",
     .signature = "add(a: int64, b: int64) -> int64"},
    {.size = sizeof(pw_task_def), .name = "arith.mul", .symbol = "arith:arith_mul",
     .signature = "mul(a: double, b: double) -> double"},
    {.size = sizeof(pw_task_def), .name = "arith.div", .symbol = "arith:arith_div",
     .signature = "div(a: int64, b: int64) -> int64"},
    {.size = sizeof(pw_task_def), .name = "arith.sleep", .symbol = "arith:arith_sleep",
     .signature = "sleep(seconds: double) -> void"},
    {.size = sizeof(pw_task_def), .name = "arith.crash", .symbol = "arith:arith_crash",
     .signature = "crash() -> void"},
    {.size = sizeof(pw_task_def), .name = "arith.flaky", .symbol = "arith:arith_flaky",
     .signature = "flaky(failures: int64, ctx) -> int64"},
};

PW_EXPORT int plugworker_init(const pw_host *h, pw_plugin *plugin) {
    host = h;
    for (size_t i = 0; i < sizeof tasks / sizeof tasks[0]; i++) {
        int rc = h->register_task(plugin, &tasks[i]);
        if (rc != PW_OK) {
            char msg[128];
            snprintf(msg, sizeof msg, "cannot register %s (status %d)",
                     tasks[i].name, rc);
            h->set_error(plugin, msg);
            return rc;
        }
    }
    return PW_OK;
}
