/*
 * step_fails.c — a worker bootstep whose start fails.
 *
 * Module "fixture_step_fails": worker step "fixture.FailingStep" (requires
 * "Pool") whose start returns PW_E_FAILED, and whose stop and shutdown say
 * they ran on stderr. The worker must stop the steps already started, in
 * reverse, never start the Consumer, and exit with its "start failed" code.
 */
#include <stdio.h>
#include "plugworker.h"

PLUGWORKER_MODULE("fixture_step_fails", "0.1")

static int fx_create(pw_step *step) { (void)step; fputs("fixture.FailingStep create\n", stderr); return PW_OK; }
static int fx_start(pw_step *step) { (void)step; fputs("fixture.FailingStep start: failing\n", stderr); return PW_E_FAILED; }
static int fx_stop(pw_step *step) { (void)step; fputs("fixture.FailingStep stop\n", stderr); return PW_OK; }
static int fx_shutdown(pw_step *step) { (void)step; fputs("fixture.FailingStep shutdown\n", stderr); return PW_OK; }

PW_EXPORT const pw_step_def *fx_failing_step(void) {
    static const pw_step_def def = {
        .size = sizeof(pw_step_def),
        .name = "fixture.FailingStep",
        .blueprint = PW_BLUEPRINT_WORKER,
        .requires = "Pool",
        .create = fx_create,
        .start = fx_start,
        .stop = fx_stop,
        .shutdown = fx_shutdown,
    };
    return &def;
}

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    return host->register_step(plugin, "fixture_step_fails:fx_failing_step");
}
