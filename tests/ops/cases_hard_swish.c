#include "harness.h"

/* Kinks at -3 and 3, outside the random data: a second case walks all three pieces. */
const struct op_case xai_cases_hard_swish[] = {
    {"HardSwish 4d", "HardSwish", 14, "", {{IN_DATA, "2,3,4,5", NULL}}, 1},
    {"HardSwish all pieces",
     "HardSwish",
     14,
     "",
     {{IN_DATA, "2,5", "-5.5,-3.2,-2.8,-1.1,-0.2,0.3,1.7,2.9,3.1,6.0"}},
     1},
    {0},
};
