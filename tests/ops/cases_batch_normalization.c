#include "harness.h"

#define K(shape, values)                                                                           \
    {                                                                                              \
        IN_CONST, shape, values                                                                    \
    }

const struct op_case xai_cases_batch_normalization[] = {
    {"BatchNormalization 4-D",
     "BatchNormalization",
     15,
     "epsilon=0.001 momentum=0.9",
     {{IN_DATA, "2,3,4,4", NULL},
      K("3", "0.5,-1.5,2.0"),
      K("3", "0.1,0.2,-0.3"),
      K("3", "0.3,-0.2,0.0"),
      K("3", "0.5,1.0,2.5")},
     1},
    {"BatchNormalization 2-D",
     "BatchNormalization",
     14,
     "training_mode=0",
     {{IN_DATA, "4,3", NULL},
      K("3", "1.0,0.7,-0.4"),
      K("3", NULL),
      K("3", NULL),
      K("3", "0.2,1.5,0.8")},
     1},
    {"BatchNormalization opset 7 spatial",
     "BatchNormalization",
     7,
     "spatial=1",
     {{IN_DATA, "1,2,3,3", NULL}, K("2", NULL), K("2", NULL), K("2", NULL), K("2", "0.9,1.1")},
     1},
    {0},
};
