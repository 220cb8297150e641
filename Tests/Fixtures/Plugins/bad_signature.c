/*
 * bad_signature.c — fixture: a task signature that does not parse
 * (libbad_signature.so).
 *
 * Exercises: the signature parser. Module "fixture_bad_signature" registers
 * task "fixture.bad_signature" = "fixture_bad_signature:fx_add" with
 * signature "add(a int64, b: int64) -> int64" (missing colon after `a`).
 * The symbol itself exists, so only the signature is wrong.
 *
 * Init IGNORES register_task's status and returns PW_OK: this also exercises
 * the rule "a failed registration fails the plugin's load even if init then
 * returns PW_OK".
 *
 * Host must: answer register_task with PW_E_SIGNATURE and refuse the plugin
 * with its "bad signature" error although init returned PW_OK; the task
 * must not be registered.
 *
 * Exported symbols: plugworker_magic, plugworker_init, fx_add.
 */
#include <plugworker.h>

PLUGWORKER_MODULE("fixture_bad_signature", "0.1")

PW_EXPORT int64_t fx_add(int64_t a, int64_t b) { return a + b; }

static const pw_task_def def = {
    .size = sizeof(pw_task_def),
    .name = "fixture.bad_signature",
    .symbol = "fixture_bad_signature:fx_add",
    .signature = "add(a int64, b: int64) -> int64",
};

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    (void)host->register_task(plugin, &def);
    return PW_OK;
}
