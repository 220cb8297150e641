/*
 * unknown_type.c — fixture: a task signature naming an unknown type
 * (libunknown_type.so).
 *
 * Exercises: type checking in the signature parser. Module
 * "fixture_unknown_type" registers task "fixture.unknown_type" =
 * "fixture_unknown_type:fx_add" with signature
 * "add(a: int128, b: int64) -> int64" — syntactically fine, but int128 is
 * not an ABI type. The symbol exists. Init returns register_task's status
 * (no set_error).
 *
 * Host must: answer register_task with PW_E_SIGNATURE (the only status for
 * signature errors) and refuse the plugin with its "bad signature" error,
 * ideally naming the unknown type "int128" and parameter `a`.
 *
 * Exported symbols: plugworker_magic, plugworker_init, fx_add.
 */
#include <plugworker.h>

PLUGWORKER_MODULE("fixture_unknown_type", "0.1")

PW_EXPORT int64_t fx_add(int64_t a, int64_t b) { return a + b; }

static const pw_task_def def = {
    .size = sizeof(pw_task_def),
    .name = "fixture.unknown_type",
    .symbol = "fixture_unknown_type:fx_add",
    .signature = "add(a: int128, b: int64) -> int64",
};

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    return host->register_task(plugin, &def);
}
