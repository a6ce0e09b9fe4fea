#include "harness.h"

const struct op_case xai_cases_exp[] = {
    {"Exp 4d", "Exp", 13, "", {{IN_DATA, "2,3,4,5", NULL}}, 1},
    {"Exp 2d", "Exp", 6, "", {{IN_DATA, "3,7", NULL}}, 1},
    {0},
};
