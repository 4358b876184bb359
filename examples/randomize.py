"""Random weights, randomized and calibrated batch-norm, and sign flips of trained channels.

Random weights are drawn from a few binary fractions (for example +-0.25, +-0.75, +-1.5, +-0.5 and 0): off
the quantization grid, so the weight quantizer's rounding, clipping and half-to-even ties are exercised, and
yet the exported files compress well.
"""

from __future__ import annotations

import bnn
import numpy as np
import torch
from torch import nn

# (value, probability) for the float weights before quantization, per weight bit width
WEIGHT_VALUES = {
    1: ([-0.75, -0.25, 0.25, 0.75, 0.0], [0.3, 0.2, 0.2, 0.29, 0.01]),  # 0.0 -> +1 (BipolarQuant of 0)
    2: ([-1.5, -0.75, -0.5, -0.25, 0.25, 0.5, 0.75, 1.5], [0.1, 0.25, 0.05, 0.1, 0.1, 0.05, 0.25, 0.1]),
}


def random_weights(model: nn.Module, wbits: int, rng: np.random.Generator) -> None:
    """Overwrite every QuantLinear/QuantConv2d weight with values from :data:`WEIGHT_VALUES`."""
    values, probs = WEIGHT_VALUES[wbits]
    for layer in bnn.matrix_layers(model):
        w = rng.choice(np.asarray(values, dtype=np.float32), size=tuple(layer.weight.shape), p=probs)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(w))


def _capture_input(model: nn.Module, layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    seen = []
    handle = layer.register_forward_hook(lambda _m, inp, _out: seen.append(inp[0].detach()))
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    return seen[0]


def _var_for_sqrt2() -> np.float32:
    """A float32 variance ``v`` with ``v + BN_EPS == 4`` in float32, so ``sqrt(v + eps)`` is exactly 2."""
    v = np.float32(4.0) - np.float32(bnn.BN_EPS)
    while v + np.float32(bnn.BN_EPS) != np.float32(4.0):
        v = np.nextafter(v, np.float32(5.0) if v + np.float32(bnn.BN_EPS) < 4 else np.float32(0.0))
    return v


def randomize_batchnorm(model: nn.Module, x_calib: torch.Tensor, rng: np.random.Generator) -> dict:
    """Give every BatchNorm random parameters calibrated on ``x_calib``, layer by layer, and the same for the
    TensorNorm tail.

    Running mean/var come from the statistics of the layer's real input (with jitter), so the following
    quantizer sees values on both sides of its thresholds. About 30% of gammas are negative, 5% are tiny
    (+-1e-3) and 2% are exactly 0 (a constant channel). About 6% are "tie channels": beta = 0 and the
    running mean is an accumulator value seen in calibration, gamma = +-1 and sqrt(var + eps) = 2: that value
    gives exactly 0 after batch-norm (a BipolarQuant tie), and mean +- 1 give exactly +-0.5 (a round-half-even
    tie of a 2-bit Quant). Returns counts of those channels.
    """
    model.eval()
    counts = {
        "negative_gamma_channels": 0,
        "near_zero_gamma_channels": 0,
        "zero_gamma_channels": 0,
        "tie_channels": 0,
    }
    for bn in bnn.norm_layers(model):
        x = _capture_input(model, bn, x_calib)
        dims = [d for d in range(x.dim()) if d != 1]
        mean = x.mean(dim=dims).numpy()
        std = x.std(dim=dims).numpy() + 1.0
        n = bn.num_features
        gamma = rng.uniform(0.3, 1.5, n) * np.where(rng.random(n) < 0.3, -1.0, 1.0)
        tiny = rng.random(n) < 0.05
        gamma[tiny] = 1e-3 * np.sign(gamma[tiny])
        zero = rng.random(n) < 0.02
        gamma[zero] = 0.0
        beta = rng.normal(0.0, 0.3, n)
        mean = mean + rng.normal(0, 0.2, n) * std
        var = std**2 * rng.uniform(0.5, 2.0, n)
        tie = (rng.random(n) < 0.06) & ~tiny & ~zero
        seen = x.transpose(0, 1).reshape(n, -1).numpy()
        beta[tie] = 0.0
        mean[tie] = seen[np.arange(n), rng.integers(0, seen.shape[1], n)][tie]
        # gamma / sqrt(var + eps) = +-0.5 exactly: torch's fused x*a + (b - mean*a) then also gives exact 0
        gamma[tie] = np.sign(gamma[tie])
        var[tie] = _var_for_sqrt2()
        counts["negative_gamma_channels"] += int((gamma < 0).sum())
        counts["near_zero_gamma_channels"] += int(tiny.sum() - (tiny & zero).sum())
        counts["zero_gamma_channels"] += int(zero.sum())
        counts["tie_channels"] += int(tie.sum())
        with torch.no_grad():
            pairs = ((bn.weight, gamma), (bn.bias, beta), (bn.running_mean, mean), (bn.running_var, var))
            for param, val in pairs:
                param.copy_(torch.from_numpy(val.astype(np.float32)))
    tail = model.features[-1] if hasattr(model, "features") else model.linear_features[-1]
    x = _capture_input(model, tail, x_calib)
    with torch.no_grad():
        tail.running_mean.fill_(float(x.mean()) + float(rng.normal(0, 0.5)))
        tail.running_var.fill_(float(x.var()) * float(rng.uniform(0.5, 2.0)) + 1.0)
        tail.weight.fill_(float(rng.uniform(0.5, 2.0)))
        tail.bias.fill_(float(rng.normal(0, 0.5)))
    return counts


def flip_channels(model: nn.Module, fraction: float, rng: np.random.Generator) -> int:
    """Negate gamma and beta of a random ``fraction`` of each hidden BatchNorm's channels and the matching
    input columns of the next matrix layer.

    With odd quantizers (narrow-range INT with half-to-even rounding) the network's function is unchanged;
    a bipolar activation differs only where the batch-norm output is exactly 0. Gives a trained model
    negative gammas. Returns the number of flipped channels. FC nets only.
    """
    mats, norms = bnn.matrix_layers(model), bnn.norm_layers(model)
    assert len(mats) == len(norms) + 1, "flip_channels expects Linear, BN, act, ..., Linear"
    flipped = 0
    for bn, nxt in zip(norms, mats[1:], strict=True):
        sel = torch.from_numpy(rng.random(bn.num_features) < fraction)
        with torch.no_grad():
            bn.weight[sel] = -bn.weight[sel]
            bn.bias[sel] = -bn.bias[sel]
            nxt.weight[:, sel] = -nxt.weight[:, sel]
        flipped += int(sel.sum())
    return flipped
