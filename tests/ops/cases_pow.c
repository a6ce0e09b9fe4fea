#include "harness.h"

/* Constant scalar exponents only; data in [0.5, 1.5] for the fractional and negative ones. */
const struct op_case xai_cases_pow[] = {
    {"Pow x^2", "Pow", 13, "", {{IN_DATA, "2,3,4,5", NULL}, {IN_CONST, "", "2.0"}}, 1},
    {"Pow x^3 (int64 exponent)", "Pow", 15, "", {{IN_DATA, "3,7", NULL}, {IN_INTS, "", "3"}}, 1},
    {"Pow x^0.5",
     "Pow",
     7,
     "",
     {{IN_DATA, "2,3,4", NULL}, {IN_CONST, "", "0.5"}},
     1,
     CASE_POSITIVE},
    {"Pow x^-1.5",
     "Pow",
     12,
     "",
     {{IN_DATA, "2,3,4", NULL}, {IN_CONST, "1", "-1.5"}},
     1,
     CASE_POSITIVE},
    {"Pow x^0", "Pow", 13, "", {{IN_DATA, "2,5", NULL}, {IN_CONST, "", "0.0"}}, 1},
    {0},
};
