#include "harness.h"

/* Data in [0.5, 1.5]: Sqrt is undefined below 0 and steep at 0. */
const struct op_case xai_cases_sqrt[] = {
    {"Sqrt 4d", "Sqrt", 13, "", {{IN_DATA, "2,3,4,5", NULL}}, 1, CASE_POSITIVE},
    {"Sqrt wide range", "Sqrt", 6, "", {{IN_DATA, "6", "0.2,0.9,3.5,16,100,1234.5"}}, 1},
    {0},
};
