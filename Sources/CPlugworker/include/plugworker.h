/*
 * plugworker.h — the plugworker plugin ABI.
 *
 * This one header is the whole contract between the plugworker host and a
 * plugin. A plugin is a shared library; it needs nothing but this header and
 * the C library:
 *
 *     cc -shared -fPIC -fvisibility=hidden -I<dir of this header> \
 *        -o libarith.so arith.c
 *
 * A plugin exports two required entry points:
 *
 *   plugworker_magic   a function returning a pointer to a pw_magic block
 *                      (use the PLUGWORKER_MODULE macro). The host reads the
 *                      file's ELF symbol table first and never opens a
 *                      library that lacks this symbol (so none of its code,
 *                      constructors included, runs); it then opens the
 *                      library and checks the block before calling init.
 *   plugworker_init    the init entry. It receives the host function table
 *                      and registers tasks, bootsteps and signal handlers.
 *                      Registration is possible only while init runs.
 *
 * Everything else (task functions, step descriptors, signal handlers) is
 * named "module:Symbol", like Celery's symbol_by_name, and looked up with
 * dlsym: export those symbols with PW_EXPORT. "module" is a plugin name
 * ("arith" → libarith.so or arith.so in a plugin directory, or the name a
 * loaded plugin declares in its magic block), a path containing "/", or a
 * soname the dynamic linker finds ("libm.so.6"). A bare "Symbol" without a
 * colon means "in the plugin that is registering".
 *
 * Versioning. PW_ABI_MAJOR changes only when old plugins cannot work any
 * more; the host refuses plugins of another major. PW_ABI_MINOR grows when
 * something is appended; a plugin built against a newer minor than the host
 * is refused (it may call functions the host does not have), an older minor
 * is accepted. Every struct that crosses the boundary starts with its own
 * size, so both sides read only the fields the other side knows. Fields and
 * host functions are only ever appended; each is marked with the ABI version
 * that added it ("since 1.0").
 *
 * History:
 *   1.0  the first release.
 *   1.1  pw_task_options: acks_on_failure_or_timeout, retry_backoff,
 *        retry_backoff_max, retry_jitter; ctx_retry with a negative
 *        countdown uses retry_backoff when set. A 1.1 plugin is refused by
 *        a 1.0 host; a 1.0 plugin runs on a 1.1 host with the defaults.
 *
 * Memory. Unless a comment says otherwise:
 *   - strings and buffers the host passes to a plugin are owned by the host
 *     and valid only during the call that received them;
 *   - strings and buffers a plugin passes to the host are copied by the host
 *     before the call returns, except descriptors (pw_magic, pw_task_def,
 *     pw_step_def) which must have static storage: the host keeps pointers
 *     to them for the life of the process;
 *   - values a task *returns* through the types `string`, `bytes` and
 *     `json` must be allocated with malloc(); the host frees them with
 *     free(). A task returning NULL for these types returns JSON null.
 *
 * Threads and processes. Plugins are loaded in the master process (for
 * registration, bootsteps and master-side signals) and again in every pool
 * process, after fork, where tasks run. Each pool process runs one task at a
 * time on one thread. The host never unloads a plugin (no dlclose), so
 * static state lives until the process exits.
 */
#ifndef PLUGWORKER_H
#define PLUGWORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version of this header. */
#define PW_ABI_MAJOR 1
#define PW_ABI_MINOR 1

/* Mark a symbol as exported from a library built with -fvisibility=hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define PW_EXPORT __attribute__((visibility("default")))
#else
#define PW_EXPORT
#endif

/* The two entry points every plugin exports. */
#define PW_MAGIC_SYMBOL "plugworker_magic"
#define PW_INIT_SYMBOL "plugworker_init"

/* Return codes of host functions and of plugin callbacks. Since 1.0. */
enum pw_status {
    PW_OK = 0,
    PW_E_INVALID = 1,   /* a NULL, malformed or out-of-range argument */
    PW_E_STATE = 2,     /* called at the wrong time (registration outside init,
                           a context function outside a running task) */
    PW_E_EXISTS = 3,    /* the name is registered already */
    PW_E_NOT_FOUND = 4, /* "module:Symbol" did not resolve */
    PW_E_SIGNATURE = 5, /* the task signature does not parse */
    PW_E_FAILED = 6     /* generic failure reported by a plugin callback */
};

/* ------------------------------------------------------------------------ */
/* The magic block. Since 1.0.                                               */
/* ------------------------------------------------------------------------ */

/*
 * Returned by plugworker_magic(). The host reads `size` first and refuses a
 * block smaller than the 1.0 layout, then compares the ABI version before it
 * reads anything else. `name` is the module name tasks and steps use in
 * "module:Symbol" ([A-Za-z_][A-Za-z0-9_]*); `version` is free text shown by
 * `plugworker check`, the banner and `inspect plugins`.
 */
typedef struct pw_magic {
    uint32_t size;      /* sizeof(pw_magic) as the plugin was built */
    uint16_t abi_major; /* PW_ABI_MAJOR the plugin was built against */
    uint16_t abi_minor; /* PW_ABI_MINOR the plugin was built against */
    const char *name;   /* module name, static storage; unique per worker */
    const char *version;/* plugin version, static storage; not NULL */
} pw_magic;

/* Define plugworker_magic() for this plugin: PLUGWORKER_MODULE("arith", "1.0.0")
 * (no semicolon after it: it expands to a function definition). */
#define PLUGWORKER_MODULE(module_name, module_version)                        \
    PW_EXPORT const pw_magic *plugworker_magic(void) {                         \
        static const pw_magic pw_magic_block = {                              \
            sizeof(pw_magic), PW_ABI_MAJOR, PW_ABI_MINOR,                     \
            (module_name), (module_version)};                                 \
        return &pw_magic_block;                                               \
    }

/* ------------------------------------------------------------------------ */
/* Opaque handles.                                                           */
/* ------------------------------------------------------------------------ */

typedef struct pw_plugin pw_plugin; /* the plugin being initialised (init only) */
typedef struct pw_ctx pw_ctx;       /* the running task's context */
typedef struct pw_step pw_step;     /* a bootstep instance */

/* ------------------------------------------------------------------------ */
/* Tasks. Since 1.0.                                                         */
/* ------------------------------------------------------------------------ */

/* Tri-state for boolean options: PW_UNSET takes the worker's default. */
enum pw_tristate { PW_UNSET = 0, PW_TRUE = 1, PW_FALSE = -1 };

/* Special values of pw_task_options.max_retries. */
#define PW_MAX_RETRIES_DEFAULT 0    /* Celery's default: 3 */
#define PW_MAX_RETRIES_UNLIMITED (-1)
#define PW_MAX_RETRIES_NONE (-2)    /* a retry request fails at once */

/*
 * Per-task options, the counterparts of Celery's @app.task(...) options.
 * A zero-initialised struct means "all defaults".
 */
typedef struct pw_task_options {
    const char *rate_limit;      /* "10/s", "100/m", "5/h", "7" (per second);
                                    NULL or "" = no limit */
    double soft_time_limit;      /* seconds; 0 = the worker's default */
    double time_limit;           /* hard limit, seconds; 0 = the worker's default */
    int8_t acks_late;            /* enum pw_tristate */
    int8_t ignore_result;        /* enum pw_tristate */
    int8_t track_started;        /* enum pw_tristate: publish STARTED */
    int8_t reject_on_worker_lost;/* enum pw_tristate */
    int32_t max_retries;         /* n > 0, or a PW_MAX_RETRIES_* value */
    double default_retry_delay;  /* seconds; 0 = Celery's default, 180 */
    const char *queue;           /* default queue for this task; NULL = none */

    /* ---- Since 1.1. A plugin built against 1.0 passes a smaller
     * pw_task_def.size; the host then takes the defaults below. ---- */

    /* With acks_late: ack a task that failed or timed out (PW_UNSET or
     * PW_TRUE, Celery's task_acks_on_failure_or_timeout default), or
     * reject it without requeue (PW_FALSE) so the queue's dead-letter
     * exchange, if any, receives it. A worker-lost task (pool process
     * killed) counts as a failure unless reject_on_worker_lost requeues it. */
    int8_t acks_on_failure_or_timeout; /* enum pw_tristate */
    /* Exponential backoff for retries that name no countdown (ctx_retry
     * with countdown < 0), as Celery's retry_backoff: the delay before
     * retry n (n = retries so far, 0 first) is
     *     min(retry_backoff_max, retry_backoff * 2^n)
     * and, with jitter, a random value in [0, that]. 0 = no backoff: such
     * retries wait default_retry_delay. */
    double retry_backoff;        /* factor, seconds (Celery's True is 1) */
    double retry_backoff_max;    /* cap, seconds; 0 = Celery's default, 600 */
    int8_t retry_jitter;         /* enum pw_tristate; PW_UNSET = on, as Celery */
} pw_task_options;

/*
 * A task descriptor, passed to host->register_task() during init.
 * `options` is the last field and has no size of its own: fields appended to
 * pw_task_options in later versions are covered by pw_task_def.size.
 *
 * `signature` declares the C function's parameters and result:
 *
 *     add(a: int64, b: int64) -> int64
 *     flaky(failures: int64, ctx) -> int64
 *
 * Types and the C types the function must use:
 *
 *     bool            bool                  JSON true/false
 *     int8 … int64    int8_t … int64_t      JSON integer (or integral float,
 *                                           2.0), range-checked
 *     uint8 … uint64  uint8_t … uint64_t    JSON integer, range-checked
 *     float, double   float, double         JSON number
 *     string          const char * (in)     JSON string, UTF-8, NUL-terminated;
 *                     char * (out, malloc)  a string containing NUL is refused
 *     bytes           pw_bytes (by value)   kombu's {"__type__": "base64", ...}
 *                                           or a plain string (its UTF-8 bytes);
 *                                           returned as tagged base64
 *     json            const char * (in)     the argument's raw JSON text;
 *                     char * (out, malloc)  JSON text, validated by the host
 *     void            void (result only)    JSON null
 *     ctx             pw_ctx *              not a JSON argument: the task's
 *                                           context, written `ctx` or `name: ctx`
 *
 * JSON null is refused (TypeError) for every parameter type but json. A `bytes`
 * result with data == NULL is JSON null; {ptr, 0} is empty bytes.
 * The name before "(" is a label for error messages; it need not match the
 * C symbol.
 *
 * Arguments come from Celery's args and kwargs, bound to parameters by
 * position and name as Python binds them; binding and conversion errors fail
 * the task with a TypeError that names the argument and its position.
 */
typedef struct pw_task_def {
    uint32_t size;            /* sizeof(pw_task_def) */
    const char *name;         /* Celery task name, e.g. "arith.add" */
    const char *symbol;       /* "module:Symbol" of the C function */
    const char *signature;    /* see above */
    pw_task_options options;
} pw_task_def;

/* The C form of the `bytes` type. Since 1.0. */
typedef struct pw_bytes {
    const uint8_t *data;
    size_t size;
} pw_bytes;

/* ------------------------------------------------------------------------ */
/* Signals. Since 1.0.                                                       */
/* ------------------------------------------------------------------------ */

/*
 * What a signal handler receives. Fields that do not apply to a signal are
 * NULL (or 0). All strings are owned by the host and valid during the call.
 *
 * Signal names, the process they run in, and when (as Celery sends them):
 *   worker_init              master, once, before the blueprint starts
 *   worker_process_init      each pool process, once, after its plugins load
 *                            (again in every replacement process)
 *   worker_ready             master, once the consumer is consuming
 *   worker_shutting_down     master, when a warm or cold shutdown begins
 *   worker_shutdown          master, after the blueprint stopped
 *   worker_process_shutdown  each pool process, before it exits
 *   task_received            master, a valid task message arrived
 *                            (task_id, task_name)
 *   task_prerun              pool process, before the call (task_id,
 *                            task_name, args_json, kwargs_json)
 *   task_success             pool process, after a successful call (+ result_json)
 *   task_failure             pool process, after a failed call (+ exc_type, exc_message)
 *   task_retry               pool process, after the task asked for a retry
 *                            (+ exc_type "Retry", exc_message the reason)
 *   task_postrun             pool process, after the call and the three
 *                            above (+ state: SUCCESS, FAILURE or RETRY)
 *   task_revoked             master, a task is discarded as revoked or
 *                            expired (task_id, task_name)
 *   task_rejected            master, a message that is not a valid task
 *                            message was rejected (task_id/task_name when
 *                            known, exc_type and exc_message saying why)
 *   task_unknown             master, a message names an unregistered task
 *   heartbeat_sent           master, after each worker-heartbeat event; the
 *                            worker sends events from the events release
 *                            on (-E), so not yet in ABI 1.0's first host
 * A handler's non-zero return is logged; the worker goes on.
 */
typedef struct pw_signal {
    uint32_t size;            /* sizeof(pw_signal) as the host built it */
    const char *signal;       /* e.g. "task_prerun" */
    const char *sender;       /* node name (worker signals) or task name */
    int32_t pid;              /* the process the handler runs in */
    const char *task_id;
    const char *task_name;
    const char *args_json;    /* JSON array text */
    const char *kwargs_json;  /* JSON object text */
    const char *result_json;  /* task_success, task_postrun */
    const char *state;        /* task_postrun: "SUCCESS", "FAILURE", "RETRY" */
    const char *exc_type;     /* task_failure, task_retry, task_rejected */
    const char *exc_message;
} pw_signal;

/* A signal handler: return PW_OK; anything else is logged, never fatal. */
typedef int (*pw_signal_handler)(const pw_signal *signal);

/* ------------------------------------------------------------------------ */
/* Bootsteps. Since 1.0.                                                     */
/* ------------------------------------------------------------------------ */

enum pw_blueprint { PW_BLUEPRINT_WORKER = 1, PW_BLUEPRINT_CONSUMER = 2 };

/* What a consumer step's on_message callback decides. */
enum pw_disposition { PW_ACK = 0, PW_REJECT = 1, PW_REQUEUE = 2 };

/* A raw AMQP message handed to a consumer step. Host-owned, valid during the call. */
typedef struct pw_message {
    uint32_t size;
    const uint8_t *body;
    size_t body_size;
    const char *content_type;  /* may be NULL */
    const char *exchange;
    const char *routing_key;
    const char *queue;         /* the queue it was consumed from */
    const char *headers_json;  /* the AMQP headers table as JSON text */
    bool redelivered;
} pw_message;

/*
 * A bootstep descriptor, returned by a function `const pw_step_def *Symbol(void)`
 * that the plugin exports; register it with host->register_step(plugin,
 * "module:Symbol") or name it with `--steps module:Symbol`.
 *
 * Every callback is optional (NULL) and returns PW_OK or an error; an error
 * from create or start stops the boot, an error from stop or shutdown is
 * logged and the other steps still stop.
 */
typedef struct pw_step_def {
    uint32_t size;            /* sizeof(pw_step_def) */
    const char *name;         /* unique step name, e.g. "audit.AuditStep" */
    int32_t blueprint;        /* enum pw_blueprint */
    const char *requires;     /* comma-separated step names ("Pool", "Tasks");
                                 NULL = none */
    const char *queues;       /* consumer steps: comma-separated queues to
                                 declare (durable) and consume; NULL = none */
    int (*create)(pw_step *step);
    int (*start)(pw_step *step);
    int (*stop)(pw_step *step);
    int (*shutdown)(pw_step *step);
    /* Consumer steps with queues: one raw message; returns enum pw_disposition. */
    int (*on_message)(pw_step *step, const pw_message *message);
} pw_step_def;

/* ------------------------------------------------------------------------ */
/* The host function table.                                                  */
/* ------------------------------------------------------------------------ */

enum pw_log_level {
    PW_LOG_DEBUG = 10,
    PW_LOG_INFO = 20,
    PW_LOG_WARNING = 30,
    PW_LOG_ERROR = 40
};

/*
 * Passed to plugworker_init(). It has static storage: a plugin may keep the
 * pointer for the life of the process. Functions are only ever appended;
 * before calling one added after 1.0, check `host->abi_minor`.
 */
typedef struct pw_host {
    uint32_t size;      /* sizeof(pw_host) as the host was built */
    uint16_t abi_major; /* the host's PW_ABI_MAJOR */
    uint16_t abi_minor; /* the host's PW_ABI_MINOR */

    /* ---- Registration: only inside plugworker_init. Since 1.0. ---- */

    /* Registers a task. The host resolves def->symbol, parses the signature
     * and prepares the call at once. Errors: PW_E_INVALID (NULL or malformed
     * descriptor, bad option), PW_E_NOT_FOUND (symbol), PW_E_SIGNATURE
     * (syntax or unknown type; the load error tells which), PW_E_EXISTS
     * (task name taken; the message names both plugins), PW_E_STATE
     * (outside init: the host recognises a stale `plugin` pointer without
     * harm). A failed registration fails the plugin's load even if init
     * then returns PW_OK; so does a failed register_step. */
    int (*register_task)(pw_plugin *plugin, const pw_task_def *def);

    /* Registers a bootstep: `symbol` names a function returning a static
     * const pw_step_def *. Errors: PW_E_NOT_FOUND, PW_E_INVALID, PW_E_EXISTS,
     * PW_E_STATE. */
    int (*register_step)(pw_plugin *plugin, const char *symbol);

    /* Connects the handler named by `symbol` (a pw_signal_handler) to the
     * signal `signal` (see pw_signal for names). Errors: PW_E_NOT_FOUND
     * (fails the load), PW_E_STATE, and PW_E_INVALID for an unknown signal
     * name, which is logged but does not fail the load, so a plugin may
     * probe for signals that only newer hosts send. */
    int (*connect_signal)(pw_plugin *plugin, const char *signal, const char *symbol);

    /* Says why init is about to fail; shown in the load error. Copied. */
    void (*set_error)(pw_plugin *plugin, const char *message);

    /* ---- Logging. Since 1.0. ---- */

    /* Writes one line to the worker log at `level` (enum pw_log_level). */
    void (*log)(int level, const char *message);

    /* ---- The task context. Since 1.0. ----
     * Valid only while the task it belongs to runs, in that task's thread. */

    /* The running task's context, or NULL outside a task. Lets a task
     * without a ctx parameter fail or retry. */
    pw_ctx *(*current)(void);
    const char *(*ctx_id)(pw_ctx *ctx);        /* task id */
    const char *(*ctx_task_name)(pw_ctx *ctx); /* registered task name */
    int64_t (*ctx_retries)(pw_ctx *ctx);       /* retries so far, 0 first */
    /* The message headers as JSON, for tasks that declare a ctx parameter;
     * "{}" for tasks without one (the worker does not ship headers to the
     * pool process for them). */
    const char *(*ctx_headers_json)(pw_ctx *ctx);

    /* Asks for a retry after `countdown` seconds (< 0: the task's
     * default_retry_delay); `reason` (may be NULL) becomes the RETRY
     * result's exception text. The task should return right after; its
     * return value is ignored. If max_retries is exhausted the task fails
     * with MaxRetriesExceededError instead. PW_E_STATE outside a task.
     * Since 1.1: with countdown < 0 and the task's retry_backoff set, the
     * delay is the exponential backoff (see pw_task_options), not
     * default_retry_delay. The worker re-publishes the message (retries + 1,
     * eta = now + delay) and sends RETRY and task-retried, as Celery does. */
    int (*ctx_retry)(pw_ctx *ctx, double countdown, const char *reason);

    /* Fails the task with a Python exception type and message; the task
     * should return right after (its return value is ignored). `exc_type`
     * is a Python builtin name ("ValueError", "ZeroDivisionError"), which
     * the client raises as that builtin, or "module.Name", which it raises
     * as module.Name when the client has imported `module`, else as a
     * class of that name it makes up. Any other bare name gets module
     * "plugworker", which clients do not import: they make up the class. */
    int (*ctx_fail)(pw_ctx *ctx, const char *exc_type, const char *message);
    /* (All ctx_* functions answer PW_E_STATE, NULL, -1 or false when `ctx`
     * is NULL or not the task running on the calling thread.) */

    /* Reports progress (e.g. current/total); published as a PROGRESS state
     * where results are enabled. */
    int (*ctx_progress)(pw_ctx *ctx, double current, double total);

    /* True once the task's soft time limit has passed: clean up and return. */
    bool (*ctx_soft_time_limit_exceeded)(pw_ctx *ctx);

    /* Logs a line prefixed with the task name and id, as Celery's task logger. */
    void (*ctx_log)(pw_ctx *ctx, int level, const char *message);

    /* ---- Bootsteps. Since 1.0. ---- */

    /* The step's private pointer (NULL until set). */
    void *(*step_data)(pw_step *step);
    void (*step_set_data)(pw_step *step, void *data);
    /* "created", "started", "stopped", "shut down". */
    const char *(*step_state)(pw_step *step);
    /* The worker's node name, e.g. "celery@host". */
    const char *(*step_hostname)(pw_step *step);
    /* The step's name from its pw_step_def, so callbacks can be shared. */
    const char *(*step_name)(pw_step *step);
} pw_host;

/*
 * The init entry every plugin defines:
 *
 *     PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin);
 *
 * Return PW_OK, or an error after host->set_error(plugin, "why"). Init runs
 * once in each process that loads the plugin (the master, and each pool
 * process after fork); each run registers into that process's empty
 * registry. A replaced plugin file is loaded as a new copy whose init runs
 * in fresh pool processes. `plugin` is valid only during init.
 *
 * Swift plugins: C's sizeof(T) is MemoryLayout<T>.stride, and the enum
 * constants import as types with a UInt32 rawValue (Int32(PW_OK.rawValue)).
 */
typedef int (*pw_init_fn)(const pw_host *host, pw_plugin *plugin);
typedef const pw_magic *(*pw_magic_fn)(void);
typedef const pw_step_def *(*pw_step_fn)(void);

#if !defined(__swift__)
/* Prototypes for C plugins (Swift plugins define them with @_cdecl). */
PW_EXPORT const pw_magic *plugworker_magic(void);
PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin);
#endif

#ifdef __cplusplus
}
#endif

#endif /* PLUGWORKER_H */
