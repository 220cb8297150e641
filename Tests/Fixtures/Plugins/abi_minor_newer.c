/*
 * abi_minor_newer.c — fixture: magic block with abi_minor PW_ABI_MINOR + 1
 * (libabi_minor_newer.so).
 *
 * Exercises: the ABI minor check. The plugin claims to be built against a
 * newer minor than the host (it might call host functions the host does not
 * have). Magic built by hand: size sizeof(pw_magic), abi_major PW_ABI_MAJOR,
 * abi_minor PW_ABI_MINOR + 1, name "fixture_abi_minor_newer", version "0.1".
 *
 * Host must: refuse it with its "ABI minor too new" error and never call
 * plugworker_init (if it does, init fails with a message saying so).
 * (An older minor would be accepted; every fixture built with this header
 * has the same minor as the host, which covers "equal".)
 *
 * Exported symbols: plugworker_magic, plugworker_init.
 */
#include <plugworker.h>

PW_EXPORT const pw_magic *plugworker_magic(void) {
    static const pw_magic block = {
        .size = sizeof(pw_magic),
        .abi_major = PW_ABI_MAJOR,
        .abi_minor = PW_ABI_MINOR + 1,
        .name = "fixture_abi_minor_newer",
        .version = "0.1",
    };
    return &block;
}

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    host->set_error(plugin, "fixture_abi_minor_newer: BUG: the host called "
                            "plugworker_init of a plugin built for a newer ABI minor");
    return PW_E_FAILED;
}
