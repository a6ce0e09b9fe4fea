/*
 * test_slic.c - core/slic.c against scikit-image's segmentation.slic.
 *
 * Reads the manifest written by tools/make_slic_fixtures.py (colour photographs, gray pictures
 * and sample radiographs at two settings), runs xai_slic with the same n_segments and
 * compactness and compares the labellings: adjusted Rand index > ARI_MIN, and label counts
 * within 10% of skimage's. Exact equality is not expected: skimage computes in float64, xaid
 * keeps the features in float32, and a tie broken differently moves a pixel.
 *
 * usage: test_slic FIXTURE_DIR
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slic.h"

#define ARI_MIN 0.95

static void *read_bin(const char *dir, const char *name, size_t bytes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    void *d = f ? malloc(bytes) : NULL;
    if (d && fread(d, 1, bytes, f) != bytes) {
        free(d);
        d = NULL;
    }
    if (f) fclose(f);
    return d;
}

static double pairs(double n)
{
    return n * (n - 1) / 2;
}

/* Adjusted Rand index (Hubert & Arabie 1985) of two labellings with labels in [0, ka), [0, kb). */
static double adjusted_rand(const int32_t *a, const int32_t *b, int64_t n, int ka, int kb)
{
    double *t = calloc((size_t)ka * kb + ka + kb, sizeof(double));
    if (!t) return -1;
    double *ra = t + (int64_t)ka * kb, *rb = ra + ka;
    for (int64_t i = 0; i < n; i++) {
        t[(int64_t)a[i] * kb + b[i]]++;
        ra[a[i]]++;
        rb[b[i]]++;
    }
    double sij = 0, sa = 0, sb = 0;
    for (int64_t i = 0; i < (int64_t)ka * kb; i++) sij += pairs(t[i]);
    for (int i = 0; i < ka; i++) sa += pairs(ra[i]);
    for (int j = 0; j < kb; j++) sb += pairs(rb[j]);
    free(t);
    double expected = sa * sb / pairs((double)n);
    return (sij - expected) / (0.5 * (sa + sb) - expected);
}

static int max_label(const int32_t *l, int64_t n)
{
    int32_t m = -1;
    for (int64_t i = 0; i < n; i++) m = l[i] > m ? l[i] : m;
    return m;
}

static int run_case(const char *dir, json_t *c)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    int w = (int)json_integer_value(json_object_get(c, "width"));
    int h = (int)json_integer_value(json_object_get(c, "height"));
    int ch = (int)json_integer_value(json_object_get(c, "channels"));
    int64_t n = (int64_t)w * h;
    float *img = read_bin(dir, json_string_value(json_object_get(c, "image")),
                          sizeof(float) * (size_t)(n * ch));
    int32_t *ref =
        read_bin(dir, json_string_value(json_object_get(c, "labels")), sizeof(int32_t) * (size_t)n);
    int32_t *lab = malloc(sizeof(int32_t) * (size_t)n);
    struct xai_slic_opts o;
    xai_slic_default(&o);
    o.n_segments = (int)json_integer_value(json_object_get(c, "n_segments"));
    o.compactness = json_number_value(json_object_get(c, "compactness"));
    struct xai_err err = {{0}};
    int k = 0, ok = 0;
    if (!img || !ref || !lab) {
        printf("FAIL  %-20s cannot read the case's files\n", name);
    } else if (xai_slic(img, w, h, ch, &o, lab, &k, &err)) {
        printf("FAIL  %-20s %s\n", name, err.msg);
    } else {
        int kr = max_label(ref, n) + 1;
        double ari = adjusted_rand(lab, ref, n, k, kr);
        int64_t same = 0;
        for (int64_t i = 0; i < n; i++) same += lab[i] == ref[i];
        ok = ari > ARI_MIN && abs(k - kr) <= 0.1 * kr && max_label(lab, n) + 1 == k;
        printf("%s  %-20s ARI %.6f  labels %d (skimage %d)  identical labels on %.4f%% of pixels\n",
               ok ? "PASS" : "FAIL", name, ari, k, kr, 100.0 * (double)same / (double)n);
    }
    free(img);
    free(ref);
    free(lab);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_slic FIXTURE_DIR\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", argv[1]);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    json_t *cases = json_object_get(root, "cases");
    if (!json_is_array(cases)) {
        fprintf(stderr, "test_slic: cannot read %s: %s\n", path, jerr.text);
        return 2;
    }
    int passed = 0, failed = 0;
    for (size_t i = 0; i < json_array_size(cases); i++) {
        if (run_case(argv[1], json_array_get(cases, i)))
            passed++;
        else
            failed++;
    }
    json_decref(root);
    printf("%d passed, %d failed\n", passed, failed);
    return failed || !passed ? 1 : 0;
}
