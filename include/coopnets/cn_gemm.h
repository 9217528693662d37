/* cn_gemm: single-precision matrix products on the runtime's queue, behind one interface with two
 * implementations (DESIGN §6): CLBlast, and our own kernels (cl/gemm.cl), which are several times
 * faster on PoCL. Each device gets the faster, chosen by measurement and recorded next to the
 * program cache, so later runs (and resumes) use the same one and get the same bits. */
#ifndef CN_GEMM_H
#define CN_GEMM_H

#include <stddef.h>

#include "coopnets/cn_error.h"
#include "coopnets/cn_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { CN_GEMM_AUTO, CN_GEMM_CLBLAST, CN_GEMM_OWN } cn_gemm_backend;

struct cn_conv2d_shape;

/* How an operand of a product is stored. Besides row-major with a leading dimension, two matrices
 * of a convolution's lowering (cn_conv2d.h) can be read where they lie in NCHW tensors, so that
 * neither a column matrix nor a transposed copy is written out: row r of either is output pixel
 * p = r mod P of image r / P (P = out_h * out_w of the conv), images counted from the operand's
 * offset; its leading dimension is not used.
 *   CN_GEMM_PIXELS   [images * P][out_c]: the conv's output (or its gradient) [images][out_c][P],
 *                    entry (r, q) at image r / P, channel q, pixel p
 *   CN_GEMM_PATCHES  [images * P][in_c * k_h * k_w]: im2col of the conv's input
 *                    [images][in_c][in_h][in_w], entry (r, q) the input under tap q = (c, i, j) of
 *                    output pixel p's window, zero in the padding
 * Only our packed kernels gather (cn_gemm_gathers), one product at a time (batch 1), and only
 * what the conv's passes need: A as PIXELS (either way) or as PATCHES (not transposed, of a conv
 * without padding whose windows lie inside its input: the caller pads the input beforehand, so
 * the forward pass's gather has no edges to check), B as PATCHES (not transposed); C stays
 * row-major. */
typedef enum { CN_GEMM_ROW_MAJOR, CN_GEMM_PIXELS, CN_GEMM_PATCHES } cn_gemm_layout;

/* C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b], row-major, b in [0, batch). op(A) is m x k,
 * op(B) is k x n, C is m x n. Offsets, leading dimensions and strides count floats. With beta = 0,
 * C is not read (it may hold anything). A stride of 0 shares that operand across the batch
 * (not allowed for C when batch > 1). */
typedef struct cn_gemm_args {
    int trans_a, trans_b;
    size_t m, n, k;
    float alpha, beta;
    const cn_buffer *a; size_t a_offset, lda, a_stride;
    const cn_buffer *b; size_t b_offset, ldb, b_stride;
    cn_buffer *c; size_t c_offset, ldc, c_stride;
    size_t batch; /* 0 is treated as 1 */
    cn_gemm_layout a_layout, b_layout; /* CN_GEMM_ROW_MAJOR (0) unless set */
    const struct cn_conv2d_shape *conv; /* the conv of the gathered layouts */
} cn_gemm_args;

/* Enqueues the product (never waits). Checks the shapes against the buffers' sizes first: a bad
 * leading dimension or a product that would read or write past a buffer is CN_ERR_ARG. */
cn_status cn_gemm(cn_runtime *rt, const cn_gemm_args *g, cn_error *e);

/* Whether products on rt gather (the layouts above): our packed kernels do, CLBlast and our other
 * variants do not. Chooses the backend first if that is not done yet (cn_gemm_select). */
cn_status cn_gemm_gathers(cn_runtime *rt, int *gathers, cn_error *e);

/* Chooses the backend for this device. A runtime with kernel binaries only (cn_runtime_options
 * .binaries) always uses ours: CLBlast compiles at run time, so asking for it there is CN_ERR_ARG.
 * CN_GEMM_AUTO: the environment variable
 * COOPNETS_GEMM=clblast|own if set; else the gemm entry of the tuning database (cn_tuning.h: a
 * clblast entry or one of our variants); else the choice recorded for this device, driver and kernel
 * source in the runtime's cache folder; else it times CLBlast against our kernels on a few
 * conv-like shapes (< 2 s with a warm PoCL cache), keeps the faster and records it. The choice
 * lives in rt->gemm (freed by rt->gemm_release) and is made on the first cn_gemm if not before. */
cn_status cn_gemm_select(cn_runtime *rt, cn_gemm_backend backend, cn_error *e);
/* CN_GEMM_CLBLAST or CN_GEMM_OWN once chosen; CN_GEMM_AUTO before. */
cn_gemm_backend cn_gemm_backend_in_use(const cn_runtime *rt);
/* Builds (or loads) the program of our GEMM kernels with the block sizes of the variant in use
 * (cn_tuning: the tuning database, else the heuristic), as a run's
 * first product does, so that `kernels --export` writes what a run needs. */
cn_status cn_gemm_program(cn_runtime *rt, cn_error *e);
const char *cn_gemm_backend_name(cn_gemm_backend b); /* "auto", "clblast", "own" */

#ifdef __cplusplus
}
#endif
#endif
