#include "harness.h"

/* Opset < 13 flattens from the axis to the end; opset 13 normalises one axis. */
const struct op_case xai_cases_log_softmax[] = {
    {"LogSoftmax opset 11 axis=1 (coerced 2-D)",
     "LogSoftmax",
     11,
     "axis=1",
     {{IN_DATA, "2,3,4", NULL}},
     1},
    {"LogSoftmax opset 11 axis=-1", "LogSoftmax", 11, "axis=-1", {{IN_DATA, "2,3,4", NULL}}, 1},
    {"LogSoftmax opset 11 default axis", "LogSoftmax", 11, "", {{IN_DATA, "2,10", NULL}}, 1},
    {"LogSoftmax opset 13 axis=1", "LogSoftmax", 13, "axis=1", {{IN_DATA, "2,3,4,5", NULL}}, 1},
    {"LogSoftmax opset 13 axis=-1", "LogSoftmax", 13, "axis=-1", {{IN_DATA, "2,3,4", NULL}}, 1},
    {"LogSoftmax opset 13 default axis", "LogSoftmax", 13, "", {{IN_DATA, "3,6", NULL}}, 1},
    {"LogSoftmax opset 13 axis=0", "LogSoftmax", 13, "axis=0", {{IN_DATA, "3,2,2", NULL}}, 1},
    {0},
};
