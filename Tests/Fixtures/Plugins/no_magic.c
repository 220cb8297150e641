/*
 * no_magic.c — fixture: a shared library without plugworker_magic
 * (libno_magic.so).
 *
 * Exercises: the magic-symbol check. The library exports plugworker_init
 * but not plugworker_magic. It also has a (hidden) ELF constructor: when the
 * environment variable PW_FIXTURE_MARKER is set, the constructor creates
 * that file (open with O_CREAT). If the file exists after the host refused
 * the plugin, the library's code ran, i.e. the host dlopen()ed it.
 *
 * Host must: refuse it with its "no magic symbol" error, without running
 * any of its code — so the check has to be made before dlopen (e.g. by
 * reading the ELF dynamic symbol table); the marker file must not exist
 * afterwards. plugworker_init must never be called (if it is, it fails with
 * a message saying so).
 *
 * Exported symbols: plugworker_init only.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <plugworker.h>

__attribute__((constructor)) static void fixture_no_magic_constructor(void) {
    const char *marker = getenv("PW_FIXTURE_MARKER");
    if (marker != NULL && marker[0] != '\0') {
        int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0)
            close(fd);
    }
}

PW_EXPORT int plugworker_init(const pw_host *host, pw_plugin *plugin) {
    host->set_error(plugin, "fixture no_magic: BUG: the host called plugworker_init "
                            "of a plugin without plugworker_magic");
    return PW_E_FAILED;
}
