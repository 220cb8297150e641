/*
 * hotswap.c — fixture: one plugin built in several versions, for hot
 * plugins (libhotswap.so; the Makefile also builds
 * $(OUT)/hotswap_v2/libhotswap.so with -DHOTSWAP_VERSION=2).
 *
 * Exercises: loading a new plugin, replacing it with another build of the
 * same module, removing it, while the worker runs. The magic block declares
 * module "hotswap", version "<HOTSWAP_VERSION>" (default 1); init registers:
 *
 *   hotswap.version        version() -> int64                 returns HOTSWAP_VERSION
 *   hotswap.slow_version   slow_version(seconds: double) -> int64
 *                          sleeps `seconds`, then returns HOTSWAP_VERSION
 *                          (a long task that must finish on the old code)
 *
 * Host must: register both; after a replace, new calls return the new
 * version while a slow_version call already running returns the old one.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep() under -std=c11 */
#include <errno.h>
#include <time.h>
#include <plugworker.h>

#ifndef HOTSWAP_VERSION
#define HOTSWAP_VERSION 1
#endif
#define HOTSWAP_STR2(x) #x
#define HOTSWAP_STR(x) HOTSWAP_STR2(x)

PLUGWORKER_MODULE("hotswap", HOTSWAP_STR(HOTSWAP_VERSION))

PW_EXPORT int64_t hotswap_version(void) { return HOTSWAP_VERSION; }

PW_EXPORT int64_t hotswap_slow_version(double seconds) {
    if (seconds > 0) {
        struct timespec ts;
        ts.tv_sec = (time_t)seconds;
        ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    return HOTSWAP_VERSION;
}

static const pw_task_def version_def = {
    .size = sizeof(pw_task_def),
    .name = "hotswap.version",
    .symbol = "hotswap_version",
    .signature = "version() -> int64",
};

static const pw_task_def slow_def = {
    .size = sizeof(pw_task_def),
    .name = "hotswap.slow_version",
    .symbol = "hotswap_slow_version",
    .signature = "slow_version(seconds: double) -> int64",
};

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    int status = host->register_task(plugin, &version_def);
    if (status != PW_OK) return status;
    return host->register_task(plugin, &slow_def);
}
