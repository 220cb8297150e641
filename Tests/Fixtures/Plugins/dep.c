/*
 * dep.c — helper, not a plugin: the shared library libfixture_dep.so that
 * missing_dep.c links against.
 *
 * The Makefile builds it as $(OUT)/libfixture_dep.so (no -soname, so the
 * DT_NEEDED entry in libmissing_dep.so is "libfixture_dep.so"), links
 * libmissing_dep.so against it, then deletes it. It never exists in $(OUT)
 * after `make`, so the host never sees it.
 *
 * Exported symbols: fixture_dep_value.
 */
#include <plugworker.h> /* only for PW_EXPORT */

PW_EXPORT int fixture_dep_value(void) { return 42; }
