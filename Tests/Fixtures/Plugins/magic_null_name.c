/*
 * magic_null_name.c — fixture: magic block whose name is NULL
 * (libmagic_null_name.so).
 *
 * Exercises: validation of the module name in the magic block. Size and ABI
 * version are valid (sizeof(pw_magic), PW_ABI_MAJOR.PW_ABI_MINOR), version is
 * "0.1", name is NULL.
 *
 * Host must: refuse it with its "invalid module name" error (not crash on
 * the NULL) and never call plugworker_init (if it does, init fails with a
 * message saying so).
 *
 * Exported symbols: plugworker_magic, plugworker_init.
 */
#include <plugworker.h>

PW_EXPORT const pw_magic *plugworker_magic(void) {
    static const pw_magic block = {
        .size = sizeof(pw_magic),
        .abi_major = PW_ABI_MAJOR,
        .abi_minor = PW_ABI_MINOR,
        .name = NULL,
        .version = "0.1",
    };
    return &block;
}

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    host->set_error(plugin, "fixture magic_null_name: BUG: the host called "
                            "plugworker_init of a plugin whose module name is NULL");
    return PW_E_FAILED;
}
