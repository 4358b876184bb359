"""What ``make demo`` runs: the whole flow on shipped example models.

1. the toolchain smoke test (Amaranth -> amaranth.sim -> Verilog -> Verilator + cocotb under stalls);
2. ``hwgen run`` (the golden model) on the trained TFC-W1A1 and the CNV-W2A2 example, float and ``--integer``,
   compared ``==`` with the qonnx executor's saved outputs;
3. ``hwgen build`` of the TFC-W1A1 accelerator into ``out/tfc_w1a1`` and ``hwgen verify`` of its Verilog under
   Verilator on all 255 example inputs with 30 % pauses on both AXI-Stream ends; the hardware's outputs are
   compared ``==`` with the executor's integer accumulators.

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
OUT = Path(__file__).resolve().parents[1] / "out"


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


def build_and_verify(name: str, tmp: Path) -> bool:
    folder = MODELS / name
    out = OUT / name
    out.parent.mkdir(exist_ok=True)
    hwgen("build", str(folder / f"{name}.qonnx.onnx"), "-o", str(out), "--target-fps", "30000")
    y = tmp / f"{name}_hw.npy"
    hwgen("verify", str(out), "--inputs", str(folder / "inputs.npy"), "-o", str(y), "--stall", "0.3")
    same = np.array_equal(np.load(y), np.load(folder / "acc_ref.npy"))
    print(f"{name}: accelerator outputs {'==' if same else '!='} qonnx executor accumulators on every input")
    return same


def main() -> int:
    print("== toolchain smoke test", flush=True)
    subprocess.run([sys.executable, "-m", "hwgen.sim.smoke", "--quiet"], check=True)
    print("== golden model vs the ONNX model (qonnx executor), bit for bit", flush=True)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        ok &= check_model("tfc_w1a1", "qonnx", Path(tmp))
        ok &= check_model("cnv_w2a2", "qonnx_dynamo", Path(tmp))
        print("== accelerator: build, then verify its Verilog under Verilator", flush=True)
        ok &= build_and_verify("tfc_w1a1", Path(tmp))
    print("demo: OK" if ok else "demo: MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
