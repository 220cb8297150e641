/*
 * poollimits.c — fixture: tasks for the pool limits (libpoollimits.so,
 * module "poollimits" version "0.1").
 *
 * Used by Tests/Integration/test_pool_limits.py, which builds it with plain
 * cc and runs a worker with --plugins on its directory.
 *
 *   poollimits.pid() -> int64             the pid of the pool process it ran in
 *   poollimits.hog(mib: int64) -> int64   allocates mib MiB, writes every page
 *                                         (so it is resident) and keeps it for
 *                                         the life of the process; returns the
 *                                         pid it ran in
 */
#define _POSIX_C_SOURCE 200809L
#include <plugworker.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

PLUGWORKER_MODULE("poollimits", "0.1")

static const pw_host *host;

PW_EXPORT int64_t pl_pid(void) { return (int64_t)getpid(); }

/* Kept here so the memory stays allocated (and no leak checker minds). */
static void *kept[64];
static size_t nkept;

PW_EXPORT int64_t pl_hog(int64_t mib) {
    if (mib < 0 || mib > 1024) {
        host->ctx_fail(host->current(), "ValueError", "mib must be between 0 and 1024");
        return 0;
    }
    size_t bytes = (size_t)mib << 20;
    char *p = malloc(bytes ? bytes : 1);
    if (p == NULL) {
        host->ctx_fail(host->current(), "MemoryError", "malloc failed");
        return 0;
    }
    memset(p, 0xA5, bytes);
    /* The pointer escapes here: the allocation and the writes cannot be
     * optimised away (nothing reads `kept`). */
    __asm__ volatile("" : : "r"(p) : "memory");
    if (nkept < sizeof kept / sizeof kept[0]) kept[nkept++] = p;
    return (int64_t)getpid();
}

static const pw_task_def tasks[] = {
    {.size = sizeof(pw_task_def), .name = "poollimits.pid", .symbol = "pl_pid", .signature = "pid() -> int64"},
    {.size = sizeof(pw_task_def), .name = "poollimits.hog", .symbol = "pl_hog", .signature = "hog(mib: int64) -> int64"},
};

PW_EXPORT int plugworker_init(const pw_host *h, pw_plugin *plugin) {
    host = h;
    for (size_t i = 0; i < sizeof tasks / sizeof tasks[0]; i++) {
        int rc = h->register_task(plugin, &tasks[i]);
        if (rc != PW_OK) {
            h->set_error(plugin, "poollimits: a task failed to register");
            return rc;
        }
    }
    return PW_OK;
}
