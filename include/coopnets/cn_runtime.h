/* cn_runtime: OpenCL devices, one context and one in-order queue per run, device buffers,
 * program build with an on-disk binary cache, and kernel launch.
 *
 * Ownership: a cn_runtime owns its context, queue, programs and kernels; buffers are owned by
 * whoever allocated them (a net frees its own) and must be freed before the runtime closes. */
#ifndef CN_RUNTIME_H
#define CN_RUNTIME_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stddef.h>
#include <stdint.h>

#include "coopnets/cn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- devices ---------------------------------------------------------------------------------- */

typedef struct cn_device_info {
    int index;          /* global index over all platforms, as --device takes it */
    int platform_index;
    cl_platform_id platform;
    cl_device_id id;
    cl_device_type type;
    char platform_name[128];
    char name[256];
    char vendor[128];
    char driver_version[128];
    char version[128];  /* "OpenCL 3.0 PoCL ..." */
    cl_uint compute_units;
    cl_uint clock_mhz;
    cl_ulong global_mem_bytes;
    cl_ulong max_alloc_bytes;
    cl_ulong local_mem_bytes;       /* CL_DEVICE_LOCAL_MEM_SIZE */
    size_t max_work_group_size;     /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
    size_t max_work_item_sizes[3];  /* CL_DEVICE_MAX_WORK_ITEM_SIZES, per dimension */
    int compiler_available;         /* CL_DEVICE_COMPILER_AVAILABLE: 0 needs --binaries */
    cl_uint base_addr_align_bytes; /* sub-buffer offsets must be multiples of this */
    int fp16, fp64;
    /* Floats per vector the kernels are sized to: CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT (the
     * variants' heuristics) and CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT (bench's peak), both replaced
     * by COOPNETS_VECTOR_WIDTH where it is set: PoCL reports the host CPU's width even when it
     * compiles for another (POCL_LLVM_CPU_NAME=haswell on an AVX-512 host reports 16, and 16-wide
     * tiles then spill AVX2's 16 registers). */
    cl_uint float_width, native_float_width;
} cn_device_info;

const char *cn_device_type_name(cl_device_type type); /* "GPU", "CPU", "ACCEL", "OTHER" */

/* Test-only (like COOPNETS_FAULT): COOPNETS_TEST_DEVICE makes every device look more limited than
 * it is, so that tests on a CPU exercise what small devices need. A comma-separated list of
 *   work_group=N     CL_DEVICE_MAX_WORK_GROUP_SIZE and each CL_DEVICE_MAX_WORK_ITEM_SIZES at most N
 *   local_memory=B   CL_DEVICE_LOCAL_MEM_SIZE at most B bytes
 *   no_compiler      CL_DEVICE_COMPILER_AVAILABLE false (programs only from --binaries)
 * cn_devices_list applies it; a malformed list is CN_ERR_ARG. */

/* Every device of every platform; *devices is malloc'd (free it). No platform is an error, and so
 * is a COOPNETS_VECTOR_WIDTH other than 1, 2, 4, 8 or 16. */
cn_status cn_devices_list(cn_device_info **devices, size_t *count, cn_error *e);

/* The device a run uses: `requested` >= 0 names it; -1 means the environment variable
 * COOPNETS_DEVICE, else the first GPU, else device 0. A bad index is CN_ERR_DEVICE. */
cn_status cn_device_choose(const cn_device_info *devices, size_t count, int requested, size_t *chosen,
                           cn_error *e);

/* ---- runtime ---------------------------------------------------------------------------------- */

typedef struct cn_runtime_options {
    int device;            /* -1: automatic (see cn_device_choose) */
    int profiling;         /* create the queue with CL_QUEUE_PROFILING_ENABLE */
    const char *cache_dir; /* NULL: $COOPNETS_CACHE_DIR, else $XDG_CACHE_HOME/coopnets_cl, else ~/.cache/coopnets_cl */
    int no_cache;          /* also set by COOPNETS_NO_CACHE=1 */
    const char *binaries;  /* NULL: $COOPNETS_BINARIES; a folder written by cn_programs_export: every
                              program is loaded from there (clCreateProgramWithBinary), never compiled */
} cn_runtime_options;

typedef struct cn_runtime_stats {
    unsigned cache_hits, cache_misses, cache_corrupt; /* program binary cache */
    unsigned binaries_loaded; /* programs loaded from the binaries folder */
    double build_seconds;  /* clBuildProgram + cache I/O, summed */
    size_t bytes_allocated, peak_bytes_allocated;
} cn_runtime_stats;

/* Every kernel the library launches without build options, by id: a runtime creates one on its
 * first launch and keeps its handle at kernels_by_id[id], so later launches index an array instead
 * of comparing names. The (program, function) each id names is in src/runtime/program.c. */
typedef enum cn_kernel_id {
    CN_KERNEL_RELU_FORWARD,
    CN_KERNEL_RELU_BACKWARD,
    CN_KERNEL_LEAKY_RELU_FORWARD,
    CN_KERNEL_LEAKY_RELU_BACKWARD,
    CN_KERNEL_TANH_FORWARD,
    CN_KERNEL_TANH_BACKWARD,
    CN_KERNEL_ADAM_UPDATE,
    CN_KERNEL_BATCHNORM_STATISTICS,
    CN_KERNEL_BATCHNORM_NORMALISE,
    CN_KERNEL_BATCHNORM_CHANNEL_GRADIENT_SUMS,
    CN_KERNEL_BATCHNORM_BACKWARD_DATA,
    CN_KERNEL_BATCHNORM_BACKWARD_PARAMS,
    /* the same with a work-group per channel (tuning variant "group") */
    CN_KERNEL_BATCHNORM_STATISTICS_GROUP,
    CN_KERNEL_BATCHNORM_CHANNEL_GRADIENT_SUMS_GROUP,
    CN_KERNEL_BATCHNORM_BACKWARD_DATA_GROUP,
    CN_KERNEL_BATCHNORM_BACKWARD_PARAMS_GROUP,
    CN_KERNEL_BIAS_ACTIVATION_FORWARD,
    CN_KERNEL_BIAS_BACKWARD_PARAMS,
    CN_KERNEL_IM2COL,
    CN_KERNEL_COL2IM,
    CN_KERNEL_COL2IM_CHANNELS,
    CN_KERNEL_TRANSPOSE,
    CN_KERNEL_LANGEVIN_STEP,
    CN_KERNEL_NOISE_NORMAL,
    CN_KERNEL_PHILOX_RAW, /* the raw Philox stream, for the known-answer test */
    CN_KERNEL_REDUCE_CHUNKS,
    CN_KERNEL_REDUCE_ROWS_GROUP, /* a work-group per row (tuning variant "group") */
    CN_KERNEL_SCALED_DIFFERENCE,
    CN_KERNEL_MASKED_DIFFERENCE,
    CN_KERNEL_TEST_AXPY, /* cl/test_kernels.cl, for the runtime's tests */
    /* cl/peak.cl, bench's FMA rate on vectors of 1, 4, 8 and 16 floats, and its copy bandwidth */
    CN_KERNEL_PEAK_FMA_1,
    CN_KERNEL_PEAK_FMA_4,
    CN_KERNEL_PEAK_FMA_8,
    CN_KERNEL_PEAK_FMA_16,
    CN_KERNEL_PEAK_COPY,
    CN_KERNEL_COUNT
} cn_kernel_id;

typedef struct cn_program_entry cn_program_entry;
typedef struct cn_kernel_entry cn_kernel_entry;
typedef struct cn_binaries cn_binaries;

typedef struct cn_runtime {
    cn_device_info device;
    cl_context context;
    cl_command_queue queue; /* in-order: every enqueue of a run goes here */
    int profiling;
    int cache_enabled;
    char cache_dir[1024];
    cn_binaries *binaries; /* binaries-only mode (cn_runtime_options.binaries); NULL: programs compile */
    cn_runtime_stats stats;
    cn_program_entry *programs;
    size_t program_count;
    cn_kernel_entry *kernels;
    size_t kernel_count;
    cl_kernel kernels_by_id[CN_KERNEL_COUNT]; /* NULL until first launched; owned by kernels */
    struct cn_gemm *gemm; /* per-device GEMM state, made on first use by src/nn/gemm.c ... */
    void (*gemm_release)(struct cn_runtime *rt); /* ... which also sets how to free it */
    struct cn_tuning *tuning; /* kernel variants and the tuning database, made on first use by src/nn/tuning.c ... */
    void (*tuning_release)(struct cn_runtime *rt); /* ... which also sets how to free it */
    struct cn_profile *profile; /* attached by cn_profile_attach; NULL: no events are made */
} cn_runtime;

cn_runtime_options cn_runtime_default_options(void);
/* A device without an online compiler (CL_DEVICE_COMPILER_AVAILABLE false) opens only in
 * binaries-only mode; otherwise CN_ERR_DEVICE says so. */
cn_status cn_runtime_open(cn_runtime **rt, const cn_runtime_options *options, cn_error *e);
void cn_runtime_close(cn_runtime *rt);
/* Waits for everything enqueued; the place where asynchronous kernel faults surface. */
cn_status cn_finish(cn_runtime *rt, cn_error *e);

/* ---- buffers ---------------------------------------------------------------------------------- */

typedef struct cn_buffer {
    cl_mem mem;
    size_t bytes;
    int is_view; /* a sub-buffer of another: freeing it does not count against the total */
} cn_buffer;

/* Refuses, in words, a buffer larger than CL_DEVICE_MAX_MEM_ALLOC_SIZE or a total beyond
 * CL_DEVICE_GLOBAL_MEM_SIZE, before asking the device. `what` names the buffer for the message. */
cn_status cn_buffer_alloc(cn_runtime *rt, cn_buffer *b, size_t bytes, const char *what, cn_error *e);
/* Checks that `bytes` more would fit on the device (for planning a whole net before allocating). */
cn_status cn_device_memory_check(const cn_runtime *rt, size_t total_bytes, size_t largest_bytes,
                                 const char *what, cn_error *e);
/* A view of [offset, offset+bytes) of parent; offset must be a multiple of base_addr_align_bytes. */
cn_status cn_buffer_view(cn_runtime *rt, cn_buffer *view, const cn_buffer *parent, size_t offset,
                         size_t bytes, cn_error *e);
void cn_buffer_free(cn_runtime *rt, cn_buffer *b);
/* Argument check for kernels' host side: CN_ERR_ARG, naming the function and the argument, when b is NULL or holds fewer
 * than `count` floats. */
cn_status cn_buffer_check_floats(const cn_buffer *b, size_t count, const char *function, const char *argument,
                                 cn_error *e);
/* Blocking transfers (used at set-up, log points and in tests, never inside an iteration). */
cn_status cn_buffer_write(cn_runtime *rt, cn_buffer *b, size_t offset, const void *src, size_t bytes, cn_error *e);
cn_status cn_buffer_read(cn_runtime *rt, const cn_buffer *b, size_t offset, void *dst, size_t bytes, cn_error *e);
/* Non-blocking, in queue order. */
cn_status cn_buffer_fill_f32(cn_runtime *rt, cn_buffer *b, float value, size_t offset_floats, size_t count,
                             cn_error *e);
cn_status cn_buffer_copy(cn_runtime *rt, cn_buffer *dst, size_t dst_offset, const cn_buffer *src, size_t src_offset,
                         size_t bytes, cn_error *e);

/* ---- programs and kernels --------------------------------------------------------------------- */

/* The kernel sources embedded at build time (cl/NAME.cl, includes resolved). */
typedef struct cn_cl_source {
    const char *name;
    const char *text;
    size_t length;
} cn_cl_source;
extern const cn_cl_source cn_cl_sources[];
extern const size_t cn_cl_source_count;
const cn_cl_source *cn_cl_source_find(const char *name);

/* Builds (or takes from the runtime, then from the disk cache) program `name` with `options`
 * (may be NULL). On a build failure the error is CN_ERR_BUILD with the full log in e->log. */
cn_status cn_program_get(cn_runtime *rt, const char *name, const char *options, cl_program *program, cn_error *e);
/* The same for a source given as text (tests use it for deliberately broken kernels). */
cn_status cn_program_build_text(cn_runtime *rt, const char *label, const char *text, size_t length,
                                const char *options, cl_program *program, cn_error *e);
/* The cache file a source + options would use on this device (tests corrupt it on purpose). */
cn_status cn_program_cache_path(const cn_runtime *rt, const char *text, size_t length, const char *options,
                                char *path, size_t path_size);
/* Writes every program the runtime holds (cn_program_get has built or loaded it) into folder dir
 * as a device binary (CL_PROGRAM_BINARIES), NAME-HASH.bin, with dir/manifest.json naming the
 * device, its driver version, and for each program its build options, source hash and binary
 * checksum: what binaries-only mode (cn_runtime_options.binaries) loads. Creates dir. */
cn_status cn_programs_export(cn_runtime *rt, const char *dir, cn_error *e);

/* A kernel of program `program` (built with `options`, may be NULL), created once per runtime and
 * found again by name: for kernels built with options, whose callers keep the handle. */
cn_status cn_kernel_get(cn_runtime *rt, const char *program, const char *options, const char *kernel,
                        cl_kernel *out, cn_error *e);
/* Kernel `id`, created on the runtime's first use of it. */
cn_status cn_kernel_by_id(cn_runtime *rt, cn_kernel_id id, cl_kernel *out, cn_error *e);

/* ---- launch ----------------------------------------------------------------------------------- */

/* Kernel arguments. CN_F32 & co. point at compound literals, which live until the end of the
 * enclosing block: build the argument list in the same block as the launch, never store one. */
typedef struct cn_arg {
    size_t size;
    const void *value; /* NULL with size > 0: local memory of that many bytes */
} cn_arg;

#define CN_MEM(buffer) ((cn_arg){sizeof(cl_mem), &(buffer)->mem})
#define CN_F32(x) ((cn_arg){sizeof(cl_float), &(cl_float){(cl_float)(x)}})
#define CN_I32(x) ((cn_arg){sizeof(cl_int), &(cl_int){(cl_int)(x)}})
#define CN_U32(x) ((cn_arg){sizeof(cl_uint), &(cl_uint){(cl_uint)(x)}})
#define CN_U64(x) ((cn_arg){sizeof(cl_ulong), &(cl_ulong){(cl_ulong)(x)}})
#define CN_LOCAL(bytes) ((cn_arg){(bytes), NULL})

/* The work-group size to launch `kernel` with: `wanted` (dims entries) with its largest entry
 * halved until it fits the device's CL_DEVICE_MAX_WORK_ITEM_SIZES and CL_DEVICE_MAX_WORK_GROUP_SIZE
 * and the kernel's CL_KERNEL_WORK_GROUP_SIZE. Round each global size up to a multiple of it. */
cn_status cn_local_size(cn_runtime *rt, cl_kernel kernel, cl_uint dims, const size_t *wanted, size_t *local,
                        cn_error *e);

/* Sets the arguments and enqueues kernel on the runtime's queue. local may be NULL (the driver
 * chooses); a given one beyond the limits cn_local_size fits, or local memory arguments beyond
 * CL_DEVICE_LOCAL_MEM_SIZE, are refused in words (CN_ERR_ARG) before anything is enqueued. */
cn_status cn_launch(cn_runtime *rt, cl_kernel kernel, cl_uint dims, const size_t *global, const size_t *local,
                    const cn_arg *args, size_t nargs, cn_error *e);

/* The same, telling an attached profile the work the launch does (floating-point operations and
 * bytes moved; 0 when not counted), so that it can report GFLOP/s and GB/s. */
cn_status cn_launch_counted(cn_runtime *rt, cl_kernel kernel, cl_uint dims, const size_t *global, const size_t *local,
                            const cn_arg *args, size_t nargs, double flops, double bytes, cn_error *e);

/* Launches kernel `id` (cn_kernel_by_id):
 *   CN_RUN(rt, CN_KERNEL_LEAKY_RELU_FORWARD, 1, global, NULL, e, CN_MEM(x), CN_MEM(y), CN_F32(0.2f), CN_U64(n)) */
#define CN_RUN(rt, id, dims, global, local, e, ...)                                                       \
    cn_run((rt), (id), (dims), (global), (local), (const cn_arg[]){__VA_ARGS__},                           \
           sizeof((const cn_arg[]){__VA_ARGS__}) / sizeof(cn_arg), (e))
cn_status cn_run(cn_runtime *rt, cn_kernel_id id, cl_uint dims, const size_t *global, const size_t *local,
                 const cn_arg *args, size_t nargs, cn_error *e);
/* cn_run with the launch's work counts for an attached profile (see cn_launch_counted). */
#define CN_RUN_COUNTED(rt, id, dims, global, local, flops, bytes, e, ...)                                  \
    cn_run_counted((rt), (id), (dims), (global), (local), (const cn_arg[]){__VA_ARGS__},                   \
                   sizeof((const cn_arg[]){__VA_ARGS__}) / sizeof(cn_arg), (flops), (bytes), (e))
cn_status cn_run_counted(cn_runtime *rt, cn_kernel_id id, cl_uint dims, const size_t *global, const size_t *local,
                         const cn_arg *args, size_t nargs, double flops, double bytes, cn_error *e);

/* ---- profiling -------------------------------------------------------------------------------- */

/* While a profile is attached to a runtime opened with profiling = 1, every kernel launch, GEMM
 * and buffer transfer is enqueued with an event and recorded: its name (the kernel function;
 * "clblast_sgemm"; "write", "read", "fill", "copy"), the profile's tag and the work counts given.
 * Without a profile no event is made and nothing waits. */
typedef struct cn_profile cn_profile;

typedef struct cn_profile_total {
    char name[64];
    int tag;               /* the tag current when the commands were enqueued */
    unsigned long calls;
    double seconds;        /* the events' END - START, summed */
    double flops, bytes;   /* the counts given at enqueue, summed (0: not counted) */
} cn_profile_total;

cn_status cn_profile_create(cn_profile **p, cn_error *e);
void cn_profile_free(cn_profile *p); /* releases the events it still holds; detach it first */
/* Attaches p (NULL detaches). A runtime opened without profiling is CN_ERR_ARG. */
cn_status cn_profile_attach(cn_runtime *rt, cn_profile *p, cn_error *e);
/* Tags the commands enqueued from now on (e.g. with the step of an iteration); 0 at first. */
void cn_profile_set_tag(cn_profile *p, int tag);
/* For enqueue sites, when rt->profile is set: takes the command's event (and `start`, a marker
 * enqueued just before a command made of several kernels whose last one `end` is, else NULL). */
cn_status cn_profile_record(cn_runtime *rt, const char *name, cl_event start, cl_event end, double flops, double bytes,
                            cn_error *e);
/* Waits for the queue and sums the recorded events per (name, tag), in the order first enqueued:
 * *totals is malloc'd (free it). Empties the profile, which stays attached. */
cn_status cn_profile_resolve(cn_runtime *rt, cn_profile *p, cn_profile_total **totals, size_t *count, cn_error *e);
/* The same wait, one entry per command in enqueue order (calls = 1), for a launch-by-launch
 * profile; cn_profile_sum then gives what cn_profile_resolve would have. */
cn_status cn_profile_resolve_launches(cn_runtime *rt, cn_profile *p, cn_profile_total **launches, size_t *count,
                                      cn_error *e);
/* Sums launches per (name, tag), in the order first seen: *totals is malloc'd (free it). */
cn_status cn_profile_sum(const cn_profile_total *launches, size_t count, cn_profile_total **totals, size_t *total_count,
                         cn_error *e);

static inline size_t cn_round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

/* Turns an OpenCL error code into a cn_error: "CL_OUT_OF_RESOURCES while <what>". */
cn_status cn_cl_fail(cn_error *e, cl_int code, const char *what_fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif
