#include "harness.h"

/* Opset < 13 flattens from the axis to the end; opset 13 normalises one axis. */
const struct op_case xai_cases_softmax[] = {
    {"Softmax opset 11 axis=1 (coerced 2-D)",
     "Softmax",
     11,
     "axis=1",
     {{IN_DATA, "2,3,4", NULL}},
     1},
    {"Softmax opset 11 axis=-1", "Softmax", 11, "axis=-1", {{IN_DATA, "2,3,4", NULL}}, 1},
    {"Softmax opset 11 default axis", "Softmax", 11, "", {{IN_DATA, "2,10", NULL}}, 1},
    {"Softmax opset 13 axis=1", "Softmax", 13, "axis=1", {{IN_DATA, "2,3,4,5", NULL}}, 1},
    {"Softmax opset 13 axis=-1", "Softmax", 13, "axis=-1", {{IN_DATA, "2,3,4", NULL}}, 1},
    {"Softmax opset 13 default axis", "Softmax", 13, "", {{IN_DATA, "3,6", NULL}}, 1},
    {"Softmax opset 13 axis=0", "Softmax", 13, "axis=0", {{IN_DATA, "3,2,2", NULL}}, 1},
    {0},
};
