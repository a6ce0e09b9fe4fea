"""vargrad: variance of the input gradient of the target logit over noisy copies (Adebayo et al.
2018), as Captum's NoiseTunnel(Saliency(abs=False)).attribute(nt_type="vargrad"); reduced over
channels by sum (default), max_abs or sum_abs. Noise and draw order: _noise.py."""
from xai_ref.methods import _noise

NAME = "vargrad"
CASES = [{}, {"samples": 10, "sigma": 0.05, "reduce": "max_abs"}]


def compute(ctx, params):
    return _noise.compute(ctx, params, "vargrad", "sum")
