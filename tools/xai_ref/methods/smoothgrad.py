"""smoothgrad: mean input gradient of the target logit over noisy copies (Smilkov et al. 2017),
as Captum's NoiseTunnel(Saliency(abs=False)).attribute(nt_type="smoothgrad"); reduced over
channels by max_abs (default), sum_abs or sum. Noise and draw order: _noise.py."""
from xai_ref.methods import _noise

NAME = "smoothgrad"
CASES = [{}, {"samples": 8, "sigma": 0.3, "reduce": "sum"}, {"samples": 10, "reduce": "sum_abs"}]


def compute(ctx, params):
    return _noise.compute(ctx, params, "smoothgrad", "max_abs")
