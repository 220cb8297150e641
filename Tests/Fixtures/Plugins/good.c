/*
 * good.c — fixture: a well-formed plugin (libgood.so).
 *
 * Exercises: the normal load path. The magic block declares module
 * "fixture_good" version "0.1" (which differs from the file name "good", so
 * "fixture_good:fx_echo" resolves only through the name the loaded plugin
 * declares in its magic block), and init registers two tasks:
 *
 *   fixture.echo  symbol "fixture_good:fx_echo"  module-qualified symbol
 *   fixture.bare  symbol "fx_echo"               bare symbol: "in the plugin
 *                                                that is registering"
 *
 * both with signature "echo(x: int64) -> int64" (returns x). The leading
 * "echo" of the signature deliberately differs from the C symbol fx_echo.
 *
 * Host must: load it, register both tasks, and calling either with x returns
 * x. Exported symbols: plugworker_magic, plugworker_init, fx_echo.
 */
#include <plugworker.h>

PLUGWORKER_MODULE("fixture_good", "0.1")

PW_EXPORT int64_t fx_echo(int64_t x) { return x; }

static const pw_task_def echo_def = {
    .size = sizeof(pw_task_def),
    .name = "fixture.echo",
    .symbol = "fixture_good:fx_echo",
    .signature = "echo(x: int64) -> int64",
};

static const pw_task_def bare_def = {
    .size = sizeof(pw_task_def),
    .name = "fixture.bare",
    .symbol = "fx_echo",
    .signature = "echo(x: int64) -> int64",
};

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    int status = host->register_task(plugin, &echo_def);
    if (status != PW_OK) {
        host->set_error(plugin, "fixture_good: registering fixture.echo failed");
        return status;
    }
    status = host->register_task(plugin, &bare_def);
    if (status != PW_OK) {
        host->set_error(plugin, "fixture_good: registering fixture.bare failed");
        return status;
    }
    return PW_OK;
}
