/* cn_tuning: which kernel variant each kernel family runs on a device, and the tuning database
 * that `coopnets_cl tune` writes, in the spirit of CLBlast's: measured per device, remembered,
 * used by every later run (and a heuristic where it holds no entry).
 *
 * Families and their variants (what a variant's parameters p, q mean):
 *   gemm       clblast; register (p x q register tile per work-item, no local memory: cl/gemm.cl's
 *              tile and dot kernels); local (a work-group of p x p/q work-items computes a p x p
 *              tile of C through local memory, q entries each); packed (op(A) and op(B) packed
 *              into panels of p rows and q columns, then a p x q register tile per work-item)
 *   batchnorm  item (a work-item per channel); group (a work-group of p per channel, local tree)
 *   reduce     item (chunks of 4096 values per work-item, then a second pass); group (a
 *              work-group of p per row, one pass)
 *   conv       lowered (im2col or col2im around a GEMM, every conv); direct (stride-1 conv passes
 *              whose product is at most p output channels wide run cl/conv_direct.cl, without a
 *              column matrix, and so do wider forward and backward data passes whose output rows
 *              fill the kernel's vectors; the others lowered)
 * Heuristics: gemm packed 14 x 32 on a CPU with 16-wide vectors, packed 6 x 16 on one with 8-wide
 * vectors, register 8 x 16 elsewhere (GPUs; 6 x 16 on a CPU-and-GPU device with 8-wide vectors,
 * such as Oclgrind), with the backend of cn_gemm_select; batchnorm and
 * reduce item: the measured best on PoCL (DESIGN §4); conv direct 32 on a CPU (measured ahead of
 * the lowered path on configs/texture.json's thin stride-1 convs), lowered elsewhere.
 *
 * The database is one JSON file per device and driver in the runtime's cache folder,
 * tuning-<hash>.json, naming the device, the driver and the hash of the tuned kernels' source; an
 * entry made for another source (a newer coopnets_cl) is stale. A database that cannot be read,
 * is not valid, is stale, or names a variant this device cannot run is ignored with a warning
 * (cn_tuning_warning), never an error: the run goes on with the heuristics. Results are
 * reproducible for a given database and device. */
#ifndef CN_TUNING_H
#define CN_TUNING_H

#include <stddef.h>

#include "coopnets/cn_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { CN_TUNED_GEMM, CN_TUNED_BATCHNORM, CN_TUNED_REDUCE, CN_TUNED_CONV, CN_TUNED_FAMILY_COUNT } cn_kernel_family;
typedef enum { CN_VARIANT_CLBLAST, CN_VARIANT_REGISTER, CN_VARIANT_LOCAL, CN_VARIANT_ITEM, CN_VARIANT_GROUP,
               CN_VARIANT_PACKED, CN_VARIANT_LOWERED, CN_VARIANT_DIRECT } cn_variant_kind;

typedef struct cn_kernel_variant {
    cn_variant_kind kind;
    unsigned p, q; /* see above; 0 where unused */
} cn_kernel_variant;

/* Where the variant in use came from. */
typedef enum { CN_VARIANT_FROM_HEURISTIC, CN_VARIANT_FROM_DATABASE, CN_VARIANT_FROM_CALLER } cn_variant_origin;

const char *cn_kernel_family_name(cn_kernel_family f); /* "gemm", "batchnorm", "reduce", "conv" */
/* "clblast", "register 8x16", "local 16/4", "packed 14x32", "item", "group 64", "lowered", "direct 32" */
void cn_kernel_variant_format(cn_kernel_variant v, char *out, size_t size);

/* The variant family f runs with on rt's device: one given by cn_tuning_set, else the database's
 * entry (read on first use), else the heuristic. For gemm a clblast entry is the backend
 * cn_gemm_select takes; our own kernels then use the heuristic variant. */
cn_kernel_variant cn_tuning_variant(cn_runtime *rt, cn_kernel_family f, cn_variant_origin *origin);
/* The heuristic's variant of family f on rt's device (what runs without a database entry). */
cn_kernel_variant cn_tuning_heuristic(const cn_runtime *rt, cn_kernel_family f);
/* Uses v for family f from now on (tune's candidates, tests). A variant of another family, or one
 * this device cannot launch (work-group or local memory beyond its limits), is CN_ERR_ARG naming it. */
cn_status cn_tuning_set(cn_runtime *rt, cn_kernel_family f, cn_kernel_variant v, cn_error *e);
/* What bench and training logs show: "local 16/4 (tuned)", "clblast (measured)", "item (heuristic)". */
void cn_tuning_describe(cn_runtime *rt, cn_kernel_family f, char *out, size_t size);

/* The candidates `tune` measures for family f on this device, the heuristic first, then the
 * GPU-shaped variants, then other sizes: only those the device can launch. Returns their count
 * (at most max written to out). gemm includes clblast unless the runtime has binaries only or
 * COOPNETS_GEMM=own. */
size_t cn_tuning_candidates(cn_runtime *rt, cn_kernel_family f, cn_kernel_variant *out, size_t max);

/* The database file of this device and driver; 0 when the runtime has no cache folder. It is read
 * even with the program cache off (COOPNETS_NO_CACHE, binaries only): it holds choices, not code. */
int cn_tuning_path(const cn_runtime *rt, char *path, size_t size);
/* Reads the database now (it is otherwise read on first use); a problem with it is no error but a
 * warning, returned by cn_tuning_warning (NULL: none). */
cn_status cn_tuning_load(cn_runtime *rt, cn_error *e);
const char *cn_tuning_warning(cn_runtime *rt);

/* One measured candidate, for the database's record of how the winner was chosen. */
typedef struct cn_tuning_measurement {
    cn_kernel_family family;
    cn_kernel_variant variant;
    double seconds; /* device time of the family's kernels in one iteration; < 0: it failed */
} cn_tuning_measurement;
/* Writes the database (cn_atomic_file) with the winner of each family and the measurements, and
 * makes the winners this runtime's database entries. `source` names what was measured (a config). */
cn_status cn_tuning_save(cn_runtime *rt, const cn_kernel_variant winners[CN_TUNED_FAMILY_COUNT],
                         const cn_tuning_measurement *measured, size_t count, const char *source, cn_error *e);

#ifdef __cplusplus
}
#endif
#endif
