"""Models shared by the tests.

Small hand-built graphs (no onnx): an MLP, a CNN and a FINN-style stream graph, with inputs for them;
and discovery of the reference models (../shared/oracle and examples/models) for the golden-model tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hwgen.golden.shapes import infer_shapes
from hwgen.ir.graph import Graph, Node

F32 = np.float32


class _B:
    def __init__(self, input_shape):
        self.g = Graph(inputs=["x"], meta={"input_shape": tuple(input_shape)})
        self.n = 0

    def c(self, v):
        return self.g.add_const("c", np.asarray(v, F32) if not isinstance(v, np.ndarray) else v)

    def op(self, op, ins, **attrs):
        self.n += 1
        out = f"t{self.n}"
        self.g.nodes.append(Node(op, list(ins), [out], attrs, f"{op}_{self.n}"))
        return out

    def bn(self, x, gamma, rng, eps=1e-4):
        c = len(gamma)
        beta, mean = rng.normal(size=c).astype(F32), rng.normal(size=c).astype(F32) * 3
        var = rng.uniform(0.5, 20, size=c).astype(F32)
        return self.op(
            "BatchNormalization",
            [x, self.c(np.asarray(gamma, F32)), self.c(beta), self.c(mean), self.c(var)],
            epsilon=eps,
        )

    def quant(self, x, bits, signed=1, narrow=1, scale=1.0):
        return self.op(
            "Quant",
            [x, self.c(scale), self.c(0.0), self.c(float(bits))],
            signed=signed,
            narrow=narrow,
            rounding_mode="ROUND",
        )

    def done(self, y):
        self.g.outputs = [y]
        infer_shapes(self.g)
        return self.g


def tiny_mlp(seed=0) -> Graph:
    rng = np.random.default_rng(seed)
    b = _B((1, 1, 4, 4))
    t = b.op("Reshape", ["x", b.c(np.array([1, -1], np.int64))])
    t = b.op("Sub", [b.op("Mul", [t, b.c(2.0)]), b.c(1.0)])
    t = b.op("BipolarQuant", [t, b.c(1.0)])
    w1 = b.op("BipolarQuant", [b.c(rng.normal(size=(16, 8))), b.c(1.0)])
    t = b.op("MatMul", [t, w1])
    t = b.quant(b.bn(t, [1.5, -0.7, 0.0, 2.0, -3.0, 0.5, 1.0, -1.0], rng), 2)
    w2 = b.quant(b.c(rng.normal(size=(8, 6)) * 1.5), 2)
    t = b.op("MatMul", [t, w2])
    t = b.op("BipolarQuant", [b.bn(t, [1.0, -2.0, 0.3, 0.0, 4.0, -0.1], rng), b.c(1.0)])
    w3 = b.op("BipolarQuant", [b.c(rng.normal(size=(3, 6))), b.c(1.0)])
    t = b.op("Gemm", [t, w3], transB=1)
    t = b.op("Div", [b.op("Sub", [t, b.c([0.25])]), b.c([3.7])])
    return b.done(b.op("Add", [b.op("Mul", [t, b.c([0.9])]), b.c([-0.1])]))


def tiny_cnn(seed=0, pad=0) -> Graph:
    """8-bit input, conv (zero-padded if asked), BN, sign, pool, conv, BN, pool, 2 bits, FC."""
    rng = np.random.default_rng(seed)
    b = _B((1, 2, 8, 8))
    t = b.quant(b.op("Sub", [b.op("Mul", ["x", b.c(2.0)]), b.c(1.0)]), 8, narrow=0, scale=2.0**-7)
    w = b.op("BipolarQuant", [b.c(rng.normal(size=(4, 2, 3, 3))), b.c(1.0)])
    t = b.op("Conv", [t, w], kernel_shape=[3, 3], pads=[pad] * 4, strides=[1, 1])
    t = b.op("BipolarQuant", [b.bn(t, [1.0, -1.0, 0.0, 0.5], rng), b.c(1.0)])
    t = b.op("MaxPool", [t], kernel_shape=[2, 2], strides=[2, 2])
    w = b.quant(b.c(rng.normal(size=(5, 4, 2, 2))), 2)
    t = b.op("Conv", [t, w], kernel_shape=[2, 2], pads=[0, 0, 0, 0], strides=[1, 1])
    t = b.op("MaxPool", [b.bn(t, [1.0, -1.0, 2.0, 0.0, -0.5], rng)], kernel_shape=[2, 2], strides=[2, 2])
    t = b.quant(t, 2)  # pooled before the quantizer: swapped by swap_maxpool_quantizer
    t = b.op("Reshape", [t, b.c(np.array([1, -1], np.int64))])
    w = b.quant(b.c(rng.normal(size=(5, 3))), 2)
    return b.done(b.op("MatMul", [t, w]))


def tiny_finn_stream(seed=0) -> Graph:
    """MultiThreshold -> XnorPopcountMatMul -> MultiThreshold -> XnorPopcountMatMul -> Mul/Add, like FINN."""
    rng = np.random.default_rng(seed)
    b = _B((1, 12))
    t = b.op("MultiThreshold", ["x", b.c(np.array([[0.5]], F32))], out_dtype="BINARY")
    t = b.op("XnorPopcountMatMul", [t, b.c((rng.random((12, 6)) > 0.5).astype(F32))])
    thr = rng.integers(3, 9, size=(6, 1)).astype(F32)
    t = b.op("MultiThreshold", [t, b.c(thr)], out_dtype="BINARY")
    t = b.op("XnorPopcountMatMul", [t, b.c((rng.random((6, 4)) > 0.5).astype(F32))])
    return b.done(b.op("Add", [b.op("Mul", [t, b.c([0.37])]), b.c([-1.5])]))


def _i(v, dtype):
    return np.asarray(v, dtype)


def tiny_qcdq(seed=0) -> Graph:
    """The tiny CNN as Brevitas' QCDQ export writes it: QuantizeLinear -> [Clip] -> DequantizeLinear for
    activations (int8 input, QuantReLU as Relu -> uint8 with Clip to 4 bits) and weights (float weights
    with per-channel power-of-two scales and narrow 4-bit Clip; int8 constants with Clip -> DQ), padding 1."""
    rng = np.random.default_rng(seed)
    b = _B((1, 2, 6, 6))
    zp8, zpu = b.c(_i(0, np.int8)), b.c(_i(0, np.uint8))

    def qcdq(x, scale, zp, lo=None, hi=None, axis=None):
        ax = {} if axis is None else {"axis": axis}
        t = b.op("QuantizeLinear", [x, b.c(np.asarray(scale, F32)), zp], **ax)
        if lo is not None:
            t = b.op("Clip", [t, lo, hi])
        return b.op("DequantizeLinear", [t, b.c(np.asarray(scale, F32)), zp], **ax)

    t = qcdq("x", 2.0**-6, zp8)
    ws = np.asarray([2.0**-2, 2.0**-3, 2.0**-1, 2.0**-2], F32)
    w = qcdq(b.c(rng.normal(size=(4, 2, 3, 3)) * 0.5), ws, b.c(np.zeros(4, np.int8)), b.c(_i(-7, np.int8)),
             b.c(_i(7, np.int8)), axis=0)  # fmt: skip
    t = b.op("Conv", [t, w], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
    t = b.op("Relu", [b.bn(t, [1.0, -0.5, 2.0, 0.0], rng)])
    t = qcdq(t, 2.0**-3, zpu, zpu, b.c(_i(15, np.uint8)))
    t = b.op("MaxPool", [t], kernel_shape=[2, 2], strides=[2, 2])
    t = b.op("Reshape", [t, b.c(np.array([1, -1], np.int64))])
    wi = rng.integers(-3, 4, size=(3, 36)).astype(np.int8)
    w = b.op("Clip", [b.c(wi), b.c(_i(-3, np.int8)), b.c(_i(3, np.int8))])
    w = b.op("DequantizeLinear", [w, b.c(np.float32(2.0**-4)), zp8])
    return b.done(b.op("Gemm", [t, w], transB=1))


def tiny_bipolar_pad(seed=0, stride=1) -> Graph:
    """Binary activations and weights, two zero-padded 3x3 convolutions (the second with ``stride``)."""
    rng = np.random.default_rng(seed)
    b = _B((1, 3, 7, 7))
    t = b.op("BipolarQuant", [b.op("Sub", ["x", b.c(0.5)]), b.c(1.0)])
    w = b.op("BipolarQuant", [b.c(rng.normal(size=(6, 3, 3, 3))), b.c(1.0)])
    t = b.op("Conv", [t, w], kernel_shape=[3, 3], pads=[1] * 4, strides=[1, 1])
    t = b.op("BipolarQuant", [b.bn(t, [1.0, -1.0, 0.0, 0.5, 2, -0.3], rng), b.c(1.0)])
    w = b.op("BipolarQuant", [b.c(rng.normal(size=(4, 6, 3, 3))), b.c(1.0)])
    return b.done(b.op("Conv", [t, w], kernel_shape=[3, 3], pads=[1] * 4, strides=[stride, stride]))


def tiny_relu(seed=0) -> Graph:
    """Relu where it stays a float op: before a signed quantizer (after a max-pool, swapped in front of it),
    and one the quantizer makes redundant (MultiThreshold with positive thresholds)."""
    rng = np.random.default_rng(seed)
    b = _B((1, 2, 6, 6))
    t = b.quant(b.op("Relu", [b.op("Sub", ["x", b.c(0.25)])]), 4, signed=0, narrow=0, scale=2.0**-4)
    w = b.quant(b.c(rng.normal(size=(3, 2, 3, 3))), 3)
    t = b.op("Conv", [t, w], kernel_shape=[3, 3], pads=[0, 0, 0, 0], strides=[1, 1])
    t = b.op("MaxPool", [b.bn(t, [1.0, -0.7, 0.4], rng)], kernel_shape=[2, 2], strides=[2, 2])
    t = b.quant(b.op("Relu", [t]), 3, signed=1, narrow=0, scale=0.25)
    t = b.op("Reshape", [t, b.c(np.array([1, -1], np.int64))])
    t = b.op("MatMul", [t, b.quant(b.c(rng.normal(size=(12, 5))), 2)])
    thr = np.sort(rng.uniform(0.1, 3, size=(5, 3)), axis=1).astype(F32)
    t = b.op("MultiThreshold", [b.op("Relu", [t]), b.c(thr)], out_dtype="UINT2")
    return b.done(b.op("MatMul", [t, b.quant(b.c(rng.normal(size=(5, 3))), 2)]))


def tiny_depthwise(seed=0, pool="trunc") -> Graph:
    """Depthwise convolutions (group = channels, one stride 2) between 4-bit ReLU-style quantizers, then
    average pooling: 2x2 ``AveragePool`` + ``Trunc`` (``pool="trunc"``) or ``GlobalAveragePool`` +
    ``Quant``."""
    rng = np.random.default_rng(seed)
    b = _B((1, 4, 6, 6))
    t = b.quant(b.op("Sub", ["x", b.c(0.5)]), 4, signed=1, narrow=0, scale=2.0**-3)
    w = b.quant(b.c(rng.normal(size=(4, 1, 3, 3))), 4, scale=0.25)
    t = b.op("Conv", [t, w], kernel_shape=[3, 3], pads=[1] * 4, strides=[1, 1], group=4)
    t = b.quant(b.op("Relu", [b.bn(t, [1.0, -0.6, 0.8, 0.3], rng)]), 4, signed=0, narrow=0, scale=2.0**-2)
    w = b.quant(b.c(rng.normal(size=(4, 1, 3, 3))), 3, scale=0.5)
    t = b.op("Conv", [t, w], kernel_shape=[3, 3], pads=[1] * 4, strides=[2, 2], group=4)
    t = b.quant(b.op("Relu", [b.bn(t, [0.9, 1.2, -0.4, 0.7], rng)]), 4, signed=0, narrow=0, scale=2.0**-2)
    if pool == "trunc":  # a 3x3 map: 2x2 windows, stride 1, the 4-bit input's sum truncated back to 4 bits
        t = b.op("AveragePool", [t], kernel_shape=[2, 2], strides=[1, 1])
        consts = [b.c(2.0**-4), b.c(0.0), b.c(6.0), b.c(2.0**-2), b.c(4.0)]
        t = b.op("Trunc", [t, *consts], rounding_mode="ROUND", signed=0, narrow=0)
    else:
        t = b.quant(b.op("GlobalAveragePool", [t]), 3, signed=0, narrow=0, scale=2.0**-3)
    t = b.op("Reshape", [t, b.c(np.array([1, -1], np.int64))])
    n = 16 if pool == "trunc" else 4
    return b.done(b.op("MatMul", [t, b.quant(b.c(rng.normal(size=(n, 3))), 3)]))


def tiny_residual(seed=0, bipolar=False) -> Graph:
    """A residual block: a padded 3x3 conv's quantized output ``r`` is read by a second padded conv and by
    the ``Add`` after it (the fork), then a quantizer, max-pool and FC. 4-bit unsigned activations with the
    two operands' scales differing by 2 (``bipolar``: binary activations and weights, scale 1)."""
    rng = np.random.default_rng(seed)
    b = _B((1, 2, 6, 6))

    def act(t, gamma, scale):
        t = b.bn(t, gamma, rng)
        if bipolar:
            return b.op("BipolarQuant", [t, b.c(1.0)])
        return b.quant(b.op("Relu", [t]), 4, signed=0, narrow=0, scale=scale)

    def weights(shape):
        if bipolar:
            return b.op("BipolarQuant", [b.c(rng.normal(size=shape)), b.c(1.0)])
        return b.quant(b.c(rng.normal(size=shape)), 3, scale=0.5)

    t = b.quant(b.op("Sub", ["x", b.c(0.5)]), 4, signed=1, narrow=0, scale=2.0**-3)
    conv = {"kernel_shape": [3, 3], "pads": [1] * 4, "strides": [1, 1]}
    r = act(b.op("Conv", [t, weights((4, 2, 3, 3))], **conv), [1.0, -0.6, 0.8, 0.3], 2.0**-2)
    y = act(b.op("Conv", [r, weights((4, 4, 3, 3))], **conv), [0.9, 1.2, 0.4, 0.7], 2.0**-1)
    t = act(b.op("Add", [r, y]), [1.1, 0.5, 0.9, 0.6], 2.0**-1)
    t = b.op("MaxPool", [t], kernel_shape=[2, 2], strides=[2, 2])
    t = b.op("Reshape", [t, b.c(np.array([1, -1], np.int64))])
    return b.done(b.op("MatMul", [t, weights((36, 3))]))


def tiny_concat(seed=0) -> Graph:
    """Two branches (a 1x1 and a padded 3x3 conv, 3-bit unsigned outputs of scales 2^-2 and 2^-1) of one
    tensor, concatenated along the channels, then a 3x3 conv and an FC."""
    rng = np.random.default_rng(seed)
    b = _B((1, 2, 5, 5))
    t = b.quant(b.op("Sub", ["x", b.c(0.5)]), 4, signed=1, narrow=0, scale=2.0**-3)
    w = b.quant(b.c(rng.normal(size=(4, 2, 3, 3))), 3, scale=0.5)
    t = b.op("Conv", [t, w], kernel_shape=[3, 3], pads=[1] * 4, strides=[1, 1])
    t = b.quant(b.op("Relu", [b.bn(t, [1.0, -0.6, 0.8, 0.3], rng)]), 3, signed=0, narrow=0, scale=2.0**-2)
    w = b.quant(b.c(rng.normal(size=(2, 4, 1, 1))), 3, scale=0.5)
    a = b.op("Conv", [t, w], kernel_shape=[1, 1], pads=[0] * 4, strides=[1, 1])
    a = b.quant(b.op("Relu", [b.bn(a, [0.7, 1.3], rng)]), 3, signed=0, narrow=0, scale=2.0**-2)
    w = b.quant(b.c(rng.normal(size=(4, 4, 3, 3))), 3, scale=0.5)
    c = b.op("Conv", [t, w], kernel_shape=[3, 3], pads=[1] * 4, strides=[1, 1])
    c = b.quant(b.op("Relu", [b.bn(c, [0.5, 0.9, 1.1, -0.4], rng)]), 3, signed=0, narrow=0, scale=2.0**-1)
    t = b.op("Concat", [a, c], axis=1)
    w = b.quant(b.c(rng.normal(size=(3, 6, 3, 3))), 3, scale=0.5)
    t = b.op("Conv", [t, w], kernel_shape=[3, 3], pads=[0] * 4, strides=[1, 1])
    t = b.quant(b.op("Relu", [b.bn(t, [1.0, 0.8, 0.6], rng)]), 4, signed=0, narrow=0, scale=2.0**-2)
    t = b.op("Reshape", [t, b.c(np.array([1, -1], np.int64))])
    return b.done(b.op("MatMul", [t, b.quant(b.c(rng.normal(size=(27, 3))), 3)]))


def tiny_nonsquare(seed=0, uneven=False) -> Graph:
    """Non-square kernels: a 2x3 convolution on 4-bit values, then a zero-padded 3x2 one on binary values
    (padding lanes masked per kernel row and column), then an FC. ``uneven``: the first convolution padded
    (top 1, right 2), the second (left 1, bottom 2), as ONNX ``pads`` allows."""
    rng = np.random.default_rng(seed)
    b = _B((1, 2, 6, 7))
    pads = ([1, 0, 0, 2], [0, 1, 2, 0]) if uneven else ([0] * 4, [1] * 4)
    t = b.quant(b.op("Sub", ["x", b.c(0.5)]), 4, signed=1, narrow=0, scale=2.0**-3)
    w = b.quant(b.c(rng.normal(size=(4, 2, 2, 3))), 3, scale=0.5)
    t = b.op("Conv", [t, w], kernel_shape=[2, 3], pads=pads[0], strides=[1, 1])
    t = b.op("BipolarQuant", [b.bn(t, [1.0, -0.6, 0.8, 0.3], rng), b.c(1.0)])
    w = b.op("BipolarQuant", [b.c(rng.normal(size=(3, 4, 3, 2))), b.c(1.0)])
    t = b.op("Conv", [t, w], kernel_shape=[3, 2], pads=pads[1], strides=[1, 1])
    t = b.op("BipolarQuant", [b.bn(t, [0.9, 1.2, 0.4], rng), b.c(1.0)])
    t = b.op("Reshape", [t, b.c(np.array([1, -1], np.int64))])
    n = 126 if uneven else 90
    return b.done(b.op("MatMul", [t, b.op("BipolarQuant", [b.c(rng.normal(size=(n, 3))), b.c(1.0)])]))


def inputs_for(graph: Graph, n=64, seed=1, grid=None):
    """Random float inputs in [0, 1), with exact ties (0.5, 0.25, 0.75) mixed in."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, *graph.meta["input_shape"][1:])).astype(F32)
    if grid:
        x = (np.rint(x * grid) / grid).astype(F32)
    x[: n // 4] = rng.choice(np.array([0.25, 0.5, 0.75], F32), size=x[: n // 4].shape)
    return x


MODELS = {
    "mlp": tiny_mlp,
    "cnn": tiny_cnn,
    "cnn_pad": lambda: tiny_cnn(pad=1),
    "finn_stream": tiny_finn_stream,
    "qcdq": tiny_qcdq,
    "relu": tiny_relu,
    "bipolar_pad": tiny_bipolar_pad,
    "bipolar_pad_stride2": lambda: tiny_bipolar_pad(stride=2),
    "depthwise_trunc": tiny_depthwise,
    "depthwise_global": lambda: tiny_depthwise(pool="global"),
    "residual": tiny_residual,
    "residual_bipolar": lambda: tiny_residual(seed=7, bipolar=True),
    "concat": tiny_concat,
    "nonsquare": lambda: tiny_nonsquare(seed=1),
    "uneven_pad": lambda: tiny_nonsquare(seed=1, uneven=True),
}


# Reference models for the golden-model tests (../shared/oracle and examples/models).

ROOT = Path(__file__).resolve().parents[2]
ORACLE = ROOT.parent / "shared" / "oracle"
EXAMPLES = ROOT / "examples" / "models"
FORMS = ("qonnx", "qonnx_dynamo", "qonnx_clean", "qcdq", "finn", "finn_stream")


def discover(base: Path) -> list[tuple[Path, str, Path]]:
    """(model folder, form, model file) for every model file of a known form under ``base/*/``."""
    cases = []
    if not base.is_dir():
        return cases
    for info in sorted(base.glob("*/info.json")):
        d = info.parent
        for form in FORMS:
            f = d / f"{d.name}.{form}.onnx"
            if f.is_file():
                cases.append((d, form, f))
    return cases


def _find_key(tree, key):
    """The value of ``key`` anywhere in a JSON tree (first found), or None."""
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        tree = list(tree.values())
    if isinstance(tree, list):
        for v in tree:
            found = _find_key(v, key)
            if found is not None:
                return found
    return None


def references(d: Path, form: str):
    """(inputs, expected float output, expected integers, mask of samples whose integers must match).

    A FINN-ONNX file is compared with what that FINN model computes (``out_finn*.npy``, the executor run on
    that file): FINN's thresholds round ties up, so on tie inputs FINN disagrees with the QONNX model; there
    only the samples on which FINN agrees with the QONNX model are compared with ``acc_ref.npy``.
    Example models may have run the FINN executor on a subset of the inputs (``finn_checked_inputs``):
    then only that subset is returned.
    """
    x = np.load(d / "inputs.npy")
    acc = np.load(d / "acc_ref.npy")
    mask = np.ones(len(x), dtype=bool)
    out = d / "out_ref.npy"
    if not form.startswith("finn"):
        return x, (np.load(out) if out.is_file() else None), acc, mask
    out = d / f"out_{form}.npy"
    info = d / "finn_info.json"
    if info.is_file():  # ../shared/oracle
        fi = json.loads(info.read_text())
        key = "stream_acc_exact_per_sample" if form == "finn_stream" else "finn_exact_per_sample"
        if key in fi:
            mask = np.asarray(fi[key], dtype=bool)
        return x, (np.load(out) if out.is_file() else None), acc, mask
    # examples/models: info.json lists the inputs the FINN executor ran and those where it left the reference
    meta = json.loads((d / "info.json").read_text())
    rows = np.asarray(meta.get("finn_checked_inputs", range(len(x))), dtype=np.int64)
    facts = meta.get(f"{form}_vs_ref") or {}
    mask[[int(i) for i in facts.get("not_close_rows", [])]] = False
    return x[rows], (np.load(out) if out.is_file() else None), acc[rows], mask[rows]
