/* _winograd_u.c - the F(4x4, 3x3) weight transform U = G g G^T (see _winograd.h), in float,
 * vectorised across LANES kernels: at load for all of a layer's kernels, and during a call for
 * the rows of one gemm block (_winograd.c: blocks of few tiles read each element of U for only
 * those tiles, and reading the 9 weights of a kernel and transforming them costs less than
 * reading its 36 values of U from memory). Both give the same numbers: one routine. */
#include "_winograd_rows.h"
#include "_winograd_line.h"

#define LANES 16

/* G of F(4x4, 3x3) (points 0, 1, -1, 2, -2, infinity) applied to (a, b, c), lane by lane,
 * into t[0..5] (LANES lanes each: fixed-length loops over restrict pointers, which GCC
 * vectorises whole). */
HELPER void g_apply(const float *restrict a, const float *restrict b, const float *restrict c,
                    float *restrict t0, float *restrict t1, float *restrict t2, float *restrict t3,
                    float *restrict t4, float *restrict t5)
{
    for (int l = 0; l < LANES; l++) {
        float s = a[l] + c[l], o = a[l] * (1.f / 24) + c[l] * (1.f / 6), e = b[l] * (1.f / 12);
        t0[l] = a[l] * 0.25f;
        t1[l] = (s + b[l]) * (-1.f / 6);
        t2[l] = (s - b[l]) * (-1.f / 6);
        t3[l] = o + e;
        t4[l] = o - e;
        t5[l] = c[l];
    }
}

/* LANES kernels, tap k of kernel l at g[k * gs + l]: U's position xi at u[xi * us + l]. */
HELPER void kernels(const float *g, int64_t gs, float *u, int64_t us)
{
    float t[6][3][LANES];
    for (int j = 0; j < 3; j++) /* G g, column by column */
        g_apply(g + j * gs, g + (3 + j) * gs, g + (6 + j) * gs, t[0][j], t[1][j], t[2][j], t[3][j],
                t[4][j], t[5][j]);
    for (int k = 0; k < 6; k++) { /* (G g) G^T, row by row */
        float *r = u + k * 6 * us;
        g_apply(t[k][0], t[k][1], t[k][2], r, r + us, r + 2 * us, r + 3 * us, r + 4 * us,
                r + 5 * us);
    }
}

/* n < LANES kernels: through LANES-wide copies. */
static void kernels_tail(const float *g, int64_t gs, float *u, int64_t us, int64_t n)
{
    float gt[9][LANES] = {{0}}, ut[36][LANES];
    for (int k = 0; k < 9; k++) memcpy(gt[k], g + k * gs, sizeof(float) * (size_t)n);
    kernels(gt[0], LANES, ut[0], LANES);
    for (int xi = 0; xi < 36; xi++) memcpy(u + xi * us, ut[xi], sizeof(float) * (size_t)n);
}

/* Kernels [0, n) of a row of kernels laid out tap by tap (g[k * gs + i]) -> u. */
HELPER void kernel_run(const float *g, int64_t gs, int64_t n, float *u, int64_t us)
{
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES) kernels(g + i, gs, u + i, us);
    if (i < n) kernels_tail(g + i, gs, u + i, us, n - i);
}

/* Forward rows [m0, m0 + rows): ub[xi * ps + (m - m0) * c + c] = U_xi[m][c], from w9[k][m][c]. */
ROW_CLONES
void xai_wino_u_rows(const float *w9, int64_t m, int64_t c, int64_t m0, int64_t rows, float *ub,
                     int64_t ps)
{
    for (int64_t r = 0; r < rows; r++) kernel_run(w9 + (m0 + r) * c, m * c, c, ub + r * c, ps);
}

/* Backward columns [c0, c0 + cols): ub[xi * ps + m * cols + c - c0] = U_xi[m][c] (U_xi^T's rows
 * c0.., stored column-major), from w9[k][m][c]. */
ROW_CLONES
void xai_wino_u_cols(const float *w9, int64_t m, int64_t c, int64_t c0, int64_t cols, float *ub,
                     int64_t ps)
{
    for (int64_t r = 0; r < m; r++) kernel_run(w9 + r * c + c0, m * c, cols, ub + r * cols, ps);
}
