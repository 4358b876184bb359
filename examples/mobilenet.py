"""Train and export the MobileNet-style example (depthwise-separable convolutions, global average pooling).

Usage (in the ``train`` environment, see examples/README.md)::

    python examples/mobilenet.py --out examples/models [--epochs 8]

``mobilenet_w4a4`` on 28x28 MNIST: an 8-bit input quantizer, a 3x3 convolution of stride 2 (16 channels),
then three depthwise-separable blocks (depthwise 3x3 + batch-norm + 4-bit ReLU, pointwise 1x1 + batch-norm
+ 4-bit ReLU; the first and last depthwise convolutions of stride 2: 14 -> 7 -> 4), global average pooling
(``AdaptiveAvgPool2d(1)``: ``ReduceMean`` in the export) with a 4-bit quantizer, and a 10-class linear
layer. 4-bit weights. Every quantizer has a learned power-of-two scale (Brevitas' fixed-point quantizers),
so the hardware equals the executor with ``==``. Trained with :func:`train.train` on the 4,000 MNIST
training images; exported as QONNX (dynamo) and QCDQ; references from the qonnx executor (QONNX) and
onnxruntime (QCDQ) on the FC nets' 28x28 input set (held-out MNIST, digits, random, ties).
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

NAME = "mobilenet_w4a4"
SEED = 4242


def conv4(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Module:
    """A k x k convolution with 4-bit fixed-point weights, padding k // 2 (depthwise with groups = cin)."""
    import brevitas.nn as qnn
    from brevitas.quant import Int8WeightPerTensorFixedPoint

    return qnn.QuantConv2d(
        cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False,
        weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=4,
    )  # fmt: skip


def relu4(cls=None) -> nn.Module:
    """A 4-bit unsigned fixed-point activation: ``QuantReLU`` (or ``cls``, e.g. ``QuantIdentity``)."""
    import brevitas.nn as qnn
    from brevitas.quant import Uint8ActPerTensorFixedPoint

    cls = cls or qnn.QuantReLU
    return cls(act_quant=Uint8ActPerTensorFixedPoint, bit_width=4, return_quant_tensor=True)


def build() -> nn.Module:
    import brevitas.nn as qnn
    from brevitas.quant import Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint

    conv, relu = conv4, relu4

    class MobileNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, return_quant_tensor=True)
            blocks = [(1, 16, 3, 2, 1), (16, 16, 3, 2, 16), (16, 32, 1, 1, 1), (32, 32, 3, 1, 32)]
            blocks += [(32, 32, 1, 1, 1), (32, 32, 3, 2, 32), (32, 32, 1, 1, 1)]
            self.convs = nn.ModuleList(conv(ci, co, k, s, g) for ci, co, k, s, g in blocks)
            self.bns = nn.ModuleList(nn.BatchNorm2d(co) for _, co, *_ in blocks)
            self.relus = nn.ModuleList(relu() for _ in blocks)
            self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), relu(qnn.QuantIdentity))
            self.fc = qnn.QuantLinear(32, 10, bias=False, weight_quant=Int8WeightPerTensorFixedPoint)

        def forward(self, x):
            x = self.inp(2.0 * x - 1.0)
            for c, b, r in zip(self.convs, self.bns, self.relus, strict=True):
                x = r(b(c(x)))
            x = self.pool(x)
            return self.fc(torch.flatten(x.value if hasattr(x, "value") else x, 1))

    return MobileNet()


def _qonnx_outputs(path: Path, x: np.ndarray) -> np.ndarray:
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.util.cleanup import cleanup_model

    m = cleanup_model(ModelWrapper(str(path)))
    i, o = m.graph.input[0].name, m.graph.output[0].name
    return np.concatenate([execute_onnx(m, {i: x[k : k + 1]})[o] for k in range(len(x))])


def _ort_outputs(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    return np.concatenate([s.run(None, {name: x[k : k + 1]})[0] for k in range(len(x))])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.005)
    args = ap.parse_args(argv)
    from brevitas.export import export_onnx_qcdq, export_qonnx

    torch.manual_seed(SEED)
    model = build()
    info = {"name": NAME, "arch": "mobilenet", "wbits": 4, "abits": 4, "in_bits": 8, "seed": SEED}
    info["training"] = train.train(model, args.epochs, SEED, lr=args.lr)
    x_te, y_te = datasets.training_set()[2:]
    info["test_accuracy"] = train.accuracy(model, x_te, y_te)
    out = args.out / NAME
    out.mkdir(parents=True, exist_ok=True)
    sample = torch.from_numpy(x_te[:1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, input_t=sample, export_path=str(out / f"{NAME}.qonnx.onnx"))
        export_onnx_qcdq(model, sample, export_path=str(out / f"{NAME}.qcdq.onnx"))
    for f in out.glob("*.onnx.data"):  # dynamo may leave an unreferenced external-data file
        f.unlink()
    inputs = datasets.fc_inputs(np.random.default_rng(SEED + 1))
    x, labels = inputs.arrays()
    ref = _qonnx_outputs(out / f"{NAME}.qonnx.onnx", x)
    assert np.array_equal(ref, _ort_outputs(out / f"{NAME}.qcdq.onnx", x)), "the two forms differ"
    # the last layer's integer dot products: the float output over the product of its operands' scales
    scale = np.float32(model.fc.quant_weight().scale.detach().numpy().reshape(-1)[0])
    scale *= np.float32(model.pool[1].act_quant.scale().detach().numpy().reshape(-1)[0])
    acc = ref / scale
    assert np.array_equal(acc, np.round(acc)), "the last layer's output is not an integer times its scale"
    np.save(out / "inputs.npy", x)
    np.save(out / "labels.npy", labels)
    np.save(out / "out_ref.npy", ref.astype(np.float32))
    np.save(out / "acc_ref.npy", acc.astype(np.int64))
    info |= {
        "forms": {"qonnx": f"{NAME}.qonnx.onnx", "qcdq": f"{NAME}.qcdq.onnx"},
        "input_shape": list(x.shape[1:]),
        "n_inputs": len(x),
        "input_descriptions": inputs.desc,
        "tie_inputs": inputs.ties,
        "references": "out_ref.npy: qonnx executor on the QONNX form (== onnxruntime on the QCDQ form); "
        "acc_ref.npy: out_ref / (weight scale * input scale) of the last layer",
    }
    (out / "info.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"{NAME}: test accuracy {info['test_accuracy']:.4f}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
