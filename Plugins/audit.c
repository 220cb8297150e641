/*
 * audit.c — an example plugworker plugin with bootsteps and signal handlers.
 *
 *     cc -std=c11 -Wall -Wextra -O2 -shared -fPIC -fvisibility=hidden \
 *        -I../Sources/CPlugworker/include -o libaudit.so audit.c
 *
 * Every event appends one line to the file named by $PLUGWORKER_AUDIT_LOG
 * (nothing is written when it is unset or empty):
 *
 *     worker_init pid=123 sender=celery@host
 *     task_postrun pid=124 sender=arith.add task_id=... task=arith.add state=SUCCESS
 *     step.start pid=123 name=audit.WorkerStep blueprint=worker hostname=celery@host
 *
 * The master and every pool process append to the same file concurrently, so
 * each line goes out in a single write() to a descriptor opened with
 * O_APPEND: lines never interleave.
 */
#define _POSIX_C_SOURCE 200809L /* O_CLOEXEC under -std=c11 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "plugworker.h"

PLUGWORKER_MODULE("audit", "1.0.0")

/* The host table has static storage, so keeping the pointer is safe. */
static const pw_host *host;

/* NULL strings from the host are written as "-". */
static const char *str(const char *s) { return s != NULL ? s : "-"; }

/* Appends one line, built from a printf format, to $PLUGWORKER_AUDIT_LOG. */
__attribute__((format(printf, 1, 2)))
static void audit_line(const char *fmt, ...) {
    const char *path = getenv("PLUGWORKER_AUDIT_LOG");
    if (path == NULL || path[0] == '\0')
        return;

    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0)
        return;
    char *line = malloc((size_t)len + 2); /* + '\n' + NUL */
    if (line == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, (size_t)len + 1, fmt, ap);
    va_end(ap);
    line[len] = '\n';

    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        /* One write() per line; retrying after EINTR is safe because
         * nothing was written then. */
        while (write(fd, line, (size_t)len + 1) < 0 && errno == EINTR)
            ;
        close(fd);
    }
    free(line);
}

/* ---- Signal handlers ----------------------------------------------------- */

static int audit_worker_signal(const char *name, const pw_signal *sig) {
    audit_line("%s pid=%d sender=%s", name, (int)getpid(), str(sig->sender));
    return PW_OK;
}

static int audit_task_signal(const char *name, const pw_signal *sig) {
    audit_line("%s pid=%d sender=%s task_id=%s task=%s", name, (int)getpid(),
               str(sig->sender), str(sig->task_id), str(sig->task_name));
    return PW_OK;
}

PW_EXPORT int audit_on_worker_init(const pw_signal *sig) {
    return audit_worker_signal("worker_init", sig);
}

PW_EXPORT int audit_on_worker_process_init(const pw_signal *sig) {
    return audit_worker_signal("worker_process_init", sig);
}

PW_EXPORT int audit_on_worker_ready(const pw_signal *sig) {
    return audit_worker_signal("worker_ready", sig);
}

PW_EXPORT int audit_on_worker_shutdown(const pw_signal *sig) {
    return audit_worker_signal("worker_shutdown", sig);
}

PW_EXPORT int audit_on_task_prerun(const pw_signal *sig) {
    return audit_task_signal("task_prerun", sig);
}

PW_EXPORT int audit_on_task_postrun(const pw_signal *sig) {
    audit_line("task_postrun pid=%d sender=%s task_id=%s task=%s state=%s",
               (int)getpid(), str(sig->sender), str(sig->task_id),
               str(sig->task_name), str(sig->state));
    return PW_OK;
}

/* ---- Bootsteps ----------------------------------------------------------- */

/* A callback receives only the step instance, so each descriptor gets its
 * own small callbacks that pass along which step they belong to. */
static int step_event(const char *event, const pw_step_def *def, pw_step *step) {
    const char *blueprint =
        def->blueprint == PW_BLUEPRINT_WORKER ? "worker" : "consumer";
    const char *hostname = host != NULL ? host->step_hostname(step) : NULL;
    audit_line("step.%s pid=%d name=%s blueprint=%s hostname=%s", event,
               (int)getpid(), def->name, blueprint, str(hostname));
    return PW_OK;
}

static const pw_step_def worker_step;
static const pw_step_def consumer_step;

static int worker_create(pw_step *s) { return step_event("create", &worker_step, s); }
static int worker_start(pw_step *s) { return step_event("start", &worker_step, s); }
static int worker_stop(pw_step *s) { return step_event("stop", &worker_step, s); }
static int worker_shutdown(pw_step *s) { return step_event("shutdown", &worker_step, s); }

static int consumer_create(pw_step *s) { return step_event("create", &consumer_step, s); }
static int consumer_start(pw_step *s) { return step_event("start", &consumer_step, s); }
static int consumer_stop(pw_step *s) { return step_event("stop", &consumer_step, s); }
static int consumer_shutdown(pw_step *s) { return step_event("shutdown", &consumer_step, s); }

/* Descriptors must have static storage: the host keeps the pointers. */
static const pw_step_def worker_step = {
    .size = sizeof(pw_step_def),
    .name = "audit.WorkerStep",
    .blueprint = PW_BLUEPRINT_WORKER,
    .requires = "Pool", /* start after the pool, stop before it */
    .create = worker_create,
    .start = worker_start,
    .stop = worker_stop,
    .shutdown = worker_shutdown,
};

static const pw_step_def consumer_step = {
    .size = sizeof(pw_step_def),
    .name = "audit.ConsumerStep",
    .blueprint = PW_BLUEPRINT_CONSUMER,
    .requires = "Tasks",
    .queues = NULL, /* no queues: no on_message either */
    .create = consumer_create,
    .start = consumer_start,
    .stop = consumer_stop,
    .shutdown = consumer_shutdown,
};

/* The exported step functions, named "audit:audit_worker_step" etc. */
PW_EXPORT const pw_step_def *audit_worker_step(void) { return &worker_step; }
PW_EXPORT const pw_step_def *audit_consumer_step(void) { return &consumer_step; }

/* ---- Registration -------------------------------------------------------- */

static const struct {
    const char *signal;
    const char *symbol;
} handlers[] = {
    {"worker_init", "audit:audit_on_worker_init"},
    {"worker_process_init", "audit:audit_on_worker_process_init"},
    {"worker_ready", "audit:audit_on_worker_ready"},
    {"worker_shutdown", "audit:audit_on_worker_shutdown"},
    {"task_prerun", "audit:audit_on_task_prerun"},
    {"task_postrun", "audit:audit_on_task_postrun"},
};

static const char *const steps[] = {
    "audit:audit_worker_step",
    "audit:audit_consumer_step",
};

/* Records why init fails and passes the status on. */
static int init_error(pw_plugin *plugin, int rc, const char *what, const char *symbol) {
    char msg[160];
    snprintf(msg, sizeof msg, "cannot %s %s (status %d)", what, symbol, rc);
    host->set_error(plugin, msg);
    return rc;
}

PW_EXPORT int plugworker_init(const pw_host *h, pw_plugin *plugin) {
    host = h;
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
        int rc = h->connect_signal(plugin, handlers[i].signal, handlers[i].symbol);
        if (rc != PW_OK)
            return init_error(plugin, rc, "connect", handlers[i].symbol);
    }
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        int rc = h->register_step(plugin, steps[i]);
        if (rc != PW_OK)
            return init_error(plugin, rc, "register", steps[i]);
    }
    return PW_OK;
}
