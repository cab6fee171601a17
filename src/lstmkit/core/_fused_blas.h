/* _fused_blas.h — the BLAS NumPy already loaded, found at run time (so the extension has no
 * link-time BLAS dependency), and the weight-gradient GEMMs after BPTT on our own threads.
 *
 * Where it looks: the shared libraries mapped into this process (Linux: dl_iterate_phdr;
 * macOS: the dyld image list; Windows: the process's modules) whose name contains "blas",
 * "accelerate" or "veclib" (any case), for cblas_sgemm / cblas_dgemm in one of the
 * spellings NumPy's builds use: scipy_cblas_?gemm64_ (numpy ≥ 2 wheels, OpenBLAS ILP64),
 * cblas_?gemm64_, or plain cblas_?gemm (LP64, e.g. Accelerate or a system OpenBLAS).
 */
#ifndef LK_FUSED_BLAS_H
#define LK_FUSED_BLAS_H

#include <stddef.h>

typedef ptrdiff_t lk_idx;

/* Look once (later calls return at once). 1 if a gemm was found. */
int lk_blas_find(void);

/* The library the gemm came from ("" if none) and whether it has 64-bit integers. */
const char *lk_blas_lib(void);
int lk_blas_ilp64(void);
int lk_blas_has_gemv(void);

/* The BLAS's own thread count (openblas_get_num_threads, which threadpoolctl sets), or 0
 * when this BLAS does not say (then the caller decides, e.g. lk_cpu_count()). */
int lk_blas_threads(void);

/* C (M×N) = op(A) (M×K) · op(B) + beta·C, row-major; op = transpose if ta / tb;
 * float64 if dbl. */
void lk_gemm(int dbl, int ta, int tb, lk_idx M, lk_idx N, lk_idx K, const void *A, lk_idx lda,
             const void *B, lk_idx ldb, double beta, void *C, lk_idx ldc);

/* y += op(A) x, A row-major rows × cols (lda); op = transpose if ta. */
void lk_gemv(int dbl, int ta, lk_idx rows, lk_idx cols, const void *A, lk_idx lda,
             const void *x, void *y);

/* dW = Aᵀ·dZ for up to LK_MAXW triples at once (dW_x = Σ_t x_tᵀ dz_t, dW_h = …): the rows
 * of all dW together are cut into one share per thread and each thread calls the BLAS
 * single-threaded on its share. Why not one threaded BLAS call each: OpenBLAS's worker
 * threads spin for ~0.1 s after a call, and the time loop that runs next had to share the
 * cores with them (measured: a forward right after a threaded sgemm took 105–150 ms
 * instead of 70). A (N × R, lda), dZ (N × G, ldz), dW (R × G, ldw) out. */
#define LK_MAXW 8
typedef struct {
    const void *A, *dZ;
    void *dW;
    lk_idx N, R, G, lda, ldz, ldw;
} lk_wgrad;

void lk_weight_grads(int dbl, const lk_wgrad *m, int n);

#endif /* LK_FUSED_BLAS_H */
