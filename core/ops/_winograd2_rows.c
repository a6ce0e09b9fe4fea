/* _winograd2_rows.c - the transforms of Winograd F(2x2, 3x3) (tile 2, see _winograd.h and
 * _winograd_rows.h), the small-map variant: one row of tiles of one plane at a time, vectorised
 * across the tiles, as the F(4x4, 3x3) ones in _winograd_rows.c.
 *
 * Matrices (Lavin & Gray, points 0, 1, -1, infinity):
 *   B^T = [1  0 -1  0]   G = [  1    0    0 ]   A^T = [1 1  1  0]
 *         [0  1  1  0]       [ 1/2  1/2  1/2]         [0 1 -1 -1]
 *         [0 -1  1  0]       [ 1/2 -1/2  1/2]
 *         [0  1  0 -1]       [  0    0    1 ]
 * Position xi = 4k + l of a 4x4 tile: k its row (vertical transform), l its column. Tile t of
 * a row covers input columns 2t .. 2t + 3 of the padded line and output columns 2t, 2t + 1.
 * The weights' transform (G) is xai_wino_weights, in _winograd.c.
 *
 * Sweeps, as in _winograd_rows.c: g tile rows of a plane at once, tiles u = r * tw + t side
 * by side; input-side lines S = 2 tw + 2 floats per row (tile u at base[u] = r S + 2 t, read
 * by gathers and written by scatters: these maps are at most a few tiles wide), output-side
 * lines 2 tw per row (tile u at 2u).
 */
#include "_winograd_rows.h"

#include "_winograd_line.h"

/* ---- forward ---- */

/* e_k = (B^T d)_k over n columns. */
HELPER void bt_cols(int64_t n, const float *restrict d0, const float *restrict d1,
                    const float *restrict d2, const float *restrict d3, float *restrict e0,
                    float *restrict e1, float *restrict e2, float *restrict e3)
{
    for (int64_t k = 0; k < n; k++) {
        e0[k] = d0[k] - d2[k];
        e1[k] = d1[k] + d2[k];
        e2[k] = d2[k] - d1[k];
        e3[k] = d1[k] - d3[k];
    }
}

/* base[u]: where tile u = r * tw + t of a sweep starts in its input-side lines. */
HELPER void tile_bases(int64_t tw, int64_t nt, int32_t *base)
{
    for (int64_t u = 0, r = 0, t = 0; u < nt; u++) {
        base[u] = (int32_t)(r * (2 * tw + 2) + 2 * t);
        if (++t == tw) t = 0, r++;
    }
}

/* The horizontal transform of each tile of a line: tile u covers f[base[u] .. base[u] + 3]. */
HELPER void bt_tiles(int64_t nt, const float *restrict f, const int32_t *restrict base,
                     float *restrict o0, float *restrict o1, float *restrict o2, float *restrict o3)
{
    for (int64_t u = 0; u < nt; u++) {
        int32_t i = base[u]; /* (an index, not a pointer: so that GCC vectorises the loads) */
        float x0 = f[i], x1 = f[i + 1], x2 = f[i + 2], x3 = f[i + 3];
        o0[u] = x0 - x2;
        o1[u] = x1 + x2;
        o2[u] = x2 - x1;
        o3[u] = x1 - x3;
    }
}

ROW_CLONES void xai_wino2_in_rows(const struct xai_wgeo *q, const float *plane, int64_t ty,
                                  int64_t g, float *v, int64_t vs, float *lines)
{
    int64_t tw = q->tw, lp = q->lp, S = 2 * tw + 2, nt = g * tw;
    float *d = lines, *e = lines + 4 * lp;
    int32_t *base = (int32_t *)(lines + 8 * lp);
    for (int64_t r = 0; r < g; r++)
        for (int i = 0; i < 4; i++) {
            int64_t yy = 2 * (ty + r) - q->ph + i;
            if (yy < 0 || yy >= q->h)
                memset(d + i * lp + r * S, 0, sizeof(float) * (size_t)S);
            else
                pad_line(plane + yy * q->w, q->w, q->pw, S, d + i * lp + r * S);
        }
    bt_cols(g * S, d, d + lp, d + 2 * lp, d + 3 * lp, e, e + lp, e + 2 * lp, e + 3 * lp);
    tile_bases(tw, nt, base);
    for (int r = 0; r < 4; r++) {
        float *o = v + r * 4 * vs;
        bt_tiles(nt, e + r * lp, base, o, o + vs, o + 2 * vs, o + 3 * vs);
    }
}

/* s_o = (A^T m)_o over n columns. */
HELPER void at_cols(int64_t n, const float *restrict m0, const float *restrict m1,
                    const float *restrict m2, const float *restrict m3, float *restrict s0,
                    float *restrict s1)
{
    for (int64_t t = 0; t < n; t++) {
        s0[t] = (m0[t] + m1[t]) + m2[t];
        s1[t] = (m1[t] - m2[t]) - m3[t];
    }
}

/* row[2u + j] = p_j[u]: an output-side line from its two phases. */
HELPER void interleave2(int64_t n, const float *restrict p0, const float *restrict p1,
                        float *restrict row)
{
    for (int64_t u = 0; u < n; u++) {
        row[2 * u] = p0[u];
        row[2 * u + 1] = p1[u];
    }
}

/* y[k] = x[k] + b, or max(x[k] + b, 0) when relu. */
HELPER void bias_line(int64_t n, const float *restrict x, float b, bool relu, float *restrict y)
{
    for (int64_t k = 0; k < n; k++) {
        float v = x[k] + b;
        y[k] = relu ? (v > 0.f ? v : 0.f) : v;
    }
}

ROW_CLONES void xai_wino2_out_rows(const struct xai_wgeo *q, const float *m, int64_t ms, float bias,
                                   bool relu, float *plane, int64_t ty, int64_t g, float *lines)
{
    int64_t tw = q->tw, lp = q->lp, nt = g * tw;
    float *s = lines, *u = lines + 8 * lp, *row = lines + 12 * lp;
    /* s[(k * 2 + o) * lp + u]: tile row k, output column phase o */
    for (int k = 0; k < 4; k++) {
        const float *mk = m + k * 4 * ms;
        at_cols(nt, mk, mk + ms, mk + 2 * ms, mk + 3 * ms, s + 2 * k * lp, s + (2 * k + 1) * lp);
    }
    /* u[(p * 2 + o) * lp + u]: output row p, column phase o */
    for (int o = 0; o < 2; o++) {
        const float *so = s + o * lp;
        at_cols(nt, so, so + 2 * lp, so + 4 * lp, so + 6 * lp, u + o * lp, u + (2 + o) * lp);
    }
    for (int p = 0; p < 2; p++) {
        interleave2(nt, u + 2 * p * lp, u + (2 * p + 1) * lp, row);
        for (int64_t r = 0; r < g && 2 * (ty + r) + p < q->oh; r++)
            bias_line(q->ow, row + 2 * r * tw, bias, relu, plane + (2 * (ty + r) + p) * q->ow);
    }
}

/* ---- backward ---- */

/* h_l = (A z)_l: two inputs, four outputs, over n columns. */
HELPER void a_cols(int64_t n, const float *restrict z0, const float *restrict z1,
                   float *restrict h0, float *restrict h1, float *restrict h2, float *restrict h3)
{
    for (int64_t t = 0; t < n; t++) {
        h0[t] = z0[t];
        h1[t] = z0[t] + z1[t];
        h2[t] = z0[t] - z1[t];
        h3[t] = -z1[t];
    }
}

/* row[k] = y[k] > 0 ? g[k] : 0 (a fused Relu's output y), or g[k] without a mask. */
HELPER void dy_line(int64_t n, const float *restrict g, const float *restrict y,
                    float *restrict row)
{
    if (!y) {
        memcpy(row, g, sizeof(float) * (size_t)n);
        return;
    }
    for (int64_t k = 0; k < n; k++) {
        float v = g[k]; /* read unconditionally, so that it vectorises */
        row[k] = y[k] > 0.f ? v : 0.f;
    }
}

/* p_j[u] = f[2u + j]: the two phases of an output-side line. */
HELPER void phases(int64_t n, const float *restrict f, float *restrict p0, float *restrict p1)
{
    for (int64_t u = 0; u < n; u++) {
        p0[u] = f[2 * u];
        p1[u] = f[2 * u + 1];
    }
}

ROW_CLONES void xai_wino2_dy_rows(const struct xai_wgeo *q, const float *plane, const float *mask,
                                  int64_t ty, int64_t g, float *dm, int64_t ms, float *lines)
{
    int64_t tw = q->tw, lp = q->lp, n = 2 * tw, nt = g * tw;
    float *row = lines, *z = lines + lp, *hz = lines + 5 * lp;
    for (int p = 0; p < 2; p++) {
        for (int64_t r = 0; r < g; r++) {
            int64_t oy = 2 * (ty + r) + p, have = oy < q->oh ? q->ow : 0;
            float *rr = row + r * n;
            if (have) dy_line(have, plane + oy * q->ow, mask ? mask + oy * q->ow : NULL, rr);
            memset(rr + have, 0, sizeof(float) * (size_t)(n - have));
        }
        float *zp = z + p * 2 * lp, *h = hz + p * 4 * lp;
        phases(nt, row, zp, zp + lp);
        a_cols(nt, zp, zp + lp, h, h + lp, h + 2 * lp, h + 3 * lp);
    }
    for (int l = 0; l < 4; l++) {
        const float *h = hz + l * lp;
        float *o = dm + l * ms;
        a_cols(nt, h, h + 4 * lp, o, o + 4 * ms, o + 8 * ms, o + 12 * ms);
    }
}

/* z_j = (B v)_j over n columns. */
HELPER void b_cols(int64_t n, const float *restrict v0, const float *restrict v1,
                   const float *restrict v2, const float *restrict v3, float *restrict z0,
                   float *restrict z1, float *restrict z2, float *restrict z3)
{
    for (int64_t t = 0; t < n; t++) {
        z0[t] = v0[t];
        z1[t] = (v1[t] - v2[t]) + v3[t];
        z2[t] = (v1[t] + v2[t]) - v0[t];
        z3[t] = -v3[t];
    }
}

/* An input-side line of length len from the tiles' 4-wide patches d_j[u]: j < 2 set at
 * base[u] + j, j = 2, 3 then added onto the next tile's first two (or the row's last two). */
HELPER void overlap_tiles(int64_t nt, const float *restrict d0, const float *restrict d1,
                          const float *restrict d2, const float *restrict d3,
                          const int32_t *restrict base, int64_t len, float *restrict line)
{
    memset(line, 0, sizeof(float) * (size_t)len);
    for (int64_t u = 0; u < nt; u++) {
        float *x = line + base[u];
        x[0] = d0[u];
        x[1] = d1[u];
    }
    for (int64_t u = 0; u < nt; u++) {
        float *x = line + base[u];
        x[2] += d2[u];
        x[3] += d3[u];
    }
}

ROW_CLONES void xai_wino2_dx_rows(const struct xai_wgeo *q, const float *dv, int64_t vs,
                                  float *plane, int64_t ty, int64_t g, float *lines)
{
    int64_t tw = q->tw, lp = q->lp, S = 2 * tw + 2, nt = g * tw;
    float *z = lines, *ln = lines + 4 * lp, *d = lines + 8 * lp;
    int32_t *base = (int32_t *)(lines + 12 * lp);
    tile_bases(tw, nt, base);
    for (int k = 0; k < 4; k++) {
        const float *vk = dv + k * 4 * vs;
        b_cols(nt, vk, vk + vs, vk + 2 * vs, vk + 3 * vs, z, z + lp, z + 2 * lp, z + 3 * lp);
        overlap_tiles(nt, z, z + lp, z + 2 * lp, z + 3 * lp, base, g * S, ln + k * lp);
    }
    b_cols(g * S, ln, ln + lp, ln + 2 * lp, ln + 3 * lp, d, d + lp, d + 2 * lp, d + 3 * lp);
    int64_t lo = q->pw < S ? q->pw : S, hi = q->w + q->pw < S ? q->w + q->pw : S;
    for (int64_t r = 0; r < g; r++)
        for (int i = 0; i < 4; i++) {
            int64_t yy = 2 * (ty + r) - q->ph + i;
            if (yy >= 0 && yy < q->h && hi > lo)
                add_to(hi - lo, d + i * lp + r * S + lo, plane + yy * q->w + lo - q->pw);
        }
}
