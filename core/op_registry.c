/* op_registry.c - the table of every op, generated from the file names in core/ops/. */
#include "op.h"

#include <string.h>

#define X(name) extern const struct xai_op_def xai_op_##name;
#include "ops_list.h"
#undef X

static const struct xai_op_def *const all_ops[] = {
#define X(name) &xai_op_##name,
#include "ops_list.h"
#undef X
    NULL};

const struct xai_op_def *xai_op_find(const char *op_type, int opset)
{
    for (size_t i = 0; all_ops[i]; i++) {
        const struct xai_op_def *d = all_ops[i];
        if (strcmp(d->name, op_type) == 0 && opset >= d->opset_min && opset <= d->opset_max)
            return d;
    }
    return NULL;
}

const struct xai_op_def *const *xai_op_all(int *n)
{
    *n = (int)(sizeof all_ops / sizeof all_ops[0]) - 1;
    return all_ops;
}
