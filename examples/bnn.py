"""Brevitas models with the topologies of FINN's BNN-PYNQ examples (TFC, SFC, LFC, CNV).

The networks are written here from the published topologies, with Brevitas layers:

- FC nets: input ``2x - 1`` quantized to ``in_bits`` (1 or 2), hidden layers
  ``QuantLinear -> BatchNorm1d -> QuantIdentity``, a last ``QuantLinear`` and a ``TensorNorm`` tail.
  TFC 64-64-64, SFC 256-256-256, LFC 1024-1024-1024, all on 28x28 inputs and 10 classes.
- CNV on 3x32x32: input ``2x - 1`` quantized to 8 bits, conv64, conv64, pool, conv128, conv128, pool,
  conv256, conv256 (3x3, no padding), then fc512, fc512, fc10 and ``TensorNorm``.

Weights and activations use a constant scale: ``b``-bit signed narrow-range integers with the largest code
mapped to 1.0 (so 2 bits give {-1, 0, 1}), 1 bit gives the bipolar {-1, +1} (exported as BipolarQuant).
"""

from __future__ import annotations

import torch
from brevitas.core.bit_width import BitWidthImplType
from brevitas.core.quant import QuantType
from brevitas.core.restrict_val import FloatToIntImplType, RestrictValueType
from brevitas.core.scaling import ScalingImplType
from brevitas.core.zero_point import ZeroZeroPoint
from brevitas.inject import ExtendedInjector
from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear
from brevitas.quant.solver import ActQuantSolver, WeightQuantSolver
from dependencies import value
from torch import nn

BN_EPS = 1e-4

ARCHS = {
    "tfc": {"kind": "fc", "hidden": (64, 64, 64)},
    "sfc": {"kind": "fc", "hidden": (256, 256, 256)},
    "lfc": {"kind": "fc", "hidden": (1024, 1024, 1024)},
    "cnv": {"kind": "cnv", "convs": (64, 64, "pool", 128, 128, "pool", 256, 256), "fcs": (512, 512)},
}


class _ConstScaleQuant(ExtendedInjector):
    """Signed, narrow-range, per-tensor constant scale; 1 bit means bipolar."""

    bit_width_impl_type = BitWidthImplType.CONST
    scaling_impl_type = ScalingImplType.CONST
    restrict_scaling_type = RestrictValueType.FP
    zero_point_impl = ZeroZeroPoint
    float_to_int_impl_type = FloatToIntImplType.ROUND
    scaling_per_output_channel = False
    narrow_range = True
    signed = True

    @value
    def quant_type(bit_width):  # noqa: N805 - evaluated by the dependency injector
        return QuantType.BINARY if bit_width == 1 else QuantType.INT


class WeightQuant(_ConstScaleQuant, WeightQuantSolver):
    """Weights in [-1, 1]."""

    scaling_const = 1.0


class ActQuant(_ConstScaleQuant, ActQuantSolver):
    """Activations in [-1, 1]."""

    min_val = -1.0
    max_val = 1.0


class TensorNorm(nn.Module):
    """Batch-norm with one scalar mean/var/weight/bias for the whole tensor (the BNN-PYNQ output tail)."""

    def __init__(self, eps: float = BN_EPS, momentum: float = 0.1):
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(1))
        self.bias = nn.Parameter(torch.zeros(1))
        self.register_buffer("running_mean", torch.zeros(1))
        self.register_buffer("running_var", torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            mean = x.mean()
            var = x.var(unbiased=False)
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean.detach())
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var.detach())
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / (var + self.eps).pow(0.5) * self.weight + self.bias


def _act(bits: int, **kw) -> QuantIdentity:
    return QuantIdentity(act_quant=ActQuant, bit_width=bits, return_quant_tensor=False, **kw)


def _linear(n_in: int, n_out: int, wbits: int) -> QuantLinear:
    return QuantLinear(n_in, n_out, bias=False, weight_quant=WeightQuant, weight_bit_width=wbits)


def _dense(n_in: int, widths: tuple[int, ...], wbits: int, abits: int) -> list[nn.Module]:
    """Hidden ``QuantLinear -> BatchNorm1d -> QuantIdentity`` blocks, the 10-class layer and the tail."""
    layers: list[nn.Module] = []
    for width in widths:
        layers += [_linear(n_in, width, wbits), nn.BatchNorm1d(width, eps=BN_EPS), _act(abits)]
        n_in = width
    return layers + [_linear(n_in, 10, wbits), TensorNorm()]


class FCNet(nn.Module):
    """TFC / SFC / LFC: 28x28 input, ``len(hidden)`` quantized hidden layers, 10 classes."""

    def __init__(self, hidden: tuple[int, ...], wbits: int, abits: int, in_bits: int, n_in: int = 784):
        super().__init__()
        self.features = nn.Sequential(_act(in_bits), *_dense(n_in, hidden, wbits, abits))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], -1)
        x = 2.0 * x - torch.tensor([1.0])
        return self.features(x)


class CNVNet(nn.Module):
    """CNV: 3x32x32 input, six unpadded 3x3 convolutions with two max-pools, three dense layers."""

    def __init__(self, convs: tuple, fcs: tuple[int, ...], wbits: int, abits: int):
        super().__init__()
        # 8-bit input on 2x-1 with a power-of-two scale 2^-7 (full range, max 1 - 2^-7)
        layers: list[nn.Module] = [
            _act(
                8,
                min_val=-1.0,
                max_val=1.0 - 2.0**-7,
                narrow_range=False,
                restrict_scaling_type=RestrictValueType.POWER_OF_TWO,
            )
        ]
        prev = 3
        for item in convs:
            if item == "pool":
                layers.append(nn.MaxPool2d(kernel_size=2))
                continue
            layers += [
                QuantConv2d(
                    prev, item, kernel_size=3, bias=False, weight_quant=WeightQuant, weight_bit_width=wbits
                ),
                nn.BatchNorm2d(item, eps=BN_EPS),
                _act(abits),
            ]
            prev = item
        self.conv_features = nn.Sequential(*layers)
        # spatial size 32 -> 30 -> 28 -> 14 -> 12 -> 10 -> 5 -> 3 -> 1: the last conv gives prev x 1 x 1
        self.linear_features = nn.Sequential(*_dense(prev, fcs, wbits, abits))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = 2.0 * x - torch.tensor([1.0])
        x = self.conv_features(x)
        x = x.reshape(x.shape[0], -1)
        return self.linear_features(x)


def build(arch: str, wbits: int, abits: int) -> nn.Module:
    """Build an untrained model of one of :data:`ARCHS` at the given weight/activation bit widths."""
    spec = ARCHS[arch]
    if spec["kind"] == "fc":
        # BNN-PYNQ's FC nets quantize the input with the activation bit width (1 or 2 bits)
        return FCNet(spec["hidden"], wbits, abits, in_bits=abits)
    return CNVNet(spec["convs"], spec["fcs"], wbits, abits)


def input_shape(arch: str) -> tuple[int, ...]:
    """Shape of one input sample (without the batch axis)."""
    return (3, 32, 32) if ARCHS[arch]["kind"] == "cnv" else (1, 28, 28)


def matrix_layers(model: nn.Module) -> list[nn.Module]:
    """The QuantLinear/QuantConv2d layers in forward order."""
    return [m for m in model.modules() if isinstance(m, (QuantLinear, QuantConv2d))]


def norm_layers(model: nn.Module) -> list[nn.Module]:
    """The BatchNorm layers in forward order (TensorNorm excluded)."""
    return [m for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
