#include "harness.h"

const struct op_case xai_cases_unsqueeze[] = {
    {"Unsqueeze axes attribute (opset 11)",
     "Unsqueeze",
     11,
     "axes=[0,3]",
     {{IN_DATA, "2,3", NULL}},
     1,
     0},
    {"Unsqueeze axes input (opset 13)",
     "Unsqueeze",
     13,
     "",
     {{IN_DATA, "2,3", NULL}, {IN_INTS, "2", "1,-1"}},
     1,
     0},
    {0},
};
