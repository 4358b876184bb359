"""Make the Brevitas exports the frontend tests read (run with the train environment: ``make train-venv``,
then ``.venv-train/bin/python tests/frontend/data/make_brevitas.py``).

Brevitas 0.13 with torch 2.13 (dynamo export). Power-of-two (fixed-point) quantizers throughout, so that the
integer hardware equals the executors with ``==``:

- ``cnn_w4a4.qcdq.onnx`` / ``cnn_w4a4.qonnx.onnx``: the same CNN in both export forms: 8-bit input
  quantizer, 3x3 conv with zero padding 1 (4-bit weights, per-tensor scale), batch-norm, ``QuantReLU``
  (4 bits: ``Relu`` then the quantizer), 2x2 max-pool, 3x3 conv (3-bit weights, per-channel scales),
  ``QuantReLU`` (2 bits), linear layer (8-bit weights).
- ``bnn_pad.qonnx.onnx``: binary activations and weights with a zero-padded 3x3 convolution (Brevitas
  cannot export binary quantizers as QCDQ).

- ``mobilenet_trunc.{qonnx,qcdq}.onnx`` / ``mobilenet_global.{qonnx,qcdq}.onnx``: a MobileNet-style W4A4
  network (depthwise 3x3 convolutions, one of stride 2, pointwise 1x1 convolutions, 4-bit ReLUs) ending in
  average pooling over the whole map: Brevitas' ``TruncAvgPool2d`` (``AveragePool`` + ``Trunc``) or
  ``AdaptiveAvgPool2d(1)`` + a 4-bit quantizer (``GlobalAveragePool``), in both export forms.
- ``mlp_float.qonnx.onnx`` / ``cnn_float.qonnx.onnx``: Brevitas' default float-scale quantizers (learned
  non-power-of-two scales), trained a few epochs on scikit-learn's 8x8 digits: MLP with an 8-bit
  ``QuantIdentity`` input (``Int8ActPerTensorFloat``), ``Int8WeightPerTensorFloat`` weights, batch-norm,
  ``QuantReLU`` (4-bit, learned float scale) and 4-bit per-channel float weights; CNN with a 4-bit
  per-channel float-scale conv, batch-norm, 4-bit ``QuantReLU``, max-pool and an 8-bit linear layer.
  hwgen computes these in exact arithmetic (README "Float scales").

Only the models are kept; reference outputs are computed by the tests with onnxruntime / qonnx.
"""

import sys
from pathlib import Path

import brevitas.nn as qnn
import torch
from brevitas.export import export_onnx_qcdq, export_qonnx
from brevitas.quant import (
    Int8ActPerTensorFixedPoint,
    Int8ActPerTensorFloat,
    Int8WeightPerChannelFloat,
    Int8WeightPerTensorFixedPoint,
    Int8WeightPerTensorFloat,
    SignedBinaryActPerTensorConst,
    SignedBinaryWeightPerTensorConst,
    Uint8ActPerTensorFixedPoint,
)
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "examples"))

from mobilenet import conv4, relu4  # noqa: E402


class PerChannelFixedPoint(Int8WeightPerTensorFixedPoint):
    scaling_per_output_channel = True


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, return_quant_tensor=True)
        self.conv1 = qnn.QuantConv2d(
            2, 4, 3, padding=1, bias=False, weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=4
        )
        self.bn = nn.BatchNorm2d(4)
        self.relu1 = qnn.QuantReLU(
            act_quant=Uint8ActPerTensorFixedPoint, bit_width=4, return_quant_tensor=True
        )
        self.pool = nn.MaxPool2d(2)
        self.conv2 = qnn.QuantConv2d(
            4, 3, 3, bias=False, weight_quant=PerChannelFixedPoint, weight_bit_width=3
        )
        self.relu2 = qnn.QuantReLU(
            act_quant=Uint8ActPerTensorFixedPoint, bit_width=2, return_quant_tensor=True
        )
        self.fc = qnn.QuantLinear(12, 5, bias=False, weight_quant=Int8WeightPerTensorFixedPoint)

    def forward(self, x):
        x = self.pool(self.relu1(self.bn(self.conv1(self.inp(x)))))
        x = self.relu2(self.conv2(x))
        return self.fc(torch.flatten(x.value if hasattr(x, "value") else x, 1))


class BNN(nn.Module):
    def __init__(self):
        super().__init__()
        kw = {"weight_quant": SignedBinaryWeightPerTensorConst, "weight_scaling_const": 1.0, "bias": False}
        self.inp = qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True)
        self.conv1 = qnn.QuantConv2d(2, 6, 3, padding=1, **kw)
        self.bn = nn.BatchNorm2d(6)
        self.act = qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True)
        self.conv2 = qnn.QuantConv2d(6, 4, 3, padding=1, stride=2, **kw)

    def forward(self, x):
        return self.conv2(self.act(self.bn(self.conv1(self.inp(x - 0.5)))))


class MLPFloat(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = qnn.QuantIdentity(act_quant=Int8ActPerTensorFloat, return_quant_tensor=True)
        self.fc1 = qnn.QuantLinear(64, 16, bias=False, weight_quant=Int8WeightPerTensorFloat)
        self.bn = nn.BatchNorm1d(16)
        self.relu = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
        self.fc2 = qnn.QuantLinear(
            16, 10, bias=False, weight_quant=Int8WeightPerChannelFloat, weight_bit_width=4
        )

    def forward(self, x):
        return self.fc2(self.relu(self.bn(self.fc1(self.inp(x.flatten(1))))))


class CNNFloat(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = qnn.QuantIdentity(act_quant=Int8ActPerTensorFloat, return_quant_tensor=True)
        self.conv = qnn.QuantConv2d(
            1, 6, 3, bias=False, weight_quant=Int8WeightPerChannelFloat, weight_bit_width=4
        )
        self.bn = nn.BatchNorm2d(6)
        self.relu = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
        self.pool = nn.MaxPool2d(2)
        self.fc = qnn.QuantLinear(54, 10, bias=False, weight_quant=Int8WeightPerTensorFloat)

    def forward(self, x):
        x = self.pool(self.relu(self.bn(self.conv(self.inp(x)))))
        return self.fc(torch.flatten(x.value if hasattr(x, "value") else x, 1))


class MobileNet(nn.Module):
    """MobileNet-style W4A4: 3x3 conv, depthwise 3x3 stride 2, pointwise 1x1, depthwise 3x3, pointwise,
    then average pooling over the whole 4x4 map and a linear layer. ``pool="trunc"``: Brevitas'
    ``TruncAvgPool2d`` (AveragePool + Trunc); ``pool="global"``: ``AdaptiveAvgPool2d(1)`` and a 4-bit
    ``QuantIdentity`` (GlobalAveragePool + Quant)."""

    def __init__(self, pool="trunc"):
        super().__init__()

        conv, relu = conv4, relu4  # examples/mobilenet.py

        self.inp = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, return_quant_tensor=True)
        chans = [(1, 8, 3, 1, 1), (8, 8, 3, 2, 8), (8, 16, 1, 1, 1), (16, 16, 3, 1, 16), (16, 16, 1, 1, 1)]
        self.convs = nn.ModuleList(conv(ci, co, k, s, g) for ci, co, k, s, g in chans)
        self.bns = nn.ModuleList(nn.BatchNorm2d(co) for _, co, *_ in chans)
        self.relus = nn.ModuleList(relu() for _ in chans)
        if pool == "trunc":
            self.pool = qnn.TruncAvgPool2d(kernel_size=4, bit_width=4, return_quant_tensor=True)
        else:
            self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), relu(qnn.QuantIdentity))
        self.fc = qnn.QuantLinear(16, 10, bias=False, weight_quant=Int8WeightPerTensorFixedPoint)

    def forward(self, x):
        x = self.inp(x)
        for c, b, r in zip(self.convs, self.bns, self.relus, strict=True):
            x = r(b(c(x)))
        x = self.pool(x)
        return self.fc(torch.flatten(x.value if hasattr(x, "value") else x, 1))


def _mobilenets():
    for pool in ("trunc", "global"):
        torch.manual_seed(21)
        net = MobileNet(pool)
        for bn in net.bns:
            _randomize_bn(bn)
        net.eval()
        x = torch.rand(1, 1, 8, 8)
        net(x)
        export_qonnx(net, x, export_path=str(HERE / f"mobilenet_{pool}.qonnx.onnx"))
        export_onnx_qcdq(net, x, export_path=str(HERE / f"mobilenet_{pool}.qcdq.onnx"))


def _digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1), torch.tensor(d.target)


def _train(model, epochs=8):
    x, y = _digits()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x)).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def _float_models():
    for name, model in (("mlp_float", MLPFloat()), ("cnn_float", CNNFloat())):
        torch.manual_seed(5)
        acc = _train(model)
        print(f"{name}: train accuracy {acc:.3f}")
        export_qonnx(model, torch.rand(1, 1, 8, 8), export_path=str(HERE / f"{name}.qonnx.onnx"))


def _randomize_bn(bn):
    with torch.no_grad():
        bn.weight.uniform_(-1, 2)  # some negative gamma
        bn.bias.normal_()
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2)


def main():
    torch.manual_seed(13)
    cnn = CNN()
    _randomize_bn(cnn.bn)
    cnn.eval()
    x = torch.rand(1, 2, 8, 8)
    cnn(x)
    export_onnx_qcdq(cnn, x, export_path=str(HERE / "cnn_w4a4.qcdq.onnx"))
    export_qonnx(cnn, x, export_path=str(HERE / "cnn_w4a4.qonnx.onnx"))
    bnn = BNN()
    _randomize_bn(bnn.bn)
    bnn.eval()
    x = torch.rand(1, 2, 6, 6)
    bnn(x)
    export_qonnx(bnn, x, export_path=str(HERE / "bnn_pad.qonnx.onnx"))
    _float_models()
    _mobilenets()
    for f in HERE.glob("*.onnx.data"):  # dynamo may write an empty external-data file
        f.unlink()


if __name__ == "__main__":
    main()
