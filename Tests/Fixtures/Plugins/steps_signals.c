/*
 * steps_signals.c — fixture: a bootstep and signal handlers
 * (libsteps_signals.so).
 *
 * Exercises: register_step and connect_signal. Module "fixture_steps"; init
 *   - registers the worker step returned by fx_step() ("fixture_steps:fx_step"):
 *     name "fixture.Step", blueprint PW_BLUEPRINT_WORKER, requires "Pool", no
 *     queues, all callbacks NULL;
 *   - connects fx_on_worker_init to "worker_init" (bare symbol) and
 *     fx_on_task_prerun to "task_prerun" ("fixture_steps:fx_on_task_prerun");
 *   - calls connect_signal(plugin, "no_such_signal", "fx_on_worker_init")
 *     (valid handler, unknown signal name), records the status and carries
 *     on: init still returns PW_OK if the three real registrations succeeded
 *     (otherwise it returns the first error after set_error).
 * Handlers only count their calls (per process) and return PW_OK.
 *
 * Query functions (plain C, for tests that dlsym them):
 *   int fx_bad_signal_status(void)   status connect_signal gave for
 *                                    "no_such_signal": expected 1
 *                                    (PW_E_INVALID); -1 if init never ran
 *   int fx_worker_init_calls(void)   calls of the worker_init handler
 *   int fx_task_prerun_calls(void)   calls of the task_prerun handler
 *
 * Host must: load the plugin; add fixture.Step to the worker blueprint
 * after Pool; call fx_on_worker_init once in the master before the
 * blueprint starts and fx_on_task_prerun in the pool process before each
 * task; answer the unknown signal name with PW_E_INVALID without failing
 * the plugin's load.
 *
 * Exported symbols: plugworker_magic, plugworker_init, fx_step,
 * fx_on_worker_init, fx_on_task_prerun, fx_bad_signal_status,
 * fx_worker_init_calls, fx_task_prerun_calls.
 */
#include <plugworker.h>

PLUGWORKER_MODULE("fixture_steps", "0.1")

static const pw_step_def step_def = {
    .size = sizeof(pw_step_def),
    .name = "fixture.Step",
    .blueprint = PW_BLUEPRINT_WORKER,
    .requires = "Pool",
};

PW_EXPORT const pw_step_def *fx_step(void) { return &step_def; }

static int worker_init_calls;
static int task_prerun_calls;
static int bad_signal_status = -1;

PW_EXPORT int fx_on_worker_init(const pw_signal *signal) {
    (void)signal;
    worker_init_calls++;
    return PW_OK;
}

PW_EXPORT int fx_on_task_prerun(const pw_signal *signal) {
    (void)signal;
    task_prerun_calls++;
    return PW_OK;
}

PW_EXPORT int fx_bad_signal_status(void) { return bad_signal_status; }
PW_EXPORT int fx_worker_init_calls(void) { return worker_init_calls; }
PW_EXPORT int fx_task_prerun_calls(void) { return task_prerun_calls; }

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    int status = host->register_step(plugin, "fixture_steps:fx_step");
    if (status != PW_OK) {
        host->set_error(plugin, "fixture_steps: register_step(fixture_steps:fx_step) failed");
        return status;
    }
    status = host->connect_signal(plugin, "worker_init", "fx_on_worker_init");
    if (status != PW_OK) {
        host->set_error(plugin, "fixture_steps: connecting worker_init failed");
        return status;
    }
    status = host->connect_signal(plugin, "task_prerun", "fixture_steps:fx_on_task_prerun");
    if (status != PW_OK) {
        host->set_error(plugin, "fixture_steps: connecting task_prerun failed");
        return status;
    }
    bad_signal_status = host->connect_signal(plugin, "no_such_signal", "fx_on_worker_init");
    return PW_OK;
}
