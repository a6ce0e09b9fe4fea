#include "harness.h"

const struct op_case xai_cases_relu[] = {
    {"Relu 4d", "Relu", 14, "", {{IN_DATA, "2,3,4,5", NULL}}, 1, CASE_AWAY_FROM_ZERO},
    {"Relu 2d", "Relu", 6, "", {{IN_DATA, "3,7", NULL}}, 1, CASE_AWAY_FROM_ZERO},
    {0},
};
