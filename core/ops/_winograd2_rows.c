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

/* p_j[t] = f[2t + j] for t <= n: the two phases of a line of n tiles (one extra each). */
HELPER void phases(int64_t n, const float *restrict f, float *restrict p0, float *restrict p1)
{
    for (int64_t t = 0; t <= n; t++) {
        p0[t] = f[2 * t];
        p1[t] = f[2 * t + 1];
    }
}

/* The tiles of one line from its phases: tile t covers f[2t .. 2t+3]. */
HELPER void bt_tiles(int64_t n, const float *restrict p0, const float *restrict p1,
                     float *restrict o0, float *restrict o1, float *restrict o2, float *restrict o3)
{
    for (int64_t t = 0; t < n; t++) {
        float x0 = p0[t], x1 = p1[t], x2 = p0[t + 1], x3 = p1[t + 1];
        o0[t] = x0 - x2;
        o1[t] = x1 + x2;
        o2[t] = x2 - x1;
        o3[t] = x1 - x3;
    }
}

ROW_CLONES void xai_wino2_in_row(const struct xai_wgeo *q, const float *plane, int64_t ty, float *v,
                                 int64_t vs, float *lines)
{
    int64_t n = 2 * q->tw + 2, lp = q->lp, tw = q->tw;
    float *d = lines, *e = lines + 4 * lp, *ph = lines + 8 * lp;
    for (int i = 0; i < 4; i++) {
        int64_t yy = 2 * ty - q->ph + i;
        if (yy < 0 || yy >= q->h)
            memset(d + i * lp, 0, sizeof(float) * (size_t)n);
        else
            pad_line(plane + yy * q->w, q->w, q->pw, n, d + i * lp);
    }
    bt_cols(n, d, d + lp, d + 2 * lp, d + 3 * lp, e, e + lp, e + 2 * lp, e + 3 * lp);
    for (int r = 0; r < 4; r++) {
        float *o = v + r * 4 * vs;
        phases(tw, e + r * lp, ph, ph + lp);
        bt_tiles(tw, ph, ph + lp, o, o + vs, o + 2 * vs, o + 3 * vs);
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

/* y[k] = x[k] + b, or max(x[k] + b, 0) when relu; x interleaved from two phases first. */
HELPER void out_line(int64_t n, int64_t ow, const float *restrict p0, const float *restrict p1,
                     float b, bool relu, float *restrict row, float *restrict y)
{
    for (int64_t t = 0; t < n; t++) {
        row[2 * t] = p0[t];
        row[2 * t + 1] = p1[t];
    }
    for (int64_t k = 0; k < ow; k++) {
        float v = row[k] + b;
        y[k] = relu ? (v > 0.f ? v : 0.f) : v;
    }
}

ROW_CLONES void xai_wino2_out_row(const struct xai_wgeo *q, const float *m, int64_t ms, float bias,
                                  bool relu, float *plane, int64_t ty, float *lines)
{
    int64_t tw = q->tw, lp = q->lp;
    float *s = lines, *u = lines + 8 * lp, *row = lines + 12 * lp;
    /* s[(k * 2 + o) * lp + t]: tile row k, output column phase o */
    for (int k = 0; k < 4; k++) {
        const float *mk = m + k * 4 * ms;
        at_cols(tw, mk, mk + ms, mk + 2 * ms, mk + 3 * ms, s + 2 * k * lp, s + (2 * k + 1) * lp);
    }
    /* u[(p * 2 + o) * lp + t]: output row p, column phase o */
    for (int o = 0; o < 2; o++) {
        const float *so = s + o * lp;
        at_cols(tw, so, so + 2 * lp, so + 4 * lp, so + 6 * lp, u + o * lp, u + (2 + o) * lp);
    }
    for (int p = 0; p < 2 && 2 * ty + p < q->oh; p++)
        out_line(tw, q->ow, u + 2 * p * lp, u + (2 * p + 1) * lp, bias, relu, row,
                 plane + (2 * ty + p) * q->ow);
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

ROW_CLONES void xai_wino2_dy_row(const struct xai_wgeo *q, const float *plane, const float *mask,
                                 int64_t ty, float *dm, int64_t ms, float *lines)
{
    int64_t tw = q->tw, lp = q->lp, n = 2 * tw + 2;
    float *row = lines, *z = lines + lp, *hz = lines + 5 * lp;
    for (int p = 0; p < 2; p++) {
        int64_t oy = 2 * ty + p, have = oy < q->oh ? q->ow : 0;
        if (have) dy_line(have, plane + oy * q->ow, mask ? mask + oy * q->ow : NULL, row);
        memset(row + have, 0, sizeof(float) * (size_t)(n - have));
        float *zp = z + p * 2 * lp, *h = hz + p * 4 * lp;
        phases(tw, row, zp, zp + lp);
        a_cols(tw, zp, zp + lp, h, h + lp, h + 2 * lp, h + 3 * lp);
    }
    for (int l = 0; l < 4; l++) {
        const float *h = hz + l * lp;
        float *o = dm + l * ms;
        a_cols(tw, h, h + 4 * lp, o, o + 4 * ms, o + 8 * ms, o + 12 * ms);
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

/* line[2t + j] for a row of tiles' 4-wide patches d_j[t]: j < 2 set, j = 2, 3 added onto the
 * next tile's first two (n tiles, 2n + 2 floats). */
HELPER void overlap_line(int64_t n, const float *restrict d0, const float *restrict d1,
                         const float *restrict d2, const float *restrict d3, float *restrict line)
{
    for (int64_t t = 0; t < n; t++) {
        line[2 * t] = d0[t];
        line[2 * t + 1] = d1[t];
    }
    line[2 * n] = line[2 * n + 1] = 0.f;
    for (int64_t t = 0; t < n; t++) {
        line[2 * t + 2] += d2[t];
        line[2 * t + 3] += d3[t];
    }
}

ROW_CLONES void xai_wino2_dx_row(const struct xai_wgeo *q, const float *dv, int64_t vs,
                                 float *plane, int64_t ty, float *lines)
{
    int64_t tw = q->tw, lp = q->lp, n = 2 * tw + 2;
    float *z = lines, *ln = lines + 4 * lp, *d = lines + 8 * lp;
    for (int k = 0; k < 4; k++) {
        const float *vk = dv + k * 4 * vs;
        b_cols(tw, vk, vk + vs, vk + 2 * vs, vk + 3 * vs, z, z + lp, z + 2 * lp, z + 3 * lp);
        overlap_line(tw, z, z + lp, z + 2 * lp, z + 3 * lp, ln + k * lp);
    }
    b_cols(n, ln, ln + lp, ln + 2 * lp, ln + 3 * lp, d, d + lp, d + 2 * lp, d + 3 * lp);
    int64_t lo = q->pw < n ? q->pw : n, hi = q->w + q->pw < n ? q->w + q->pw : n;
    for (int i = 0; i < 4; i++) {
        int64_t yy = 2 * ty - q->ph + i;
        if (yy >= 0 && yy < q->h && hi > lo)
            add_to(hi - lo, d + i * lp + lo, plane + yy * q->w + lo - q->pw);
    }
}
