/*
 * outside_init.c — fixture: registration attempted outside init
 * (liboutside_init.so).
 *
 * Exercises: "Registration is possible only while init runs". Module
 * "fixture_outside"; init saves the host and plugin pointers in statics and
 * registers task "fixture.late" = "fixture_outside:fx_late", signature
 * "late(ctx) -> int64". When that task runs, it calls
 * host->register_task(saved_plugin, &late_def) — late_def is a valid
 * descriptor for task "fixture.too_late" = "fixture_outside:fx_too_late",
 * "too_late() -> int64" — and returns the status it got.
 *
 * Note that saved_plugin is stale by then ("`plugin` is valid only during
 * init"): the host must detect "not in init" without trusting it.
 *
 * Host must: load the plugin; running fixture.late returns 2 (PW_E_STATE);
 * "fixture.too_late" must not become a registered task.
 *
 * Exported symbols: plugworker_magic, plugworker_init, fx_late, fx_too_late.
 */
#include <plugworker.h>

PLUGWORKER_MODULE("fixture_outside", "0.1")

static const pw_host *saved_host;
static pw_plugin *saved_plugin;

PW_EXPORT int64_t fx_too_late(void) { return 7; }

static const pw_task_def late_def = {
    .size = sizeof(pw_task_def),
    .name = "fixture.too_late",
    .symbol = "fixture_outside:fx_too_late",
    .signature = "too_late() -> int64",
};

PW_EXPORT int64_t fx_late(pw_ctx *ctx) {
    (void)ctx;
    return saved_host->register_task(saved_plugin, &late_def);
}

static const pw_task_def def = {
    .size = sizeof(pw_task_def),
    .name = "fixture.late",
    .symbol = "fixture_outside:fx_late",
    .signature = "late(ctx) -> int64",
};

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    saved_host = host;
    saved_plugin = plugin;
    return host->register_task(plugin, &def);
}
