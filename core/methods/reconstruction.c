/*
 * reconstruction.c - where an autoencoder fails to reconstruct the image: for a model with an
 * output shaped like its input (model.json "reconstruction"), the per-pixel reconstruction
 * error, averaged over the channels, in the model's input units (after normalisation):
 *   squared:  map = mean_c (R_c - X_c)^2        absolute:  map = mean_c |R_c - X_c|
 *   positive: map = mean_c max(X_c - R_c, 0)^2  (only where the image is brighter than its
 *             reconstruction: dense findings such as nodules and opacities are brighter on a
 *             radiograph, while the residue of edges the autoencoder blurs has both signs)
 * then, with smooth > 0, a Gaussian blur of the map (sigma in model-input pixels; the blur of
 * _perturb.h: radius ceil(3 sigma), edges replicated), which favours blob-shaped errors over
 * thin ones.
 * An autoencoder trained on normal images only reconstructs what it has learned, so abnormal
 * structures light up. Metrics: anomaly_score, the mean of the map over the pixels (the total
 * error divided by the pixel count), and total_error, its sum. The target class plays no part.
 * Cost: one forward pass.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "_perturb.h"

static const char *const errors[] = {"squared", "absolute", "positive", NULL};

static const struct xai_param_def params[] = {
    {"error", XAI_PARAM_ENUM, 0, 0, 0, errors,
     "per-pixel error: squared (mean squared error over channels), absolute, or positive (squared "
     "where the image is brighter than its reconstruction)"},
    {"smooth", XAI_PARAM_FLOAT, 0, 0, 16, NULL,
     "Gaussian blur of the error map, sigma in model-input pixels (0: none); the metrics are "
     "computed before it"},
};

static xai_status reconstruction_of(const struct xai_method_req *req, const struct xai_tensor **rec,
                                    struct xai_err *err)
{
    int v = req->mm->reconstruction;
    if (v < 0)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "reconstruction needs a model that declares its reconstruction output "
                        "(model.json 'reconstruction'), an autoencoder");
    xai_status st = xai_session_forward(req->s, req->input, err);
    if (st) return st;
    *rec = xai_session_value(req->s, v);
    if (!*rec || !xai_shape_eq(&(*rec)->shape, &req->input->shape))
        return xai_fail(err, XAI_UNSUPPORTED,
                        "the reconstruction output does not have the input's shape");
    return XAI_OK;
}

static xai_status run(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err)
{
    const struct xai_tensor *rec = NULL;
    xai_status st = reconstruction_of(req, &rec, err);
    if (!st) st = xai_m_result_init(req, false, out, err);
    if (st) return st;
    int kind = (int)req->params->v[0];
    const struct xai_shape *s = &req->input->shape;
    int c = (int)s->d[1];
    int64_t hw = s->d[2] * s->d[3];
    double total = 0;
    for (int64_t i = 0; i < hw; i++) {
        double e = 0;
        for (int k = 0; k < c; k++) {
            double d = (double)req->input->data[k * hw + i] - rec->data[k * hw + i];
            e += kind == 0 ? d * d : kind == 1 ? fabs(d) : d > 0 ? d * d : 0;
        }
        out->map[i] = (float)(e / c);
        total += e / c;
    }
    xai_method_metric(out, "anomaly_score", total / (double)hw);
    xai_method_metric(out, "total_error", total);
    double sigma = req->params->v[1];
    if (!(sigma > 0)) return XAI_OK;
    float *tmp = malloc(sizeof(float) * (size_t)hw);
    if (!tmp) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    memcpy(tmp, out->map, sizeof(float) * (size_t)hw);
    xai_status bst = xai_m_gaussian_blur(tmp, 1, out->height, out->width, sigma, out->map, err);
    free(tmp);
    return bst;
}

const struct xai_method_def xai_method_reconstruction = {
    .name = "reconstruction",
    .summary = "Where an autoencoder cannot reconstruct the image: per-pixel reconstruction "
               "error, and the mean error as an anomaly score.",
    .caveat = "Shows what is unlike the training images, not why; anything unusual (noise, "
              "artefacts, positioning) lights up as well as lesions.",
    .params = params,
    .n_params = 2,
    .needs = XAI_NEEDS_RECONSTRUCTION,
    .signed_map = false,
    .run = run,
};
