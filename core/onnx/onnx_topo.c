/*
 * onnx_topo.c - orders the graph's nodes so that every node comes after the producers of its
 * inputs (Kahn's algorithm, keeping the file's order where it is free). A node left over
 * when no node is ready any more sits on a cycle, and is named in the error.
 */
#include <stdlib.h>

#include "onnx_internal.h"

struct topo {
    int *indeg, *start, *succ, *queue;
};

static void topo_free(struct topo *t)
{
    free(t->indeg);
    free(t->start);
    free(t->succ);
    free(t->queue);
}

/* Successor lists in compressed form: succ[start[p] .. start[p+1]) are the consumers of p. */
static void build_edges(const struct imp *im, struct topo *t)
{
    for (int k = 0; k < im->n_nodes; k++)
        for (int i = 0; i < im->nodes[k].n_in; i++) {
            int v = im->nodes[k].in[i];
            int p = v >= 0 ? im->gprod[v] : -1;
            if (p < 0) continue;
            t->indeg[k]++;
            t->start[p + 1]++;
        }
    for (int k = 0; k < im->n_nodes; k++) t->start[k + 1] += t->start[k];
    int *fill = t->queue; /* borrowed as a cursor per node before the queue is used */
    for (int k = 0; k < im->n_nodes; k++) fill[k] = t->start[k];
    for (int k = 0; k < im->n_nodes; k++)
        for (int i = 0; i < im->nodes[k].n_in; i++) {
            int v = im->nodes[k].in[i];
            int p = v >= 0 ? im->gprod[v] : -1;
            if (p >= 0) t->succ[fill[p]++] = k;
        }
}

/* A node still waiting has a waiting producer; walking producers n times lands on a cycle. */
static int remaining_producer(const struct imp *im, const int *indeg, int k)
{
    const struct imp_node *n = &im->nodes[k];
    for (int i = 0; i < n->n_in; i++) {
        int p = n->in[i] >= 0 ? im->gprod[n->in[i]] : -1;
        if (p >= 0 && indeg[p] > 0) return p;
    }
    return k;
}

static xai_status cycle_error(struct imp *im, const int *indeg)
{
    int k = 0;
    while (k < im->n_nodes && indeg[k] == 0) k++;
    if (k == im->n_nodes) return xai_fail(im->err, XAI_INTERNAL, "topological sort failed");
    for (int step = 0; step < im->n_nodes; step++) k = remaining_producer(im, indeg, k);
    return xai_node_fail(im->nodes[k].name, im->nodes[k].op, im->err, XAI_BAD_MODEL,
                         "the graph has a cycle through this node");
}

static int kahn(struct imp *im, struct topo *t)
{
    int head = 0, tail = 0;
    for (int k = 0; k < im->n_nodes; k++)
        if (!t->indeg[k]) t->queue[tail++] = k;
    while (head < tail) {
        int k = t->queue[head++];
        im->order[head - 1] = k;
        for (int e = t->start[k]; e < t->start[k + 1]; e++)
            if (--t->indeg[t->succ[e]] == 0) t->queue[tail++] = t->succ[e];
    }
    return head;
}

xai_status xai_imp_toposort(struct imp *im)
{
    size_t n = (size_t)im->n_nodes + 1, edges = 1;
    for (int k = 0; k < im->n_nodes; k++) edges += (size_t)im->nodes[k].n_in;
    struct topo t = {calloc(n, sizeof(int)), calloc(n + 1, sizeof(int)), calloc(edges, sizeof(int)),
                     calloc(n, sizeof(int))};
    im->order = calloc(n, sizeof(int));
    if (!t.indeg || !t.start || !t.succ || !t.queue || !im->order) {
        topo_free(&t);
        return xai_fail(im->err, XAI_NO_MEMORY, "out of memory sorting the graph");
    }
    build_edges(im, &t);
    /* the queue was used as a fill cursor: reset it */
    for (size_t k = 0; k < n; k++) t.queue[k] = 0;
    xai_status st = XAI_OK;
    if (kahn(im, &t) < im->n_nodes) st = cycle_error(im, t.indeg);
    topo_free(&t);
    return st;
}
