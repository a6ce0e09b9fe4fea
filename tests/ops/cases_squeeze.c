#include "harness.h"

const struct op_case xai_cases_squeeze[] = {
    {"Squeeze axes attribute (opset 11)",
     "Squeeze",
     11,
     "axes=[1,-1]",
     {{IN_DATA, "2,1,3,1", NULL}},
     1,
     0},
    {"Squeeze axes input (opset 13)",
     "Squeeze",
     13,
     "",
     {{IN_DATA, "2,1,3,1", NULL}, {IN_INTS, "1", "-1"}},
     1,
     0},
    {"Squeeze all size-1 axes (opset 13)", "Squeeze", 13, "", {{IN_DATA, "2,1,3,1", NULL}}, 1, 0},
    {0},
};
