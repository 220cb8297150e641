/*
 * no_init.c — fixture: a valid magic block but no plugworker_init
 * (libno_init.so).
 *
 * Exercises: the init-symbol check. plugworker_magic is valid (module
 * "fixture_no_init", version "0.1"); plugworker_init is not defined (the
 * header's prototype is only a declaration).
 *
 * Host must: refuse it with its "no init symbol" error.
 *
 * Exported symbols: plugworker_magic only.
 */
#include <plugworker.h>

PLUGWORKER_MODULE("fixture_no_init", "0.1")
