/*
 * initcrash.c — fault-injection fixture: a plugin whose worker_process_init
 * handler crashes (abort(), SIGABRT) in every pool process. Its init in the
 * master is fine, so the worker starts (or hot-loads it) and then cannot
 * keep a pool process alive: the pool's restart cap must engage, the master
 * stay up and say why, and removing the file must bring the pool back.
 *
 *     cc -std=c11 -Wall -Wextra -O2 -shared -fPIC -fvisibility=hidden \
 *        -I Sources/CPlugworker/include -o libinitcrash.so initcrash.c
 *
 * Built at test time by Tests/Faults/run.py (not by Tests/Fixtures/Plugins'
 * Makefile, whose output directory the loader tests load wholesale).
 */
#include <stdlib.h>

#include "plugworker.h"

PLUGWORKER_MODULE("initcrash", "1.0.0")

PW_EXPORT int64_t initcrash_noop(void) { return 0; }

PW_EXPORT int initcrash_on_worker_process_init(const pw_signal *sig) {
    (void)sig;
    abort();
}

static const pw_task_def noop = {
    .size = sizeof(pw_task_def), .name = "initcrash.noop", .symbol = "initcrash:initcrash_noop",
    .signature = "noop() -> int64"};

PW_EXPORT int plugworker_init(const pw_host *h, pw_plugin *plugin) {
    int rc = h->register_task(plugin, &noop);
    if (rc != PW_OK) return rc;
    return h->connect_signal(plugin, "worker_process_init", "initcrash:initcrash_on_worker_process_init");
}
