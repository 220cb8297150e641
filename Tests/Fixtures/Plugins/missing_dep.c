/*
 * missing_dep.c — fixture: a plugin whose shared-library dependency is
 * missing (libmissing_dep.so).
 *
 * Exercises: a dlopen failure. Module "fixture_missing_dep" registers task
 * "fixture.dep_value" = "fixture_missing_dep:fx_dep_value",
 * "dep_value() -> int64", which calls fixture_dep_value() from
 * libfixture_dep.so (dep.c). The Makefile links this plugin with
 * -L$(OUT) -lfixture_dep and no rpath, then deletes libfixture_dep.so, so
 * the DT_NEEDED entry "libfixture_dep.so" cannot be found: dlopen fails with
 * "libfixture_dep.so: cannot open shared object file: No such file or
 * directory". (The test must not put a directory holding a
 * libfixture_dep.so on LD_LIBRARY_PATH.)
 *
 * Host must: refuse it with its "dlopen failed" error, whose message
 * includes dlerror()'s text naming libfixture_dep.so. The magic block is
 * valid, so any check made before dlopen passes.
 *
 * Exported symbols: plugworker_magic, plugworker_init, fx_dep_value;
 * undefined: fixture_dep_value.
 */
#include <plugworker.h>

PLUGWORKER_MODULE("fixture_missing_dep", "0.1")

int fixture_dep_value(void); /* from libfixture_dep.so */

PW_EXPORT int64_t fx_dep_value(void) { return fixture_dep_value(); }

static const pw_task_def def = {
    .size = sizeof(pw_task_def),
    .name = "fixture.dep_value",
    .symbol = "fixture_missing_dep:fx_dep_value",
    .signature = "dep_value() -> int64",
};

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    return host->register_task(plugin, &def);
}
