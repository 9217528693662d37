/* Our own SGEMM: C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b], row-major, b = get_global_id(2).
 * No local memory, no barriers: PoCL vectorises each work-item's own vector code, and this beats
 * CLBlast on PoCL by several times (DESIGN §4). Block sizes are build options.
 *
 * Tile kernels (NN, TN, TT): each
 * work-item owns a CN_GEMM_TM x CN_GEMM_TN tile of C in TM vectors of TN floats and streams K:
 * per k it loads TM values of op(A), one TN-wide row of op(B), and does TM vector FMAs. With
 * TM = 6, TN = 16 the 12 accumulators, the B row and the broadcast fit AVX2's 16 registers.
 * "full" kernels cover whole tiles only and test no bounds; "edge" kernels cover the partial tiles
 * at the right and bottom borders, clamping their loads into the matrix and storing only inside.
 *
 * Dot kernel (NT, where rows of A and of B^T both run along K): each work-item owns a
 * CN_GEMM_DM x CN_GEMM_DN block of C and keeps one CN_GEMM_DV-wide partial sum per entry,
 * loading DM + DN contiguous vectors per DV steps of K; the partial sums are added in a fixed
 * order at the end (deterministic). Edges clamp their loads, so one kernel covers everything.
 *
 * Local-memory kernels (cn_gemm_local_*, any transposes): the GPU-shaped variant. A work-group of
 * CN_GEMM_LT x CN_GEMM_LT/CN_GEMM_LW work-items computes an LT x LT tile of C, each work-item LW
 * entries of one column (rows ty, ty + LT/LW, ...). Per step of LT along K the group stages LT x LT
 * of op(A) and of op(B) in local memory (zero outside the matrices, so edges need no other kernel),
 * then each work-item accumulates from there: LT-fold reuse of every global load. K runs in
 * ascending order for every entry, so results are reproducible. Slower on PoCL (barriers), meant
 * for devices with real local memory; `coopnets_cl tune` measures which wins.
 *
 * The tile, dot and local kernels take the same arguments; the tile kernels work on the region
 * [row_begin, row_end) x [col_begin, col_end) of C. Global dims 0 and 1 run over the tiles along
 * n and m, or m and n when `rows_first`: neighbouring work-items share the operand panel of the
 * slower dimension, so the host picks the order that re-reads the smaller operand. */

#ifndef CN_GEMM_TM
#define CN_GEMM_TM 6
#endif
#ifndef CN_GEMM_TN
#define CN_GEMM_TN 16 /* an OpenCL vector width: 4, 8 or 16 */
#endif
#ifndef CN_GEMM_DM
#define CN_GEMM_DM 3
#endif
#ifndef CN_GEMM_DN
#define CN_GEMM_DN 4
#endif
#ifndef CN_GEMM_DV
#define CN_GEMM_DV 8 /* an OpenCL vector width: 4, 8 or 16 */
#endif

#ifndef CN_GEMM_LT
#define CN_GEMM_LT 16
#endif
#ifndef CN_GEMM_LW
#define CN_GEMM_LW 4 /* divides CN_GEMM_LT */
#endif
#define CN_GEMM_LR (CN_GEMM_LT / CN_GEMM_LW) /* work-group rows of the local kernels */

#ifdef __clang__
/* float16 values passed between inlined functions: the x86 ABI note about AVX-512 is moot. */
#pragma clang diagnostic ignored "-Wpsabi"
#endif

#define CN_CAT_(a, b) a##b
#define CN_CAT(a, b) CN_CAT_(a, b)
#define floatTN CN_CAT(float, CN_GEMM_TN)
#define vloadTN CN_CAT(vload, CN_GEMM_TN)
#define vstoreTN CN_CAT(vstore, CN_GEMM_TN)
#define floatDV CN_CAT(float, CN_GEMM_DV)
#define vloadDV CN_CAT(vload, CN_GEMM_DV)
#define vstoreDV CN_CAT(vstore, CN_GEMM_DV)
/* Loops over tile rows and columns must unroll, or the accumulators live in memory (3x slower). */
#define CN_UNROLLED _Pragma("unroll")

#define CN_GEMM_ARGS                                                                                  \
    const ulong m, const ulong n, const ulong k, const float alpha, const float beta,                 \
        __global const float *a, const ulong a_offset, const ulong lda, const ulong a_stride,         \
        __global const float *b, const ulong b_offset, const ulong ldb, const ulong b_stride,         \
        __global float *c, const ulong c_offset, const ulong ldc, const ulong c_stride,               \
        const ulong row_begin, const ulong col_begin, const ulong row_end, const ulong col_end,       \
        const int rows_first

/* op(A)[row, kk] for A stored as is (N) or transposed (T). */
#define CN_A_N(a, lda, row, kk) (a)[(row) * (lda) + (kk)]
#define CN_A_T(a, lda, row, kk) (a)[(kk) * (lda) + (row)]

/* One TN-wide row of op(B) at kk from column col0: a vector load when B is not transposed and the
 * tile is whole, else gathered element by element (clamp, a constant after inlining, keeps edge
 * tiles inside the matrix). */
static inline floatTN cn_gemm_b_row_gather(__global const float *b, size_t ldb, size_t kk, size_t col0, size_t n,
                                           int transposed, int clamp) {
    float row[CN_GEMM_TN];
    CN_UNROLLED for (size_t j = 0; j < CN_GEMM_TN; j++) {
        const size_t col = clamp ? min(col0 + j, n - 1) : col0 + j;
        row[j] = transposed ? b[col * ldb + kk] : b[kk * ldb + col];
    }
    return vloadTN(0, row);
}
static inline floatTN cn_gemm_b_row_n(__global const float *b, size_t ldb, size_t kk, size_t col0, size_t n) {
    return vloadTN(0, b + kk * ldb + col0);
}
static inline floatTN cn_gemm_b_row_t(__global const float *b, size_t ldb, size_t kk, size_t col0, size_t n) {
    return cn_gemm_b_row_gather(b, ldb, kk, col0, n, 1, 0);
}
static inline floatTN cn_gemm_b_row_n_edge(__global const float *b, size_t ldb, size_t kk, size_t col0, size_t n) {
    return cn_gemm_b_row_gather(b, ldb, kk, col0, n, 0, 1);
}
static inline floatTN cn_gemm_b_row_t_edge(__global const float *b, size_t ldb, size_t kk, size_t col0, size_t n) {
    return cn_gemm_b_row_gather(b, ldb, kk, col0, n, 1, 1);
}

/* c = alpha * value + beta * c, never reading c when beta is 0 (it may hold garbage). */
static inline float cn_gemm_blend(float alpha, float value, float beta, __global const float *c) {
    return beta != 0.0f ? fma(beta, *c, alpha * value) : alpha * value;
}

#define CN_GEMM_TILE_KERNEL(NAME, A_AT, B_ROW, EDGE)                                                          \
    __kernel void NAME(CN_GEMM_ARGS) {                                                                        \
        const size_t id0 = get_global_id(0), id1 = get_global_id(1);                                         \
        const size_t col0 = col_begin + (rows_first ? id1 : id0) * CN_GEMM_TN;                                \
        const size_t row0 = row_begin + (rows_first ? id0 : id1) * CN_GEMM_TM;                                \
        if (col0 >= col_end || row0 >= row_end) return;                                                       \
        const size_t batch = get_global_id(2);                                                                \
        a += a_offset + batch * a_stride;                                                                     \
        b += b_offset + batch * b_stride;                                                                     \
        c += c_offset + batch * c_stride;                                                                     \
        size_t rows[CN_GEMM_TM];                                                                              \
        floatTN acc[CN_GEMM_TM];                                                                              \
        CN_UNROLLED for (size_t i = 0; i < CN_GEMM_TM; i++) {                                                 \
            rows[i] = EDGE ? min(row0 + i, (size_t)m - 1) : row0 + i;                                         \
            acc[i] = (floatTN)(0.0f);                                                                         \
        }                                                                                                     \
        for (size_t kk = 0; kk < k; kk++) {                                                                   \
            const floatTN brow = B_ROW(b, ldb, kk, col0, n);                                                  \
            CN_UNROLLED for (size_t i = 0; i < CN_GEMM_TM; i++)                                               \
                acc[i] = fma((floatTN)(A_AT(a, lda, rows[i], kk)), brow, acc[i]);                             \
        }                                                                                                     \
        CN_UNROLLED for (size_t i = 0; i < CN_GEMM_TM; i++) {                                                 \
            __global float *crow = c + (row0 + i) * ldc + col0;                                               \
            if (!EDGE) {                                                                                      \
                floatTN r = alpha * acc[i];                                                                   \
                if (beta != 0.0f) r = fma((floatTN)(beta), vloadTN(0, crow), r);                             \
                vstoreTN(r, 0, crow);                                                                         \
            } else if (row0 + i < m) {                                                                        \
                float out[CN_GEMM_TN];                                                                        \
                vstoreTN(acc[i], 0, out);                                                                     \
                for (size_t j = 0; j < CN_GEMM_TN && col0 + j < n; j++)                                       \
                    crow[j] = cn_gemm_blend(alpha, out[j], beta, crow + j);                                   \
            }                                                                                                 \
        }                                                                                                     \
    }

CN_GEMM_TILE_KERNEL(cn_gemm_tile_nn, CN_A_N, cn_gemm_b_row_n, 0)
CN_GEMM_TILE_KERNEL(cn_gemm_tile_tn, CN_A_T, cn_gemm_b_row_n, 0)
CN_GEMM_TILE_KERNEL(cn_gemm_tile_tt, CN_A_T, cn_gemm_b_row_t, 0)
CN_GEMM_TILE_KERNEL(cn_gemm_tile_edge_nn, CN_A_N, cn_gemm_b_row_n_edge, 1)
CN_GEMM_TILE_KERNEL(cn_gemm_tile_edge_tn, CN_A_T, cn_gemm_b_row_n_edge, 1)
CN_GEMM_TILE_KERNEL(cn_gemm_tile_edge_tt, CN_A_T, cn_gemm_b_row_t_edge, 1)

static inline float cn_gemm_sum_lanes(floatDV v) {
    float lanes[CN_GEMM_DV];
    vstoreDV(v, 0, lanes);
    float s = 0.0f;
    CN_UNROLLED for (int i = 0; i < CN_GEMM_DV; i++) s += lanes[i];
    return s;
}

__kernel void cn_gemm_dot_nt(CN_GEMM_ARGS) {
    const size_t id0 = get_global_id(0), id1 = get_global_id(1); /* get_global_id(variable) breaks PoCL */
    const size_t col0 = (rows_first ? id1 : id0) * CN_GEMM_DN;
    const size_t row0 = (rows_first ? id0 : id1) * CN_GEMM_DM;
    if (col0 >= n || row0 >= m) return;
    const size_t batch = get_global_id(2);
    a += a_offset + batch * a_stride;
    b += b_offset + batch * b_stride;
    c += c_offset + batch * c_stride;
    __global const float *arow[CN_GEMM_DM], *brow[CN_GEMM_DN];
    CN_UNROLLED for (size_t i = 0; i < CN_GEMM_DM; i++) arow[i] = a + min(row0 + i, (size_t)m - 1) * lda;
    CN_UNROLLED for (size_t j = 0; j < CN_GEMM_DN; j++) brow[j] = b + min(col0 + j, (size_t)n - 1) * ldb;
    floatDV acc[CN_GEMM_DM][CN_GEMM_DN];
    CN_UNROLLED for (size_t i = 0; i < CN_GEMM_DM; i++)
        CN_UNROLLED for (size_t j = 0; j < CN_GEMM_DN; j++) acc[i][j] = (floatDV)(0.0f);
    const size_t k_vectors = k / CN_GEMM_DV * CN_GEMM_DV;
    for (size_t kk = 0; kk < k_vectors; kk += CN_GEMM_DV) {
        floatDV av[CN_GEMM_DM], bv[CN_GEMM_DN];
        CN_UNROLLED for (size_t i = 0; i < CN_GEMM_DM; i++) av[i] = vloadDV(0, arow[i] + kk);
        CN_UNROLLED for (size_t j = 0; j < CN_GEMM_DN; j++) bv[j] = vloadDV(0, brow[j] + kk);
        CN_UNROLLED for (size_t i = 0; i < CN_GEMM_DM; i++)
            CN_UNROLLED for (size_t j = 0; j < CN_GEMM_DN; j++) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    CN_UNROLLED for (size_t i = 0; i < CN_GEMM_DM; i++) {
        CN_UNROLLED for (size_t j = 0; j < CN_GEMM_DN; j++) {
            if (row0 + i >= m || col0 + j >= n) continue;
            float s = cn_gemm_sum_lanes(acc[i][j]);
            for (size_t kk = k_vectors; kk < k; kk++) s = fma(arow[i][kk], brow[j][kk], s);
            __global float *out = c + (row0 + i) * ldc + col0 + j;
            *out = cn_gemm_blend(alpha, s, beta, out);
        }
    }
}

/* c[i][j] = alpha * sum over q of partials[q][i][j] + beta * c[i][j], q in ascending order: the
 * deterministic end of a product split along K into `parts` dot products (src/nn/gemm.c's
 * own_gemm_split_k). global = (>= n, >= m). */
__kernel void cn_gemm_sum_partials(const ulong m, const ulong n, const ulong parts, __global const float *partials,
                                   const float alpha, const float beta, __global float *c, const ulong c_offset,
                                   const ulong ldc) {
    const size_t j = get_global_id(0), i = get_global_id(1);
    if (i >= m || j >= n) return;
    float s = 0.0f;
    for (size_t q = 0; q < parts; q++) s += partials[(q * m + i) * n + j];
    __global float *out = c + c_offset + i * ldc + j;
    *out = cn_gemm_blend(alpha, s, beta, out);
}

/* op(B)[kk, col] for B stored as is (N) or transposed (T). */
#define CN_B_N(b, ldb, kk, col) (b)[(kk) * (ldb) + (col)]
#define CN_B_T(b, ldb, kk, col) (b)[(col) * (ldb) + (kk)]

#define CN_GEMM_LOCAL_KERNEL(NAME, A_AT, B_AT)                                                              \
    __kernel __attribute__((reqd_work_group_size(CN_GEMM_LT, CN_GEMM_LR, 1))) void NAME(CN_GEMM_ARGS) {     \
        __local float a_tile[CN_GEMM_LT][CN_GEMM_LT], b_tile[CN_GEMM_LT][CN_GEMM_LT];                       \
        const size_t tx = get_local_id(0), ty = get_local_id(1);                                            \
        const size_t col = get_group_id(0) * CN_GEMM_LT + tx, tile_row = get_group_id(1) * CN_GEMM_LT;      \
        const size_t batch = get_global_id(2);                                                              \
        a += a_offset + batch * a_stride;                                                                   \
        b += b_offset + batch * b_stride;                                                                   \
        c += c_offset + batch * c_stride;                                                                   \
        float acc[CN_GEMM_LW];                                                                              \
        CN_UNROLLED for (size_t w = 0; w < CN_GEMM_LW; w++) acc[w] = 0.0f;                                 \
        for (size_t k0 = 0; k0 < k; k0 += CN_GEMM_LT) {                                                     \
            CN_UNROLLED for (size_t w = 0; w < CN_GEMM_LW; w++) {                                           \
                const size_t r = ty + w * CN_GEMM_LR, row = tile_row + r;                                   \
                a_tile[r][tx] = row < m && k0 + tx < k ? A_AT(a, lda, row, k0 + tx) : 0.0f;                 \
                b_tile[r][tx] = k0 + r < k && col < n ? B_AT(b, ldb, k0 + r, col) : 0.0f;                   \
            }                                                                                               \
            barrier(CLK_LOCAL_MEM_FENCE);                                                                   \
            CN_UNROLLED for (size_t kk = 0; kk < CN_GEMM_LT; kk++) {                                        \
                const float bv = b_tile[kk][tx];                                                            \
                CN_UNROLLED for (size_t w = 0; w < CN_GEMM_LW; w++)                                         \
                    acc[w] = fma(a_tile[ty + w * CN_GEMM_LR][kk], bv, acc[w]);                              \
            }                                                                                               \
            barrier(CLK_LOCAL_MEM_FENCE);                                                                   \
        }                                                                                                   \
        if (col >= n) return;                                                                               \
        CN_UNROLLED for (size_t w = 0; w < CN_GEMM_LW; w++) {                                               \
            const size_t row = tile_row + ty + w * CN_GEMM_LR;                                              \
            if (row < m) {                                                                                  \
                __global float *out = c + row * ldc + col;                                                  \
                *out = cn_gemm_blend(alpha, acc[w], beta, out);                                             \
            }                                                                                               \
        }                                                                                                   \
    }

CN_GEMM_LOCAL_KERNEL(cn_gemm_local_nn, CN_A_N, CN_B_N)
CN_GEMM_LOCAL_KERNEL(cn_gemm_local_nt, CN_A_N, CN_B_T)
CN_GEMM_LOCAL_KERNEL(cn_gemm_local_tn, CN_A_T, CN_B_N)
CN_GEMM_LOCAL_KERNEL(cn_gemm_local_tt, CN_A_T, CN_B_T)

/* Packed kernels (any transposes): the host copies op(A) and op(B) block by block of K into
 * panels (cn_gemm_pack_a_*, cn_gemm_pack_b_*), and cn_gemm_packed multiplies panel by panel.
 * A panel holds CN_GEMM_PM rows of op(A) as [k][PM], a B panel CN_GEMM_PN columns of op(B) as
 * [k][PN], zero beyond the matrix: the product kernel reads both as one contiguous stream each,
 * whatever the transposes and leading dimensions were (a power-of-two ld otherwise maps every k
 * step of a panel to one cache set), and has no edge cases but its stores. Each work-item keeps a
 * PM x PN tile in PM x PN/PV vectors of CN_GEMM_PV floats: per k, PN/PV vector loads of the B panel,
 * PM broadcasts of the A panel, PM x PN/PV FMAs, K in ascending order (reproducible). */
#ifndef CN_GEMM_PM
#define CN_GEMM_PM 14
#endif
#ifndef CN_GEMM_PN
#define CN_GEMM_PN 32
#endif
#ifndef CN_GEMM_PV
#define CN_GEMM_PV 16 /* an OpenCL vector width (4, 8 or 16) that divides CN_GEMM_PN */
#endif
#define CN_GEMM_PNV (CN_GEMM_PN / CN_GEMM_PV)
#define floatPV CN_CAT(float, CN_GEMM_PV)
#define vloadPV CN_CAT(vload, CN_GEMM_PV)
#define vstorePV CN_CAT(vstore, CN_GEMM_PV)

/* Packing: dst[panel][kk][j] = Y[kk][panel * WIDTH + j], 0 where that column is past `cols`, for
 * Y = op(B) (k x n, panels of PN) or Y = op(A)^T (k x m, panels of PM). Y[kk][col] is
 * CN_B_N(src, ld, kk, col) when the source runs along the columns (B as is, A transposed) and
 * CN_B_T when it runs along K (B transposed, A as is). Each work-item copies CN_GEMM_PACK_K steps
 * of K of one panel: a contiguous run of WIDTH * PACK_K floats of dst; in whole runs each step's
 * WIDTH floats are unrolled, so the compiler turns them into vector moves. Global dims: 0 over the
 * runs along K, 1 over the panels. */
#ifndef CN_GEMM_PACK_K
#define CN_GEMM_PACK_K 128 /* the host passes its own */
#endif
#define CN_GEMM_PACK_KERNEL(NAME, WIDTH, Y_AT)                                                              \
    __kernel void NAME(const ulong k, const ulong cols, __global const float *src, const ulong offset,     \
                       const ulong ld, __global float *dst) {                                              \
        const size_t kk0 = get_global_id(0) * CN_GEMM_PACK_K, panel = get_global_id(1);                    \
        const size_t col0 = panel * WIDTH;                                                                 \
        if (kk0 >= k || col0 >= cols) return; /* past the rounded-up global size */                       \
        src += offset;                                                                                     \
        dst += (panel * k + kk0) * WIDTH;                                                                  \
        if (kk0 + CN_GEMM_PACK_K <= k && col0 + WIDTH <= cols) {                                           \
            for (size_t t = 0; t < CN_GEMM_PACK_K; t++)                                                    \
                CN_UNROLLED for (size_t j = 0; j < WIDTH; j++)                                             \
                    dst[t * WIDTH + j] = Y_AT(src, ld, kk0 + t, col0 + j);                                 \
            return;                                                                                        \
        }                                                                                                  \
        for (size_t t = 0; t < CN_GEMM_PACK_K && kk0 + t < k; t++)                                         \
            for (size_t j = 0; j < WIDTH; j++)                                                             \
                dst[t * WIDTH + j] = col0 + j < cols ? Y_AT(src, ld, kk0 + t, col0 + j) : 0.0f;            \
    }

CN_GEMM_PACK_KERNEL(cn_gemm_pack_a_n, CN_GEMM_PM, CN_B_T)
CN_GEMM_PACK_KERNEL(cn_gemm_pack_a_t, CN_GEMM_PM, CN_B_N)
CN_GEMM_PACK_KERNEL(cn_gemm_pack_b_n, CN_GEMM_PN, CN_B_N)
CN_GEMM_PACK_KERNEL(cn_gemm_pack_b_t, CN_GEMM_PN, CN_B_T)

/* Gathered packing: the conv lowering's matrices read where they lie, so that neither a column
 * matrix nor a transposed copy is written out (cn_gemm_layout). Row r of either matrix is output
 * pixel p = r mod P of image b = r / P, images counted from `offset`:
 *   pixels   [images * P][channels] of an NCHW tensor t: entry (r, q) is t[b][q][p];
 *   patches  [images * P][channels * k_h * k_w], im2col of an NCHW input x: entry (r, q), q = the
 *            tap (c, i, j), is x[b][c][oy * stride - pad_top + i][ox * stride - pad_left + j] for
 *            p = (oy, ox), zero outside the image.
 * They write the panels cn_gemm_pack_* write, with the block's origin (r0, q0) in the stored matrix
 * in place of an offset and a leading dimension: the _a_n kernels pack op(A) = A, panels across
 * its rows (Y[kk][col] = S(r0 + col, q0 + kk)); _a_t and _b_n pack op(A) = A^T or op(B) = B,
 * panels across its columns (Y[kk][col] = S(r0 + kk, q0 + col)). Indices stay below 2^32. */
#define CN_GATHER_ARGS                                                                                       \
    const ulong k, const ulong cols, __global const float *src, const ulong offset, const ulong r0,           \
        const ulong q0, __global float *dst, const uint channels, const uint pixels, const uint out_w,         \
        const uint in_h, const uint in_w, const uint k_h, const uint k_w, const uint stride, const int pad_top, \
        const int pad_left

/* The panel a packing work-item writes into and the steps of K it copies; returns 0 past the end. */
#define CN_GATHER_BEGIN(WIDTH)                                                                               \
    const size_t kk0 = get_global_id(0) * CN_GEMM_PACK_K, panel = get_global_id(1), col0 = panel * (WIDTH);   \
    if (kk0 >= k || col0 >= cols) return;                                                                    \
    src += offset;                                                                                           \
    dst += (panel * k + kk0) * (WIDTH);                                                                      \
    const uint steps = (uint)min((size_t)CN_GEMM_PACK_K, k - kk0);

/* Output pixel r of a patches matrix: its image's first float and its window's top-left corner. */
static inline void cn_gather_window(uint r, uint pixels, uint out_w, uint image_floats, uint stride, int pad_top,
                                    int pad_left, uint *image, int *y0, int *x0) {
    const uint b = r / pixels, p = r - b * pixels, oy = p / out_w;
    *image = b * image_floats;
    *y0 = (int)(oy * stride) - pad_top;
    *x0 = (int)((p - oy * out_w) * stride) - pad_left;
}

/* Tap q = (c, i, j) of a patches matrix: channel c's offset in the image, and the tap (i, j). */
static inline void cn_gather_tap(uint q, uint k_h, uint k_w, uint plane, uint *channel, int *i, int *j) {
    const uint taps = k_h * k_w, c = q / taps, t = q - c * taps, row = t / k_w;
    *channel = c * plane;
    *i = (int)row;
    *j = (int)(t - row * k_w);
}

static inline float cn_gather_patch(__global const float *x, uint image, uint channel, int y, int xx, uint in_h,
                                    uint in_w) {
    const bool inside = y >= 0 && y < (int)in_h && xx >= 0 && xx < (int)in_w;
    return inside ? x[image + channel + (uint)y * in_w + (uint)xx] : 0.0f;
}

__kernel void cn_gemm_pack_a_n_pixels(CN_GATHER_ARGS) {
    CN_GATHER_BEGIN(CN_GEMM_PM)
    uint at[CN_GEMM_PM]; /* entry (r, q0 + kk0) of each column's pixel r */
    CN_UNROLLED for (uint j = 0; j < CN_GEMM_PM; j++) {
        const uint r = (uint)(r0 + min(col0 + j, (size_t)cols - 1)), b = r / pixels;
        at[j] = (b * channels + (uint)(q0 + kk0)) * pixels + (r - b * pixels);
    }
    for (uint t = 0; t < steps; t++)
        CN_UNROLLED for (uint j = 0; j < CN_GEMM_PM; j++)
            dst[t * CN_GEMM_PM + j] = col0 + j < cols ? src[at[j] + t * pixels] : 0.0f;
}

__kernel void cn_gemm_pack_a_t_pixels(CN_GATHER_ARGS) {
    CN_GATHER_BEGIN(CN_GEMM_PM)
    for (uint t = 0; t < steps; t++) {
        const uint r = (uint)(r0 + kk0 + t), b = r / pixels;
        const uint at = (b * channels + (uint)(q0 + col0)) * pixels + (r - b * pixels);
        CN_UNROLLED for (uint j = 0; j < CN_GEMM_PM; j++)
            dst[t * CN_GEMM_PM + j] = col0 + j < cols ? src[at + j * pixels] : 0.0f;
    }
}

/* A patches matrix as op(A) = A, for a conv with no padding whose windows lie inside its images
 * (the host pads the input beforehand): nothing to check at the edges. Steps of K walk the taps
 * (c, i, j) in order. */
__kernel void cn_gemm_pack_a_n_patches(CN_GATHER_ARGS) {
    CN_GATHER_BEGIN(CN_GEMM_PM)
    const uint plane = in_h * in_w;
    uint corner[CN_GEMM_PM]; /* each column's window: its image and top-left entry */
    CN_UNROLLED for (uint j = 0; j < CN_GEMM_PM; j++) {
        uint image;
        int y0, x0;
        cn_gather_window((uint)(r0 + min(col0 + j, (size_t)cols - 1)), pixels, out_w, channels * plane, stride, 0,
                         0, &image, &y0, &x0);
        corner[j] = image + (uint)y0 * in_w + (uint)x0;
    }
    uint channel;
    int i, jj;
    cn_gather_tap((uint)(q0 + kk0), k_h, k_w, plane, &channel, &i, &jj);
    for (uint t = 0; t < steps; t++) {
        const uint tap = channel + (uint)i * in_w + (uint)jj;
        CN_UNROLLED for (uint j = 0; j < CN_GEMM_PM; j++)
            dst[t * CN_GEMM_PM + j] = col0 + j < cols ? src[corner[j] + tap] : 0.0f;
        if (++jj == (int)k_w) {
            jj = 0;
            if (++i == (int)k_h) i = 0, channel += plane;
        }
    }
}

__kernel void cn_gemm_pack_b_n_patches(CN_GATHER_ARGS) {
    CN_GATHER_BEGIN(CN_GEMM_PN)
    const uint plane = in_h * in_w;
    uint channel[CN_GEMM_PN];
    int ti[CN_GEMM_PN], tj[CN_GEMM_PN];
    CN_UNROLLED for (uint j = 0; j < CN_GEMM_PN; j++)
        cn_gather_tap((uint)(q0 + min(col0 + j, (size_t)cols - 1)), k_h, k_w, plane, &channel[j], &ti[j], &tj[j]);
    for (uint t = 0; t < steps; t++) {
        uint image;
        int y0, x0;
        cn_gather_window((uint)(r0 + kk0 + t), pixels, out_w, channels * plane, stride, pad_top, pad_left, &image,
                         &y0, &x0);
        CN_UNROLLED for (uint j = 0; j < CN_GEMM_PN; j++) {
            const float v = cn_gather_patch(src, image, channel[j], y0 + ti[j], x0 + tj[j], in_h, in_w);
            dst[t * CN_GEMM_PN + j] = col0 + j < cols ? v : 0.0f;
        }
    }
}

/* C = alpha * op(A) op(B) + beta * C for an m x n block of C starting at c_offset, from the
 * panels of one block of K; global dims 0 and 1 over the B and A panels (A first when rows_first). */
__kernel void cn_gemm_packed(const ulong m, const ulong n, const ulong k, const float alpha, const float beta,
                             __global const float *a_panels, __global const float *b_panels, __global float *c,
                             const ulong c_offset, const ulong ldc, const int rows_first) {
    const size_t id0 = get_global_id(0), id1 = get_global_id(1);
    const size_t col_panel = rows_first ? id1 : id0, row_panel = rows_first ? id0 : id1;
    const size_t row0 = row_panel * CN_GEMM_PM, col0 = col_panel * CN_GEMM_PN;
    if (row0 >= m || col0 >= n) return;
    __global const float *ap = a_panels + row_panel * CN_GEMM_PM * k;
    __global const float *bp = b_panels + col_panel * CN_GEMM_PN * k;
    floatPV acc[CN_GEMM_PM][CN_GEMM_PNV];
    CN_UNROLLED for (size_t i = 0; i < CN_GEMM_PM; i++)
        CN_UNROLLED for (size_t v = 0; v < CN_GEMM_PNV; v++) acc[i][v] = (floatPV)(0.0f);
    for (size_t kk = 0; kk < k; kk++, ap += CN_GEMM_PM, bp += CN_GEMM_PN) {
        floatPV bv[CN_GEMM_PNV];
        CN_UNROLLED for (size_t v = 0; v < CN_GEMM_PNV; v++) bv[v] = vloadPV(v, bp);
        CN_UNROLLED for (size_t i = 0; i < CN_GEMM_PM; i++) {
            const floatPV av = (floatPV)(ap[i]);
            CN_UNROLLED for (size_t v = 0; v < CN_GEMM_PNV; v++) acc[i][v] = fma(av, bv[v], acc[i][v]);
        }
    }
    c += c_offset + row0 * ldc + col0;
    const int whole = row0 + CN_GEMM_PM <= m && col0 + CN_GEMM_PN <= n;
    CN_UNROLLED for (size_t i = 0; i < CN_GEMM_PM; i++) {
        __global float *crow = c + i * ldc;
        CN_UNROLLED for (size_t v = 0; v < CN_GEMM_PNV; v++) {
            if (whole) {
                floatPV r = alpha * acc[i][v];
                if (beta != 0.0f) r = fma((floatPV)(beta), vloadPV(v, crow), r);
                vstorePV(r, v, crow);
            } else if (row0 + i < m) {
                float out[CN_GEMM_PV];
                vstorePV(acc[i][v], 0, out);
                for (size_t j = 0; j < CN_GEMM_PV && col0 + v * CN_GEMM_PV + j < n; j++)
                    crow[v * CN_GEMM_PV + j] = cn_gemm_blend(alpha, out[j], beta, crow + v * CN_GEMM_PV + j);
            }
        }
    }
}
