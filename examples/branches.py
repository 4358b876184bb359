"""Train and export two example networks with branches: a residual add (both) and a channel concat (one).

Usage (in the ``train`` environment, see examples/README.md)::

    python examples/branches.py --out examples/models [--only resnet_w1a1 | branchnet_w4a4]

``resnet_w1a1`` on 28x28 MNIST, binarized: an 8-bit input quantizer on ``2x - 1``, a 3x3 convolution
(padding 1, 16 channels, 1-bit weights of constant scale 1), batch-norm, a binary activation of constant
scale 1 (``SignedBinaryActPerTensorConst``), 2x2 max-pool (14x14); one residual block
``y = act(bn(conv(act(bn(conv(x))))))`` (3x3, padding 1, 16 -> 16, 1-bit weights of scale 1) and
``out = act(bn(x + y))``; 2x2 max-pool (7x7) and a 784 -> 10 linear layer with 1-bit weights of constant
scale 2^-5, no bias. QONNX only: Brevitas refuses binary quantizers in QCDQ ("Binary quant not supported").
The residual add in the QONNX export::

    BN -> BipolarQuant(scale 1) -> MaxPool 2x2 --+--> Conv -> BN -> BipolarQuant(1) -> Conv -> BN --+
                                                 |                                                 |
                                                 |                          BipolarQuant(1) <------+
                                                 v                                 |
                                                Add(input 0) <------- (input 1) ---+
                                                 |
                                                 +--> BatchNormalization -> BipolarQuant(1) -> MaxPool 2x2

``Add``'s input 0 is the stem's ``MaxPool`` output (a max of +-1 values, so +-1 itself; the same tensor also
feeds the block's first ``Conv``), input 1 the ``BipolarQuant`` output of the block's second activation.
Every ``BipolarQuant`` of the convolutions (weights and activations) reads one shared scale initializer,
float32 [1.0] of shape (1,), so the sum is in {-2, 0, 2}. The linear layer's weights have scale [0.03125].

``branchnet_w4a4`` on 28x28 MNIST, 4-bit weights and 4-bit unsigned ReLUs with learned power-of-two scales
(:func:`mobilenet.conv4` / :func:`mobilenet.relu4`), an 8-bit input quantizer; stem 3x3 convolution of
stride 2 (16 channels, 14x14), batch-norm; a residual block whose two operands go through ONE shared
``QuantReLU`` (``x = shared(bn(stem))``, ``y = shared(bn(conv3x3(relu4(bn(conv3x3(x))))))``,
``r = relu4(x + y)``); a concat block whose two operands go through another shared ``QuantReLU``
(``a = shared2(bn(conv1x1(r)))``, ``b = shared2(bn(conv3x3(r)))``, ``c = cat([a, b], dim=1)``, 32
channels); a 3x3 convolution of stride 2 (32 -> 32, 7x7), batch-norm, relu4; global average pooling
(``AdaptiveAvgPool2d(1)``: ``ReduceMean``) with a 4-bit quantizer, and a 32 -> 10 linear layer (4-bit
weights, no bias). Brevitas adds and concatenates the ``IntQuantTensor`` operands directly (it checks that
their scales are equal, which the shared quantizers guarantee). In the QONNX export::

    x: BN -> Relu -> Quant(s) --+--> Conv 3x3 -> BN -> Relu -> Quant -> Conv 3x3 -> BN -> Relu -> Quant(s) --+
                                |                                                                          |
                                +--> Add(input 0)  <------------------------------------------ (input 1) --+
                                      |
                                      +--> Relu -> Quant(s_add) = r

    r --+--> Conv 1x1 -> BN -> Relu -> Quant(t) = a --+
        |                                             +--> Concat(axis=1, [a, b]) -> Conv 3x3 stride 2
        +--> Conv 3x3 -> BN -> Relu -> Quant(t) = b --+

Each call of a shared quantizer is its own ``Quant`` node (inputs: scale, zero point 0.0, bit width 4.0;
``signed=0, narrow=0, rounding_mode=ROUND``); ``Add`` and ``Concat`` read the ``Quant`` outputs directly.
The add's requantizer ``relu_add`` (a ``Relu`` then a 4-bit unsigned ``Quant``) has its own learned scale
``s_add``; there is no quantizer after the ``Concat`` (its consumer is the next ``Conv``). The exporter
deduplicates equal constants, so the two ``Quant`` nodes of one add or concat (and any other ``Quant`` with
the same value) read one scale initializer. In the committed export ``s = t = 0.25`` and ``s_add = 0.5``
(``info.json``: ``branch_scales``): the add's operands are integers 0..15 of 0.25, their sum 0..30 of 0.25,
requantized to 0..15 of 0.5 (round half to even). The QCDQ form has the same graph with each activation
``Quant`` replaced by ``QuantizeLinear(scale, uint8 0) -> Clip(uint8 0, uint8 15) -> DequantizeLinear(scale,
uint8 0)``.

Both are trained with :func:`train.train` on the 4,000 MNIST training images; references from the qonnx
executor (QONNX) and onnxruntime (QCDQ, where one exists) on the FC nets' 28x28 input set (held-out MNIST,
digits, random, ties), as in ``examples/mobilenet.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

import datasets  # noqa: E402
import train  # noqa: E402
from mobilenet import _ort_outputs, _qonnx_outputs, conv4, relu4  # noqa: E402

FC_BINARY_SCALE = 2.0**-5  # the last layer's binary weights are +-2^-5: logits in [-24.5, 24.5]


def _scalar(t: torch.Tensor) -> np.float32:
    return np.float32(t.detach().numpy().reshape(-1)[0])


def _value(x):
    return x.value if hasattr(x, "value") else x


def build_resnet() -> nn.Module:
    import brevitas.nn as qnn
    from brevitas.quant import (
        Int8ActPerTensorFixedPoint,
        SignedBinaryActPerTensorConst,
        SignedBinaryWeightPerTensorConst,
    )

    def conv(cin: int, cout: int) -> nn.Module:
        return qnn.QuantConv2d(
            cin, cout, 3, padding=1, bias=False,
            weight_quant=SignedBinaryWeightPerTensorConst, weight_scaling_const=1.0,
        )  # fmt: skip

    def act() -> nn.Module:
        return qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True)

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, return_quant_tensor=True)
            self.conv0, self.bn0, self.act0 = conv(1, 16), nn.BatchNorm2d(16), act()
            self.conv1, self.bn1, self.act1 = conv(16, 16), nn.BatchNorm2d(16), act()
            self.conv2, self.bn2, self.act2 = conv(16, 16), nn.BatchNorm2d(16), act()
            self.bn3, self.act3 = nn.BatchNorm2d(16), act()
            self.pool = nn.MaxPool2d(2)
            self.fc = qnn.QuantLinear(
                784, 10, bias=False,
                weight_quant=SignedBinaryWeightPerTensorConst, weight_scaling_const=FC_BINARY_SCALE,
            )  # fmt: skip

        def forward(self, x):
            x = self.inp(2.0 * x - 1.0)
            x = self.pool(self.act0(self.bn0(self.conv0(x))))  # +-1, scale 1
            y = self.act2(self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x))))))  # +-1, scale 1
            x = self.pool(self.act3(self.bn3(x + y)))  # x + y in {-2, 0, 2}
            return self.fc(torch.flatten(_value(x), 1))

    return ResNet()


def build_branchnet() -> nn.Module:
    import brevitas.nn as qnn
    from brevitas.quant import Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint

    class BranchNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, return_quant_tensor=True)
            self.stem, self.bn0 = conv4(1, 16, 3, 2), nn.BatchNorm2d(16)
            self.shared = relu4()  # quantizes both operands of the add
            self.conv1, self.bn1, self.relu1 = conv4(16, 16, 3), nn.BatchNorm2d(16), relu4()
            self.conv2, self.bn2 = conv4(16, 16, 3), nn.BatchNorm2d(16)
            self.relu_add = relu4()
            self.conv_a, self.bn_a = conv4(16, 16, 1), nn.BatchNorm2d(16)
            self.conv_b, self.bn_b = conv4(16, 16, 3), nn.BatchNorm2d(16)
            self.shared2 = relu4()  # quantizes both operands of the concat
            self.conv3, self.bn3, self.relu3 = conv4(32, 32, 3, 2), nn.BatchNorm2d(32), relu4()
            self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), relu4(qnn.QuantIdentity))
            self.fc = qnn.QuantLinear(
                32, 10, bias=False, weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=4
            )

        def forward(self, x):
            x = self.inp(2.0 * x - 1.0)
            x = self.shared(self.bn0(self.stem(x)))
            y = self.shared(self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x))))))
            r = self.relu_add(x + y)
            a = self.shared2(self.bn_a(self.conv_a(r)))
            b = self.shared2(self.bn_b(self.conv_b(r)))
            x = self.relu3(self.bn3(self.conv3(torch.cat([a, b], dim=1))))
            x = self.pool(x)
            return self.fc(torch.flatten(_value(x), 1))

    return BranchNet()


def _resnet_scales(model: nn.Module) -> dict:
    return {
        "add_operands": [float(_scalar(a.act_quant.scale())) for a in (model.act0, model.act2)],
        "after_add": float(_scalar(model.act3.act_quant.scale())),
        "fc_weight": float(_scalar(model.fc.quant_weight().scale)),
    }


def _branchnet_scales(model: nn.Module) -> dict:
    return {
        "add_operands": float(_scalar(model.shared.act_quant.scale())),
        "after_add": float(_scalar(model.relu_add.act_quant.scale())),
        "concat_operands": float(_scalar(model.shared2.act_quant.scale())),
        "pool": float(_scalar(model.pool[1].act_quant.scale())),
        "fc_weight": float(_scalar(model.fc.quant_weight().scale)),
    }


MODELS = {
    "resnet_w1a1": {
        "build": build_resnet,
        "info": {"arch": "resnet", "wbits": 1, "abits": 1, "in_bits": 8, "seed": 4243},
        "epochs": 10,
        "lr": 0.005,
        "qcdq": False,
        "last_act": lambda m: m.act3,  # the fc input: act3's output through MaxPool
        "scales": _resnet_scales,
    },
    "branchnet_w4a4": {
        "build": build_branchnet,
        "info": {"arch": "branchnet", "wbits": 4, "abits": 4, "in_bits": 8, "seed": 4244},
        "epochs": 10,
        "lr": 0.005,
        "qcdq": True,
        "last_act": lambda m: m.pool[1],
        "scales": _branchnet_scales,
    },
}


def make(name: str, out_root: Path, epochs: int | None = None, lr: float | None = None) -> dict:
    from brevitas.export import export_onnx_qcdq, export_qonnx

    spec = MODELS[name]
    seed = spec["info"]["seed"]
    epochs = epochs or spec["epochs"]
    lr = lr or spec["lr"]
    torch.manual_seed(seed)
    model = spec["build"]()
    info = {"name": name} | spec["info"]
    info["training"] = train.train(model, epochs, seed, lr=lr)
    x_te, y_te = datasets.training_set()[2:]
    info["test_accuracy"] = train.accuracy(model, x_te, y_te)
    out = out_root / name
    out.mkdir(parents=True, exist_ok=True)
    sample = torch.from_numpy(x_te[:1])
    forms = {"qonnx": f"{name}.qonnx.onnx"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, input_t=sample, export_path=str(out / forms["qonnx"]))
        if spec["qcdq"]:
            forms["qcdq"] = f"{name}.qcdq.onnx"
            export_onnx_qcdq(model, sample, export_path=str(out / forms["qcdq"]))
    for f in out.glob("*.onnx.data"):  # dynamo may leave an unreferenced external-data file
        f.unlink()
    inputs = datasets.fc_inputs(np.random.default_rng(seed + 1))
    x, labels = inputs.arrays()
    ref = _qonnx_outputs(out / forms["qonnx"], x)
    if "qcdq" in forms:
        assert np.array_equal(ref, _ort_outputs(out / forms["qcdq"], x)), "the two forms differ"
    with torch.no_grad():
        torch_diff = float(np.abs(_value(model(torch.from_numpy(x))).numpy() - ref).max())
    # the last layer's integer dot products: the float output over the product of its operands' scales
    scale = _scalar(model.fc.quant_weight().scale) * _scalar(spec["last_act"](model).act_quant.scale())
    acc = ref / scale
    assert np.array_equal(acc, np.round(acc)), "the last layer's output is not an integer times its scale"
    np.save(out / "inputs.npy", x)
    np.save(out / "labels.npy", labels)
    np.save(out / "out_ref.npy", ref.astype(np.float32))
    np.save(out / "acc_ref.npy", acc.astype(np.int64))
    both = " (== onnxruntime on the QCDQ form)" if "qcdq" in forms else ""
    info |= {
        "forms": forms,
        "branch_scales": spec["scales"](model),
        "input_shape": list(x.shape[1:]),
        "n_inputs": len(x),
        "input_descriptions": inputs.desc,
        "tie_inputs": inputs.ties,
        "references": f"out_ref.npy: qonnx executor on the QONNX form{both}; "
        "acc_ref.npy: out_ref / (weight scale * input scale) of the last layer",
    }
    (out / "info.json").write_text(json.dumps(info, indent=1) + "\n")
    print(
        f"{name}: test accuracy {info['test_accuracy']:.4f} ({info['training']['train_s']} s training, "
        f"torch vs executor max |diff| {torch_diff:.3g}); wrote {out}"
    )
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--only", choices=sorted(MODELS), help="make only this model (default: both)")
    ap.add_argument("--epochs", type=int, help="override the per-model number of epochs")
    ap.add_argument("--lr", type=float, help="override the per-model learning rate")
    args = ap.parse_args(argv)
    for name in [args.only] if args.only else list(MODELS):
        make(name, args.out, args.epochs, args.lr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
