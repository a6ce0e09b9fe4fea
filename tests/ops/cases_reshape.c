#include "harness.h"

/* Batch-flagged shape elements are covered by tests/unit/test_ops_shape.c. */
const struct op_case xai_cases_reshape[] = {
    {"Reshape 0 and -1",
     "Reshape",
     13,
     "",
     {{IN_DATA, "2,3,4", NULL}, {IN_INTS, "3", "0,-1,2"}},
     1,
     0},
    {"Reshape -1 first",
     "Reshape",
     14,
     "allowzero=0",
     {{IN_DATA, "2,3,4", NULL}, {IN_INTS, "2", "-1,12"}},
     1,
     0},
    {"Reshape explicit to rank 4",
     "Reshape",
     5,
     "",
     {{IN_DATA, "2,6", NULL}, {IN_INTS, "4", "2,3,1,2"}},
     1,
     0},
    {0},
};
