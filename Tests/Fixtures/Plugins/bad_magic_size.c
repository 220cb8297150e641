/*
 * bad_magic_size.c — fixture: magic block whose size field is 4
 * (libbad_magic_size.so).
 *
 * Exercises: the magic size check. `size` (4) is smaller than the 1.0
 * layout of pw_magic; every other field is valid (abi PW_ABI_MAJOR.
 * PW_ABI_MINOR, name "fixture_bad_magic_size", version "0.1"), so only the
 * size check can catch it.
 *
 * Host must: read `size` first and refuse the plugin with its "magic block
 * too small" error, without reading the other fields as trustworthy and
 * without calling plugworker_init (if it does, init fails with a message
 * saying so).
 *
 * Exported symbols: plugworker_magic, plugworker_init.
 */
#include <plugworker.h>

PW_EXPORT const pw_magic *plugworker_magic(void) {
    static const pw_magic block = {
        .size = 4,
        .abi_major = PW_ABI_MAJOR,
        .abi_minor = PW_ABI_MINOR,
        .name = "fixture_bad_magic_size",
        .version = "0.1",
    };
    return &block;
}

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    host->set_error(plugin, "fixture_bad_magic_size: BUG: the host called "
                            "plugworker_init of a plugin whose magic size is 4");
    return PW_E_FAILED;
}
