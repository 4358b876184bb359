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

Only the models are kept; reference outputs are computed by the tests with onnxruntime / qonnx.
"""

from pathlib import Path

import brevitas.nn as qnn
import torch
from brevitas.export import export_onnx_qcdq, export_qonnx
from brevitas.quant import (
    Int8ActPerTensorFixedPoint,
    Int8WeightPerTensorFixedPoint,
    SignedBinaryActPerTensorConst,
    SignedBinaryWeightPerTensorConst,
    Uint8ActPerTensorFixedPoint,
)
from torch import nn

HERE = Path(__file__).resolve().parent


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
    for f in HERE.glob("*.onnx.data"):  # dynamo may write an empty external-data file
        f.unlink()


if __name__ == "__main__":
    main()
