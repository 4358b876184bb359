"""A deterministic corpus of hostile inputs for ``hwgen`` (issue 8), made from the example models.

Every case is a :class:`Case`: a class (what it attacks), an id, and ``make(work) -> argv`` that writes the
files it needs into the folder ``work`` and returns the ``hwgen`` command line. The contract every case is
held to (see ``test_fuzz_corpus.py``): exit 2 with exactly one ``hwgen: error:`` line on stderr, or exit 0
with, for ``hwgen run``, an output equal to the qonnx executor's on the same file.

Classes:

- ``attr``: attribute types, missing required attributes, unknown values of every custom op attribute;
- ``opset``: opset imports missing, too old, too new, duplicated;
- ``dtype``: initializer, Constant and graph input datatypes (float64, int64, float16, complex64, string);
- ``shape``: input dimensions zero, negative, huge, symbolic, missing; scalar batch-norm parameters;
- ``quant``: quantizer scales, zero points and bit widths (NaN, inf, 0, subnormal, 2.5, vectors, huge);
- ``names``: duplicate and empty node names, duplicate tensors and initializers;
- ``proto``: Constants without values, non-UTF-8 text, broken external data;
- ``flip`` / ``trunc``: random byte flips and truncations of every example model form (seeded);
- ``options``: command-line options and input files (``hwgen run`` / ``build``);
- ``folding``: folding files;
- ``buildfolder``: damaged build folders given to ``hwgen verify`` and occupied ``-o`` folders.

The generator is seeded: the same cases, byte for byte, on every run.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "examples" / "models"
FORMS = ("qonnx", "qonnx_clean", "qonnx_dynamo", "finn", "finn_stream")
NETS = ("tfc_w1a1", "tfc_w2a2")
W2A2_CLEAN = MODELS / "tfc_w2a2" / "tfc_w2a2.qonnx_clean.onnx"
W1A1_CLEAN = MODELS / "tfc_w1a1" / "tfc_w1a1.qonnx_clean.onnx"
W2A2_FINN = MODELS / "tfc_w2a2" / "tfc_w2a2.finn.onnx"
W1A1_RAW = MODELS / "tfc_w1a1" / "tfc_w1a1.qonnx.onnx"
FRAMES = 2  # frames per run case (kept small: the executor runs one frame at a time)
SEED = 20261201


@dataclass(frozen=True)
class Case:
    cls: str
    id: str
    make: Callable[[Path], list[str]]
    #: must be refused (exit 2) rather than either refused or run
    refuse: bool = False
    #: checked after the command (``post(work)``), e.g. that a user's file is still there
    post: Callable[[Path], None] | None = None

    def __repr__(self) -> str:  # pytest ids
        return f"{self.cls}-{self.id}"


def inputs(work: Path, net: str = "tfc_w2a2") -> Path:
    p = work / "x.npy"
    if not p.exists():
        np.save(p, np.load(MODELS / net / "inputs.npy")[:FRAMES])
    return p


def _run(model: Path, work: Path, *extra) -> list[str]:
    return ["run", str(model), "--inputs", str(inputs(work)), "-o", str(work / "y.npy"), *map(str, extra)]


def _load(path: Path) -> onnx.ModelProto:
    return onnx.load(str(path))


def _model_case(cls: str, id_: str, base: Path, mutate: Callable[[onnx.ModelProto], None]) -> Case:
    def make(work: Path) -> list[str]:
        m = _load(base)
        mutate(m)
        out = work / "m.onnx"
        out.write_bytes(m.SerializeToString())
        return _run(out, work)

    return Case(cls, id_, make)


def _node(m, name):
    return next(n for n in m.graph.node if n.name == name)


def _init(m, name):
    return next(t for t in m.graph.initializer if t.name == name)


def _set_attr(node, name, value):
    keep = [a for a in node.attribute if a.name != name]
    del node.attribute[:]
    node.attribute.extend(keep)
    if value is not _DROP:
        node.attribute.append(helper.make_attribute(name, value))


_DROP = object()


def _replace_init(m, name, array):
    t = _init(m, name)
    t.CopyFrom(numpy_helper.from_array(array, name))


# ---------------------------------------------------------------------------------------------- attributes


def attr_cases() -> list[Case]:
    cases = []
    weight_q, act_q = ["Quant_0", "Quant_3"], ["Quant_4", "Quant_5", "Quant_7"]
    values = {
        "signed": [1.0, 0.0, "1", [1, 1], 0, 2, _DROP],
        "narrow": [1.0, 0.0, "0", 0, _DROP],
        "rounding_mode": [1, "BOGUS", "FLOOR", "CEIL", "HALF_UP", "round", "", _DROP],
    }
    for q in weight_q + act_q:
        for attr, vals in values.items():
            for k, v in enumerate(vals):

                def mut(m, q=q, attr=attr, v=v):
                    _set_attr(_node(m, q), attr, v)

                cases.append(_model_case("attr", f"{q}-{attr}-{k}", W2A2_CLEAN, mut))

    def extra(m):
        _node(m, "Quant_5").attribute.append(helper.make_attribute("bogus", 1))

    cases.append(_model_case("attr", "unknown-attribute", W2A2_CLEAN, extra))
    for k, (attr, v) in enumerate(
        [
            ("out_dtype", _DROP),
            ("out_dtype", 2),
            ("out_dtype", "INT99"),
            ("out_scale", 0.0),
            ("out_scale", 1),
            ("out_scale", float("nan")),
            ("out_scale", 2.0),
            ("out_bias", float("inf")),
            ("out_bias", -1.0),
            ("data_layout", "NHWC"),
            ("data_layout", 3),
        ]
    ):

        def mut(m, attr=attr, v=v):
            _set_attr(_node(m, "MultiThreshold_1"), attr, v)

        cases.append(_model_case("attr", f"multithreshold-{attr}-{k}", W2A2_FINN, mut))
    for k, (node, attr, v) in enumerate(
        [
            ("BatchNormalization_0", "epsilon", 0),
            ("BatchNormalization_0", "epsilon", -1.0),
            ("BatchNormalization_0", "training_mode", 1),
            ("BatchNormalization_0", "epsilon", "x"),
            ("Reshape_0", "allowzero", 1),
            ("Reshape_0", "allowzero", 1.0),
        ]
    ):

        def mut(m, node=node, attr=attr, v=v):
            _set_attr(_node(m, node), attr, v)

        cases.append(_model_case("attr", f"{node}-{attr}-{k}", W2A2_CLEAN, mut))
    return cases


# ---------------------------------------------------------------------------------------------- opsets


def opset_cases() -> list[Case]:
    def set_onnx(v):
        def mut(m):
            for o in m.opset_import:
                if o.domain in ("", "ai.onnx"):
                    o.version = v

        return mut

    def drop(domain):
        def mut(m):
            keep = [o for o in m.opset_import if o.domain != domain]
            del m.opset_import[:]
            m.opset_import.extend(keep)

        return mut

    def custom(v):
        def mut(m):
            for o in m.opset_import:
                if o.domain:
                    o.version = v

        return mut

    def twice(m):
        m.opset_import.append(helper.make_opsetid("", 13))

    def none(m):
        del m.opset_import[:]

    cases = [_model_case("opset", f"onnx-{v}", W2A2_CLEAN, set_onnx(v)) for v in (1, 7, 8, 9, 13, 17, 99)]
    cases += [
        _model_case("opset", "no-onnx", W2A2_CLEAN, drop("")),
        _model_case("opset", "no-custom", W2A2_CLEAN, drop("qonnx.custom_op.general")),
        _model_case("opset", "custom-1", W2A2_CLEAN, custom(1)),
        _model_case("opset", "custom-99", W2A2_CLEAN, custom(99)),
        _model_case("opset", "twice", W2A2_CLEAN, twice),
        _model_case("opset", "none", W2A2_CLEAN, none),
        _model_case("opset", "finn-onnx-1", W2A2_FINN, set_onnx(1)),
    ]

    def ir(v):
        def mut(m):
            m.ir_version = v

        return mut

    cases += [_model_case("opset", f"ir-{v}", W2A2_CLEAN, ir(v)) for v in (0, 2, 99)]
    return cases


# ---------------------------------------------------------------------------------------------- datatypes


def dtype_cases() -> list[Case]:
    cases = []
    conv = {
        "float64": lambda a: a.astype(np.float64),
        "float16": lambda a: a.astype(np.float16),
        "int64": lambda a: np.round(a).astype(np.int64),
        "int8": lambda a: np.round(a).astype(np.int8),
        "complex64": lambda a: a.astype(np.complex64) + 1j,
        "bool": lambda a: a > 0,
    }
    targets = [
        (W2A2_CLEAN, "Quant_0_param0"),  # weights
        (W2A2_CLEAN, "Quant_4_param0"),  # activation scale
        (W2A2_CLEAN, "BatchNormalization_1_param0"),  # gamma
        (W2A2_CLEAN, "BatchNormalization_1_param3"),  # var
        (W2A2_CLEAN, "Sub_1_param0"),  # float tail
        (W2A2_FINN, "MultiThreshold_1_param0"),  # thresholds
        (W2A2_FINN, "MatMul_2_param0"),  # FINN weights
    ]
    for base, name in targets:
        for kind, f in conv.items():

            def mut(m, name=name, f=f):
                _replace_init(m, name, f(numpy_helper.to_array(_init(m, name))))

            cases.append(_model_case("dtype", f"{name}-{kind}", base, mut))

    def float_shape(m):
        _replace_init(
            m, "Reshape_0_param0", numpy_helper.to_array(_init(m, "Reshape_0_param0")).astype(np.float32)
        )

    def int32_shape(m):
        _replace_init(
            m, "Reshape_0_param0", numpy_helper.to_array(_init(m, "Reshape_0_param0")).astype(np.int32)
        )

    cases += [
        _model_case("dtype", "reshape-float-shape", W2A2_CLEAN, float_shape),
        _model_case("dtype", "reshape-int32-shape", W2A2_CLEAN, int32_shape),
    ]
    for kind in (
        TensorProto.INT64,
        TensorProto.STRING,
        TensorProto.DOUBLE,
        TensorProto.FLOAT16,
        TensorProto.UINT8,
    ):

        def mut(m, kind=kind):
            m.graph.input[0].type.tensor_type.elem_type = kind

        cases.append(_model_case("dtype", f"input-{TensorProto.DataType.Name(kind)}", W2A2_CLEAN, mut))

    def raw_short(m):
        t = _init(m, "Quant_1_param0")
        t.raw_data = t.raw_data[:-4]

    def raw_long(m):
        t = _init(m, "Quant_1_param0")
        t.raw_data = t.raw_data + b"\0\0\0\0"

    def nan_weight(m):
        a = numpy_helper.to_array(_init(m, "Quant_1_param0")).copy()
        a[3, 5] = np.nan
        _replace_init(m, "Quant_1_param0", a)

    def inf_tail(m):
        _replace_init(m, "Div_0_param0", np.full((1,), np.inf, np.float32))

    def zero_tail(m):
        _replace_init(m, "Div_0_param0", np.zeros((1,), np.float32))

    def nan_bn(m):
        a = numpy_helper.to_array(_init(m, "BatchNormalization_0_param2")).copy()
        a[0] = np.nan
        _replace_init(m, "BatchNormalization_0_param2", a)

    def neg_var(m):
        a = numpy_helper.to_array(_init(m, "BatchNormalization_0_param3")).copy()
        a[:] = -5
        _replace_init(m, "BatchNormalization_0_param3", a)

    def zero_var(m):
        a = numpy_helper.to_array(_init(m, "BatchNormalization_0_param3")).copy()
        a[:] = 0
        _replace_init(m, "BatchNormalization_0_param3", a)
        _set_attr(_node(m, "BatchNormalization_0"), "epsilon", 0.0)

    for f in (raw_short, raw_long, nan_weight, inf_tail, zero_tail, nan_bn, neg_var, zero_var):
        cases.append(_model_case("dtype", f.__name__.replace("_", "-"), W2A2_CLEAN, f))
    return cases


# ---------------------------------------------------------------------------------------------- shapes


def shape_cases() -> list[Case]:
    cases = []

    def dims(values):
        def mut(m):
            d = m.graph.input[0].type.tensor_type.shape.dim
            for k, v in enumerate(values):
                if k >= len(d):
                    d.add()
                if isinstance(v, str):
                    d[k].dim_param = v
                elif v is None:
                    d[k].Clear()
                else:
                    d[k].dim_value = v
            while len(d) > len(values):
                del d[len(values)]

        return mut

    for id_, v in {
        "batch-0": [0, 1, 28, 28],
        "chan-0": [1, 0, 28, 28],
        "h-0": [1, 1, 0, 28],
        "negative": [1, 1, -28, 28],
        "huge": [1, 1, 1 << 20, 1 << 20],
        "huge-batch": [1 << 40, 1, 28, 28],
        "symbolic-batch": ["N", 1, 28, 28],
        "symbolic-h": [1, 1, "H", 28],
        "missing-h": [1, 1, None, 28],
        "wrong-size": [1, 1, 28, 27],
        "flat": [1, 784],
        "rank-1": [784],
        "rank-0": [],
        "batch-4": [4, 1, 28, 28],
    }.items():
        cases.append(_model_case("shape", id_, W2A2_CLEAN, dims(v)))

    def no_shape(m):
        m.graph.input[0].type.tensor_type.ClearField("shape")

    def scalar_gamma(m):
        _replace_init(m, "BatchNormalization_1_param0", np.float32(1.5))

    def short_gamma(m):
        _replace_init(m, "BatchNormalization_1_param0", np.ones(32, np.float32))

    def matrix_beta(m):
        _replace_init(m, "BatchNormalization_1_param1", np.zeros((1, 64), np.float32))

    def wrong_weight(m):
        _replace_init(m, "Quant_1_param0", np.ones((64, 63), np.float32))

    def reshape_bad(m):
        _replace_init(m, "Reshape_0_param0", np.array([1, 783], np.int64))

    for f in (no_shape, scalar_gamma, short_gamma, matrix_beta, wrong_weight, reshape_bad):
        cases.append(_model_case("shape", f.__name__.replace("_", "-"), W2A2_CLEAN, f))
    return cases


# ---------------------------------------------------------------------------------------------- quantizers


def quant_cases() -> list[Case]:
    cases = []
    special = {
        "nan": np.nan,
        "inf": np.inf,
        "-inf": -np.inf,
        "zero": 0.0,
        "neg": -0.5,
        "subnormal": 1e-45,
        "tiny": 1e-38,
        "huge": 3e38,
    }
    for q in ("Quant_0", "Quant_4", "Quant_6"):  # a weight, the input and a hidden quantizer
        scale = f"{q}_param0" if q != "Quant_0" else "Quant_0_param1"
        for id_, v in special.items():

            def mut(m, scale=scale, v=v):
                _replace_init(m, scale, np.float32(v))

            cases.append(_model_case("quant", f"{q}-scale-{id_}", W2A2_CLEAN, mut))
    for q, bits in (
        ("Quant_0", "Quant_0_param3"),
        ("Quant_2", "Quant_2_param3"),
        ("Quant_6", "Quant_6_param2"),
    ):
        for id_, v in {
            "2.5": np.float32(2.5),
            "1": np.float32(1),
            "3": np.float32(3),
            "0": np.float32(0),
            "-2": np.float32(-2),
            "nan": np.float32(np.nan),
            "33": np.float32(33),
            "1e9": np.float32(1e9),
            "vector": np.array([2, 2], np.float32),
            "row": np.array([[2]], np.float32),
        }.items():

            def mut(m, bits=bits, v=v):
                _replace_init(m, bits, v)

            cases.append(_model_case("quant", f"{q}-bits-{id_}", W2A2_CLEAN, mut))
    for q, zp in (("Quant_1", "Quant_1_param2"), ("Quant_5", "Quant_5_param1")):
        for id_, v in {"0.5": 0.5, "nan": np.nan, "1": 1.0, "-3": -3.0}.items():

            def mut(m, zp=zp, v=v):
                _replace_init(m, zp, np.float32(v))

            cases.append(_model_case("quant", f"{q}-zeropoint-{id_}", W2A2_CLEAN, mut))

    def per_channel_scale(m):
        _replace_init(m, "Quant_1_param1", np.full((1, 64), 0.5, np.float32))

    def odd_weight_scale(m):
        _replace_init(m, "Quant_1_param1", np.float32(0.3))

    for f in (per_channel_scale, odd_weight_scale):
        cases.append(_model_case("quant", f.__name__.replace("_", "-"), W2A2_CLEAN, f))

    def bipolar_scale(v):
        def mut(m):
            for n in m.graph.node:
                if n.op_type == "BipolarQuant" and n.input[0] not in {t.name for t in m.graph.initializer}:
                    _replace_init(m, n.input[1], np.float32(v))
                    return

        return mut

    for id_, v in {"nan": np.nan, "zero": 0.0, "neg": -1.0, "two": 2.0}.items():
        cases.append(_model_case("quant", f"bipolar-scale-{id_}", W1A1_CLEAN, bipolar_scale(v)))
    return cases


# ---------------------------------------------------------------------------------------------- names


def name_cases() -> list[Case]:
    def same(op, name):
        def mut(m):
            for n in m.graph.node:
                if n.op_type == op:
                    n.name = name

        mut.__name__ = f"same-{op}"
        return mut

    def empty(m):
        for n in m.graph.node:
            n.name = ""

    def collide(m):  # a node named like the name hwgen would give another
        for n in m.graph.node:
            n.name = {"MatMul_0": "MatMul_1", "MatMul_1": "MatMul_1_1", "MatMul_2": ""}.get(n.name, n.name)

    def dup_output(m):
        _node(m, "Mul_1").output[0] = "Div_0_out0"

    def dup_init(m):
        m.graph.initializer.append(numpy_helper.from_array(np.float32(2), "Mul_0_param0"))

    def init_is_output(m):
        m.graph.initializer.append(numpy_helper.from_array(np.zeros((1, 64), np.float32), "MatMul_1_out0"))

    def input_twice(m):
        m.graph.input.append(m.graph.input[0])

    def output_is_input(m):
        m.graph.output[0].name = m.graph.input[0].name

    def two_outputs(m):
        m.graph.output.append(helper.make_tensor_value_info("MatMul_3_out0", TensorProto.FLOAT, [1, 10]))

    def cycle(m):
        _node(m, "Mul_0").input[0] = "Add_0_out0"
        _node(m, "Add_0").output[0] = "Add_0_out0"
        m.graph.output[0].name = "Add_0_out0"

    return [
        _model_case("names", f.__name__.replace("_", "-"), W2A2_CLEAN, f)
        for f in (
            same("MatMul", "fc"),
            same("Quant", "q"),
            same("BatchNormalization", "bn"),
            empty,
            collide,
            dup_output,
            dup_init,
            init_is_output,
            input_twice,
            output_is_input,
            two_outputs,
            cycle,
        )
    ] + [_model_case("names", "finn-same-matmul", W2A2_FINN, same("MatMul", "fc"))]


# ---------------------------------------------------------------------------------------------- protobuf


def _bytes_case(id_: str, base: Path, mutate: Callable[[onnx.ModelProto], None], patch) -> Case:
    def make(work: Path) -> list[str]:
        m = _load(base)
        mutate(m)
        data = m.SerializeToString()
        for old, new in patch:
            assert len(old) == len(new) and old in data
            data = data.replace(old, new)
        (work / "m.onnx").write_bytes(data)
        return _run(work / "m.onnx", work)

    return Case("proto", id_, make)


def _external(id_: str, location: str, offset: int | None, length: int | None, write=True) -> Case:
    def make(work: Path) -> list[str]:
        m = _load(W2A2_CLEAN)
        t = _init(m, "Quant_1_param0")
        raw = t.raw_data
        if write:
            (work / "w.bin").write_bytes(raw)
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", location), ("offset", offset), ("length", length)):
            if v is not None:
                e = t.external_data.add()
                e.key, e.value = k, str(v)
        (work / "m.onnx").write_bytes(m.SerializeToString())
        return _run(work / "m.onnx", work)

    return Case("proto", id_, make)


def proto_cases() -> list[Case]:
    def noop(m):
        pass

    def const_without_value(m):
        m.graph.node.insert(0, helper.make_node("Constant", [], ["c0"], name="c"))

    def const_two_values(m):
        n = helper.make_node("Constant", [], ["c0"], name="c", value_float=1.0)
        n.attribute.append(helper.make_attribute("value_int", 3))
        m.graph.node.insert(0, n)

    def const_int_scale(m):
        n = helper.make_node(
            "Constant", [], ["Mul_0_param0"], name="c", value=numpy_helper.from_array(np.int64(2))
        )
        keep = [t for t in m.graph.initializer if t.name != "Mul_0_param0"]
        del m.graph.initializer[:]
        m.graph.initializer.extend(keep)
        m.graph.node.insert(0, n)

    def const_float_scale(m):
        a = numpy_helper.to_array(_init(m, "Mul_0_param0"))
        n = helper.make_node("Constant", [], ["Mul_0_param0"], name="c", value_float=float(a))
        keep = [t for t in m.graph.initializer if t.name != "Mul_0_param0"]
        del m.graph.initializer[:]
        m.graph.initializer.extend(keep)
        m.graph.node.insert(0, n)

    def unknown_op(m):
        _node(m, "Quant_5").op_type = "Relu"

    def unknown_domain(m):
        _node(m, "Quant_5").domain = "com.example"

    def no_nodes(m):
        del m.graph.node[:]

    def marker(m):
        _node(m, "Quant_5").domain = "qonnx.custom_op.generaX"
        m.opset_import.append(helper.make_opsetid("qonnx.custom_op.generaX", 1))

    def name_marker(m):
        _node(m, "Quant_5").name = "Quant_X"

    return [
        _model_case("proto", f.__name__.replace("_", "-"), W2A2_CLEAN, f)
        for f in (
            const_without_value,
            const_two_values,
            const_int_scale,
            const_float_scale,
            unknown_op,
            unknown_domain,
            no_nodes,
        )
    ] + [
        _bytes_case("non-utf8-domain", W2A2_CLEAN, marker, [(b"generaX", b"gener\xff\xfe")]),
        _bytes_case("non-utf8-name", W2A2_CLEAN, name_marker, [(b"Quant_X", b"Quant\xc3\x28")]),
        _bytes_case("non-utf8-attr", W2A2_CLEAN, noop, [(b"ROUND", b"R\xffUND")]),
        _external("external-ok", "w.bin", None, None),
        _external("external-offset", "w.bin", 10**9, None),
        _external("external-length", "w.bin", 0, 10**9),
        _external("external-negative", "w.bin", -4, None),
        _external("external-nul", "w\0.bin", None, None),
        _external("external-outside", "../w.bin", None, None),
        _external("external-absolute", "/etc/passwd", None, None),
        _external("external-missing", "w.bin", None, None, write=False),
        _external("external-folder", ".", None, None),
    ]


# ---------------------------------------------------------------------------------------------- bytes


def _flip_case(net: str, form: str, k: int, rng: random.Random) -> Case:
    src = MODELS / net / f"{net}.{form}.onnx"
    size = src.stat().st_size
    n = rng.choice((1, 1, 2, 4, 16))
    edits = [(rng.randrange(size), rng.randrange(1, 256)) for _ in range(n)]

    def make(work: Path) -> list[str]:
        data = bytearray(src.read_bytes())
        for pos, x in edits:
            data[pos] ^= x
        (work / "m.onnx").write_bytes(bytes(data))
        return _run(work / "m.onnx", work)

    return Case("flip", f"{net}-{form}-{k}", make)


def _header_flip_case(net: str, form: str, k: int, rng: random.Random) -> Case:
    """Flips in the part of the file that is not weight data (graph structure, attributes, names)."""
    src = MODELS / net / f"{net}.{form}.onnx"
    m = _load(src)
    for t in m.graph.initializer:
        t.raw_data = t.raw_data[:64]
    size = len(m.SerializeToString())
    edits = [(rng.randrange(size), rng.randrange(1, 256)) for _ in range(rng.choice((1, 2, 3)))]

    def make(work: Path) -> list[str]:
        mm = _load(src)
        big = {t.name: t.raw_data for t in mm.graph.initializer}
        for t in mm.graph.initializer:
            t.raw_data = t.raw_data[:64]
        data = bytearray(mm.SerializeToString())
        for pos, x in edits:
            data[pos] ^= x
        try:  # restore the weights where the structure still parses, so the model stays runnable
            mm = onnx.load_from_string(bytes(data))
            for t in mm.graph.initializer:
                if t.name in big and len(t.raw_data) == 64 and big[t.name][:64] == t.raw_data:
                    t.raw_data = big[t.name]
            data = mm.SerializeToString()
        except Exception:  # noqa: BLE001 - unparseable bytes are a case too
            data = bytes(data)
        (work / "m.onnx").write_bytes(bytes(data))
        return _run(work / "m.onnx", work)

    return Case("flip", f"{net}-{form}-structure-{k}", make)


def _trunc_case(net: str, form: str, k: int, rng: random.Random) -> Case:
    src = MODELS / net / f"{net}.{form}.onnx"
    size = src.stat().st_size
    cut = rng.choice((0, 1, 16, rng.randrange(size), rng.randrange(size), size - 1))

    def make(work: Path) -> list[str]:
        (work / "m.onnx").write_bytes(src.read_bytes()[:cut])
        return _run(work / "m.onnx", work)

    return Case("trunc", f"{net}-{form}-{k}-{cut}", make)


def byte_cases(flips: int = 8, structure: int = 8, truncs: int = 3) -> list[Case]:
    rng = random.Random(SEED)
    cases = []
    for net in NETS:
        for form in FORMS:
            cases += [_flip_case(net, form, k, rng) for k in range(flips)]
            cases += [_header_flip_case(net, form, k, rng) for k in range(structure)]
            cases += [_trunc_case(net, form, k, rng) for k in range(truncs)]
    return cases


# ---------------------------------------------------------------------------------------------- options


def option_cases() -> list[Case]:
    model = str(W2A2_CLEAN)

    def run_with(x_maker, *extra, out="y.npy"):
        def make(work: Path) -> list[str]:
            x = x_maker(work)
            o = out(work) if callable(out) else str(work / out)
            return ["run", model, "--inputs", str(x), "-o", o, *map(str, extra)]

        return make

    def npy(arr, name="x.npy"):
        def f(work):
            p = work / name
            np.save(p, arr)
            return p

        return f

    def npz(work):
        p = work / "x.npy"
        with open(p, "wb") as fh:
            np.savez(fh, a=np.zeros((1, 1, 28, 28), np.float32))
        return p

    def pickled(work):
        p = work / "x.npy"
        np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        return p

    def text(work):
        p = work / "x.npy"
        p.write_text("1 2 3\n")
        return p

    def header_huge(work):
        p = work / "x.npy"
        np.save(p, np.zeros((1, 1, 28, 28), np.float32))
        data = p.read_bytes().replace(b"(1, 1, 28, 28)", b"(9999999999999, 1, 28, 28)"[:14])
        p.write_bytes(data)
        return p

    def good(work):
        return inputs(work)

    def unwritable(work):
        d = work / "ro"
        d.mkdir(exist_ok=True)
        d.chmod(0o500)
        return str(d / "y.npy")

    def dangling(work):
        link = work / "link.npy"
        if not link.is_symlink():
            link.symlink_to(work / "nowhere" / "y.npy")
        return str(link)

    x0 = np.load(MODELS / "tfc_w2a2" / "inputs.npy")[:FRAMES]
    cases = {
        "npz-as-npy": run_with(npz),
        "pickle": run_with(pickled),
        "text": run_with(text),
        "huge-header": run_with(header_huge),
        "int64-inputs": run_with(npy(np.round(x0).astype(np.int64))),
        "complex-inputs": run_with(npy(x0.astype(np.complex64))),
        "bool-inputs": run_with(npy(x0 > 0.5)),
        "float64-inputs": run_with(npy(x0.astype(np.float64))),
        "float16-inputs": run_with(npy(x0.astype(np.float16))),
        "inf-inputs": run_with(npy(np.full_like(x0, np.inf))),
        "huge-inputs": run_with(npy(np.full_like(x0, 3e38))),
        "subnormal-inputs": run_with(npy(np.full_like(x0, 1e-45))),
        "zero-frames": run_with(npy(x0[:0])),
        "flat-inputs": run_with(npy(x0.reshape(FRAMES, -1))),
        "scalar-inputs": run_with(npy(np.float32(1))),
        "fortran-inputs": run_with(npy(np.asfortranarray(x0))),
        "o-unwritable": run_with(good, out=unwritable),
        "o-long": run_with(good, out=lambda w: str(w / ("y" * 300 + ".npy"))),
        "o-dangling": run_with(good, out=dangling),
        "o-newline": run_with(good, out=lambda w: str(w / "no\nsuch" / "y.npy")),
        "o-folder": run_with(good, out=lambda w: str(w)),
        "inputs-folder": run_with(lambda w: w),
        "integer": run_with(good, "--integer"),
        "input-dtype-uint64": run_with(good, "--input-dtype", "uint64", "--input-scale", 0.00392156862745098),
        "input-dtype-uint8": run_with(good, "--input-dtype", "uint8", "--input-scale", 0.00392156862745098),
        "input-dtype-bogus": run_with(good, "--input-dtype", "float32", "--input-scale", 1),
        "input-dtype-int0": run_with(good, "--input-dtype", "int0", "--input-scale", 1),
        "input-scale-subnormal": run_with(good, "--input-dtype", "uint8", "--input-scale", 1e-320),
        "input-scale-nan": run_with(good, "--input-dtype", "uint8", "--input-scale", "nan"),
        "input-scale-inf": run_with(good, "--input-dtype", "uint8", "--input-scale", "inf"),
        "input-scale-huge": run_with(good, "--input-dtype", "uint8", "--input-scale", 1e300),
        "input-scale-negative": run_with(good, "--input-dtype", "uint8", "--input-scale", -1),
        "input-scale-alone": run_with(good, "--input-scale", 1),
    }
    out = [Case("options", k, v) for k, v in cases.items()]

    def build_with(*extra):
        def make(work: Path) -> list[str]:
            return ["build", model, "-o", str(work / "out"), *map(str, extra)]

        return make

    for k, extra in enumerate(
        [
            ("--target-fps", 1e-10, "--clock-mhz", 1e305),
            ("--target-fps", 1e-10),
            ("--target-fps", "nan"),
            ("--target-fps", "inf"),
            ("--clock-mhz", 1e305),
            ("--clock-mhz", 1e-300),
            ("--clock-mhz", "-inf"),
            ("--topk", 10**30),
            ("--topk", 11),
            ("--topk", -1),
            ("--input-dtype", "uint64", "--input-scale", 1),
            ("--input-dtype", "uint8", "--input-scale", 1e-320),
            ("--board", "../../etc/passwd"),
            ("--board", ""),
            ("--pipeline", 7),
        ]
    ):
        out.append(Case("options", f"build-{k}", build_with(*extra)))
    return out


# ---------------------------------------------------------------------------------------------- folding


def folding_cases() -> list[Case]:
    model = str(W2A2_CLEAN)

    def with_file(content: bytes | Callable[[Path], Path]):
        def make(work: Path) -> list[str]:
            if callable(content):
                f = content(work)
            else:
                f = work / "folding.json"
                f.write_bytes(content)
            return ["build", model, "-o", str(work / "out"), "--folding", str(f)]

        return make

    good = json.dumps({"MatMul_0": {"pe": 4, "simd": 4}})
    contents = {
        "utf16": good.encode("utf-16"),
        "utf8-bom": b"\xef\xbb\xbf" + good.encode(),
        "latin1": '{"MatMul_0\xe9": {"pe": 1}}'.encode("latin-1"),
        "nested": b"[" * 1000 + b"]" * 1000,
        "nested-deep": b'{"a":' * 100000 + b"1" + b"}" * 100000,
        "empty": b"",
        "null": b"null",
        "list": b"[1, 2]",
        "string": b'"x"',
        "pe-string": json.dumps({"MatMul_0": {"pe": "4"}}).encode(),
        "pe-float": json.dumps({"MatMul_0": {"pe": 4.5}}).encode(),
        "pe-bool": json.dumps({"MatMul_0": {"pe": True}}).encode(),
        "pe-zero": json.dumps({"MatMul_0": {"pe": 0}}).encode(),
        "pe-negative": json.dumps({"MatMul_0": {"pe": -4}}).encode(),
        "pe-huge": json.dumps({"MatMul_0": {"pe": 10**30}}).encode(),
        "pe-nan": b'{"MatMul_0": {"pe": NaN}}',
        "pe-list": json.dumps({"MatMul_0": {"pe": [4]}}).encode(),
        "simd-not-dividing": json.dumps({"MatMul_0": {"simd": 5}}).encode(),
        "unknown-layer": json.dumps({"nope": {"pe": 1}}).encode(),
        "unknown-key": json.dumps({"MatMul_0": {"lanes": 1}}).encode(),
        "twice": json.dumps({"MatMul_0": {"pe": 1, "PE": 2}}).encode(),
        "layer-number": json.dumps({"MatMul_0": 4}).encode(),
        "good": good.encode(),
    }
    cases = [Case("folding", k, with_file(v)) for k, v in contents.items()]
    cases.append(Case("folding", "missing", with_file(lambda w: w / "absent.json")))
    cases.append(Case("folding", "folder", with_file(lambda w: w)))
    return cases


# ---------------------------------------------------------------------------------------------- build folders


def _damaged(id_: str, damage: Callable[[Path, dict], None], files: bool = False) -> Case:
    """``damage(folder, manifest)`` edits the manifest dict (written back afterwards) or, with ``files``,
    the folder itself (the manifest file included)."""

    def make(work: Path) -> list[str]:
        b = work / "b"
        shutil.copytree(BUILD["path"], b, ignore=shutil.ignore_patterns("sim_build"))
        m = json.loads((b / "manifest.json").read_text())
        damage(b, m)
        if not files:
            (b / "manifest.json").write_text(json.dumps(m))
        return ["verify", str(b), "--inputs", str(inputs(work))]

    return Case("buildfolder", id_, make, refuse=True)


#: The build folder damaged copies are made from; set by the test module (one real build per session).
BUILD: dict = {}


def _set(keys, value):
    def damage(b, m):
        d = m
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value

    return damage


def _delete(keys):
    def damage(b, m):
        d = m
        for k in keys[:-1]:
            d = d[k]
        del d[keys[-1]]

    return damage


def buildfolder_cases() -> list[Case]:
    cases = []
    wrong = {
        ("ii_cycles",): ["100", -1000000, 0, 1.5, None, True, 10**30],
        ("latency_cycles",): [-1, "x", None],
        ("input", "elements_per_beat"): [0, -1, "8", 2.0, None, [1]],
        ("output", "elements_per_beat"): [0, 3],
        ("input", "beats_per_frame"): [0, -5],
        ("output", "beats_per_frame"): [0, "1"],
        ("input", "elements_per_frame"): [0, 783],
        ("input", "dtype"): ["FLOAT", 8, "UINT0"],
        ("output", "dtype"): [None, "INT-3"],
        ("rtl", "files"): [[], "rtl/hwgen_top.v", ["../outside.v"], ["/etc/passwd"], [1], ["rtl/../../x.v"]],
        ("rtl", "top"): ["", "a b", 7, "top; $finish"],
        ("model", "file"): ["/etc/passwd", "../model.onnx", "", 3, "rtl"],
        ("model", "sha256"): ["0" * 64, "xyz", None],
        ("options",): [[], None],
        ("options", "input_dtype"): ["uint8", 3],
        ("options", "input_scale"): [-1.0, "x"],
        ("options", "topk"): [0, "1", 1.5],
        ("input",): ["x", []],
        ("rtl",): [None],
        ("layers",): ["x"],
        ("format_version",): [1, "2", None],
        ("format",): ["other"],
    }
    for keys, values in wrong.items():
        for k, v in enumerate(values):
            cases.append(_damaged(f"{'.'.join(keys)}-{k}", _set(keys, v)))
    for keys in (("model",), ("rtl", "top"), ("input", "dtype"), ("ii_cycles",), ("model", "sha256")):
        cases.append(_damaged(f"no-{'.'.join(keys)}", _delete(keys)))

    def no_model_copy(b, m):
        (b / "model.onnx").unlink()

    def other_model(b, m):
        shutil.copyfile(W1A1_CLEAN, b / "model.onnx")

    def other_model_same_shape(b, m):
        data = bytearray((b / "model.onnx").read_bytes())
        data[-200] ^= 1
        (b / "model.onnx").write_bytes(bytes(data))

    def model_is_folder(b, m):
        (b / "model.onnx").unlink()
        (b / "model.onnx").mkdir()

    def no_rtl(b, m):
        shutil.rmtree(b / "rtl")

    def manifest_not_json(b, m):
        (b / "manifest.json").write_text("{")

    def manifest_list(b, m):
        (b / "manifest.json").write_text("[]")

    def manifest_utf16(b, m):
        (b / "manifest.json").write_bytes(json.dumps(m).encode("utf-16"))

    def manifest_nested(b, m):
        (b / "manifest.json").write_text("[" * 100000 + "]" * 100000)

    def manifest_missing(b, m):
        (b / "manifest.json").unlink()

    def rtl_symlink_out(b, m):
        v = b / "rtl" / "hwgen_top.v"
        outside = b.parent / "outside.v"
        shutil.copyfile(v, outside)
        v.unlink()
        v.symlink_to(outside)

    def model_symlink_out(b, m):
        outside = b.parent / "outside.onnx"
        shutil.copyfile(b / "model.onnx", outside)
        (b / "model.onnx").unlink()
        (b / "model.onnx").symlink_to(outside)

    for f in (
        no_model_copy,
        other_model,
        other_model_same_shape,
        model_is_folder,
        no_rtl,
        manifest_not_json,
        manifest_list,
        manifest_utf16,
        manifest_nested,
        manifest_missing,
        rtl_symlink_out,
        model_symlink_out,
    ):
        cases.append(_damaged(f.__name__.replace("_", "-"), f, files=True))

    def occupied(extra: Callable[[Path], None]):
        def make(work: Path) -> list[str]:
            b = work / "b"
            shutil.copytree(BUILD["path"], b, ignore=shutil.ignore_patterns("sim_build"))
            extra(b)
            return ["build", str(W2A2_CLEAN), "-o", str(b)]

        return make

    def user_file(b):
        (b / "notes.txt").write_text("mine")

    def user_rtl(b):
        (b / "rtl" / "mine.v").write_text("module mine; endmodule\n")

    def user_folder(b):
        (b / "data").mkdir()
        (b / "data" / "x").write_text("1")

    def fake_manifest(b):
        for p in list(b.iterdir()):
            if p.name != "manifest.json":
                shutil.rmtree(p) if p.is_dir() else p.unlink()
        (b / "manifest.json").write_text(json.dumps({"format": "hwgen-build"}))
        (b / "thesis.tex").write_text("mine")

    def kept(work: Path) -> None:
        mine = [p for p in (work / "b").rglob("*") if p.name in ("notes.txt", "mine.v", "x", "thesis.tex")]
        assert mine, "the user's file in the occupied build folder was deleted"

    for f in (user_file, user_rtl, user_folder, fake_manifest):
        name = f"occupied-{f.__name__.replace('_', '-')}"
        cases.append(Case("buildfolder", name, occupied(f), refuse=True, post=kept))
    return cases


def all_cases() -> list[Case]:
    """The whole corpus, in a fixed order."""
    return (
        attr_cases()
        + opset_cases()
        + dtype_cases()
        + shape_cases()
        + quant_cases()
        + name_cases()
        + proto_cases()
        + byte_cases()
        + option_cases()
        + folding_cases()
        + buildfolder_cases()
    )
