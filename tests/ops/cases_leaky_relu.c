#include "harness.h"

const struct op_case xai_cases_leaky_relu[] = {
    {"LeakyRelu default alpha",
     "LeakyRelu",
     16,
     "",
     {{IN_DATA, "2,3,4,5", NULL}},
     1,
     CASE_AWAY_FROM_ZERO},
    {"LeakyRelu alpha=0.2",
     "LeakyRelu",
     6,
     "alpha=0.2",
     {{IN_DATA, "3,7", NULL}},
     1,
     CASE_AWAY_FROM_ZERO},
    {0},
};
