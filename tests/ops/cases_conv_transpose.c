#include "harness.h"

#define X(shape)                                                                                   \
    {                                                                                              \
        IN_DATA, shape, NULL                                                                       \
    }
#define W(shape)                                                                                   \
    {                                                                                              \
        IN_CONST, shape, NULL                                                                      \
    }

const struct op_case xai_cases_conv_transpose[] = {
    {"ConvTranspose stride2 output_padding pads bias",
     "ConvTranspose",
     11,
     "strides=[2,2] output_padding=[1,1] pads=[1,1,1,1]",
     {X("1,3,3,3"), W("3,2,3,3"), W("2")},
     1},
    {"ConvTranspose asymmetric pads",
     "ConvTranspose",
     11,
     "pads=[0,1,1,2]",
     {X("1,2,4,4"), W("2,3,3,3")},
     1},
    {"ConvTranspose group2 stride (2,1) bias",
     "ConvTranspose",
     11,
     "group=2 strides=[2,1]",
     {X("1,4,3,3"), W("4,1,3,3"), W("2")},
     1},
    {"ConvTranspose dilation2 stride (1,2)",
     "ConvTranspose",
     11,
     "dilations=[2,2] strides=[1,2] kernel_shape=[2,3]",
     {X("1,2,3,4"), W("2,2,2,3")},
     1},
    {"ConvTranspose 1x1 bias batch2",
     "ConvTranspose",
     11,
     "",
     {X("2,3,3,3"), W("3,4,1,1"), W("4")},
     1},
    {"ConvTranspose k4 s2 p1 batch2",
     "ConvTranspose",
     11,
     "strides=[2,2] pads=[1,1,1,1]",
     {X("2,2,3,3"), W("2,3,4,4")},
     1},
    {"ConvTranspose output_padding (0,1) stride (2,3)",
     "ConvTranspose",
     13,
     "strides=[2,3] output_padding=[0,1] auto_pad=\"NOTSET\"",
     {X("1,2,3,2"), W("2,2,2,2")},
     1},
    {"ConvTranspose VALID",
     "ConvTranspose",
     11,
     "auto_pad=\"VALID\" strides=[2,2]",
     {X("1,2,2,3"), W("2,2,3,3")},
     1},
    {"ConvTranspose 1-D",
     "ConvTranspose",
     11,
     "strides=[2] output_padding=[1]",
     {X("1,2,5"), W("2,3,3"), W("3")},
     1},
    {0},
};
