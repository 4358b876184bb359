"""What ``make demo`` runs: the furthest stage of the flow that exists, on a shipped example model.

1. the toolchain smoke test (Amaranth -> amaranth.sim -> Verilog -> Verilator + cocotb under stalls);
2. ``hwgen run`` (the golden model) on the trained TFC-W1A1 and the CNV-W2A2 example, float and ``--integer``,
   compared ``==`` with the qonnx executor's saved outputs.

Exit code 0 only if every comparison is exact.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parent / "models"


def hwgen(*args: str) -> None:
    cmd = [sys.executable, "-m", "hwgen.cli", *args]
    print("$ hwgen " + " ".join(args), flush=True)
    subprocess.run(cmd, check=True)


def check_model(name: str, form: str, tmp: Path) -> bool:
    folder = MODELS / name
    model = folder / f"{name}.{form}.onnx"
    x = folder / "inputs.npy"
    y, acc = tmp / f"{name}_y.npy", tmp / f"{name}_acc.npy"
    t0 = time.perf_counter()
    hwgen("run", str(model), "--inputs", str(x), "-o", str(y))
    hwgen("run", str(model), "--inputs", str(x), "-o", str(acc), "--integer")
    dt = time.perf_counter() - t0
    out_ref, acc_ref = np.load(folder / "out_ref.npy"), np.load(folder / "acc_ref.npy")
    got_y, got_acc = np.load(y), np.load(acc)
    same_y = got_y.shape == out_ref.shape and np.array_equal(got_y, out_ref)
    same_acc = got_acc.shape == acc_ref.shape and np.array_equal(got_acc, acc_ref)
    n = len(out_ref)
    print(
        f"{name} ({form}): {n} inputs, float output {'==' if same_y else '!='} qonnx executor, "
        f"integer output {'==' if same_acc else '!='} executor accumulators "
        f"({np.sum(np.all(got_y == out_ref, axis=1))}/{n} rows equal), 2 runs in {dt:.1f} s"
    )
    return same_y and same_acc


def main() -> int:
    print("== toolchain smoke test", flush=True)
    subprocess.run([sys.executable, "-m", "hwgen.sim.smoke", "--quiet"], check=True)
    print("== golden model vs the ONNX model (qonnx executor), bit for bit", flush=True)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        ok &= check_model("tfc_w1a1", "qonnx", Path(tmp))
        ok &= check_model("cnv_w2a2", "qonnx_dynamo", Path(tmp))
    print("demo: OK" if ok else "demo: MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
