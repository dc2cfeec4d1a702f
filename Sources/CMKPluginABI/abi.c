/* The ABI is header-only; SwiftPM needs one source file per C target. */
#include "cmk_plugin.h"
