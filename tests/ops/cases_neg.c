#include "harness.h"

const struct op_case xai_cases_neg[] = {
    {"Neg 4d", "Neg", 13, "", {{IN_DATA, "2,3,4,5", NULL}}, 1},
    {"Neg 1d", "Neg", 6, "", {{IN_DATA, "7", NULL}}, 1},
    {0},
};
