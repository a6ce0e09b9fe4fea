#include "harness.h"

#define D(shape)                                                                                   \
    {                                                                                              \
        IN_DATA, shape, NULL                                                                       \
    }
#define K(shape)                                                                                   \
    {                                                                                              \
        IN_CONST, shape, NULL                                                                      \
    }

const struct op_case xai_cases_gemm[] = {
    {"Gemm plain no C", "Gemm", 13, "", {D("3,4"), K("4,5")}, 1},
    {"Gemm transB row-vector C (Linear)", "Gemm", 13, "transB=1", {D("3,4"), K("5,4"), K("5")}, 1},
    {"Gemm transA alpha beta full C",
     "Gemm",
     13,
     "transA=1 alpha=0.5 beta=2.0",
     {D("4,3"), K("4,5"), D("3,5")},
     1},
    {"Gemm transA transB scalar C",
     "Gemm",
     11,
     "transA=1 transB=1 beta=0.5",
     {D("4,3"), K("5,4"), D("")},
     1},
    {"Gemm [1] C", "Gemm", 9, "alpha=1.5", {D("2,3"), K("3,4"), D("1")}, 1},
    {"Gemm two runtime inputs column C", "Gemm", 13, "", {D("3,4"), D("4,2"), D("3,1")}, 1},
    {"Gemm two runtime inputs transposed",
     "Gemm",
     13,
     "transA=1 transB=1 alpha=0.7",
     {D("4,3"), D("2,4"), {IN_ABSENT, "", NULL}},
     1},
    {"Gemm runtime B transB, row C [1,N]",
     "Gemm",
     13,
     "transB=1 beta=-1.0",
     {D("2,3"), D("4,3"), K("1,4")},
     1},
    {0},
};
