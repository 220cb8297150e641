/* The plugin ABI is header-only (include/plugworker.h); SwiftPM wants one
 * source file in a C target. */
#include "plugworker.h"
