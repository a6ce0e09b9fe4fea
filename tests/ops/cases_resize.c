#include "harness.h"

#define X(s)                                                                                       \
    {                                                                                              \
        IN_DATA, s, NULL                                                                           \
    }
#define NOROI                                                                                      \
    {                                                                                              \
        IN_ABSENT, "", NULL                                                                        \
    }
#define SCALES(s)                                                                                  \
    {                                                                                              \
        IN_CONST, "4", s                                                                           \
    }
#define SIZES(s)                                                                                   \
    {                                                                                              \
        IN_INTS, "4", s                                                                            \
    }

const struct op_case xai_cases_resize[] = {
    {"Resize nearest asymmetric floor x2 (scales)",
     "Resize",
     13,
     "mode=\"nearest\" coordinate_transformation_mode=\"asymmetric\" nearest_mode=\"floor\" "
     "cubic_coeff_a=-0.75",
     {X("1,2,3,4"), NOROI, SCALES("1,1,2,2")},
     1,
     0},
    {"Resize nearest asymmetric floor down (sizes)",
     "Resize",
     13,
     "mode=\"nearest\" coordinate_transformation_mode=\"asymmetric\" nearest_mode=\"floor\"",
     {X("1,2,4,5"), NOROI, {IN_ABSENT, "", NULL}, SIZES("1,2,2,3")},
     1,
     0},
    {"Resize nearest half_pixel round_prefer_floor x1.5",
     "Resize",
     13,
     "mode=\"nearest\"",
     {X("1,1,4,4"), NOROI, SCALES("1,1,1.5,1.5")},
     1,
     0},
    {"Resize nearest half_pixel round_prefer_ceil",
     "Resize",
     13,
     "mode=\"nearest\" nearest_mode=\"round_prefer_ceil\"",
     {X("1,1,4,4"), NOROI, SCALES("1,1,1.5,0.5")},
     1,
     0},
    {"Resize nearest align_corners ceil",
     "Resize",
     13,
     "mode=\"nearest\" coordinate_transformation_mode=\"align_corners\" nearest_mode=\"ceil\"",
     {X("1,1,3,4"), NOROI, {IN_ABSENT, "", NULL}, SIZES("1,1,5,3")},
     1,
     0},
    {"Resize linear half_pixel x2 (scales)",
     "Resize",
     13,
     "mode=\"linear\"",
     {X("1,2,3,4"), NOROI, SCALES("1,1,2,2")},
     1,
     0},
    {"Resize linear half_pixel down 0.6",
     "Resize",
     13,
     "mode=\"linear\"",
     {X("1,1,5,5"), NOROI, SCALES("1,1,0.6,0.6")},
     1,
     0},
    {"Resize linear pytorch_half_pixel down (sizes, H to 1)",
     "Resize",
     13,
     "mode=\"linear\" coordinate_transformation_mode=\"pytorch_half_pixel\"",
     {X("1,2,4,5"), NOROI, {IN_ABSENT, "", NULL}, SIZES("1,2,1,3")},
     1,
     0},
    {"Resize linear align_corners up (sizes)",
     "Resize",
     13,
     "mode=\"linear\" coordinate_transformation_mode=\"align_corners\"",
     {X("1,1,3,4"), NOROI, {IN_ABSENT, "", NULL}, SIZES("1,1,5,7")},
     1,
     0},
    {"Resize linear asymmetric down 0.5",
     "Resize",
     13,
     "mode=\"linear\" coordinate_transformation_mode=\"asymmetric\"",
     {X("2,1,4,6"), NOROI, SCALES("1,1,0.5,0.5")},
     1,
     0},
    {"Resize opset 11 empty roi and scales, sizes",
     "Resize",
     11,
     "mode=\"linear\" coordinate_transformation_mode=\"align_corners\"",
     {X("1,2,2,3"), {IN_CONST, "0", NULL}, {IN_CONST, "0", NULL}, SIZES("1,2,3,5")},
     1,
     0},
    {"Resize linear rank 3",
     "Resize",
     13,
     "mode=\"linear\"",
     {X("2,2,5"), NOROI, {IN_CONST, "3", "1,1,2"}},
     1,
     0},
    {0},
};
