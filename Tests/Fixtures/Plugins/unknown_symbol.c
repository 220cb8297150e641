/*
 * unknown_symbol.c — fixture: a task whose symbol does not resolve
 * (libunknown_symbol.so).
 *
 * Exercises: symbol resolution during register_task. Module
 * "fixture_unknown_symbol" registers task "fixture.unknown_symbol" with
 * symbol "fixture_unknown_symbol:does_not_exist": the module part is the
 * plugin's own magic name (so the module resolves), the symbol is not
 * exported by anything. Init returns exactly what register_task returned and
 * does not call set_error, so the host's own message is what is shown.
 *
 * Host must: answer register_task with PW_E_NOT_FOUND and refuse the plugin
 * with its "symbol not found" error naming "does_not_exist"; the task must
 * not be registered.
 *
 * Exported symbols: plugworker_magic, plugworker_init.
 */
#include <plugworker.h>

PLUGWORKER_MODULE("fixture_unknown_symbol", "0.1")

static const pw_task_def def = {
    .size = sizeof(pw_task_def),
    .name = "fixture.unknown_symbol",
    .symbol = "fixture_unknown_symbol:does_not_exist",
    .signature = "does_not_exist() -> int64",
};

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    return host->register_task(plugin, &def);
}
