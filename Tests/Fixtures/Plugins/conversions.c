/*
 * conversions.c — fixture: every argument and result type through the real
 * libffi call path (libconversions.so).
 *
 * Module "fixture_conv". Every task is "conv.<x>" with symbol
 * "fixture_conv:<fn>" and signature "<fn>(...) -> ...", <fn> being the
 * exported C function:
 *
 *   conv.bool        echo_bool(v: bool) -> bool             returns v
 *   conv.i8 … i64    echo_i8(v: int8) -> int8 … int64       returns v
 *   conv.u8 … u64    echo_u8(v: uint8) -> uint8 … uint64    returns v
 *   conv.float       echo_float(v: float) -> float          returns v
 *   conv.double      echo_double(v: double) -> double       returns v
 *   conv.string      echo_string(v: string) -> string       strdup(v)
 *   conv.null_string null_string() -> string                NULL (JSON null)
 *   conv.bytes       echo_bytes(v: bytes) -> bytes          malloc'd copy of v
 *                    (for an empty v: data = malloc(1), size 0, not NULL)
 *   conv.json        echo_json(v: json) -> json             strdup of the raw text
 *   conv.bad_json    bad_json() -> json                     malloc'd "{not json"
 *   conv.void        nothing() -> void                      does nothing
 *   conv.mixed       mixed(a: int64, s: string, d: double, flag: bool,
 *                          doc: json) -> string
 *                    malloc'd "%lld|%s|%g|%d|%s" of (a, s, d, flag, doc)
 *   conv.ctx         ctx_info(ctx) -> json
 *                    {"id": ctx_id, "task": ctx_task_name,
 *                     "retries": ctx_retries,
 *                     "current_matches": host->current() == ctx}
 *                    The strings are JSON-escaped properly (", \ and control
 *                    characters; bytes >= 0x80 are copied, assuming UTF-8);
 *                    a NULL string from the host becomes null.
 *   conv.fail        fail_with(kind: string, msg: string) -> int64
 *                    host->ctx_fail(host->current(), kind, msg); returns
 *                    its status (the host ignores the result)
 *   conv.retry       retry_after(countdown: double, ctx) -> int64
 *                    host->ctx_retry(ctx, countdown, "fixture_conv retry");
 *                    returns its status (ignored by the host)
 *   conv.many        many(a: int8, b: int16, c: int32, d: int64, e: uint8,
 *                         f: uint16, g: uint32, h: uint64, i: float,
 *                         j: double) -> double
 *                    the sum of all ten, as double
 *
 * Strings, bytes and JSON returned to the host are malloc'd (the host frees
 * them). Functions taking a string/json argument treat NULL as "(null)" in
 * conv.mixed and return NULL from echo_string/echo_json, so a host that
 * passes NULL does not crash the test process.
 *
 * Host must: load the plugin, register all 22 tasks, and convert every
 * argument and result as plugworker.h specifies: range checks for the
 * integer types, bytes as kombu's tagged base64, json
 * validated on return (conv.bad_json fails the task), NULL string -> JSON
 * null, ctx functions valid during the task, ctx_fail / ctx_retry outcomes.
 *
 * Exported symbols: plugworker_magic, plugworker_init and the 22 functions
 * named above.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plugworker.h>

PLUGWORKER_MODULE("fixture_conv", "0.1")

static const pw_host *g_host;

/* ---- scalars ---- */

PW_EXPORT bool echo_bool(bool v) { return v; }
PW_EXPORT int8_t echo_i8(int8_t v) { return v; }
PW_EXPORT int16_t echo_i16(int16_t v) { return v; }
PW_EXPORT int32_t echo_i32(int32_t v) { return v; }
PW_EXPORT int64_t echo_i64(int64_t v) { return v; }
PW_EXPORT uint8_t echo_u8(uint8_t v) { return v; }
PW_EXPORT uint16_t echo_u16(uint16_t v) { return v; }
PW_EXPORT uint32_t echo_u32(uint32_t v) { return v; }
PW_EXPORT uint64_t echo_u64(uint64_t v) { return v; }
PW_EXPORT float echo_float(float v) { return v; }
PW_EXPORT double echo_double(double v) { return v; }

/* ---- strings, bytes, json ---- */

PW_EXPORT char *echo_string(const char *v) { return v != NULL ? strdup(v) : NULL; }

PW_EXPORT char *null_string(void) { return NULL; }

PW_EXPORT pw_bytes echo_bytes(pw_bytes v) {
    pw_bytes out = {NULL, 0};
    uint8_t *copy = malloc(v.size > 0 ? v.size : 1);
    if (copy == NULL)
        return out;
    if (v.size > 0 && v.data != NULL)
        memcpy(copy, v.data, v.size);
    out.data = copy;
    out.size = v.size;
    return out;
}

PW_EXPORT char *echo_json(const char *v) { return v != NULL ? strdup(v) : NULL; }

PW_EXPORT char *bad_json(void) { return strdup("{not json"); }

PW_EXPORT void nothing(void) {}

PW_EXPORT char *mixed(int64_t a, const char *s, double d, bool flag, const char *doc) {
    const char *s_text = s != NULL ? s : "(null)";
    const char *doc_text = doc != NULL ? doc : "(null)";
    int n = snprintf(NULL, 0, "%lld|%s|%g|%d|%s", (long long)a, s_text, d, (int)flag, doc_text);
    if (n < 0)
        return NULL;
    char *out = malloc((size_t)n + 1);
    if (out == NULL)
        return NULL;
    snprintf(out, (size_t)n + 1, "%lld|%s|%g|%d|%s", (long long)a, s_text, d, (int)flag, doc_text);
    return out;
}

/* ---- the task context ---- */

/* A growable string buffer for building JSON text. */
typedef struct {
    char *data;
    size_t len, cap;
    bool failed;
} buf;

static void buf_put(buf *b, const char *s, size_t n) {
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (data == NULL) {
            b->failed = true;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_puts(buf *b, const char *s) { buf_put(b, s, strlen(s)); }

/* Appends `s` as a JSON string literal, or null for NULL. */
static void buf_put_json_string(buf *b, const char *s) {
    if (s == NULL) {
        buf_puts(b, "null");
        return;
    }
    buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        char esc[8];
        switch (*p) {
        case '"': buf_puts(b, "\\\""); break;
        case '\\': buf_puts(b, "\\\\"); break;
        case '\b': buf_puts(b, "\\b"); break;
        case '\f': buf_puts(b, "\\f"); break;
        case '\n': buf_puts(b, "\\n"); break;
        case '\r': buf_puts(b, "\\r"); break;
        case '\t': buf_puts(b, "\\t"); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", (unsigned)*p);
                buf_puts(b, esc);
            } else {
                buf_put(b, (const char *)p, 1);
            }
        }
    }
    buf_puts(b, "\"");
}

PW_EXPORT char *ctx_info(pw_ctx *ctx) {
    buf b = {NULL, 0, 0, false};
    char num[32];
    buf_puts(&b, "{\"id\": ");
    buf_put_json_string(&b, g_host->ctx_id(ctx));
    buf_puts(&b, ", \"task\": ");
    buf_put_json_string(&b, g_host->ctx_task_name(ctx));
    snprintf(num, sizeof num, "%" PRId64, g_host->ctx_retries(ctx));
    buf_puts(&b, ", \"retries\": ");
    buf_puts(&b, num);
    buf_puts(&b, ", \"current_matches\": ");
    buf_puts(&b, g_host->current() == ctx ? "true" : "false");
    buf_puts(&b, "}");
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}

PW_EXPORT int64_t fail_with(const char *kind, const char *msg) {
    return g_host->ctx_fail(g_host->current(), kind, msg);
}

PW_EXPORT int64_t retry_after(double countdown, pw_ctx *ctx) {
    return g_host->ctx_retry(ctx, countdown, "fixture_conv retry");
}

PW_EXPORT double many(int8_t a, int16_t b, int32_t c, int64_t d, uint8_t e, uint16_t f,
                      uint32_t g, uint64_t h, float i, double j) {
    return (double)a + (double)b + (double)c + (double)d + (double)e + (double)f +
           (double)g + (double)h + (double)i + j;
}

/* ---- registration ---- */

#define TASK(task_name, fn, rest)                                              \
    {                                                                          \
        .size = sizeof(pw_task_def), .name = (task_name),                      \
        .symbol = "fixture_conv:" fn, .signature = fn rest,                    \
    }

static const pw_task_def tasks[] = {
    TASK("conv.bool", "echo_bool", "(v: bool) -> bool"),
    TASK("conv.i8", "echo_i8", "(v: int8) -> int8"),
    TASK("conv.i16", "echo_i16", "(v: int16) -> int16"),
    TASK("conv.i32", "echo_i32", "(v: int32) -> int32"),
    TASK("conv.i64", "echo_i64", "(v: int64) -> int64"),
    TASK("conv.u8", "echo_u8", "(v: uint8) -> uint8"),
    TASK("conv.u16", "echo_u16", "(v: uint16) -> uint16"),
    TASK("conv.u32", "echo_u32", "(v: uint32) -> uint32"),
    TASK("conv.u64", "echo_u64", "(v: uint64) -> uint64"),
    TASK("conv.float", "echo_float", "(v: float) -> float"),
    TASK("conv.double", "echo_double", "(v: double) -> double"),
    TASK("conv.string", "echo_string", "(v: string) -> string"),
    TASK("conv.null_string", "null_string", "() -> string"),
    TASK("conv.bytes", "echo_bytes", "(v: bytes) -> bytes"),
    TASK("conv.json", "echo_json", "(v: json) -> json"),
    TASK("conv.bad_json", "bad_json", "() -> json"),
    TASK("conv.void", "nothing", "() -> void"),
    TASK("conv.mixed", "mixed",
         "(a: int64, s: string, d: double, flag: bool, doc: json) -> string"),
    TASK("conv.ctx", "ctx_info", "(ctx) -> json"),
    TASK("conv.fail", "fail_with", "(kind: string, msg: string) -> int64"),
    TASK("conv.retry", "retry_after", "(countdown: double, ctx) -> int64"),
    TASK("conv.many", "many",
         "(a: int8, b: int16, c: int32, d: int64, e: uint8, f: uint16, g: uint32, "
         "h: uint64, i: float, j: double) -> double"),
};

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    g_host = host;
    for (size_t k = 0; k < sizeof tasks / sizeof tasks[0]; k++) {
        int status = host->register_task(plugin, &tasks[k]);
        if (status != PW_OK) {
            char message[160];
            snprintf(message, sizeof message, "fixture_conv: registering %s failed (status %d)",
                     tasks[k].name, status);
            host->set_error(plugin, message);
            return status;
        }
    }
    return PW_OK;
}
