/*
 * dup_a.c — fixture: one half of a duplicate task name (libdup_a.so).
 *
 * Exercises: duplicate task names across plugins. Module "fixture_dup_a"
 * registers task "fixture.dup" = "fixture_dup_a:fx_dup_a", signature
 * "dup() -> int64". fx_dup_a returns 1 (fx_dup_b returns 2), so a
 * test can tell which registration won. Init returns register_task's status
 * (no set_error).
 *
 * Host must: load whichever of libdup_a.so / libdup_b.so comes first; for
 * the second, answer register_task with PW_E_EXISTS and refuse that plugin
 * with its "task exists" error, whose message names both plugins
 * (fixture_dup_a and fixture_dup_b). fixture.dup keeps running the first
 * plugin's function.
 *
 * Exported symbols: plugworker_magic, plugworker_init, fx_dup_a.
 */
#include <plugworker.h>

PLUGWORKER_MODULE("fixture_dup_a", "0.1")

PW_EXPORT int64_t fx_dup_a(void) { return 1; }

static const pw_task_def def = {
    .size = sizeof(pw_task_def),
    .name = "fixture.dup",
    .symbol = "fixture_dup_a:fx_dup_a",
    .signature = "dup() -> int64",
};

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    return host->register_task(plugin, &def);
}
