#include "harness.h"

const struct op_case xai_cases_global_average_pool[] = {
    {"GlobalAveragePool 4d", "GlobalAveragePool", 1, "", {{IN_DATA, "2,3,4,5", NULL}}, 1, 0},
    {"GlobalAveragePool 3d", "GlobalAveragePool", 1, "", {{IN_DATA, "2,2,3", NULL}}, 1, 0},
    {0},
};
