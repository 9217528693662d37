/* Between the runtime's own files only. */
#ifndef CN_RUNTIME_INTERNAL_H
#define CN_RUNTIME_INTERNAL_H
#include "coopnets/cn_runtime.h"

cn_status cn_program_cache_init(cn_runtime *rt, const cn_runtime_options *options, cn_error *e);
void cn_programs_release(cn_runtime *rt);
/* Binaries-only mode: reads the folder's manifest when options or $COOPNETS_BINARIES name one;
 * refuses a device without an online compiler when none does. */
cn_status cn_binaries_open(cn_runtime *rt, const cn_runtime_options *options, cn_error *e);

#endif
