"""xai_ref - PyTorch reference implementations of xaid's attribution methods.

Each method is a module in xai_ref/methods/ (see methods/README.md for the contract). They
run on the same ONNX files as the engine, through the torch interpreter of
tools/onnx_torch_eval.py, so both sides see identical weights and graphs.
"""
