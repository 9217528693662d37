/* cn_checkpoint: self-contained training state — the resolved config, the parameters and Adam
 * moments of the nets the mode trains, the iteration (which is also the RNG position: noise is
 * keyed by it), and the mode's own state: Algorithm G's latent vectors, persistent chains.
 *
 * File: "CNCKPT01" | u32 version (2) | u32 header bytes | header JSON | for each net of the
 * header's "nets": parameters, Adam m, Adam v as float32 tensor by tensor (no device padding) |
 * for each entry of the header's optional "arrays" ({"name", "shape": [rows, cols]}): float32
 * rows × cols | u64 FNV-1a of all before. Version 1 files (both nets, no arrays) are read too.
 * Written to a temporary file, flushed to disk, then renamed: a crash never leaves a broken one. */
#ifndef CN_CHECKPOINT_H
#define CN_CHECKPOINT_H

#include "coopnets/cn_coop.h"

cn_status cn_checkpoint_save(cn_runtime *rt, const cn_coop *coop, uint64_t iteration, const char *path, cn_error *e);
/* Reads and verifies the whole file (magic, version, checksum) and returns its config and
 * iteration, without touching a device. */
cn_status cn_checkpoint_read_config(const char *path, cn_config *c, uint64_t *iteration, cn_error *e);
/* Loads parameters and Adam state into a coop built from the checkpoint's config. */
cn_status cn_checkpoint_load(cn_runtime *rt, cn_coop *coop, const char *path, uint64_t *iteration, cn_error *e);
/* A checkpoint file, or a run folder (its newest checkpoints/ckpt-*.cnck), to a file path. */
cn_status cn_checkpoint_find(const char *file_or_run, char *path, size_t size, cn_error *e);

/* The same for a data-parallel job (dist NULL: one process): rank 0 alone looks at the file
 * system and sends what it found and read to the others (cn_checkpoint_load does this through
 * coop->dist), so a job across hosts needs the run folder on rank 0's host only. */
cn_status cn_checkpoint_find_on(cn_dist *dist, const char *file_or_run, char *path, size_t size, cn_error *e);
cn_status cn_checkpoint_read_config_on(cn_dist *dist, const char *path, cn_config *c, uint64_t *iteration,
                                       cn_error *e);

#endif
