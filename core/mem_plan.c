/* mem_plan.c - greedy-by-size arena placement of buffers by lifetime (see mem_plan.h). */
#include "mem_plan.h"

static bool live_together(const struct xai_mreq *a, const struct xai_mreq *b)
{
    return a->t0 <= b->t1 && b->t0 <= a->t1;
}

static bool takes_memory(const struct xai_mreq *a)
{
    return a->size > 0 && a->t0 <= a->t1;
}

/* True when request i goes before request j: larger first, then earlier, then by index. */
static bool before(const struct xai_mreq *r, int i, int j)
{
    if (r[i].size != r[j].size) return r[i].size > r[j].size;
    if (r[i].t0 != r[j].t0) return r[i].t0 < r[j].t0;
    return i < j;
}

/* Insertion sort of idx[0..n) by cmp: n is at most a few thousand and this runs once per
 * plan, not per pass. */
static void sort_idx(const struct xai_mreq *r, int *idx, int n, bool by_offset)
{
    for (int a = 1; a < n; a++) {
        int v = idx[a], b = a;
        while (b > 0 && (by_offset ? r[idx[b - 1]].off > r[v].off : before(r, v, idx[b - 1]))) {
            idx[b] = idx[b - 1];
            b--;
        }
        idx[b] = v;
    }
}

/* The lowest offset of the smallest gap that fits r[i] among the placed requests live with
 * it (placed[0..np) sorted by offset), or the end of the highest of them. */
static size_t best_gap(const struct xai_mreq *r, int i, const int *placed, int np)
{
    size_t end = 0, best = 0, best_size = (size_t)-1;
    bool found = false;
    for (int k = 0; k < np; k++) {
        const struct xai_mreq *p = &r[placed[k]];
        if (!live_together(p, &r[i])) continue;
        if (p->off >= end && p->off - end >= r[i].size && p->off - end < best_size) {
            best = end;
            best_size = p->off - end;
            found = true;
        }
        if (p->off + p->size > end) end = p->off + p->size;
    }
    return found ? best : end;
}

/* Inserts i into placed[0..np) keeping it sorted by offset. */
static void insert_placed(const struct xai_mreq *r, int *placed, int np, int i)
{
    int k = np;
    while (k > 0 && r[placed[k - 1]].off > r[i].off) {
        placed[k] = placed[k - 1];
        k--;
    }
    placed[k] = i;
}

size_t xai_plan_place(struct xai_mreq *r, int n, int first, int *work)
{
    int *placed = work, *order = work + n, np = 0, no = 0;
    size_t top = 0;
    for (int i = 0; i < n; i++) {
        if (!takes_memory(&r[i])) {
            if (i >= first) r[i].off = 0;
            continue;
        }
        if (i < first)
            placed[np++] = i;
        else
            order[no++] = i;
    }
    sort_idx(r, placed, np, true);
    sort_idx(r, order, no, false);
    for (int k = 0; k < no; k++) {
        int i = order[k];
        r[i].off = best_gap(r, i, placed, np);
        insert_placed(r, placed, np++, i);
    }
    for (int k = 0; k < np; k++)
        if (r[placed[k]].off + r[placed[k]].size > top) top = r[placed[k]].off + r[placed[k]].size;
    return top;
}

bool xai_plan_check(const struct xai_mreq *r, int n)
{
    for (int i = 0; i < n; i++) {
        if (!takes_memory(&r[i])) continue;
        for (int j = i + 1; j < n; j++) {
            if (!takes_memory(&r[j]) || !live_together(&r[i], &r[j])) continue;
            if (r[i].off < r[j].off + r[j].size && r[j].off < r[i].off + r[i].size) return false;
        }
    }
    return true;
}
