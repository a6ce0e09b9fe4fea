#include "harness.h"

const struct op_case xai_cases_flatten[] = {
    {"Flatten axis 1", "Flatten", 13, "", {{IN_DATA, "2,3,2,2", NULL}}, 1, 0},
    {"Flatten axis 0", "Flatten", 13, "axis=0", {{IN_DATA, "2,3,2", NULL}}, 1, 0},
    {"Flatten axis -1", "Flatten", 13, "axis=-1", {{IN_DATA, "2,3,2", NULL}}, 1, 0},
    {"Flatten axis = rank", "Flatten", 11, "axis=3", {{IN_DATA, "2,3,2", NULL}}, 1, 0},
    {0},
};
