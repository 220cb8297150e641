/*
 * abi_major_older.c — fixture: magic block with abi_major 0
 * (libabi_major_older.so).
 *
 * Exercises: the ABI major check, plugin older than the host. The magic
 * block is built by hand (not with PLUGWORKER_MODULE) with abi_major 0 and
 * otherwise valid fields (size sizeof(pw_magic), abi_minor PW_ABI_MINOR,
 * name "fixture_abi_major_older", version "0.1").
 *
 * Host must: refuse it with its "ABI major mismatch" error and never call
 * plugworker_init (if it does, init fails with a message saying so).
 *
 * Exported symbols: plugworker_magic, plugworker_init.
 */
#include <plugworker.h>

PW_EXPORT const pw_magic *plugworker_magic(void) {
    static const pw_magic block = {
        .size = sizeof(pw_magic),
        .abi_major = 0,
        .abi_minor = PW_ABI_MINOR,
        .name = "fixture_abi_major_older",
        .version = "0.1",
    };
    return &block;
}

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    host->set_error(plugin, "fixture_abi_major_older: BUG: the host called "
                            "plugworker_init of a plugin built for ABI major 0");
    return PW_E_FAILED;
}
