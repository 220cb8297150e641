/* Nothing to compile: CFuzzerDriver only declares libFuzzer's driver entry
 * (include/CFuzzerDriver.h). SwiftPM needs one source file per C target. */
#include "CFuzzerDriver.h"
