"""``hwgen run MODEL.onnx --inputs X.npy -o Y.npy [--integer]``: the golden model on a batch of inputs.

A model with float (non-power-of-two) scales is computed in exact arithmetic (:mod:`hwgen.golden.exact`). Then
``run`` also executes the model in float32 op by op (as the executor does) and the exact golden mode of the
float graph (:mod:`hwgen.golden.boundary`) against it: the two golden models must agree with ``==``, and every
quantized activation of the float32 run must equal the exact one except at boundary cases (the float32 value
within its rounding-error bound of a quantization boundary), which are printed one per line; any other
difference ends with exit code 1 and nothing written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import HwgenError

__all__ = ["check_output", "load_inputs", "register", "run", "run_checked", "save_atomic"]

MAX_LINES = 20  # boundary cases printed one per line; the rest counted


def load_inputs(path, input_shape) -> np.ndarray:
    """Read ``X.npy`` (float, shape (N, *input_shape[1:])) as float32; one-line errors for bad files."""
    path = Path(path)
    if not path.is_file():
        raise HwgenError(f"--inputs {path}: no such file")
    try:
        x = np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - numpy raises several types for broken files
        raise HwgenError(f"--inputs {path}: not a readable .npy file ({type(e).__name__})") from None
    if not isinstance(x, np.ndarray):  # an .npz archive under a .npy name
        x.close()
        raise HwgenError(f"--inputs {path}: an .npz archive, not one .npy array")
    if not np.issubdtype(x.dtype, np.floating) and not np.issubdtype(x.dtype, np.integer):
        raise HwgenError(f"--inputs {path}: expected float32 data, not {x.dtype}")
    want = tuple(input_shape[1:])
    if x.ndim != len(want) + 1 or tuple(x.shape[1:]) != want:
        raise HwgenError(
            f"--inputs {path}: shape {x.shape} does not match the model input (N, "
            f"{', '.join(map(str, want))})"
        )
    if x.shape[0] == 0:
        raise HwgenError(f"--inputs {path}: contains no frames")
    if not np.all(np.isfinite(x)):
        raise HwgenError(f"--inputs {path}: contains NaN or infinite values")
    return x.astype(np.float32)


def check_output(path) -> None:
    """Refuse an ``-o`` path that cannot be written, before any work is done."""
    path = Path(path)
    if not path.parent.is_dir():
        raise HwgenError(f"-o {path}: folder {path.parent} does not exist")
    if path.is_dir():
        raise HwgenError(f"-o {path}: is a folder, not a file name")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise HwgenError(f"-o {path}: folder {path.parent} is not writable")
    if len(path.name.encode()) > 240:  # the temporary name next to it must fit the file system's limit
        raise HwgenError(f"-o {path}: file name longer than 240 bytes")


def save_atomic(path, arr: np.ndarray) -> None:
    """Write ``arr`` to ``path`` through a temporary file in the same folder (never a half-written file)."""
    path = Path(path)
    check_output(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npy.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, arr)
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise HwgenError(f"-o {path}: cannot write it ({e.strerror or e})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(model, inputs, integer: bool = False, input_dtype=None, input_scale=None) -> np.ndarray:
    """Load, streamline and execute; returns the float output or (``integer``) the accelerator's integers."""
    return run_checked(model, inputs, integer, input_dtype, input_scale)[0]


def _float_scale_check(graph, hw, x, y) -> tuple[list, list]:
    """(boundary cases, failures) of the exact golden mode against a float32 run of the model."""
    from ..golden.boundary import Case, execute_exact
    from ..golden.execute import execute_all
    from ..passes import CLEANUP, run_to_fixed_point

    g = graph.copy()
    run_to_fixed_point(g, CLEANUP)
    ref = execute_all(g, x)
    er = execute_exact(g, x, reference=ref)
    out = er.env[g.outputs[0]]
    if not np.array_equal(out, y):  # the thresholds against the direct exact evaluation
        bad = np.argwhere(out != y)[0]
        er.failures.insert(0, Case(int(bad[0]), g.outputs[0], int(bad[-1]), 0, 0, 0.0, 0.0, False))
    return er.cases, er.failures


def run_checked(model, inputs, integer: bool = False, input_dtype=None, input_scale=None):
    """Like :func:`run`; returns ``(output, boundary cases, failures)`` (both None without float scales)."""
    from ..frontend import load
    from ..golden import execute
    from ..passes import streamline

    graph = load(model)
    x = load_inputs(inputs, graph.meta["input_shape"])
    try:
        hw = streamline(graph, input_dtype=input_dtype, input_scale=input_scale)  # HwgenError names the node
    except HwgenError as e:
        from .steps import with_file

        raise with_file(e, model) from None
    y, acc = execute(hw, x)
    cases = failures = None
    if hw.meta.get("exact_layers"):
        cases, failures = _float_scale_check(graph, hw, x, y)
    return (acc if integer else y), cases, failures


def _cmd(args) -> int:
    if (args.input_dtype is None) != (args.input_scale is None):
        raise HwgenError("--input-dtype and --input-scale go together")
    check_output(args.output)
    out, cases, failures = run_checked(
        args.model, args.inputs, args.integer, args.input_dtype, args.input_scale
    )
    if cases is not None:
        for c in (failures + cases)[:MAX_LINES]:
            print(c.line())
        print(
            f"float scales (exact arithmetic): {len(cases)} boundary cases, {len(failures)} other "
            "differences from the float32 model"
        )
        if failures:
            return 1
    save_atomic(args.output, out)
    print(f"wrote {args.output}: {out.shape[0]} frames, {out.dtype}, shape {out.shape}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("run", help="run the golden model (bit-exact NumPy) on inputs")
    p.add_argument("model", help="QONNX or FINN-ONNX model file")
    p.add_argument("--inputs", required=True, help="float32 .npy, shape (N, C, H, W) or (N, features)")
    p.add_argument("-o", "--output", required=True, help="output .npy")
    p.add_argument("--integer", action="store_true", help="output the last layer's integer dot products")
    p.add_argument("--input-dtype", default=None, help="raw integer input type on chip, e.g. uint8")
    p.add_argument(
        "--input-scale", type=float, default=None, help="float value of one input step, e.g. 1/255"
    )
    p.set_defaults(func=_cmd)
