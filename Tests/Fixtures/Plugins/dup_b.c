/*
 * dup_b.c — fixture: one half of a duplicate task name (libdup_b.so).
 *
 * Exercises: duplicate task names across plugins. Module "fixture_dup_b"
 * registers task "fixture.dup" = "fixture_dup_b:fx_dup_b", signature
 * "dup() -> int64". fx_dup_b returns 2 (fx_dup_a returns 1), so a
 * test can tell which registration won. Init returns register_task's status
 * (no set_error).
 *
 * Host must: load whichever of libdup_a.so / libdup_b.so comes first; for
 * the second, answer register_task with PW_E_EXISTS and refuse that plugin
 * with its "task exists" error, whose message names both plugins
 * (fixture_dup_a and fixture_dup_b). fixture.dup keeps running the first
 * plugin's function.
 *
 * Exported symbols: plugworker_magic, plugworker_init, fx_dup_b.
 */
#include <plugworker.h>

PLUGWORKER_MODULE("fixture_dup_b", "0.1")

PW_EXPORT int64_t fx_dup_b(void) { return 2; }

static const pw_task_def def = {
    .size = sizeof(pw_task_def),
    .name = "fixture.dup",
    .symbol = "fixture_dup_b:fx_dup_b",
    .signature = "dup() -> int64",
};

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    return host->register_task(plugin, &def);
}
