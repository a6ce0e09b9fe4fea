#include "tensor.h"

#include <stdio.h>
#include <string.h>

int64_t xai_shape_numel(const struct xai_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++) n *= s->d[i];
    return n;
}

bool xai_shape_eq(const struct xai_shape *a, const struct xai_shape *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->d[i] != b->d[i]) return false;
    return true;
}

char *xai_shape_str(const struct xai_shape *s, char *buf, size_t n)
{
    size_t off = 0;
    if (n == 0) return buf;
    buf[0] = '\0';
    off += (size_t)snprintf(buf + off, n - off, "[");
    for (int i = 0; i < s->ndim && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, i ? ",%lld" : "%lld", (long long)s->d[i]);
    if (off < n) snprintf(buf + off, n - off, "]");
    return buf;
}

struct xai_shape xai_shape_make(int ndim, const int64_t *d)
{
    struct xai_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = ndim;
    for (int i = 0; i < ndim; i++) s.d[i] = d[i];
    return s;
}

xai_status xai_shape_broadcast(const struct xai_shape *a, const struct xai_shape *b,
                               struct xai_shape *out, struct xai_err *err)
{
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    struct xai_shape r;
    memset(&r, 0, sizeof r);
    r.ndim = nd;
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char sa[96], sb[96];
            return xai_fail(err, XAI_SHAPE_MISMATCH, "shapes %s and %s cannot be broadcast",
                            xai_shape_str(a, sa, sizeof sa), xai_shape_str(b, sb, sizeof sb));
        }
        r.d[i] = da == 1 ? db : da;
    }
    *out = r;
    return XAI_OK;
}

void xai_shape_bstrides(const struct xai_shape *s, const struct xai_shape *out, int64_t *strides)
{
    int64_t st = 1;
    int off = out->ndim - s->ndim;
    for (int i = out->ndim - 1; i >= 0; i--) {
        int is = i - off;
        if (is < 0 || s->d[is] == 1) {
            strides[i] = 0;
        } else {
            strides[i] = st;
        }
        if (is >= 0) st *= s->d[is];
    }
}

int xai_axis(int64_t axis, int ndim)
{
    if (axis < -ndim || axis >= ndim) return -1;
    return (int)(axis < 0 ? axis + ndim : axis);
}
