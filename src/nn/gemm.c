/* cn_gemm: one interface, two implementations (CLBlast and cl/gemm.cl), chosen per device by
 * measurement and recorded beside the program cache. */
#include "coopnets/cn_atomic_file.h"
#include "coopnets/cn_conv2d.h"
#include "coopnets/cn_gemm.h"
#include "coopnets/cn_tuning.h"
#include "coopnets/cn_util.h"

#include <clblast_c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Our kernels split K into blocks of at most this many (see own_gemm). */
#define CN_GEMM_K_BLOCK 512
/* The packed variant's blocks of rows and of columns: their panels hold at most this many floats. */
#define CN_GEMM_PACK_FLOATS ((size_t)4 << 20)
/* Steps of K one packing work-item copies (cl/gemm.cl's CN_GEMM_PACK_K, passed as a build option). */
#define CN_GEMM_PACK_K 128
/* cl/gemm.cl's kernels; the state keeps their handles for its build options, made on first use. */
typedef enum {
    DOT_NT,
    TILE_NN,
    TILE_TN,
    TILE_TT,
    TILE_EDGE_NN,
    TILE_EDGE_TN,
    TILE_EDGE_TT,
    LOCAL_NN,
    LOCAL_NT,
    LOCAL_TN,
    LOCAL_TT,
    PACK_A_N,
    PACK_A_T,
    PACK_B_N,
    PACK_B_T,
    PACKED,
    PACK_A_N_PIXELS,
    PACK_A_T_PIXELS,
    PACK_A_N_PATCHES,
    PACK_B_N_PATCHES,
    SUM_PARTIALS,
    GEMM_KERNEL_COUNT
} gemm_kernel;
static const char *const gemm_kernel_names[GEMM_KERNEL_COUNT] = {
    [DOT_NT] = "cn_gemm_dot_nt",
    [TILE_NN] = "cn_gemm_tile_nn",
    [TILE_TN] = "cn_gemm_tile_tn",
    [TILE_TT] = "cn_gemm_tile_tt",
    [TILE_EDGE_NN] = "cn_gemm_tile_edge_nn",
    [TILE_EDGE_TN] = "cn_gemm_tile_edge_tn",
    [TILE_EDGE_TT] = "cn_gemm_tile_edge_tt",
    [LOCAL_NN] = "cn_gemm_local_nn",
    [LOCAL_NT] = "cn_gemm_local_nt",
    [LOCAL_TN] = "cn_gemm_local_tn",
    [LOCAL_TT] = "cn_gemm_local_tt",
    [PACK_A_N] = "cn_gemm_pack_a_n",
    [PACK_A_T] = "cn_gemm_pack_a_t",
    [PACK_B_N] = "cn_gemm_pack_b_n",
    [PACK_B_T] = "cn_gemm_pack_b_t",
    [PACKED] = "cn_gemm_packed",
    [PACK_A_N_PIXELS] = "cn_gemm_pack_a_n_pixels",
    [PACK_A_T_PIXELS] = "cn_gemm_pack_a_t_pixels",
    [PACK_A_N_PATCHES] = "cn_gemm_pack_a_n_patches",
    [PACK_B_N_PATCHES] = "cn_gemm_pack_b_n_patches",
    [SUM_PARTIALS] = "cn_gemm_sum_partials",
};

/* The NT dot kernel's block of C per work-item (not tuned). */
#define CN_GEMM_DOT_M 3
#define CN_GEMM_DOT_N 4

/* Long, thin NT products (a 64x64 descriptor's fc layer: 144 x 100 x 65536) leave the packed
 * variant with a few panels of C and 128 blocks of K, each packing both operands (20 ms, 95 GFLOP/s
 * on 2 AVX-512 vCPUs). Instead the dot kernel reads both where they lie, in parts of
 * CN_GEMM_SPLIT_PART along K at once, and one kernel adds the parts in order (own_gemm_split_k).
 * Only for k of at least CN_GEMM_SPLIT_K_MIN (16 blocks) and C of at most CN_GEMM_SPLIT_MN. */
#define CN_GEMM_SPLIT_K_MIN (16 * CN_GEMM_K_BLOCK)
#define CN_GEMM_SPLIT_MN ((size_t)256 * 256)
#define CN_GEMM_SPLIT_PART 2048

/* The per-runtime state behind rt->gemm. */
struct cn_gemm {
    cn_gemm_backend backend; /* CN_GEMM_AUTO until chosen */
    int clblast_used;        /* CLBlast holds programs for our context until its cache is cleared */
    unsigned dot_vector;     /* the NT dot kernel's vector width: the device's preferred, 8 or 16 */
    cn_kernel_variant variant; /* our kernels' variant (cn_tuning) that options was made for */
    char options[160];       /* build options of cl/gemm.cl: the block sizes */
    size_t local[3]; /* the register kernels' work-group wanted; cn_local_size fits it to the device and kernel */
    cl_kernel kernels[GEMM_KERNEL_COUNT]; /* built with options; NULL until first launched */
    cn_buffer a_panels, b_panels; /* the packed variant's workspace, grown as needed */
};

/* ---- block sizes and state -------------------------------------------------------------------- */

static void gemm_release(cn_runtime *rt) {
    if (rt->gemm && rt->gemm->clblast_used) CLBlastClearCache();
    if (rt->gemm && rt->gemm->a_panels.mem) cn_buffer_free(rt, &rt->gemm->a_panels);
    if (rt->gemm && rt->gemm->b_panels.mem) cn_buffer_free(rt, &rt->gemm->b_panels);
    free(rt->gemm);
    rt->gemm = NULL;
    rt->gemm_release = NULL;
}

/* CPUs (PoCL) run the register kernels one work-item per work-group, so there is one machine-code
 * build per kernel; other devices get small work-groups. The tile sizes are the variant's
 * (cn_tuning: the tuning database, else the heuristic). */
static cn_status gemm_state(cn_runtime *rt, struct cn_gemm **out, cn_error *e) {
    if (rt->gemm) {
        *out = rt->gemm;
        return CN_OK;
    }
    struct cn_gemm *g = calloc(1, sizeof *g);
    if (!g) return cn_error_set(e, CN_ERR_NOMEM, "out of memory for the GEMM state");
    const int cpu = (rt->device.type & CL_DEVICE_TYPE_CPU) != 0;
    g->dot_vector = rt->device.float_width >= 16 ? 16 : 8;
    g->local[0] = cpu ? 1 : 8;
    g->local[1] = cpu ? 1 : 8;
    g->local[2] = 1;
    rt->gemm = g;
    rt->gemm_release = gemm_release;
    *out = g;
    return CN_OK;
}

/* Our kernels' variant now (tune and tests switch it; a clblast entry leaves ours the heuristic),
 * with st->options made for it. */
static cn_kernel_variant own_variant(cn_runtime *rt, struct cn_gemm *st) {
    cn_kernel_variant v = cn_tuning_variant(rt, CN_TUNED_GEMM, NULL);
    if (v.kind == CN_VARIANT_CLBLAST) v = cn_tuning_heuristic(rt, CN_TUNED_GEMM);
    if (st->options[0] && v.kind == st->variant.kind && v.p == st->variant.p && v.q == st->variant.q) return v;
    st->variant = v;
    memset(st->kernels, 0, sizeof st->kernels); /* built with the options before (the runtime owns them) */
    if (v.kind == CN_VARIANT_LOCAL)
        snprintf(st->options, sizeof st->options, "-DCN_GEMM_LT=%u -DCN_GEMM_LW=%u", v.p, v.q);
    else if (v.kind == CN_VARIANT_PACKED) /* vectors as wide as the device's, at most the panel */
        snprintf(st->options, sizeof st->options,
                 "-DCN_GEMM_PM=%u -DCN_GEMM_PN=%u -DCN_GEMM_PV=%u -DCN_GEMM_PACK_K=%d -DCN_GEMM_DM=%d -DCN_GEMM_DN=%d "
                 "-DCN_GEMM_DV=%u",
                 v.p, v.q, v.q < st->dot_vector ? v.q : st->dot_vector, CN_GEMM_PACK_K, CN_GEMM_DOT_M, CN_GEMM_DOT_N,
                 st->dot_vector);
    else
        snprintf(st->options, sizeof st->options,
                 "-DCN_GEMM_TM=%u -DCN_GEMM_TN=%u -DCN_GEMM_DM=%d -DCN_GEMM_DN=%d -DCN_GEMM_DV=%u", v.p, v.q,
                 CN_GEMM_DOT_M, CN_GEMM_DOT_N, st->dot_vector);
    return v;
}

/* ---- argument checks -------------------------------------------------------------------------- */

/* A rows x cols matrix stored with leading dimension ld at offset, repeated batch times at stride. */
static cn_status check_operand(const char *name, const cn_buffer *buf, size_t rows, size_t cols, size_t offset,
                               size_t ld, size_t stride, size_t batch, cn_error *e) {
    if (!buf) return cn_error_set(e, CN_ERR_ARG, "gemm: matrix %s is NULL", name);
    if (rows == 0 || cols == 0) return CN_OK;
    if (ld < cols)
        return cn_error_set(e, CN_ERR_ARG, "gemm: leading dimension of %s is %zu, less than its %zu columns", name,
                            ld, cols);
    size_t end = offset + (batch - 1) * stride + (rows - 1) * ld + cols;
    if (end > buf->bytes / sizeof(float))
        return cn_error_set(e, CN_ERR_ARG,
                            "gemm: %s (%zu x %zu, ld %zu, offset %zu, batch %zu at stride %zu) needs %zu floats, "
                            "its buffer holds %zu",
                            name, rows, cols, ld, offset, batch, stride, end, buf->bytes / sizeof(float));
    return CN_OK;
}

static const char *layout_name(cn_gemm_layout layout) {
    return layout == CN_GEMM_PIXELS ? "pixels" : layout == CN_GEMM_PATCHES ? "patches" : "row-major";
}

/* A gathered matrix (cn_gemm_layout), rows x cols as stored: whole images of the conv, as wide as
 * the layout says, inside its buffer, indexed below 2^32 (the kernels' indices are 32-bit). */
static cn_status check_gathered(const char *name, const cn_buffer *buf, cn_gemm_layout layout,
                                const cn_conv2d_shape *s, size_t rows, size_t cols, size_t offset, size_t batch,
                                cn_error *e) {
    if (!buf) return cn_error_set(e, CN_ERR_ARG, "gemm: matrix %s is NULL", name);
    if (!s) return cn_error_set(e, CN_ERR_ARG, "gemm: %s is gathered as %s but no conv is given", name, layout_name(layout));
    if (batch > 1) return cn_error_set(e, CN_ERR_ARG, "gemm: %s is gathered, which takes one product, not %zu", name, batch);
    const size_t pixels = (size_t)s->out_h * s->out_w;
    const size_t width = layout == CN_GEMM_PIXELS ? (size_t)s->out_c : (size_t)s->in_c * s->k_h * s->k_w;
    const size_t image = layout == CN_GEMM_PIXELS ? (size_t)s->out_c * pixels : (size_t)s->in_c * s->in_h * s->in_w;
    if (rows % pixels != 0 || cols != width)
        return cn_error_set(e, CN_ERR_ARG,
                            "gemm: %s as %s is %zu x %zu, not whole images of %zu pixels by %zu columns", name,
                            layout_name(layout), rows, cols, pixels, width);
    const size_t end = offset + rows / pixels * image;
    if (end > buf->bytes / sizeof(float))
        return cn_error_set(e, CN_ERR_ARG, "gemm: %s as %s (%zu images from offset %zu) needs %zu floats, its buffer holds %zu",
                            name, layout_name(layout), rows / pixels, offset, end, buf->bytes / sizeof(float));
    if (end > UINT32_MAX)
        return cn_error_set(e, CN_ERR_ARG, "gemm: %s as %s reaches float %zu, past the 2^32 the kernels index", name,
                            layout_name(layout), end);
    return CN_OK;
}

static int gathered(const cn_gemm_args *g) {
    return g->a_layout != CN_GEMM_ROW_MAJOR || g->b_layout != CN_GEMM_ROW_MAJOR;
}

static cn_status check_args(const cn_gemm_args *g, size_t batch, cn_error *e) {
    const size_t a_rows = g->trans_a ? g->k : g->m, a_cols = g->trans_a ? g->m : g->k;
    const size_t b_rows = g->trans_b ? g->n : g->k, b_cols = g->trans_b ? g->k : g->n;
    if ((g->a_layout == CN_GEMM_PATCHES && g->trans_a) || g->b_layout == CN_GEMM_PIXELS ||
        (g->b_layout != CN_GEMM_ROW_MAJOR && g->trans_b))
        return cn_error_set(e, CN_ERR_ARG, "gemm: A %s%s, B %s%s: no kernel gathers that way", layout_name(g->a_layout),
                            g->trans_a ? " transposed" : "", layout_name(g->b_layout), g->trans_b ? " transposed" : "");
    if (g->a_layout == CN_GEMM_PATCHES && g->conv &&
        (g->conv->pad_top != 0 || g->conv->pad_left != 0 ||
         (g->conv->out_h - 1) * g->conv->stride + g->conv->k_h > g->conv->in_h ||
         (g->conv->out_w - 1) * g->conv->stride + g->conv->k_w > g->conv->in_w))
        return cn_error_set(e, CN_ERR_ARG, "gemm: A as patches needs a conv without padding whose windows lie inside "
                                           "its input (pad the input first)");
    if (g->a_layout != CN_GEMM_ROW_MAJOR)
        CN_TRY(check_gathered("A", g->a, g->a_layout, g->conv, a_rows, a_cols, g->a_offset, batch, e));
    else
        CN_TRY(check_operand("A", g->a, a_rows, a_cols, g->a_offset, g->lda, g->a_stride, batch, e));
    if (g->b_layout != CN_GEMM_ROW_MAJOR)
        CN_TRY(check_gathered("B", g->b, g->b_layout, g->conv, b_rows, b_cols, g->b_offset, batch, e));
    else
        CN_TRY(check_operand("B", g->b, b_rows, b_cols, g->b_offset, g->ldb, g->b_stride, batch, e));
    CN_TRY(check_operand("C", g->c, g->m, g->n, g->c_offset, g->ldc, g->c_stride, batch, e));
    if (batch > 1 && g->m > 0 && g->n > 0 && g->c_stride < (g->m - 1) * g->ldc + g->n)
        return cn_error_set(e, CN_ERR_ARG, "gemm: C stride %zu makes the %zu products of %zu x %zu overlap",
                            g->c_stride, batch, g->m, g->n);
    return CN_OK;
}

/* ---- work counts for profiles ----------------------------------------------------------------- */

static double product_flops(size_t rows, size_t cols, size_t k, size_t batch) {
    return 2.0 * (double)rows * (double)cols * (double)k * (double)batch;
}

/* Each product reads its operands once and writes C (reading it too when beta != 0): the least
 * traffic it can make. */
static double product_bytes(size_t rows, size_t cols, size_t k, size_t batch, float beta) {
    return sizeof(float) * (double)batch *
           ((double)rows * k + (double)k * cols + (double)rows * cols * (beta != 0.0f ? 2.0 : 1.0));
}

/* ---- our kernels ------------------------------------------------------------------------------ */

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* One launch of `kernel` over the C region [row_begin, row_end) x [col_begin, col_end), blocks of
 * block_m x block_n per work-item. */
/* Kernel `kernel` built with st->options, looked up once per options. */
static cn_status gemm_kernel_handle(cn_runtime *rt, struct cn_gemm *st, gemm_kernel kernel, cl_kernel *k, cn_error *e) {
    if (!st->kernels[kernel])
        CN_TRY(cn_kernel_get(rt, "gemm", st->options, gemm_kernel_names[kernel], &st->kernels[kernel], e));
    *k = st->kernels[kernel];
    return CN_OK;
}

static cn_status launch_region(cn_runtime *rt, struct cn_gemm *st, gemm_kernel kernel, const cn_gemm_args *g,
                               size_t batch, size_t block_m, size_t block_n, size_t row_begin, size_t row_end,
                               size_t col_begin, size_t col_end, cn_error *e) {
    if (row_end <= row_begin || col_end <= col_begin) return CN_OK;
    cl_kernel k;
    CN_TRY(gemm_kernel_handle(rt, st, kernel, &k, e));
    /* Consecutive work-items share a block of A rows (columns first) or a panel of B (rows first);
     * the other operand is read again for each such block, so that should be the smaller one. */
    const int rows_first = g->m < g->n;
    const size_t row_tiles = ceil_div(row_end - row_begin, block_m), col_tiles = ceil_div(col_end - col_begin, block_n);
    size_t local[3];
    CN_TRY(cn_local_size(rt, k, 3, st->local, local, e));
    const size_t global[3] = {cn_round_up(rows_first ? row_tiles : col_tiles, local[0]),
                              cn_round_up(rows_first ? col_tiles : row_tiles, local[1]), batch};
    const cn_arg args[] = {
        CN_U64(g->m),        CN_U64(g->n),        CN_U64(g->k),        CN_F32(g->alpha),   CN_F32(g->beta),
        CN_MEM(g->a),        CN_U64(g->a_offset), CN_U64(g->lda),      CN_U64(g->a_stride),
        CN_MEM(g->b),        CN_U64(g->b_offset), CN_U64(g->ldb),      CN_U64(g->b_stride),
        CN_MEM(g->c),        CN_U64(g->c_offset), CN_U64(g->ldc),      CN_U64(g->c_stride),
        CN_U64(row_begin),   CN_U64(col_begin),   CN_U64(row_end),     CN_U64(col_end),    CN_I32(rows_first)};
    const size_t rows = row_end - row_begin, cols = col_end - col_begin;
    return cn_launch_counted(rt, k, 3, global, local, args, sizeof args / sizeof *args,
                             product_flops(rows, cols, g->k, batch), product_bytes(rows, cols, g->k, batch, g->beta), e);
}

/* The local-memory kernel: one launch over all of C, a work-group per LT x LT tile, exactly the
 * work-group its reqd_work_group_size names. */
static cn_status launch_local(cn_runtime *rt, struct cn_gemm *st, const cn_gemm_args *g, size_t batch,
                              cn_error *e) {
    static const gemm_kernel kernels[2][2] = {{LOCAL_NN, LOCAL_NT}, {LOCAL_TN, LOCAL_TT}};
    const gemm_kernel kernel = kernels[g->trans_a != 0][g->trans_b != 0];
    const char *name = gemm_kernel_names[kernel];
    cl_kernel k;
    CN_TRY(gemm_kernel_handle(rt, st, kernel, &k, e));
    const size_t tile = st->variant.p, rows = st->variant.p / st->variant.q;
    const size_t wanted[3] = {tile, rows, 1};
    size_t local[3];
    CN_TRY(cn_local_size(rt, k, 3, wanted, local, e));
    if (local[0] != tile || local[1] != rows)
        return cn_error_set(e, CN_ERR_ARG,
                            "GEMM variant local %zu/%zu needs work-groups of %zu x %zu, but kernel %s on device %d "
                            "(%s) allows only %zu x %zu: choose another variant (coopnets_cl tune)",
                            tile, (size_t)st->variant.q, tile, rows, name, rt->device.index, rt->device.name, local[0],
                            local[1]);
    const size_t global[3] = {ceil_div(g->n, tile) * tile, ceil_div(g->m, tile) * rows, batch};
    const cn_arg args[] = {
        CN_U64(g->m),        CN_U64(g->n),        CN_U64(g->k),        CN_F32(g->alpha),   CN_F32(g->beta),
        CN_MEM(g->a),        CN_U64(g->a_offset), CN_U64(g->lda),      CN_U64(g->a_stride),
        CN_MEM(g->b),        CN_U64(g->b_offset), CN_U64(g->ldb),      CN_U64(g->b_stride),
        CN_MEM(g->c),        CN_U64(g->c_offset), CN_U64(g->ldc),      CN_U64(g->c_stride),
        CN_U64(0),           CN_U64(0),           CN_U64(g->m),        CN_U64(g->n),       CN_I32(0)};
    return cn_launch_counted(rt, k, 3, global, local, args, sizeof args / sizeof *args,
                             product_flops(g->m, g->n, g->k, batch), product_bytes(g->m, g->n, g->k, batch, g->beta), e);
}

/* A packed workspace buffer of at least `floats` (queued kernels keep a replaced one alive). */
static cn_status panels_reserve(cn_runtime *rt, cn_buffer *panels, size_t floats, cn_error *e) {
    if (panels->mem && panels->bytes >= floats * sizeof(float)) return CN_OK;
    if (panels->mem) cn_buffer_free(rt, panels);
    return cn_buffer_alloc(rt, panels, (floats ? floats : 1) * sizeof(float), "GEMM packed panels", e);
}

/* Launches packing kernel `kernel` over k steps of K and `cols` columns (op(B)) or rows (op(A))
 * in panels of `width`: a work-item per CN_GEMM_PACK_K steps of a panel. */
static cn_status launch_packing(cn_runtime *rt, struct cn_gemm *st, gemm_kernel kernel, size_t width, size_t k,
                                size_t cols, const cn_arg *args, size_t nargs, cn_error *e) {
    if (k == 0) return CN_OK;
    cl_kernel handle;
    CN_TRY(gemm_kernel_handle(rt, st, kernel, &handle, e));
    size_t local[2];
    CN_TRY(cn_local_size(rt, handle, 2, st->local, local, e));
    const size_t global[2] = {cn_round_up(ceil_div(k, CN_GEMM_PACK_K), local[0]),
                              cn_round_up(ceil_div(cols, width), local[1])};
    const double floats = (double)ceil_div(cols, width) * width * k;
    return cn_launch_counted(rt, handle, 2, global, local, args, nargs, 0, 2.0 * sizeof(float) * floats, e);
}

/* Packs k steps of K of a row-major matrix into panels (cl/gemm.cl's cn_gemm_pack_*). */
static cn_status pack_panels(cn_runtime *rt, struct cn_gemm *st, gemm_kernel kernel, size_t width, size_t k,
                             size_t cols, const cn_buffer *src, size_t offset, size_t ld, cn_buffer *dst, cn_error *e) {
    const cn_arg args[] = {CN_U64(k), CN_U64(cols), CN_MEM(src), CN_U64(offset), CN_U64(ld), CN_MEM(dst)};
    return launch_packing(rt, st, kernel, width, k, cols, args, sizeof args / sizeof *args, e);
}

/* Where a product's block starts in its gathered matrices: row and column of each as stored. */
typedef struct {
    size_t a_row, a_col, b_row, b_col;
} gather_origin;

/* The gathering counterpart of pack_panels: k steps of K of the gathered matrix of `layout`,
 * `cols` panels' worth from (r0, q0) of it as stored (cl/gemm.cl's cn_gemm_pack_*_pixels and
 * *_patches). */
static cn_status gather_panels(cn_runtime *rt, struct cn_gemm *st, gemm_kernel kernel, size_t width, size_t k,
                               size_t cols, const cn_buffer *src, size_t offset, cn_gemm_layout layout,
                               const cn_conv2d_shape *s, size_t r0, size_t q0, cn_buffer *dst, cn_error *e) {
    const cn_arg args[] = {CN_U64(k), CN_U64(cols), CN_MEM(src), CN_U64(offset), CN_U64(r0), CN_U64(q0), CN_MEM(dst),
                           CN_U32((cl_uint)(layout == CN_GEMM_PIXELS ? s->out_c : s->in_c)),
                           CN_U32((cl_uint)(s->out_h * s->out_w)), CN_U32((cl_uint)s->out_w),
                           CN_U32((cl_uint)s->in_h), CN_U32((cl_uint)s->in_w), CN_U32((cl_uint)s->k_h),
                           CN_U32((cl_uint)s->k_w), CN_U32((cl_uint)s->stride), CN_I32(s->pad_top),
                           CN_I32(s->pad_left)};
    return launch_packing(rt, st, kernel, width, k, cols, args, sizeof args / sizeof *args, e);
}

/* The longest side of a block of the packed variant whose panels hold at most
 * CN_GEMM_PACK_FLOATS: whole panels of `width`, never more than `length`. */
static size_t pack_block(size_t length, size_t width, size_t k) {
    const size_t most = CN_GEMM_PACK_FLOATS / (k ? k : 1) / width * width;
    return most < width ? width : most < length ? most : length;
}

/* op(B)'s panels of columns [col0, col0 + cols) for product p. */
static cn_status pack_b(cn_runtime *rt, struct cn_gemm *st, const cn_gemm_args *g, const gather_origin *o, size_t p,
                        size_t col0, size_t cols, cn_error *e) {
    const size_t pn = st->variant.q;
    if (g->b_layout == CN_GEMM_PATCHES) /* B as is: its rows run along K */
        return gather_panels(rt, st, PACK_B_N_PATCHES, pn, g->k, cols, g->b, g->b_offset, g->b_layout, g->conv,
                             o->b_row, o->b_col + col0, &st->b_panels, e);
    const size_t b_at = g->b_offset + p * g->b_stride + col0 * (g->trans_b ? g->ldb : 1);
    return pack_panels(rt, st, g->trans_b ? PACK_B_T : PACK_B_N, pn, g->k, cols, g->b, b_at, g->ldb, &st->b_panels, e);
}

/* op(A)'s panels of rows [row0, row0 + rows) for product p. */
static cn_status pack_a(cn_runtime *rt, struct cn_gemm *st, const cn_gemm_args *g, const gather_origin *o, size_t p,
                        size_t row0, size_t rows, cn_error *e) {
    const size_t pm = st->variant.p;
    if (g->a_layout != CN_GEMM_ROW_MAJOR) {
        const gemm_kernel kernel = g->a_layout == CN_GEMM_PATCHES ? PACK_A_N_PATCHES
                                   : g->trans_a                   ? PACK_A_T_PIXELS
                                                                  : PACK_A_N_PIXELS;
        const size_t r0 = g->trans_a ? o->a_row : o->a_row + row0, q0 = g->trans_a ? o->a_col + row0 : o->a_col;
        return gather_panels(rt, st, kernel, pm, g->k, rows, g->a, g->a_offset, g->a_layout, g->conv, r0, q0,
                             &st->a_panels, e);
    }
    const size_t a_at = g->a_offset + p * g->a_stride + row0 * (g->trans_a ? 1 : g->lda);
    return pack_panels(rt, st, g->trans_a ? PACK_A_T : PACK_A_N, pm, g->k, rows, g->a, a_at, g->lda, &st->a_panels, e);
}

/* The product of the packed panels into C's block (row0, col0) of rows x cols, for product p. */
static cn_status multiply_panels(cn_runtime *rt, struct cn_gemm *st, const cn_gemm_args *g, size_t p, size_t row0,
                                 size_t col0, size_t rows, size_t cols, cn_error *e) {
    cl_kernel product;
    CN_TRY(gemm_kernel_handle(rt, st, PACKED, &product, e));
    size_t local[2];
    CN_TRY(cn_local_size(rt, product, 2, st->local, local, e));
    /* Neighbouring work-items share the panel of the slower dimension (see launch_region). */
    const int rows_first = rows < cols;
    const size_t row_panels = ceil_div(rows, st->variant.p), col_panels = ceil_div(cols, st->variant.q);
    const size_t global[2] = {cn_round_up(rows_first ? row_panels : col_panels, local[0]),
                              cn_round_up(rows_first ? col_panels : row_panels, local[1])};
    const cn_arg args[] = {CN_U64(rows), CN_U64(cols), CN_U64(g->k), CN_F32(g->alpha), CN_F32(g->beta),
                           CN_MEM(&st->a_panels), CN_MEM(&st->b_panels), CN_MEM(g->c),
                           CN_U64(g->c_offset + p * g->c_stride + row0 * g->ldc + col0), CN_U64(g->ldc),
                           CN_I32(rows_first)};
    return cn_launch_counted(rt, product, 2, global, local, args, sizeof args / sizeof *args,
                             product_flops(rows, cols, g->k, 1), product_bytes(rows, cols, g->k, 1, g->beta), e);
}

/* The packed variant on one block of K, product by product, in blocks of columns and rows that
 * bound the workspace: op(B) packed per block of columns, op(A) per block of rows, each pair
 * multiplied into its part of C. */
static cn_status own_gemm_packed(cn_runtime *rt, struct cn_gemm *st, const cn_gemm_args *g, const gather_origin *o,
                                 size_t batch, cn_error *e) {
    const size_t pm = st->variant.p, pn = st->variant.q;
    const size_t rows_block = pack_block(g->m, pm, g->k), cols_block = pack_block(g->n, pn, g->k);
    CN_TRY(panels_reserve(rt, &st->a_panels, ceil_div(rows_block, pm) * pm * g->k, e));
    CN_TRY(panels_reserve(rt, &st->b_panels, ceil_div(cols_block, pn) * pn * g->k, e));
    for (size_t p = 0; p < batch; p++)
        for (size_t col0 = 0; col0 < g->n; col0 += cols_block) {
            const size_t cols = g->n - col0 < cols_block ? g->n - col0 : cols_block;
            CN_TRY(pack_b(rt, st, g, o, p, col0, cols, e));
            for (size_t row0 = 0; row0 < g->m; row0 += rows_block) {
                const size_t rows = g->m - row0 < rows_block ? g->m - row0 : rows_block;
                CN_TRY(pack_a(rt, st, g, o, p, row0, rows, e));
                CN_TRY(multiply_panels(rt, st, g, p, row0, col0, rows, cols, e));
            }
        }
    return CN_OK;
}

static cn_status own_gemm_block(cn_runtime *rt, struct cn_gemm *st, const cn_gemm_args *g, const gather_origin *o,
                                size_t batch, cn_error *e) {
    if (st->variant.kind == CN_VARIANT_PACKED) return own_gemm_packed(rt, st, g, o, batch, e);
    if (gathered(g)) {
        char name[64];
        cn_kernel_variant_format(st->variant, name, sizeof name);
        return cn_error_set(e, CN_ERR_ARG, "gemm: gathered operands need the packed variant, not %s", name);
    }
    if (st->variant.kind == CN_VARIANT_LOCAL) return launch_local(rt, st, g, batch, e);
    if (!g->trans_a && g->trans_b)
        return launch_region(rt, st, DOT_NT, g, batch, CN_GEMM_DOT_M, CN_GEMM_DOT_N, 0, g->m, 0, g->n, e);
    const gemm_kernel full = g->trans_a ? (g->trans_b ? TILE_TT : TILE_TN) : TILE_NN;
    const gemm_kernel edge = g->trans_a ? (g->trans_b ? TILE_EDGE_TT : TILE_EDGE_TN) : TILE_EDGE_NN;
    const size_t tm = st->variant.p, tn = st->variant.q;
    const size_t m_whole = g->m / tm * tm, n_whole = g->n / tn * tn;
    CN_TRY(launch_region(rt, st, full, g, batch, tm, tn, 0, m_whole, 0, n_whole, e));
    CN_TRY(launch_region(rt, st, edge, g, batch, tm, tn, 0, g->m, n_whole, g->n, e));      /* right strip */
    return launch_region(rt, st, edge, g, batch, tm, tn, m_whole, g->m, 0, n_whole, e); /* bottom strip */
}

/* Whether the product goes the split-K way (see CN_GEMM_SPLIT_K_MIN): the packed variant's NT
 * products of row-major operands, one at a time. */
static int split_k(const struct cn_gemm *st, const cn_gemm_args *g, size_t batch) {
    return st->variant.kind == CN_VARIANT_PACKED && !gathered(g) && !g->trans_a && g->trans_b && batch == 1 &&
           g->k >= CN_GEMM_SPLIT_K_MIN && g->m * g->n <= CN_GEMM_SPLIT_MN;
}

/* C = alpha * A B^T + beta * C as `parts` dot products over consecutive parts of K into a
 * workspace (the A panels' buffer), all but the last in one launch (a part per product of the
 * batch dimension), then their sum in ascending order: reproducible like the K blocks. */
static cn_status own_gemm_split_k(cn_runtime *rt, struct cn_gemm *st, const cn_gemm_args *g, cn_error *e) {
    const size_t parts = ceil_div(g->k, CN_GEMM_SPLIT_PART), mn = g->m * g->n;
    CN_TRY(panels_reserve(rt, &st->a_panels, parts * mn, e));
    cn_gemm_args part = *g;
    part.k = CN_GEMM_SPLIT_PART;
    part.alpha = 1.0f;
    part.beta = 0.0f;
    part.a_stride = part.b_stride = CN_GEMM_SPLIT_PART;
    part.c = &st->a_panels;
    part.c_offset = 0;
    part.ldc = g->n;
    part.c_stride = mn;
    CN_TRY(launch_region(rt, st, DOT_NT, &part, parts - 1, CN_GEMM_DOT_M, CN_GEMM_DOT_N, 0, g->m, 0, g->n, e));
    const size_t last = (parts - 1) * CN_GEMM_SPLIT_PART;
    part.k = g->k - last;
    part.a_offset += last;
    part.b_offset += last;
    part.c_offset = (parts - 1) * mn;
    CN_TRY(launch_region(rt, st, DOT_NT, &part, 1, CN_GEMM_DOT_M, CN_GEMM_DOT_N, 0, g->m, 0, g->n, e));
    cl_kernel sum;
    CN_TRY(gemm_kernel_handle(rt, st, SUM_PARTIALS, &sum, e));
    const size_t wanted[2] = {16, 1};
    size_t local[2];
    CN_TRY(cn_local_size(rt, sum, 2, wanted, local, e));
    const size_t global[2] = {cn_round_up(g->n, local[0]), cn_round_up(g->m, local[1])};
    const cn_arg args[] = {CN_U64(g->m),    CN_U64(g->n),    CN_U64(parts),       CN_MEM(&st->a_panels), CN_F32(g->alpha),
                           CN_F32(g->beta), CN_MEM(g->c),    CN_U64(g->c_offset), CN_U64(g->ldc)};
    return cn_launch_counted(rt, sum, 2, global, local, args, sizeof args / sizeof *args, 0.0,
                             sizeof(float) * (double)(parts + 2) * mn, e);
}

/* Long reductions run as successive products over blocks of K, each adding into C: a work-item
 * then streams panels that stay in cache (k = 8192 ran at a fifth of the speed of k = 512). The
 * blocks and their order depend only on k, so results are reproducible. A gathered operand's
 * block starts kb further along K in its stored matrix; a row-major one's offset moves. */
static cn_status own_gemm(cn_runtime *rt, struct cn_gemm *st, const cn_gemm_args *g, size_t batch, cn_error *e) {
    own_variant(rt, st);
    if (split_k(st, g, batch)) return own_gemm_split_k(rt, st, g, e);
    const size_t blocks = g->k > CN_GEMM_K_BLOCK ? (g->k + CN_GEMM_K_BLOCK - 1) / CN_GEMM_K_BLOCK : 1;
    const size_t step = (g->k + blocks - 1) / blocks;
    size_t kb = 0;
    do { /* once when k = 0: C = beta * C */
        cn_gemm_args part = *g;
        gather_origin o = {0};
        part.k = g->k - kb < step ? g->k - kb : step;
        part.beta = kb == 0 ? g->beta : 1.0f;
        if (g->a_layout != CN_GEMM_ROW_MAJOR) *(g->trans_a ? &o.a_row : &o.a_col) = kb;
        else part.a_offset += g->trans_a ? kb * g->lda : kb;
        if (g->b_layout != CN_GEMM_ROW_MAJOR) *(g->trans_b ? &o.b_col : &o.b_row) = kb;
        else part.b_offset += g->trans_b ? kb : kb * g->ldb;
        CN_TRY(own_gemm_block(rt, st, &part, &o, batch, e));
        kb += step;
    } while (kb < g->k);
    return CN_OK;
}

/* ---- CLBlast ---------------------------------------------------------------------------------- */

static const char *clblast_status_name(CLBlastStatusCode s) {
    switch (s) {
    case CLBlastNotImplemented: return "CLBlastNotImplemented";
    case CLBlastInvalidDimension: return "CLBlastInvalidDimension";
    case CLBlastInvalidLeadDimA: return "CLBlastInvalidLeadDimA";
    case CLBlastInvalidLeadDimB: return "CLBlastInvalidLeadDimB";
    case CLBlastInvalidLeadDimC: return "CLBlastInvalidLeadDimC";
    case CLBlastInsufficientMemoryA: return "CLBlastInsufficientMemoryA";
    case CLBlastInsufficientMemoryB: return "CLBlastInsufficientMemoryB";
    case CLBlastInsufficientMemoryC: return "CLBlastInsufficientMemoryC";
    case CLBlastInvalidBatchCount: return "CLBlastInvalidBatchCount";
    case CLBlastInvalidLocalMemUsage: return "CLBlastInvalidLocalMemUsage";
    case CLBlastDatabaseError: return "CLBlastDatabaseError";
    case CLBlastUnknownError: return "CLBlastUnknownError";
    case CLBlastUnexpectedError: return "CLBlastUnexpectedError";
    default: return s > -1000 ? cn_cl_error_name(s) : "CLBlast error";
    }
}

static cn_status clblast_gemm(cn_runtime *rt, struct cn_gemm *st, const cn_gemm_args *g, size_t batch,
                              cn_error *e) {
    /* CLBlast refuses a C stride of 0 even for one product, where no stride is used. */
    const size_t c_stride = batch == 1 ? g->m * g->ldc : g->c_stride;
    st->clblast_used = 1;
    /* CLBlast may run several kernels and hands back the last one's event: a marker before it
     * dates the start for a profile (so the span also holds CLBlast's host work in between, such
     * as the compile on a routine's first call). */
    cl_event start = NULL, end = NULL;
    if (rt->profile) {
        cl_int err = clEnqueueMarkerWithWaitList(rt->queue, 0, NULL, &start);
        if (err != CL_SUCCESS) return cn_cl_fail(e, err, "enqueueing a profiling marker before CLBlast SGEMM");
    }
    CLBlastStatusCode s = cn_fault_hit("cl") ? CLBlastOpenCLOutOfResources
        : CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, g->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                                     g->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, g->m, g->n, g->k, g->alpha,
                                     g->a->mem, g->a_offset, g->lda, g->a_stride, g->b->mem, g->b_offset, g->ldb,
                                     g->b_stride, g->beta, g->c->mem, g->c_offset, g->ldc, c_stride, batch,
                                     &rt->queue, rt->profile ? &end : NULL);
    if (s != CLBlastSuccess) {
        if (start) clReleaseEvent(start);
        return cn_error_set(e, s > -1000 ? CN_ERR_CL : CN_ERR_ARG,
                            "CLBlast SGEMM (%zu x %zu x %zu, batch %zu) failed on device %d: %s (%d)", g->m, g->n,
                            g->k, batch, rt->device.index, clblast_status_name(s), (int)s);
    }
    if (!rt->profile) return CN_OK;
    return cn_profile_record(rt, "clblast_sgemm", start, end, product_flops(g->m, g->n, g->k, batch),
                             product_bytes(g->m, g->n, g->k, batch, g->beta), e);
}

/* ---- the interface ---------------------------------------------------------------------------- */

static cn_status gemm_with(cn_runtime *rt, struct cn_gemm *st, cn_gemm_backend backend, const cn_gemm_args *g,
                           cn_error *e) {
    const size_t batch = g->batch ? g->batch : 1;
    CN_TRY(check_args(g, batch, e));
    if (g->m == 0 || g->n == 0) return CN_OK;
    /* CLBlast refuses k = 0, which is C = beta * C: our kernels handle it. */
    if (backend == CN_GEMM_CLBLAST && gathered(g))
        return cn_error_set(e, CN_ERR_ARG, "gemm: CLBlast does not gather operands (cn_gemm_gathers)");
    if (backend == CN_GEMM_CLBLAST && g->k > 0) return clblast_gemm(rt, st, g, batch, e);
    return own_gemm(rt, st, g, batch, e);
}

cn_status cn_gemm(cn_runtime *rt, const cn_gemm_args *g, cn_error *e) {
    if (!rt->gemm || rt->gemm->backend == CN_GEMM_AUTO) CN_TRY(cn_gemm_select(rt, CN_GEMM_AUTO, e));
    return gemm_with(rt, rt->gemm, rt->gemm->backend, g, e);
}

cn_status cn_gemm_gathers(cn_runtime *rt, int *gathers, cn_error *e) {
    if (!rt->gemm || rt->gemm->backend == CN_GEMM_AUTO) CN_TRY(cn_gemm_select(rt, CN_GEMM_AUTO, e));
    *gathers = rt->gemm->backend == CN_GEMM_OWN && own_variant(rt, rt->gemm).kind == CN_VARIANT_PACKED;
    return CN_OK;
}

cn_gemm_backend cn_gemm_backend_in_use(const cn_runtime *rt) {
    return rt->gemm ? rt->gemm->backend : CN_GEMM_AUTO;
}

const char *cn_gemm_backend_name(cn_gemm_backend b) {
    switch (b) {
    case CN_GEMM_CLBLAST: return "clblast";
    case CN_GEMM_OWN: return "own";
    default: return "auto";
    }
}

static int backend_parse(const char *s, cn_gemm_backend *b) {
    if (strcmp(s, "clblast") == 0) *b = CN_GEMM_CLBLAST;
    else if (strcmp(s, "own") == 0) *b = CN_GEMM_OWN;
    else return 0;
    return 1;
}

/* ---- measurement and its record --------------------------------------------------------------- */


/* The products of a conv layer (64 -> 128 channels, 3x3, 32x32 output, one image) as
 * cn_conv2d runs them (forward NN, backward_data NN, backward_params TN) and an fc forward (NT). */
static const struct {
    int trans_a, trans_b;
    size_t m, n, k;
} probes[] = {{0, 0, 1024, 128, 576}, {0, 0, 1024, 576, 128}, {1, 0, 128, 576, 1024}, {0, 1, 128, 100, 2048}};
#define PROBE_FLOATS ((size_t)1024 * 576) /* the largest operand */

/* Seconds for the probe products, best of 2 each after a warm-up that pays the compiles. */
static cn_status time_backend(cn_runtime *rt, struct cn_gemm *st, cn_gemm_backend backend, cn_buffer *x,
                              double *seconds, cn_error *e) {
    *seconds = 0;
    for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
        const cn_gemm_args g = {.trans_a = probes[i].trans_a, .trans_b = probes[i].trans_b, .m = probes[i].m,
                                .n = probes[i].n, .k = probes[i].k, .alpha = 1.0f,
                                .a = &x[0], .lda = probes[i].trans_a ? probes[i].m : probes[i].k,
                                .b = &x[1], .ldb = probes[i].trans_b ? probes[i].k : probes[i].n,
                                .c = &x[2], .ldc = probes[i].n};
        double best = 1e30;
        for (int r = 0; r < 3; r++) {
            const double t0 = cn_seconds_now();
            CN_TRY(gemm_with(rt, st, backend, &g, e));
            CN_TRY(cn_finish(rt, e));
            const double t = cn_seconds_now() - t0;
            if (r > 0 && t < best) best = t;
        }
        *seconds += best;
    }
    return CN_OK;
}

/* Either backend may fail on some device (a compiler that rejects our kernels, a CLBlast without
 * a kernel for it); the one that works serves, and only both failing is an error. */
static cn_status measure(cn_runtime *rt, struct cn_gemm *st, cn_gemm_backend *choice, cn_error *e) {
    cn_buffer x[3] = {{0}};
    cn_status s = CN_OK;
    for (int i = 0; i < 3 && s == CN_OK; i++) {
        s = cn_buffer_alloc(rt, &x[i], PROBE_FLOATS * sizeof(float), "GEMM measurement", e);
        if (s == CN_OK) s = cn_buffer_fill_f32(rt, &x[i], 0.5f, 0, PROBE_FLOATS, e);
    }
    if (s == CN_OK) {
        double own, clblast;
        cn_error own_error = {0}, clblast_error = {0};
        const int own_ok = time_backend(rt, st, CN_GEMM_OWN, x, &own, &own_error) == CN_OK;
        const int clblast_ok = time_backend(rt, st, CN_GEMM_CLBLAST, x, &clblast, &clblast_error) == CN_OK;
        *choice = clblast_ok && (!own_ok || clblast < own) ? CN_GEMM_CLBLAST : CN_GEMM_OWN;
        if (!own_ok && !clblast_ok)
            s = cn_error_set(e, own_error.status, "no GEMM works on device %d (%s): ours: %s; CLBlast: %s",
                             rt->device.index, rt->device.name, own_error.message, clblast_error.message);
        cn_error_clear(&own_error);
        cn_error_clear(&clblast_error);
    }
    cn_finish(rt, NULL);
    for (int i = 0; i < 3; i++)
        if (x[i].mem) cn_buffer_free(rt, &x[i]);
    return s;
}

/* The record's file: keyed like a program-cache entry on device, driver, options and our kernel
 * source, so a new driver or a changed kernel measures again. */
static int record_path(const cn_runtime *rt, const struct cn_gemm *st, char *path, size_t size) {
    const cn_cl_source *src = cn_cl_source_find("gemm");
    if (!rt->cache_enabled || !src) return 0;
    char options[256];
    snprintf(options, sizeof options, "gemm backend choice %s", st->options);
    cn_program_cache_path(rt, src->text, src->length, options, path, size);
    char *dot = strrchr(path, '.');
    if (!dot || (size_t)(dot - path) + sizeof ".gemm" > size) return 0;
    strcpy(dot, ".gemm");
    return 1;
}

static int record_read(const char *path, cn_gemm_backend *b) {
    char word[32] = "";
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int ok = fscanf(f, "%31s", word) == 1 && backend_parse(word, b);
    fclose(f);
    return ok;
}

/* Written atomically; a failure only costs a measurement next run. */
static void record_write(const char *path, cn_gemm_backend b) {
    char line[32];
    int n = snprintf(line, sizeof line, "%s\n", cn_gemm_backend_name(b));
    cn_atomic_write_file(path, "GEMM choice", line, (size_t)n, NULL);
}

cn_status cn_gemm_select(cn_runtime *rt, cn_gemm_backend backend, cn_error *e) {
    struct cn_gemm *st = NULL;
    CN_TRY(gemm_state(rt, &st, e));
    const char *forced = getenv("COOPNETS_GEMM");
    if (rt->binaries) { /* CLBlast compiles its kernels at run time: binaries-only mode has only ours */
        if (backend == CN_GEMM_CLBLAST || (backend == CN_GEMM_AUTO && forced && strcmp(forced, "clblast") == 0))
            return cn_error_set(e, CN_ERR_ARG,
                                "the CLBlast GEMM cannot run on device %d (%s) with kernel binaries only: CLBlast "
                                "compiles its kernels at run time; our own GEMM is used there",
                                rt->device.index, rt->device.name);
        st->backend = CN_GEMM_OWN;
        return CN_OK;
    }
    if (backend != CN_GEMM_AUTO) {
        st->backend = backend;
        return CN_OK;
    }
    if (forced && *forced) {
        if (!backend_parse(forced, &st->backend))
            return cn_error_set(e, CN_ERR_ARG, "COOPNETS_GEMM must be \"clblast\" or \"own\", not \"%s\"", forced);
        return CN_OK;
    }
    /* A tuned (or given) variant names the backend too: the tuning database supersedes the record. */
    cn_variant_origin origin;
    const cn_kernel_variant tuned = cn_tuning_variant(rt, CN_TUNED_GEMM, &origin);
    if (origin != CN_VARIANT_FROM_HEURISTIC) {
        st->backend = tuned.kind == CN_VARIANT_CLBLAST ? CN_GEMM_CLBLAST : CN_GEMM_OWN;
        return CN_OK;
    }
    own_variant(rt, st); /* the record is keyed on the heuristic's block sizes */
    char path[1100];
    const int recorded = record_path(rt, st, path, sizeof path);
    cn_gemm_backend choice = CN_GEMM_OWN;
    if (recorded && record_read(path, &choice)) {
        st->backend = choice;
        return CN_OK;
    }
    CN_TRY(measure(rt, st, &choice, e));
    st->backend = choice;
    if (recorded) record_write(path, choice);
    return CN_OK;
}

cn_status cn_gemm_program(cn_runtime *rt, cn_error *e) {
    struct cn_gemm *st = NULL;
    CN_TRY(gemm_state(rt, &st, e));
    own_variant(rt, st);
    cl_program p;
    return cn_program_get(rt, "gemm", st->options, &p, e);
}
