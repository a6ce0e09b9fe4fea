/*
 * harness.h - finite-difference gradient checks for every registered op.
 *
 * Each op file core/ops/<op>.c has a case file tests/ops/cases_<op>.c that defines
 *   const struct op_case xai_cases_<op>[] = { {...}, {...}, {0} };
 * one entry per attribute variant. test_op_gradients runs all of them and fails when a
 * registered op has no cases. Attribute syntax, space separated:
 *   group=2   alpha=0.1   strides=[2,2]   scales=[1.0,2.0]   mode="linear"
 * (a number with '.' or 'e' is a float; a list is floats when any element is.)
 */
#ifndef XAI_TEST_HARNESS_H
#define XAI_TEST_HARNESS_H

#include <stddef.h>

enum case_in_kind {
    IN_END = 0,
    IN_DATA,   /* runtime input, random in [lo, hi], gradient checked if in grad_mask */
    IN_CONST,  /* float constant (weights): values, or random when values is NULL */
    IN_INTS,   /* int64 constant with the given values */
    IN_ABSENT, /* omitted optional input */
};

struct case_in {
    enum case_in_kind kind;
    const char *shape;  /* "1,3,5,5"; "" for a scalar */
    const char *values; /* comma-separated, or NULL */
};

#define CASE_AWAY_FROM_ZERO 1u /* redraw data values with |x| < 0.05 (kinks at 0) */
#define CASE_DISTINCT 2u       /* spread data values apart (max/min ties) */
#define CASE_POSITIVE 4u       /* draw data from [0.5, 1.5] instead of [-1, 1] (Div, Sqrt, Pow) */

struct op_case {
    const char *label;
    const char *op_type;
    int opset;
    const char *attrs;
    struct case_in in[8];
    int n_out;
    unsigned flags;
    const char *kinks; /* optional, "-0.5,0.5": redraw data values within 0.05 of these points */
};

#endif
