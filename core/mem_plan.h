/*
 * mem_plan.h - offsets of buffers in one arena by lifetime: the session's memory planner.
 *
 * A request is a buffer of `size` floats live from step t0 to step t1 (both included). Two
 * requests whose lifetimes intersect never overlap in the arena; others may share memory.
 * Placement is greedy by size, as TFLite's arena planner: largest request first, each into
 * the best-fitting gap left by the already placed requests live at the same time. Requests
 * placed before (fixed) keep their offsets. Internal to core/ (and its tests).
 */
#ifndef XAI_MEM_PLAN_H
#define XAI_MEM_PLAN_H

#include <stdbool.h>
#include <stddef.h>

struct xai_mreq {
    int t0, t1;  /* live steps, inclusive */
    size_t size; /* floats; 0 takes no memory */
    size_t off;  /* floats from the arena start: set for r[first..n) by xai_plan_place */
};

/* Places r[first..n) around the fixed r[0..first). work holds 2 * n ints. Returns the arena
 * size in floats (the largest offset + size). O(n^2), for a few thousand requests. */
size_t xai_plan_place(struct xai_mreq *r, int n, int first, int *work);

/* True when no two requests with intersecting lifetimes overlap in memory (for tests). */
bool xai_plan_check(const struct xai_mreq *r, int n);

#endif
