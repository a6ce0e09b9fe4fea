#include "harness.h"

const struct op_case xai_cases_tanh[] = {
    {"Tanh 4d", "Tanh", 13, "", {{IN_DATA, "2,3,4,5", NULL}}, 1},
    {"Tanh wide range", "Tanh", 6, "", {{IN_DATA, "2,4", "-9,-2.5,-1.25,-0.3,0.4,1.5,3.0,12"}}, 1},
    {0},
};
