/*
 * init_fails.c — fixture: plugworker_init reports an error
 * (libinit_fails.so).
 *
 * Exercises: init failure. Module "fixture_init_fails" version "0.1"; init
 * calls host->set_error(plugin, "database URL not configured") and returns
 * PW_E_FAILED without registering anything.
 *
 * Host must: refuse the plugin with its "init failed" error; the load error
 * carries the status (PW_E_FAILED) and the message "database URL not
 * configured".
 *
 * Exported symbols: plugworker_magic, plugworker_init.
 */
#include <plugworker.h>

PLUGWORKER_MODULE("fixture_init_fails", "0.1")

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    host->set_error(plugin, "database URL not configured");
    return PW_E_FAILED;
}
