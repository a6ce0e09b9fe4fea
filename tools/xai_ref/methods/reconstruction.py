"""reconstruction: an autoencoder's per-pixel reconstruction error, mean over channels, in the
model's input units. The residual D = X - R, blurred per channel with `blur` > 0
(_perturb.gaussian_blur: radius ceil(3 sigma), edges replicated), then squared D^2, absolute
|D| or positive max(D, 0)^2; anomaly_score is the mean of the map, total_error its sum,
peak_error its maximum (all before the optional Gaussian blur of the map, `smooth`). The
reconstruction is the graph output named by model.json (ctx.reconstruction), run through the
torch interpreter of the ONNX file."""
import onnx_torch_eval
from xai_ref.methods._perturb import gaussian_blur

NAME = "reconstruction"
DEFAULTS = {"error": "positive", "blur": 3.0, "smooth": 0.0}
CASES = [{}, {"error": "squared"}, {"error": "squared", "blur": 0.0},
         {"error": "absolute", "blur": 1.5}, {"blur": 0.0, "smooth": 3.0}]
MODELS = ["chest-ae"]


def compute(ctx, params):
    p = dict(DEFAULTS, **params)
    outs, _ = onnx_torch_eval.run(ctx.model.graph, ctx.x)
    names = [o["name"] for o in ctx.model.graph["outputs"]]
    r = outs[names.index(ctx.reconstruction)].double()
    d = ctx.x.double() - r
    if p["blur"] > 0:
        d = gaussian_blur(d, p["blur"])
    kind = p["error"]
    e = (d * d if kind == "squared" else d.abs() if kind == "absolute"
         else d.clamp(min=0) ** 2).mean(dim=1)[0]
    metrics = {"anomaly_score": {"value": float(e.mean()), "tol": 1e-4 * float(e.mean()) + 1e-9},
               "total_error": {"value": float(e.sum()), "tol": 1e-4 * float(e.sum()) + 1e-6},
               "peak_error": {"value": float(e.max()), "tol": 1e-4 * float(e.max()) + 1e-9}}
    m = e.float()
    if p["smooth"] > 0:
        m = gaussian_blur(m[None, None], p["smooth"])[0, 0]
    return m.numpy(), metrics
