#ifndef CFUZZER_DRIVER_H
#define CFUZZER_DRIVER_H
/* libFuzzer's entry for programs that have their own main (SwiftPM gives
 * every executable one): it parses libFuzzer's flags from argv and fuzzes
 * `callback`. Defined by the libFuzzer runtime that -sanitize=fuzzer links;
 * only referenced by plugworker-fuzz when built with -DFUZZING. */
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
