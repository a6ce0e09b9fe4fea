#include "harness.h"

const struct op_case xai_cases_global_max_pool[] = {
    {"GlobalMaxPool 4d", "GlobalMaxPool", 1, "", {{IN_DATA, "2,3,3,4", NULL}}, 1, CASE_DISTINCT},
    {"GlobalMaxPool 3d", "GlobalMaxPool", 1, "", {{IN_DATA, "2,2,5", NULL}}, 1, CASE_DISTINCT},
    {0},
};
