#include "harness.h"

const struct op_case xai_cases_sigmoid[] = {
    {"Sigmoid 4d", "Sigmoid", 13, "", {{IN_DATA, "2,3,4,5", NULL}}, 1},
    {"Sigmoid large magnitudes",
     "Sigmoid",
     6,
     "",
     {{IN_DATA, "2,4", "-30,-8.5,-2.25,-0.3,0.4,2.5,9.0,40"}},
     1},
    {0},
};
