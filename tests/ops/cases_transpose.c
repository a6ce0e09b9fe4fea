#include "harness.h"

const struct op_case xai_cases_transpose[] = {
    {"Transpose NCHW->NHWC", "Transpose", 13, "perm=[0,2,3,1]", {{IN_DATA, "2,3,2,4", NULL}}, 1, 0},
    {"Transpose NHWC->NCHW", "Transpose", 13, "perm=[0,3,1,2]", {{IN_DATA, "2,2,4,3", NULL}}, 1, 0},
    {"Transpose default reverses", "Transpose", 13, "", {{IN_DATA, "2,3,4", NULL}}, 1, 0},
    {"Transpose 2d", "Transpose", 1, "perm=[1,0]", {{IN_DATA, "3,5", NULL}}, 1, 0},
    {"Transpose rotate 3d", "Transpose", 13, "perm=[2,0,1]", {{IN_DATA, "2,3,4", NULL}}, 1, 0},
    {0},
};
