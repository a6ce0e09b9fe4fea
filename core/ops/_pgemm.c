/* _pgemm.c - see _pgemm.h. The kernel is AVX-512F intrinsics in functions compiled for that
 * target only; xai_pgemm_on() tells whether the CPU runs them. Elsewhere (other compilers or
 * architectures) the module reports itself off and callers keep OpenBLAS. */
#include "_pgemm.h"
#include "_vec.h"

#include <stdlib.h>
#include <string.h>

#define PANEL 16

size_t xai_pgemm_floats(int64_t m, int64_t k)
{
    return (size_t)((m + PANEL - 1) / PANEL * PANEL * k);
}

void xai_pgemm_pack(const float *a, int64_t m, int64_t k, bool trans, float *ap)
{
    int64_t panels = (m + PANEL - 1) / PANEL;
    for (int64_t p = 0; p < panels; p++)
        for (int64_t kk = 0; kk < k; kk++)
            for (int r = 0; r < PANEL; r++) {
                int64_t row = p * PANEL + r;
                ap[(p * k + kk) * PANEL + r] = row >= m ? 0.f /* computed, never stored */
                                               : trans  ? a[kk * m + row]
                                                        : a[row * k + kk];
            }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

#define KERNEL __attribute__((target("avx512f")))
#define INLINE_KERNEL static inline __attribute__((always_inline, target("avx512f")))

bool xai_pgemm_on(void)
{
    const char *v = getenv("XAI_PGEMM");
    if (v && !strcmp(v, "0")) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

/* An item is a panel's 16 rows of C for a block of at most BLOCK_COLS columns, accumulated in
 * acc[j][16] (on the stack, in L1) over chunks of NN_KC of k: the panel's chunk (16 KB) stays
 * in L1 for each tile of at most NN_NR columns, whose accumulators stay in registers for the
 * chunk. */
#define NN_KC 256
#define NN_NR 28
#define BLOCK_COLS 64 /* columns of C per item: their accumulators stay in L1 */
#ifndef NN_AHEAD
#define NN_AHEAD 1024 /* floats: the panel is fetched this far ahead (4 KB) */
#endif

INLINE_KERNEL void nn_tile(int nr, int64_t kc, const float *a, const float *b, int64_t ldb,
                           float *acc)
{
    __m512 s[NN_NR];
#pragma GCC unroll 32
    for (int j = 0; j < nr; j++) s[j] = _mm512_load_ps(acc + j * PANEL);
    for (int64_t kk = 0; kk < kc; kk++) {
        _mm_prefetch((const char *)(a + kk * PANEL + NN_AHEAD), _MM_HINT_T0);
        __m512 w = _mm512_load_ps(a + kk * PANEL);
        const float *br = b + kk * ldb;
#pragma GCC unroll 32
        for (int j = 0; j < nr; j++) s[j] = _mm512_fmadd_ps(w, _mm512_set1_ps(br[j]), s[j]);
    }
#pragma GCC unroll 32
    for (int j = 0; j < nr; j++) _mm512_store_ps(acc + j * PANEL, s[j]);
}

/* nn_tile with nr a constant in each case (so that the loops above unroll into registers). */
static KERNEL void nn_tile_n(int nr, int64_t kc, const float *a, const float *b, int64_t ldb,
                             float *acc)
{
    /* clang-format off */
    switch (nr) {
#define NN_CASE(n) case n: nn_tile(n, kc, a, b, ldb, acc); break;
    NN_CASE(1) NN_CASE(2) NN_CASE(3) NN_CASE(4) NN_CASE(5) NN_CASE(6) NN_CASE(7)
    NN_CASE(8) NN_CASE(9) NN_CASE(10) NN_CASE(11) NN_CASE(12) NN_CASE(13) NN_CASE(14)
    NN_CASE(15) NN_CASE(16) NN_CASE(17) NN_CASE(18) NN_CASE(19) NN_CASE(20) NN_CASE(21)
    NN_CASE(22) NN_CASE(23) NN_CASE(24) NN_CASE(25) NN_CASE(26) NN_CASE(27) NN_CASE(28)
#undef NN_CASE
    default: break;
    }
    /* clang-format on */
}

struct mm_ctx {
    const float *ap, *b;
    int64_t m, k, ldb, n, ldc;
    bool add, relu;
    float *c;
    int64_t blocks; /* column blocks of at most BLOCK_COLS */
};

/* Row r of a block's acc[j][16] into cr[0, n), 16 columns at a time (gathered). */
static KERNEL void store_row(const struct mm_ctx *x, const float *acc, int64_t r, int64_t n,
                             float *cr)
{
    const __m512i idx =
        _mm512_set_epi32(240, 224, 208, 192, 176, 160, 144, 128, 112, 96, 80, 64, 48, 32, 16, 0);
    for (int64_t j = 0; j < n; j += 16) {
        __mmask16 mk = xai_lanes16(n - j);
        __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mk, idx, acc + j * PANEL + r, 4);
        if (x->add) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, cr + j));
        if (x->relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
        _mm512_mask_storeu_ps(cr + j, mk, v);
    }
}

/* Item i: rows [16p, 16p + 16) of C (panel p), columns [j0, j1) (block bi; blocks evened
 * out), with p = i / blocks: a thread's consecutive items share the panel. */
static KERNEL void nn_item(void *ctx, int64_t i, int tid)
{
    const struct mm_ctx *x = ctx;
    int64_t p = i / x->blocks, bi = i % x->blocks;
    int64_t j0 = x->n * bi / x->blocks, n = x->n * (bi + 1) / x->blocks - j0;
    _Alignas(64) float acc[BLOCK_COLS * PANEL];
    memset(acc, 0, sizeof(float) * (size_t)(n * PANEL));
    int64_t tiles = (n + NN_NR - 1) / NN_NR;
    for (int64_t k0 = 0; k0 < x->k; k0 += NN_KC) {
        int64_t kc = x->k - k0 < NN_KC ? x->k - k0 : NN_KC;
        const float *a = x->ap + (p * x->k + k0) * PANEL, *b = x->b + k0 * x->ldb + j0;
        for (int64_t t = 0, j = 0; t < tiles; t++) {
            int64_t nr = (n - j) / (tiles - t); /* tiles evened out */
            nn_tile_n((int)nr, kc, a, b + j, x->ldb, acc + j * PANEL);
            j += nr;
        }
    }
    int64_t rows = x->m - p * PANEL < PANEL ? x->m - p * PANEL : PANEL;
    for (int64_t r = 0; r < rows; r++)
        store_row(x, acc, r, n, x->c + (p * PANEL + r) * x->ldc + j0);
}

void xai_pgemm(xai_par *par, const float *ap, int64_t m, int64_t k, const float *b, int64_t ldb,
               int64_t n, bool add, bool relu, float *c, int64_t ldc)
{
    struct mm_ctx x = {ap, b, m, k, ldb, n, ldc, add, relu, c, (n + BLOCK_COLS - 1) / BLOCK_COLS};
    xai_par_for(par, (m + PANEL - 1) / PANEL * x.blocks, nn_item, &x);
}

#else

bool xai_pgemm_on(void)
{
    return false;
}

void xai_pgemm(xai_par *par, const float *ap, int64_t m, int64_t k, const float *b, int64_t ldb,
               int64_t n, bool add, bool relu, float *c, int64_t ldc)
{
    abort(); /* callers check xai_pgemm_on() */
}

#endif
