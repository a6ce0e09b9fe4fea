"""reconstruction: an autoencoder's per-pixel reconstruction error, mean over channels, in the
model's input units: squared (R - X)^2 or absolute |R - X|; anomaly_score is the mean of the
map, total_error its sum. The reconstruction is the graph output named by model.json
(ctx.reconstruction), run through the torch interpreter of the ONNX file."""
import onnx_torch_eval

NAME = "reconstruction"
CASES = [{}, {"error": "absolute"}]
MODELS = ["chest-ae"]


def compute(ctx, params):
    outs, _ = onnx_torch_eval.run(ctx.model.graph, ctx.x)
    names = [o["name"] for o in ctx.model.graph["outputs"]]
    r = outs[names.index(ctx.reconstruction)].double()
    d = r - ctx.x.double()
    e = (d * d if params.get("error", "squared") == "squared" else d.abs()).mean(dim=1)[0]
    metrics = {"anomaly_score": {"value": float(e.mean()), "tol": 1e-4 * float(e.mean()) + 1e-9},
               "total_error": {"value": float(e.sum()), "tol": 1e-4 * float(e.sum()) + 1e-6}}
    return e.float().numpy(), metrics
