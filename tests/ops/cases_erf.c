#include "harness.h"

const struct op_case xai_cases_erf[] = {
    {"Erf 4d", "Erf", 13, "", {{IN_DATA, "2,3,4,5", NULL}}, 1},
    {"Erf wide range", "Erf", 9, "", {{IN_DATA, "2,4", "-4,-2.1,-1.25,-0.3,0.4,1.5,2.6,5"}}, 1},
    {0},
};
