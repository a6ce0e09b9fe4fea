/*
 * test_op_gradients.c - registry-wide check: every op's backward against central finite
 * differences, in every attribute variant listed in tests/ops/cases_<op>.c, and the
 * accumulate (+=) contract of backward, with every activation backward does not declare it
 * reads (bwd_in, bwd_out) poisoned. Fails for an op that has no cases.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "op.h"

#define X(name) extern const struct op_case xai_cases_##name[];
#include "cases_list.h"
#undef X

struct case_set {
    const char *op;
    const struct op_case *cases;
};
static const struct case_set all_sets[] = {
#define X(name) {#name, xai_cases_##name},
#include "cases_list.h"
#undef X
    {NULL, NULL}};

static unsigned long long rng_state = 42;
static double rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / (double)(1ULL << 53);
}

static int parse_shape(const char *s, struct xai_shape *sh)
{
    memset(sh, 0, sizeof *sh);
    while (s && *s) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || sh->ndim >= XAI_MAX_DIMS) return -1;
        sh->d[sh->ndim++] = v;
        s = *end == ',' ? end + 1 : end;
    }
    return 0;
}

static int parse_list(const char *s, double *out, int max, int *is_float)
{
    int n = 0;
    while (s && *s && *s != ']' && n < max) {
        while (*s == ' ' || *s == '[' || *s == ',') s++;
        if (!*s || *s == ']') break;
        char *end;
        const char *start = s;
        out[n++] = strtod(s, &end);
        for (const char *q = start; q < end; q++)
            if (*q == '.' || *q == 'e' || *q == 'E') *is_float = 1;
        if (end == s) return -1;
        s = end;
    }
    return n;
}

struct built {
    struct xai_attr attrs[16];
    int n_attrs;
    char strs[16][64];
    double nums[16][16];
    int64_t ints[16][16];
    float floats[16][16];
    struct xai_const consts[8];
    const struct xai_const *cptr[8];
    bool present[8];
    struct xai_shape shapes[8];
    float *data[8];
    int n_in;
};

static void parse_attrs(const char *text, struct built *b)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", text ? text : "");
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = '\0';
        int k = b->n_attrs++;
        struct xai_attr *a = &b->attrs[k];
        memset(a, 0, sizeof *a);
        snprintf(b->strs[k], sizeof b->strs[k], "%s", tok);
        a->name = b->strs[k];
        const char *v = eq + 1;
        int is_float = 0;
        if (*v == '"') {
            static char sv[16][64];
            snprintf(sv[k], sizeof sv[k], "%s", v + 1);
            char *q = strchr(sv[k], '"');
            if (q) *q = '\0';
            a->type = XAI_ATTR_STRING;
            a->s = sv[k];
        } else if (*v == '[') {
            int n = parse_list(v, b->nums[k], 16, &is_float);
            a->n = n;
            for (int i = 0; i < n; i++) {
                b->ints[k][i] = (int64_t)b->nums[k][i];
                b->floats[k][i] = (float)b->nums[k][i];
            }
            a->type = is_float ? XAI_ATTR_FLOATS : XAI_ATTR_INTS;
            a->ints = b->ints[k];
            a->floats = b->floats[k];
        } else {
            parse_list(v, b->nums[k], 1, &is_float);
            a->type = is_float ? XAI_ATTR_FLOAT : XAI_ATTR_INT;
            a->f = (float)b->nums[k][0];
            a->i = (int64_t)b->nums[k][0];
        }
    }
}

struct draw_rule {
    unsigned flags;
    int n_kinks;
    double kinks[16];
};

static bool near_kink(const struct draw_rule *dr, float v)
{
    for (int k = 0; k < dr->n_kinks; k++)
        if (fabs((double)v - dr->kinks[k]) < 0.05) return true;
    return false;
}

static float draw(const struct draw_rule *dr)
{
    for (;;) {
        float v = (float)(rnd() * 2.0 - 1.0);
        if (dr->flags & CASE_POSITIVE) v = v * 0.5f + 1.0f;
        if ((dr->flags & CASE_AWAY_FROM_ZERO) && fabsf(v) < 0.05f) continue;
        if (near_kink(dr, v)) continue;
        return v;
    }
}

static void fill_data(float *d, int64_t n, const struct draw_rule *dr)
{
    for (int64_t i = 0; i < n; i++) d[i] = draw(dr);
    if (dr->flags & CASE_DISTINCT) {
        /* a shuffled ramp: every value at least 0.02 from every other */
        for (int64_t i = 0; i < n; i++) d[i] = (float)(i - n / 2) * 0.02f;
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)(rnd() * (double)(i + 1));
            float t = d[i];
            d[i] = d[j];
            d[j] = t;
        }
    }
}

static int build_inputs(const struct op_case *c, struct built *b)
{
    struct draw_rule data_rule = {c->flags, 0, {0}}, const_rule = {0, 0, {0}};
    int isf_k = 0;
    if (c->kinks && (data_rule.n_kinks = parse_list(c->kinks, data_rule.kinks, 16, &isf_k)) < 0)
        return -1;
    for (int i = 0; i < 8 && c->in[i].kind != IN_END; i++) {
        const struct case_in *ci = &c->in[i];
        b->n_in = i + 1;
        b->present[i] = ci->kind != IN_ABSENT;
        if (!b->present[i]) continue;
        if (parse_shape(ci->shape, &b->shapes[i])) return -1;
        int64_t n = xai_shape_numel(&b->shapes[i]);
        struct xai_const *k = &b->consts[i];
        memset(k, 0, sizeof *k);
        k->shape = b->shapes[i];
        b->data[i] = calloc((size_t)(n ? n : 1), sizeof(float));
        if (ci->kind == IN_INTS) {
            double vals[64];
            int isf = 0, m = parse_list(ci->values, vals, 64, &isf);
            k->dtype = XAI_I64;
            k->i64 = calloc((size_t)(n ? n : 1), sizeof(int64_t));
            for (int j = 0; j < m && j < n; j++) k->i64[j] = (int64_t)vals[j];
            b->cptr[i] = k;
        } else {
            if (ci->values) {
                double vals[256];
                int isf = 0, m = parse_list(ci->values, vals, 256, &isf);
                for (int64_t j = 0; j < n; j++) b->data[i][j] = (float)vals[m ? j % m : 0];
            } else {
                fill_data(b->data[i], n, ci->kind == IN_DATA ? &data_rule : &const_rule);
            }
            k->dtype = XAI_F32;
            k->f = b->data[i];
            b->cptr[i] = ci->kind == IN_CONST ? k : NULL;
        }
    }
    return 0;
}

struct runner {
    const struct xai_op_def *op;
    void *params;
    struct built *b;
    const struct op_case *c;
    struct xai_shape out_shape[4];
    float *out[4], *gout[4], *scratch;
    struct xai_tensor tin[8], tout[4], tgout[4], tgin[8];
    const struct xai_tensor *pin[8], *pout[4], *pgout[4], *pgin[8];
};

static void run_forward(struct runner *r)
{
    struct xai_op_run run = {r->params, r->b->n_in, r->pin,     r->c->n_out,         r->pout,
                             r->pgout,  r->pgin,    r->scratch, r->b->shapes[0].d[0]};
    r->op->forward(&run);
}

static double loss(struct runner *r)
{
    run_forward(r);
    double L = 0;
    for (int o = 0; o < r->c->n_out; o++) {
        int64_t n = xai_shape_numel(&r->out_shape[o]);
        for (int64_t j = 0; j < n; j++) L += (double)r->out[o][j] * (double)r->gout[o][j];
    }
    return L;
}

/* Fills with NaN what backward does not declare it reads (op.h: bwd_in, bwd_out): data
 * inputs (saved first, constants stay) and outputs, as the session reuses their memory. */
static void poison_undeclared(struct runner *r, float **saved)
{
    for (int j = 0; j < r->b->n_in && j < 8; j++) {
        if (r->c->in[j].kind != IN_DATA || (r->op->bwd_in >> j & 1u)) continue;
        size_t n = (size_t)xai_shape_numel(&r->b->shapes[j]);
        saved[j] = malloc((n ? n : 1) * sizeof(float));
        memcpy(saved[j], r->b->data[j], n * sizeof(float));
        for (size_t k = 0; k < n; k++) r->b->data[j][k] = NAN;
    }
    for (int o = 0; !r->op->bwd_out && o < r->c->n_out; o++) {
        int64_t n = xai_shape_numel(&r->out_shape[o]);
        for (int64_t k = 0; k < n; k++) r->out[o][k] = NAN;
    }
}

static void restore_inputs(struct runner *r, float **saved)
{
    for (int j = 0; j < 8; j++) {
        if (!saved[j]) continue;
        size_t n = (size_t)xai_shape_numel(&r->b->shapes[j]);
        memcpy(r->b->data[j], saved[j], n * sizeof(float));
        free(saved[j]);
    }
}

/* Elements of one input checked by finite differences, at most about. */
#define FD_MAX_CHECKS 1500

/* Checks input i: analytic gradient (with a pre-filled accumulator) against central FD. */
static int check_input(struct runner *r, int i)
{
    struct built *b = r->b;
    int64_t n = xai_shape_numel(&b->shapes[i]);
    float *g = calloc((size_t)n, sizeof(float));
    for (int64_t j = 0; j < n; j++) g[j] = 0.25f;
    for (int k = 0; k < 8; k++) r->pgin[k] = NULL;
    r->tgin[i].shape = b->shapes[i];
    r->tgin[i].data = g;
    r->pgin[i] = &r->tgin[i];
    run_forward(r);
    float *saved[8] = {NULL};
    poison_undeclared(r, saved);
    struct xai_op_run run = {r->params, b->n_in, r->pin,     r->c->n_out,      r->pout,
                             r->pgout,  r->pgin, r->scratch, b->shapes[0].d[0]};
    r->op->backward(&run);
    restore_inputs(r, saved);
    r->pgin[i] = NULL;
    double maxg = 1e-3;
    for (int64_t j = 0; j < n; j++) maxg = fmax(maxg, fabs(g[j] - 0.25));
    int bad = 0;
    const float eps = 4e-3f;
    /* big inputs (a Winograd F(2x2) case needs 64 channels): every step-th element, step odd so
     * that the checked elements move across rows, tiles and channels */
    int64_t step = n > FD_MAX_CHECKS ? (n / FD_MAX_CHECKS) | 1 : 1;
    for (int64_t j = 0; j < n && bad < 5; j += step) {
        float x0 = b->data[i][j];
        b->data[i][j] = x0 + eps;
        double lp = loss(r);
        b->data[i][j] = x0 - eps;
        double lm = loss(r);
        b->data[i][j] = x0;
        double num = (lp - lm) / (double)((x0 + eps) - (x0 - eps));
        double ana = (double)g[j] - 0.25;
        if (!isfinite(ana) || fabs(ana - num) > 2e-3 * maxg + 1e-2 * fabs(num)) {
            fprintf(stderr, "  %s: input %d element %lld: backward %.6g, finite difference %.6g\n",
                    r->c->label, i, (long long)j, ana, num);
            bad++;
        }
    }
    free(g);
    return bad;
}

static int run_case(const struct op_case *c)
{
    struct built b;
    memset(&b, 0, sizeof b);
    parse_attrs(c->attrs, &b);
    if (build_inputs(c, &b)) {
        fprintf(stderr, "  %s: bad case definition\n", c->label);
        return 1;
    }
    struct runner r;
    memset(&r, 0, sizeof r);
    r.b = &b;
    r.c = c;
    r.op = xai_op_find(c->op_type, c->opset);
    int fails = 0;
    struct xai_err err = {{0}};
    struct xai_node_def nd = {c->label, c->op_type, c->opset, b.n_attrs, b.attrs,
                              b.n_in,   b.present,  b.cptr,   b.shapes,  c->n_out};
    if (!r.op) {
        fprintf(stderr, "  %s: op %s not registered at opset %d\n", c->label, c->op_type, c->opset);
        fails = 1;
    } else if (r.op->init(&nd, &r.params, &err) || xai_attrs_check_used(&nd, &err) ||
               r.op->infer(r.params, b.shapes, b.n_in, r.out_shape, c->n_out, b.shapes[0].d[0],
                           &err)) {
        fprintf(stderr, "  %s: %s\n", c->label, err.msg);
        fails = 1;
    }
    if (!fails) {
        for (int i = 0; i < b.n_in; i++) {
            r.tin[i].shape = b.shapes[i];
            r.tin[i].data = b.data[i];
            bool int_const = c->in[i].kind == IN_INTS || c->in[i].kind == IN_ABSENT;
            r.pin[i] = int_const ? NULL : &r.tin[i];
        }
        for (int o = 0; o < c->n_out; o++) {
            int64_t n = xai_shape_numel(&r.out_shape[o]);
            r.out[o] = calloc((size_t)(n ? n : 1), sizeof(float));
            r.gout[o] = calloc((size_t)(n ? n : 1), sizeof(float));
            for (int64_t j = 0; j < n; j++) r.gout[o][j] = (float)(rnd() * 2.0 - 1.0);
            r.tout[o] = (struct xai_tensor){r.out_shape[o], r.out[o]};
            r.tgout[o] = (struct xai_tensor){r.out_shape[o], r.gout[o]};
            r.pout[o] = &r.tout[o];
            r.pgout[o] = &r.tgout[o];
        }
        size_t sc = r.op->scratch ? r.op->scratch(r.params, b.shapes, b.n_in, r.out_shape) : 0;
        r.scratch = calloc(sc + 1, sizeof(float));
        int checked = 0;
        for (int i = 0; i < b.n_in; i++) {
            if (c->in[i].kind != IN_DATA || !(r.op->grad_mask >> i & 1u)) continue;
            fails += check_input(&r, i);
            checked++;
        }
        if (!checked) {
            fprintf(stderr, "  %s: no differentiable data input to check\n", c->label);
            fails++;
        }
        free(r.scratch);
        for (int o = 0; o < c->n_out; o++) {
            free(r.out[o]);
            free(r.gout[o]);
        }
    }
    if (r.params) {
        if (r.op->free_params)
            r.op->free_params(r.params);
        else
            free(r.params);
    }
    for (int i = 0; i < b.n_in; i++) {
        free(b.data[i]);
        free(b.consts[i].i64);
    }
    return fails;
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    int n_ops, failed = 0, passed = 0;
    const struct xai_op_def *const *ops = xai_op_all(&n_ops);
    for (int k = 0; k < n_ops; k++) {
        bool has = false;
        for (const struct case_set *s = all_sets; s->op; s++)
            for (const struct op_case *c = s->cases; c->label; c++)
                has |= strcmp(c->op_type, ops[k]->name) == 0;
        if (!has) {
            fprintf(stderr, "FAIL op %s has no gradient cases in tests/ops/\n", ops[k]->name);
            failed++;
        }
    }
    for (const struct case_set *s = all_sets; s->op; s++) {
        for (const struct op_case *c = s->cases; c->label; c++) {
            if (only && strcmp(only, c->op_type) != 0) continue;
            int f = run_case(c);
            printf("%s %s\n", f ? "FAIL" : "ok  ", c->label);
            if (f)
                failed++;
            else
                passed++;
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
