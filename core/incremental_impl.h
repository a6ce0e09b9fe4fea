/* incremental_impl.h - the plan incremental.c makes and incremental_run.c executes; see
 * incremental.h. Internal to core/. */
#ifndef XAI_INCREMENTAL_IMPL_H
#define XAI_INCREMENTAL_IMPL_H

#include "incremental.h"
#include "model.h"

enum { K_CONST, K_BOX, K_FULL };

/* Changed positions [lo, hi) along one axis; empty when lo >= hi. */
struct xai_ival {
    int lo, hi;
};

struct xai_ivalue {
    int kind;
    bool mat;            /* BOX read whole: by a FULL node, or as the result */
    int c, h, w;         /* BOX: channels, map size */
    int mh, mw;          /* BOX: the largest box over the grid */
    struct xai_ival *ry; /* BOX: rows changed, per grid row (g.ny) */
    struct xai_ival *rx; /* BOX: columns changed, per grid column (g.nx) */
    int t0, t1, tfull;   /* steps: produced, last read, first read whole */
    size_t box_off, full_off;
    const struct xai_tensor *clean;
    /* the current batch */
    int bh, bw;   /* box size */
    int *oy, *ox; /* box origin of each copy */
    bool mat_done;
};

struct xai_inode {
    bool box, window;
    struct xai_op_window w;
    void *unpadded; /* window nodes: params without padding */
    size_t *gather; /* per input: arena offset of its gathered crop, or SIZE_MAX */
};

struct xai_incr {
    const xai_model *m;
    xai_session *s;
    int value, max_batch;
    struct xai_incr_grid g;
    double frac, field;
    struct xai_ivalue *v;
    struct xai_inode *nd;
    int *org; /* the values' oy, ox */
    float *arena;
    float *scratch;
    size_t scratch_cap;
    struct xai_shape *shapes; /* every value at the current batch size */
    int64_t shapes_n;
    double macs_done, macs_whole, macs_one;
    const struct xai_tensor **pin, **pout; /* a node's views */
    const struct xai_tensor **pnull;       /* no gradients */
    struct xai_tensor *tin, *tout;
    struct xai_tensor result;
};

/* Node k runs at step k + 1; the graph input is step 0; the result is read at the end. */
static inline int xai_incr_end(const struct xai_incr *inc)
{
    return inc->m->n_nodes + 1;
}

#endif
