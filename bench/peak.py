"""The machine's float32 peak, measured in the same run as a bench: the share of it a path uses.

`matmul_gflops()` times a large float32 matrix product (the best the BLAS does here);
`forward_flops(model, x)` counts a forward pass's multiply-adds ×2 in every convolution (groups
counted: depthwise ones are cheap) and linear layer, from hooks. (PyTorch's FlopCounterMode
counts a depthwise convolution as a dense one here, 25× too many for Lite0.) A backward pass
costs about twice its forward, so training and gradient maps do ≈ 3× the forward FLOPs. A
path's achieved GFLOP/s divided by the matmul's says how much of the machine it uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn

SIDE, REPEATS = 2048, 5


def matmul_gflops(device: torch.device = torch.device("cpu")) -> float:
    """The best of REPEATS float32 SIDE×SIDE matrix products on `device`, in GFLOP/s (on CUDA
    without TF32, PyTorch's default for matrix products)."""
    a, b = torch.randn(SIDE, SIDE, device=device), torch.randn(SIDE, SIDE, device=device)

    def product() -> None:
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    product()  # warm-up
    best = min(_seconds(product) for _ in range(REPEATS))
    return 2 * SIDE**3 / best / 1e9


def forward_flops(model: nn.Module, x: torch.Tensor) -> int:
    """2 × the multiply-adds of the convolutions and linear layers in `model(x)`."""
    total = 0

    def count(module: nn.Module, _: object, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += 2 * out.numel() * (module.in_channels // module.groups) * kh * kw
        elif isinstance(module, nn.Linear):
            total += 2 * out.numel() * module.in_features

    hooks = [m.register_forward_hook(count) for m in model.modules()]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return total


def share(gflops: float, peak: float) -> str:
    return f"{gflops:6.1f} GFLOP/s, {gflops / peak:5.1%} of the float32 matmul peak"


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
