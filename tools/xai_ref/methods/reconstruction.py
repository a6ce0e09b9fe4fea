"""reconstruction: an autoencoder's per-pixel reconstruction error, mean over channels, in the
model's input units: squared (R - X)^2, absolute |R - X| or positive max(X - R, 0)^2;
anomaly_score is the mean of the map, total_error its sum (both before the optional Gaussian
blur `smooth`, _perturb.gaussian_blur: radius ceil(3 sigma), edges replicated). The reconstruction is the graph output named by model.json
(ctx.reconstruction), run through the torch interpreter of the ONNX file."""
import onnx_torch_eval
from xai_ref.methods._perturb import gaussian_blur

NAME = "reconstruction"
CASES = [{}, {"error": "absolute"}, {"error": "positive", "smooth": 3.0}]
MODELS = ["chest-ae"]


def compute(ctx, params):
    outs, _ = onnx_torch_eval.run(ctx.model.graph, ctx.x)
    names = [o["name"] for o in ctx.model.graph["outputs"]]
    r = outs[names.index(ctx.reconstruction)].double()
    d = ctx.x.double() - r
    kind = params.get("error", "squared")
    e = (d * d if kind == "squared" else d.abs() if kind == "absolute"
         else d.clamp(min=0) ** 2).mean(dim=1)[0]
    metrics = {"anomaly_score": {"value": float(e.mean()), "tol": 1e-4 * float(e.mean()) + 1e-9},
               "total_error": {"value": float(e.sum()), "tol": 1e-4 * float(e.sum()) + 1e-6}}
    m = e.float()
    if params.get("smooth", 0) > 0:
        m = gaussian_blur(m[None, None], params["smooth"])[0, 0]
    return m.numpy(), metrics
