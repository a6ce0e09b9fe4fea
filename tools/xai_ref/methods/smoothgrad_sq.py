"""smoothgrad_sq: mean squared input gradient of the target logit over noisy copies (Hooker et
al. 2019), as Captum's NoiseTunnel(Saliency(abs=False)).attribute(nt_type="smoothgrad_sq");
reduced over channels by sum (default), max_abs or sum_abs. Noise and draw order: _noise.py."""
from xai_ref.methods import _noise

NAME = "smoothgrad_sq"
CASES = [{}, {"samples": 10, "sigma": 0.1, "reduce": "max_abs"}]


def compute(ctx, params):
    return _noise.compute(ctx, params, "smoothgrad_sq", "sum")
