/*
 * hello.c — a minimal plugworker plugin. Copy it and make it yours.
 *
 * Build (see README.md):
 *
 *     cc -std=c11 -Wall -Wextra -O2 -shared -fPIC -fvisibility=hidden \
 *        -I/path/to/plugworker/Sources/CPlugworker/include \
 *        -o libhello.so hello.c
 *
 * A plugin is a shared library that needs only plugworker.h and libc. It
 * exports two entry points, plugworker_magic and plugworker_init, plus the
 * functions it registers (tasks here). Everything else stays hidden because
 * of -fvisibility=hidden; PW_EXPORT marks what the host must find with dlsym.
 */
#define _POSIX_C_SOURCE 200809L /* POSIX functions under -std=c11 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugworker.h"

/*
 * 1. The magic block: the module name and version. The host checks it (and
 *    the ABI version it records) before it runs any other code of the plugin.
 *    The module name is how symbols are named: "hello:hello_greet".
 */
PLUGWORKER_MODULE("hello", "1.0.0")

/*
 * The host function table. It has static storage, so a plugin can keep the
 * pointer from plugworker_init and use it later, e.g. inside tasks.
 */
static const pw_host *host;

/*
 * 2. A task: an ordinary C function. Its parameters and result must match
 *    the signature registered below; "string" is `const char *` going in and
 *    a malloc()ed `char *` coming out (the host frees it with free()).
 *    The input string belongs to the host and is valid only during the call.
 */
PW_EXPORT char *hello_greet(const char *name) {
    size_t size = strlen("Hello, !") + strlen(name) + 1;
    char *greeting = malloc(size);
    if (greeting == NULL) {
        /* Fail the task with a Python exception. A task without a `ctx`
         * parameter gets its context from host->current(). After ctx_fail,
         * return at once; the return value is ignored. */
        host->ctx_fail(host->current(), "MemoryError", "out of memory");
        return NULL;
    }
    snprintf(greeting, size, "Hello, %s!", name);
    return greeting;
}

/*
 * 3. The task descriptor. The host keeps a pointer to it, so it must have
 *    static storage (as must the strings it points to — literals are fine).
 *    Fields left out, here all the options, are zero: "use the defaults".
 */
static const pw_task_def greet_task = {
    .size = sizeof(pw_task_def),
    .name = "hello.greet",                           /* the Celery task name */
    .symbol = "hello:hello_greet",                   /* module:Symbol */
    .signature = "greet(name: string) -> string",    /* what the C function takes */
};

/*
 * 4. The init entry. It runs once in every process that loads the plugin
 *    (the master and each pool process) and is the only place where tasks,
 *    bootsteps and signal handlers can be registered. Keep it idempotent and
 *    cheap; return PW_OK, or an error after saying why with set_error.
 */
PW_EXPORT int plugworker_init(const pw_host *h, pw_plugin *plugin) {
    host = h;
    int rc = h->register_task(plugin, &greet_task);
    if (rc != PW_OK) {
        h->set_error(plugin, "cannot register hello.greet");
        return rc;
    }
    return PW_OK;
}
