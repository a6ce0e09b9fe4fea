#include "harness.h"

#define D(shape)                                                                                   \
    {                                                                                              \
        IN_DATA, shape, NULL                                                                       \
    }
#define K(shape)                                                                                   \
    {                                                                                              \
        IN_CONST, shape, NULL                                                                      \
    }

const struct op_case xai_cases_matmul[] = {
    {"MatMul 2-D constant B", "MatMul", 13, "", {D("3,4"), K("4,5")}, 1},
    {"MatMul 2-D two runtime inputs", "MatMul", 13, "", {D("3,4"), D("4,2")}, 1},
    {"MatMul 3-D batched", "MatMul", 13, "", {D("2,3,4"), D("2,4,5")}, 1},
    {"MatMul 3-D x 2-D (folded)", "MatMul", 13, "", {D("2,3,4"), D("4,5")}, 1},
    {"MatMul 4-D broadcast both", "MatMul", 13, "", {D("2,1,3,4"), D("1,3,4,2")}, 1},
    {"MatMul 2-D x 3-D broadcast A", "MatMul", 9, "", {D("3,4"), D("2,4,2")}, 1},
    {"MatMul 4-D x 3-D", "MatMul", 13, "", {D("2,2,2,3"), D("2,3,2")}, 1},
    {"MatMul 1-D x 2-D", "MatMul", 13, "", {D("4"), D("4,3")}, 1},
    {"MatMul 2-D x 1-D", "MatMul", 13, "", {D("3,4"), D("4")}, 1},
    {"MatMul 1-D x 1-D", "MatMul", 13, "", {D("4"), D("4")}, 1},
    {"MatMul 1-D x 3-D", "MatMul", 13, "", {D("4"), D("2,4,3")}, 1},
    {"MatMul 3-D x 1-D", "MatMul", 1, "", {D("2,3,4"), D("4")}, 1},
    {0},
};
