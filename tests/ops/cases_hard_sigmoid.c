#include "harness.h"

/* Kinks where alpha x + beta is 0 or 1; the chosen attributes put them inside the data. */
const struct op_case xai_cases_hard_sigmoid[] = {
    {"HardSigmoid alpha=1.0 beta=0.5",
     "HardSigmoid",
     6,
     "alpha=1.0 beta=0.5",
     {{IN_DATA, "2,3,4,5", NULL}},
     1,
     0,
     "-0.5,0.5"},
    {"HardSigmoid alpha=2.5 beta=0.25",
     "HardSigmoid",
     6,
     "alpha=2.5 beta=0.25",
     {{IN_DATA, "3,7", NULL}},
     1,
     0,
     "-0.1,0.3"},
    {"HardSigmoid defaults (torch-like range)",
     "HardSigmoid",
     6,
     "",
     {{IN_DATA, "8", "-4,-2.6,-1.5,-0.3,0.4,1.5,2.4,3.2"}},
     1},
    {0},
};
