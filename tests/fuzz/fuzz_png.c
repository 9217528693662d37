/* libFuzzer harness for cn_fuzz_png (tests/fuzz/fuzz_targets.h); built and run by tools/fuzz.sh. */
#include "fuzz_targets.h"

CN_FUZZ_MAIN(cn_fuzz_png)
