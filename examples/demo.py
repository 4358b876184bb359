"""What ``make demo`` runs: the whole flow on shipped example models.

1. the toolchain smoke test (Amaranth -> amaranth.sim -> Verilog -> Verilator + cocotb under stalls);
2. ``hwgen run`` (the golden model) on the trained TFC-W1A1 and the CNV-W2A2 example, float and ``--integer``,
   compared ``==`` with the qonnx executor's saved outputs;
3. ``hwgen build`` of the TFC-W1A1 accelerator into ``out/tfc_w1a1`` and ``hwgen verify`` of its Verilog under
   Verilator on all 255 saved example inputs with 30 % pauses on both AXI-Stream ends (4 frames through the
   cocotb bench, all through the compiled C++ harness); the hardware's outputs are compared ``==`` with the
   executor's integer accumulators, and its accuracy on the 164 labelled inputs (held-out MNIST and sklearn
   digits; the others are synthetic tie and random inputs) is printed next to the ONNX model's, with the
   cycles per frame and frames/s at the build's clock.

Exit code 0 only if every comparison is exact.
"""

from __future__ import annotations

import json
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
    """Build, then ``hwgen verify`` every saved input with 30 % pauses (a few frames through cocotb, all of
    them through the compiled harness); accuracy on the labelled ones, hardware next to the ONNX model."""
    from hwgen.flow.cmd_verify import verify
    from hwgen.flow.steps import graph_of_build
    from hwgen.golden.execute import execute_all, integer_output_tensor

    folder = MODELS / name
    out = OUT / name
    out.parent.mkdir(exist_ok=True)
    hwgen("build", str(folder / f"{name}.qonnx.onnx"), "-o", str(out), "--target-fps", "30000")
    y = tmp / f"{name}_hw.npy"
    hwgen("verify", str(out), "--inputs", str(folder / "inputs.npy"), "-o", str(y), "--stall", "0.3")
    acc_hw, acc_ref = np.load(y), np.load(folder / "acc_ref.npy")
    same = np.array_equal(acc_hw, acc_ref)
    print(f"{name}: accelerator outputs {'==' if same else '!='} qonnx executor accumulators on every input")
    # accuracy: the hardware's integers through the float tail (as hwgen run does) vs the executor's output
    m = json.loads((out / "manifest.json").read_text())
    _, hw = graph_of_build(out, m)
    t = integer_output_tensor(hw)
    tail = hw.copy()
    tail.nodes = tail.nodes[next(i for i, n in enumerate(hw.nodes) if t in n.inputs) :]
    tail.inputs = [t]
    y_hw = execute_all(tail, acc_hw)[hw.outputs[0]]
    labels, y_ref = np.load(folder / "labels.npy"), np.load(folder / "out_ref.npy")
    has = labels >= 0
    acc_h = float(np.mean(np.argmax(y_hw[has], axis=1) == labels[has]))
    acc_o = float(np.mean(np.argmax(y_ref[has], axis=1) == labels[has]))
    r = verify(out, folder / "inputs.npy", 0.0, cocotb_frames=0)
    clock = m["clock_mhz"]
    cpf = r.bulk.cycles_per_frame
    print(
        f"{name}: accuracy on the {int(has.sum())} labelled saved inputs (of {len(labels)}; MNIST and "
        f"sklearn digits): hardware {acc_h:.4f}, ONNX model (qonnx executor) {acc_o:.4f} "
        f"({'equal' if acc_h == acc_o else 'DIFFERENT'})"
    )
    print(
        f"{name}: {cpf} cycles per frame at full speed, {clock * 1e6 / cpf:,.0f} frames/s at {clock:g} MHz "
        f"(simulated {r.bulk.cycles / r.harness_seconds / 1e6:.1f} M cycles/s in the harness)"
    )
    return same and acc_h == acc_o and r.passed


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
