/*
 * _guided.h - modified ReLU backward rules: guided backpropagation and deconvnet.
 *
 * Both replace the backward pass of every "Relu" node for one run, as Captum's
 * ModifiedReluGradientAttribution does with backward hooks on nn.ReLU modules:
 *   guided    (Springenberg et al. 2014): relu(dy * [x > 0]), i.e. dy where x > 0 and dy > 0
 *   deconvnet (Zeiler & Fergus 2014):    relu(dy), whatever the sign of x
 * Only Relu nodes are overridden, like Captum (which hooks nn.ReLU modules only): Clip
 * (ReLU6, hardtanh), LeakyRelu, HardSwish and the other activations keep their ordinary
 * gradient. Two consequences, stated rather than hidden:
 *   - an ONNX graph cannot tell an nn.ReLU module from a functional F.relu, so every Relu node
 *     is overridden, also those that Captum would miss (e.g. torchvision DenseNet's final
 *     F.relu): the result is what Captum gives when every ReLU is a module, as its
 *     documentation asks;
 *   - a network without Relu nodes (MobileNetV2's ReLU6 exports as Clip, EfficientNet uses
 *     SiLU) would get the plain input gradient under another name, which Captum returns
 *     silently; xai_relu_rule_map refuses it instead (UNSUPPORTED, suggesting saliency).
 * The methods report the number of Relu nodes overridden as the metric "relu_nodes".
 */
#ifndef XAI_METHODS_GUIDED_H
#define XAI_METHODS_GUIDED_H

#include "_common.h"

enum xai_relu_rule { XAI_RELU_GUIDED, XAI_RELU_DECONV };

/* Fills *ov and *opts so that a backward pass with opts applies `rule` to every Relu. */
void xai_relu_rule_opts(enum xai_relu_rule rule, struct xai_grad_override *ov,
                        struct xai_backward_opts *opts);

/* Number of Relu nodes of the model. */
int xai_relu_count(const xai_model *m);

/* UNSUPPORTED, naming `method` and suggesting saliency, when the model has no Relu node. */
xai_status xai_relu_rule_check(const struct xai_method_req *req, const char *method,
                               struct xai_err *err);

/* The input gradient of the target logit under `rule`, reduced over the colour channels into
 * map (H x W): signed channel sum (use_abs false, the reduction of Captum's
 * visualize_image_attr) or the largest absolute value over the channels (use_abs true).
 * One forward and one backward pass. Fails as xai_relu_rule_check first. */
xai_status xai_relu_rule_map(const struct xai_method_req *req, const char *method,
                             enum xai_relu_rule rule, bool use_abs, float *map,
                             struct xai_err *err);

#endif
