/*
 * rawlog.c — an example plugworker plugin with a consumer step that consumes
 * a queue of plain (non-Celery) AMQP messages.
 *
 *     make        (cc -shared -fPIC -fvisibility=hidden
 *                  -I../../Sources/CPlugworker/include -o librawlog.so rawlog.c)
 *
 * Module "rawlog" registers one bootstep, "rawlog.Consumer", in the consumer
 * blueprint, after "Connection". Its descriptor names one queue:
 *
 *     $PLUGWORKER_RAWLOG_QUEUE   (default "plugworker.rawlog")
 *
 * The worker declares that queue (durable, with a direct exchange of the same
 * name bound by the queue name, as for -Q queues), consumes it on its own
 * connection, and hands every delivery to rawlog_on_message, which appends
 *
 *     <queue> <routing_key> <redelivered 0|1> <body>
 *
 * to the file named by $PLUGWORKER_RAWLOG (nothing is written when it is
 * unset or empty) and decides what happens to the message:
 *
 *     body "reject"    PW_REJECT   rejected, not requeued (dead-lettered if
 *                                  the queue has a dead-letter exchange)
 *     body "requeue"   PW_REQUEUE  the first time; PW_ACK once the broker
 *                                  redelivers it (redelivered = 1)
 *     anything else    PW_ACK
 *
 * In the log line, bytes of the body that would break the one-line format
 * (control characters, DEL, backslash) are written as \n, \t, \r, \\ or \xNN;
 * other bytes (UTF-8 included) are written as they are.
 *
 * The step's callbacks append lifecycle lines to the same file:
 *
 *     step.create pid=123 state=... name=rawlog.Consumer hostname=celery@host
 *     step.start pid=123 state=... name=rawlog.Consumer hostname=... starts=1
 *     step.stop pid=123 state=... name=rawlog.Consumer hostname=... starts=1 messages=7
 *     step.shutdown pid=123 state=... name=rawlog.Consumer hostname=... starts=1 messages=7
 *
 * where state is what host->step_state() answers during the call. The step
 * keeps a small counter block in its private pointer (host->step_data /
 * step_set_data): allocated by the first start, counted up by every start and
 * every message, freed by shutdown.
 *
 * Every line goes out in a single write() to a descriptor opened with
 * O_APPEND, so lines from several processes never interleave.
 */
#define _POSIX_C_SOURCE 200809L /* O_CLOEXEC under -std=c11 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugworker.h"

PLUGWORKER_MODULE("rawlog", "1.0.0")

#define RAWLOG_STEP_NAME "rawlog.Consumer"
#define RAWLOG_DEFAULT_QUEUE "plugworker.rawlog"
/* AMQP queue names are at most 255 bytes; the descriptor may name a
 * comma-separated list, so leave room for a few. */
#define RAWLOG_QUEUES_MAX 1024

/* The host table has static storage, so keeping the pointer is safe. */
static const pw_host *host;

/* NULL strings from the host are written as "-". */
static const char *str(const char *s) { return s != NULL ? s : "-"; }

/* ---- The log file -------------------------------------------------------- */

/* Appends `len` bytes (one line, '\n' included) in a single write(). */
static void append(const char *line, size_t len) {
    const char *path = getenv("PLUGWORKER_RAWLOG");
    if (path == NULL || path[0] == '\0')
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    /* Retrying after EINTR is safe: nothing was written then. */
    while (write(fd, line, len) < 0 && errno == EINTR)
        ;
    close(fd);
}

/* Appends one line built from a printf format. */
__attribute__((format(printf, 1, 2)))
static void append_line(const char *fmt, ...) {
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
    append(line, (size_t)len + 1);
    free(line);
}

/* ---- The step descriptor, built at init ---------------------------------- */

/*
 * The host keeps a pointer to the descriptor, and to the strings in it, for
 * the life of the process, so both live in static storage. `queues` is only
 * known at run time (from the environment), which is why the descriptor is
 * not a `static const` initialised at compile time as in Plugins/audit.c.
 */
static char step_queues[RAWLOG_QUEUES_MAX];
static pw_step_def step_def;

/* The counters kept in the step's private pointer. */
struct rawlog_state {
    unsigned long starts;
    unsigned long messages;
};

static struct rawlog_state *state_of(pw_step *step) {
    return host->step_data(step);
}

static int rawlog_create(pw_step *step) {
    append_line("step.create pid=%d state=%s name=%s hostname=%s", (int)getpid(),
                str(host->step_state(step)), str(host->step_name(step)),
                str(host->step_hostname(step)));
    return PW_OK;
}

static int rawlog_start(pw_step *step) {
    /* A consumer step may be started again after a stop (the consumer
     * blueprint restarts when the connection is lost), so allocate once. */
    struct rawlog_state *st = state_of(step);
    if (st == NULL) {
        st = calloc(1, sizeof *st);
        if (st == NULL) {
            host->log(PW_LOG_ERROR, "rawlog: out of memory");
            return PW_E_FAILED; /* an error from start stops the boot */
        }
        host->step_set_data(step, st);
    }
    st->starts++;
    append_line("step.start pid=%d state=%s name=%s hostname=%s starts=%lu",
                (int)getpid(), str(host->step_state(step)),
                str(host->step_name(step)), str(host->step_hostname(step)),
                st->starts);
    return PW_OK;
}

static int rawlog_stop(pw_step *step) {
    struct rawlog_state *st = state_of(step);
    append_line("step.stop pid=%d state=%s name=%s hostname=%s starts=%lu messages=%lu",
                (int)getpid(), str(host->step_state(step)),
                str(host->step_name(step)), str(host->step_hostname(step)),
                st != NULL ? st->starts : 0UL, st != NULL ? st->messages : 0UL);
    return PW_OK;
}

static int rawlog_shutdown(pw_step *step) {
    struct rawlog_state *st = state_of(step);
    append_line("step.shutdown pid=%d state=%s name=%s hostname=%s starts=%lu messages=%lu",
                (int)getpid(), str(host->step_state(step)),
                str(host->step_name(step)), str(host->step_hostname(step)),
                st != NULL ? st->starts : 0UL, st != NULL ? st->messages : 0UL);
    host->step_set_data(step, NULL);
    free(st); /* free(NULL) is fine: shutdown may come without a start */
    return PW_OK;
}

/* True when the message body is exactly the NUL-free word `word`. */
static bool body_is(const pw_message *m, const char *word) {
    size_t n = strlen(word);
    return m->body_size == n && (n == 0 || memcmp(m->body, word, n) == 0);
}

/* Writes `<queue> <routing_key> <0|1> <escaped body>\n` in one write(). */
static void log_message(const pw_message *m) {
    const char *queue = str(m->queue);
    const char *rkey = m->routing_key != NULL && m->routing_key[0] != '\0'
                           ? m->routing_key : "-";
    size_t head = strlen(queue) + 1 + strlen(rkey) + 3; /* " 0 " */
    /* Worst case every body byte becomes \xNN (4 bytes), then '\n' and NUL. */
    if (m->body_size > (SIZE_MAX - head - 2) / 4)
        return;
    char *line = malloc(head + m->body_size * 4 + 2);
    if (line == NULL)
        return;
    int len = snprintf(line, head + 1, "%s %s %c ", queue, rkey,
                       m->redelivered ? '1' : '0');
    if (len < 0) {
        free(line);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    char *p = line + len;
    for (size_t i = 0; i < m->body_size; i++) {
        unsigned char c = m->body[i];
        switch (c) {
        case '\n': *p++ = '\\'; *p++ = 'n'; break;
        case '\t': *p++ = '\\'; *p++ = 't'; break;
        case '\r': *p++ = '\\'; *p++ = 'r'; break;
        case '\\': *p++ = '\\'; *p++ = '\\'; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                *p++ = '\\'; *p++ = 'x'; *p++ = hex[c >> 4]; *p++ = hex[c & 15];
            } else {
                *p++ = (char)c;
            }
        }
    }
    *p++ = '\n';
    append(line, (size_t)(p - line));
    free(line);
}

/* One delivery from the step's queue. Runs in the worker's master process. */
static int rawlog_on_message(pw_step *step, const pw_message *m) {
    struct rawlog_state *st = state_of(step);
    if (st != NULL)
        st->messages++;
    log_message(m);
    if (body_is(m, "reject"))
        return PW_REJECT;
    if (body_is(m, "requeue"))
        return m->redelivered ? PW_ACK : PW_REQUEUE;
    return PW_ACK;
}

/* Fills the descriptor; returns NULL (and says why) if the queue name is unusable. */
static const char *build_step_def(void) {
    const char *queue = getenv("PLUGWORKER_RAWLOG_QUEUE");
    if (queue == NULL || queue[0] == '\0')
        queue = RAWLOG_DEFAULT_QUEUE;
    if (strlen(queue) >= sizeof step_queues)
        return "PLUGWORKER_RAWLOG_QUEUE is too long";
    strcpy(step_queues, queue);

    step_def = (pw_step_def){
        .size = sizeof(pw_step_def),
        .name = RAWLOG_STEP_NAME,
        .blueprint = PW_BLUEPRINT_CONSUMER,
        .requires = "Connection", /* needs the worker's broker connection */
        .queues = step_queues,
        .create = rawlog_create,
        .start = rawlog_start,
        .stop = rawlog_stop,
        .shutdown = rawlog_shutdown,
        .on_message = rawlog_on_message,
    };
    return NULL;
}

/* The exported step function, "rawlog:rawlog_consumer_step". The host calls it
 * from register_step, during init, after build_step_def has filled step_def. */
PW_EXPORT const pw_step_def *rawlog_consumer_step(void) { return &step_def; }

/* ---- Registration -------------------------------------------------------- */

PW_EXPORT int plugworker_init(const pw_host *h, pw_plugin *plugin) {
    host = h;
    const char *why = build_step_def();
    if (why != NULL) {
        h->set_error(plugin, why);
        return PW_E_INVALID;
    }
    int rc = h->register_step(plugin, "rawlog:rawlog_consumer_step");
    if (rc != PW_OK) {
        char msg[96];
        snprintf(msg, sizeof msg, "cannot register rawlog:rawlog_consumer_step (status %d)", rc);
        h->set_error(plugin, msg);
        return rc;
    }
    return PW_OK;
}
