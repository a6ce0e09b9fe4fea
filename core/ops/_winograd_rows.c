/* _winograd_rows.c - the transforms of Winograd F(4x4, 3x3); see _winograd_rows.h.
 *
 * Matrices (points 0, 1, -1, 2, -2, infinity):
 *   B^T = [4  0 -5  0  1  0]   G = [ 1/4     0     0 ]   A^T = [1 1  1 1  1 0]
 *         [0 -4 -4  1  1  0]       [-1/6  -1/6  -1/6 ]         [0 1 -1 2 -2 0]
 *         [0  4 -4 -1  1  0]       [-1/6   1/6  -1/6 ]         [0 1  1 4  4 0]
 *         [0 -2 -1  2  1  0]       [1/24  1/12   1/6 ]         [0 1 -1 8 -8 1]
 *         [0  2 -1 -2  1  0]       [1/24 -1/12   1/6 ]
 *         [0  4  0 -5  0  1]       [   0     0     1 ]
 * Position xi = 6k + l of a 6x6 tile: k its row (vertical transform), l its column. The
 * weights' transform (G) is xai_wino_weights, in _winograd.c.
 *
 * Sweeps: each transform runs on g tile rows of one plane at once, their tiles u = r * tw + t
 * side by side in its loops, so that maps a few tiles wide (ResNet's 14 x 14: 4 tiles) still
 * fill the vectors. Lines hold the g rows one after another, 4 tw floats per row (tile u at
 * 4u); an input-side row's last two columns (4 tw and 4 tw + 1, read by its last tile, whose
 * 6-wide patch overlaps the next tile's by 2) are kept apart, two per row, in `extra` lines.
 * Every value is computed by the same operations in the same order as row by row.
 */
#include "_winograd_rows.h"

#include "_winograd_line.h"

/* ---- forward transforms ---- */

/* The loops below take every row as its own restrict pointer, so that the compiler vectorises
 * them across tiles without run-time alias checks. */

/* e_k = (B^T d)_k over n columns, d_i unit stride. */
HELPER void bt_cols(int64_t n, const float *restrict d0, const float *restrict d1,
                    const float *restrict d2, const float *restrict d3, const float *restrict d4,
                    const float *restrict d5, float *restrict e0, float *restrict e1,
                    float *restrict e2, float *restrict e3, float *restrict e4, float *restrict e5)
{
    for (int64_t k = 0; k < n; k++) {
        float a = d3[k] - d1[k], b = d4[k] - d2[k];
        e0[k] = 4.f * d0[k] - 5.f * d2[k] + d4[k];
        e1[k] = (d3[k] + d4[k]) - 4.f * (d1[k] + d2[k]);
        e2[k] = (d4[k] - d3[k]) + 4.f * (d1[k] - d2[k]);
        e3[k] = b + 2.f * a;
        e4[k] = b - 2.f * a;
        e5[k] = 4.f * d1[k] - 5.f * d3[k] + d5[k];
    }
}

/* p_j[u] = f[4u + j], u < n: the four phases of a line. */
HELPER void phases(int64_t n, const float *restrict f, float *restrict p0, float *restrict p1,
                   float *restrict p2, float *restrict p3)
{
    for (int64_t u = 0; u < n; u++) {
        p0[u] = f[4 * u];
        p1[u] = f[4 * u + 1];
        p2[u] = f[4 * u + 2];
        p3[u] = f[4 * u + 3];
    }
}

/* The six columns of each tile of a sweep's line f (its rows' last two in x): p_j[u] =
 * f[4u + j], where j = 4, 5 of a row's last tile are x[2r], x[2r + 1]. f must be readable to
 * 4 nt + 4 floats, p0 .. p3 writable to nt + 1. */
HELPER void in_phases(int64_t tw, int64_t g, const float *restrict f, const float *restrict x,
                      float *restrict p0, float *restrict p1, float *restrict p2,
                      float *restrict p3, float *restrict p4, float *restrict p5)
{
    int64_t nt = g * tw;
    phases(nt + 1, f, p0, p1, p2, p3);
    for (int64_t u = 0; u < nt; u++) {
        p4[u] = p0[u + 1];
        p5[u] = p1[u + 1];
    }
    for (int64_t r = 0; r < g; r++) {
        p4[r * tw + tw - 1] = x[2 * r];
        p5[r * tw + tw - 1] = x[2 * r + 1];
    }
}

/* The horizontal transform of each tile from its six columns. */
HELPER void bt_tiles(int64_t nt, const float *restrict p0, const float *restrict p1,
                     const float *restrict p2, const float *restrict p3, const float *restrict p4,
                     const float *restrict p5, float *restrict o0, float *restrict o1,
                     float *restrict o2, float *restrict o3, float *restrict o4, float *restrict o5)
{
    for (int64_t u = 0; u < nt; u++) {
        float x0 = p0[u], x1 = p1[u], x2 = p2[u], x3 = p3[u], x4 = p4[u], x5 = p5[u];
        float a = x3 - x1, b = x4 - x2;
        o0[u] = 4.f * x0 - 5.f * x2 + x4;
        o1[u] = (x3 + x4) - 4.f * (x1 + x2);
        o2[u] = (x4 - x3) + 4.f * (x1 - x2);
        o3[u] = b + 2.f * a;
        o4[u] = b - 2.f * a;
        o5[u] = 4.f * x1 - 5.f * x3 + x5;
    }
}

/* V = B^T d B for the tiles of tile rows ty .. ty + g - 1 of one input plane: v[xi * vs + u]. */
ROW_CLONES void xai_wino_in_rows(const struct xai_wgeo *q, const float *plane, int64_t ty,
                                 int64_t g, float *v, int64_t vs, float *lines)
{
    int64_t tw = q->tw, lp = q->lp, n = 4 * tw + 2, nt = g * tw;
    float *d = lines, *e = lines + 6 * lp, *ph = lines + 12 * lp, *dx = lines + 18 * lp,
          *ex = lines + 24 * lp;
    for (int64_t r = 0; r < g; r++)
        for (int i = 0; i < 6; i++) {
            /* the whole padded row at 4 tw r; its last two columns spill into the next row's
             * place, so they are saved first */
            float *row = d + i * lp + r * 4 * tw;
            int64_t yy = 4 * (ty + r) - q->ph + i;
            if (yy < 0 || yy >= q->h)
                memset(row, 0, sizeof(float) * (size_t)n);
            else
                pad_line(plane + yy * q->w, q->w, q->pw, n, row);
            dx[i * lp + 2 * r] = row[4 * tw];
            dx[i * lp + 2 * r + 1] = row[4 * tw + 1];
        }
    for (int i = 0; i < 6; i++) /* in_phases reads 4 nt + 4 columns: the last row's spill, 0 */
        d[i * lp + 4 * nt + 2] = d[i * lp + 4 * nt + 3] = 0.f;
    bt_cols(nt * 4 + 4, d, d + lp, d + 2 * lp, d + 3 * lp, d + 4 * lp, d + 5 * lp, e, e + lp,
            e + 2 * lp, e + 3 * lp, e + 4 * lp, e + 5 * lp);
    bt_cols(2 * g, dx, dx + lp, dx + 2 * lp, dx + 3 * lp, dx + 4 * lp, dx + 5 * lp, ex, ex + lp,
            ex + 2 * lp, ex + 3 * lp, ex + 4 * lp, ex + 5 * lp);
    for (int k = 0; k < 6; k++) {
        float *o = v + k * 6 * vs;
        in_phases(tw, g, e + k * lp, ex + k * lp, ph, ph + lp, ph + 2 * lp, ph + 3 * lp,
                  ph + 4 * lp, ph + 5 * lp);
        bt_tiles(nt, ph, ph + lp, ph + 2 * lp, ph + 3 * lp, ph + 4 * lp, ph + 5 * lp, o, o + vs,
                 o + 2 * vs, o + 3 * vs, o + 4 * vs, o + 5 * vs);
    }
}

/* s_o = (A^T m)_o over n columns. */
HELPER void at_cols(int64_t n, const float *restrict m0, const float *restrict m1,
                    const float *restrict m2, const float *restrict m3, const float *restrict m4,
                    const float *restrict m5, float *restrict s0, float *restrict s1,
                    float *restrict s2, float *restrict s3)
{
    for (int64_t t = 0; t < n; t++) {
        float a = m1[t] + m2[t], b = m1[t] - m2[t], c = m3[t] + m4[t], d = m3[t] - m4[t];
        s0[t] = m0[t] + a + c;
        s1[t] = b + 2.f * d;
        s2[t] = a + 4.f * c;
        s3[t] = b + 8.f * d + m5[t];
    }
}

/* r[4t + j] = p_j[t]: a line from its four phases. */
HELPER void interleave(int64_t n, const float *restrict p0, const float *restrict p1,
                       const float *restrict p2, const float *restrict p3, float *restrict r)
{
    for (int64_t t = 0; t < n; t++) {
        r[4 * t] = p0[t];
        r[4 * t + 1] = p1[t];
        r[4 * t + 2] = p2[t];
        r[4 * t + 3] = p3[t];
    }
}

/* y[k] = x[k] + b, or max(x[k] + b, 0) when relu. */
HELPER void add_bias(int64_t n, const float *restrict x, float b, bool relu, float *restrict y)
{
    if (!relu) {
        for (int64_t k = 0; k < n; k++) y[k] = x[k] + b;
        return;
    }
    for (int64_t k = 0; k < n; k++) {
        float v = x[k] + b;
        y[k] = v > 0.f ? v : 0.f;
    }
}

/* Output rows of tile rows ty .. ty + g - 1 of one plane: Y = A^T M A (+ bias), from
 * m[xi * ms + u]. */
ROW_CLONES void xai_wino_out_rows(const struct xai_wgeo *q, const float *m, int64_t ms, float bias,
                                  bool relu, float *plane, int64_t ty, int64_t g, float *lines)
{
    int64_t tw = q->tw, lp = q->lp, nt = g * tw;
    float *s = lines, *u = lines + 24 * lp, *row = lines + 40 * lp;
    for (int k = 0; k < 6; k++) {
        const float *mk = m + k * 6 * ms;
        float *sk = s + k * 4 * lp;
        at_cols(nt, mk, mk + ms, mk + 2 * ms, mk + 3 * ms, mk + 4 * ms, mk + 5 * ms, sk, sk + lp,
                sk + 2 * lp, sk + 3 * lp);
    }
    /* u[(p * 4 + o) * lp + u]: output row p, column phase o */
    for (int o = 0; o < 4; o++) {
        const float *so = s + o * lp;
        at_cols(nt, so, so + 4 * lp, so + 8 * lp, so + 12 * lp, so + 16 * lp, so + 20 * lp,
                u + o * lp, u + (4 + o) * lp, u + (8 + o) * lp, u + (12 + o) * lp);
    }
    for (int p = 0; p < 4; p++) {
        const float *up = u + p * 4 * lp;
        interleave(nt, up, up + lp, up + 2 * lp, up + 3 * lp, row);
        for (int64_t r = 0; r < g && 4 * (ty + r) + p < q->oh; r++)
            add_bias(q->ow, row + 4 * r * tw, bias, relu, plane + (4 * (ty + r) + p) * q->ow);
    }
}

/* ---- backward transforms ---- */

/* h_l = (A z)_l: four inputs, six outputs, over n columns. */
HELPER void a_cols(int64_t n, const float *restrict z0, const float *restrict z1,
                   const float *restrict z2, const float *restrict z3, float *restrict h0,
                   float *restrict h1, float *restrict h2, float *restrict h3, float *restrict h4,
                   float *restrict h5)
{
    for (int64_t t = 0; t < n; t++) {
        float a = z0[t] + z2[t], b = z1[t] + z3[t], c = z0[t] + 4.f * z2[t],
              d = 2.f * z1[t] + 8.f * z3[t];
        h0[t] = z0[t];
        h1[t] = a + b;
        h2[t] = a - b;
        h3[t] = c + d;
        h4[t] = c - d;
        h5[t] = z3[t];
    }
}

/* row[k] = y[k] > 0 ? g[k] : 0: a gradient through a fused Relu, y its output. */
HELPER void mask_row(int64_t n, const float *restrict g, const float *restrict y,
                     float *restrict row)
{
    for (int64_t k = 0; k < n; k++) {
        float v = g[k]; /* read unconditionally, so that it vectorises */
        row[k] = y[k] > 0.f ? v : 0.f;
    }
}

/* dM = A dY A^T for the tiles of tile rows ty .. ty + g - 1 of one output-gradient plane:
 * dm[xi * ms + u]. */
ROW_CLONES void xai_wino_dy_rows(const struct xai_wgeo *q, const float *plane, const float *mask,
                                 int64_t ty, int64_t g, float *dm, int64_t ms, float *lines)
{
    int64_t tw = q->tw, lp = q->lp, n = 4 * tw, nt = g * tw;
    float *row = lines, *z = lines + lp, *hz = lines + 17 * lp;
    for (int p = 0; p < 4; p++) {
        for (int64_t r = 0; r < g; r++) {
            int64_t oy = 4 * (ty + r) + p, have = oy < q->oh ? q->ow : 0;
            float *rr = row + r * n;
            if (have && mask)
                mask_row(have, plane + oy * q->ow, mask + oy * q->ow, rr);
            else if (have)
                memcpy(rr, plane + oy * q->ow, sizeof(float) * (size_t)have);
            memset(rr + have, 0, sizeof(float) * (size_t)(n - have));
        }
        float *zp = z + p * 4 * lp;
        phases(nt, row, zp, zp + lp, zp + 2 * lp, zp + 3 * lp);
        float *h = hz + p * 6 * lp;
        a_cols(nt, zp, zp + lp, zp + 2 * lp, zp + 3 * lp, h, h + lp, h + 2 * lp, h + 3 * lp,
               h + 4 * lp, h + 5 * lp);
    }
    for (int l = 0; l < 6; l++) {
        const float *h = hz + l * lp;
        float *o = dm + l * ms;
        a_cols(nt, h, h + 6 * lp, h + 12 * lp, h + 18 * lp, o, o + 6 * ms, o + 12 * ms, o + 18 * ms,
               o + 24 * ms, o + 30 * ms);
    }
}

/* z_j = (B v)_j over n columns. */
HELPER void b_cols(int64_t n, const float *restrict v0, const float *restrict v1,
                   const float *restrict v2, const float *restrict v3, const float *restrict v4,
                   const float *restrict v5, float *restrict z0, float *restrict z1,
                   float *restrict z2, float *restrict z3, float *restrict z4, float *restrict z5)
{
    for (int64_t t = 0; t < n; t++) {
        z0[t] = 4.f * v0[t];
        z1[t] = 4.f * (v2[t] - v1[t]) + 2.f * (v4[t] - v3[t]) + 4.f * v5[t];
        z2[t] = -5.f * v0[t] - 4.f * (v1[t] + v2[t]) - (v3[t] + v4[t]);
        z3[t] = (v1[t] - v2[t]) + 2.f * (v3[t] - v4[t]) - 5.f * v5[t];
        z4[t] = v0[t] + (v1[t] + v2[t]) + (v3[t] + v4[t]);
        z5[t] = v5[t];
    }
}

/* The input-side line of a sweep from its tiles' 6-wide patches d_j[u]: line[4u + j] = d_j[u],
 * plus, for j = 0, 1 of all but a row's first tile, the previous tile's d_4, d_5 (the patches
 * overlap by 2); a row's last tile's d_4, d_5 go to its last two columns, x[2r], x[2r + 1]. */
HELPER void overlap_line(int64_t tw, int64_t g, const float *restrict d0, const float *restrict d1,
                         const float *restrict d2, const float *restrict d3,
                         const float *restrict d4, const float *restrict d5, float *restrict w0,
                         float *restrict w1, float *restrict line, float *restrict x)
{
    int64_t nt = g * tw;
    w0[0] = d0[0];
    w1[0] = d1[0];
    for (int64_t u = 1; u < nt; u++) {
        w0[u] = d0[u] + d4[u - 1];
        w1[u] = d1[u] + d5[u - 1];
    }
    for (int64_t r = 1; r < g; r++) { /* a row's first tile has nothing before it */
        w0[r * tw] = d0[r * tw];
        w1[r * tw] = d1[r * tw];
    }
    interleave(nt, w0, w1, d2, d3, line);
    for (int64_t r = 0; r < g; r++) {
        x[2 * r] = 0.f + d4[r * tw + tw - 1];
        x[2 * r + 1] = 0.f + d5[r * tw + tw - 1];
    }
}

/* dX += B dV B^T for the tiles of tile rows ty .. ty + g - 1 of one input-gradient plane, from
 * dv[xi * vs + u]: each tile's 6x6 patch added where it lies inside the image. The horizontal
 * transform runs per tile; its six rows are overlap-added into lines first, so that the
 * vertical one runs once per column rather than once per tile column. */
ROW_CLONES void xai_wino_dx_rows(const struct xai_wgeo *q, const float *dv, int64_t vs,
                                 float *plane, int64_t ty, int64_t g, float *lines)
{
    int64_t tw = q->tw, lp = q->lp, n = 4 * tw + 2, nt = g * tw;
    float *z = lines, *ln = lines + 6 * lp, *d = lines + 12 * lp, *w = lines + 18 * lp,
          *lx = lines + 20 * lp, *dx = lines + 26 * lp;
    for (int k = 0; k < 6; k++) {
        const float *vk = dv + k * 6 * vs;
        b_cols(nt, vk, vk + vs, vk + 2 * vs, vk + 3 * vs, vk + 4 * vs, vk + 5 * vs, z, z + lp,
               z + 2 * lp, z + 3 * lp, z + 4 * lp, z + 5 * lp);
        overlap_line(tw, g, z, z + lp, z + 2 * lp, z + 3 * lp, z + 4 * lp, z + 5 * lp, w, w + lp,
                     ln + k * lp, lx + k * lp);
    }
    b_cols(nt * 4, ln, ln + lp, ln + 2 * lp, ln + 3 * lp, ln + 4 * lp, ln + 5 * lp, d, d + lp,
           d + 2 * lp, d + 3 * lp, d + 4 * lp, d + 5 * lp);
    b_cols(2 * g, lx, lx + lp, lx + 2 * lp, lx + 3 * lp, lx + 4 * lp, lx + 5 * lp, dx, dx + lp,
           dx + 2 * lp, dx + 3 * lp, dx + 4 * lp, dx + 5 * lp);
    /* row r's columns [lo, hi) of its n: those below 4 tw from d, the last two from dx */
    int64_t lo = q->pw < n ? q->pw : n, hi = q->w + q->pw < n ? q->w + q->pw : n;
    int64_t mid = hi < 4 * tw ? hi : 4 * tw, lo2 = lo > 4 * tw ? lo : 4 * tw;
    for (int64_t r = 0; r < g; r++)
        for (int i = 0; i < 6; i++) {
            int64_t yy = 4 * (ty + r) - q->ph + i;
            if (yy < 0 || yy >= q->h) continue;
            float *prow = plane + yy * q->w - q->pw;
            if (mid > lo) add_to(mid - lo, d + i * lp + r * 4 * tw + lo, prow + lo);
            if (hi > lo2) add_to(hi - lo2, dx + i * lp + 2 * r + (lo2 - 4 * tw), prow + lo2);
        }
}
