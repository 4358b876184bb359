"""Place and route every stage of an accelerator alone, its streams driven from inside the device.

Usage: ``python benchmarks/stage_fmax.py --out DIR [--model ONNX] [--fps F] [--freq MHZ] [--device D]
[--pipeline P] [--only NAME|KIND ...]``

The model is built as ``hwgen build`` would for ``--fps`` at ``--freq`` (``--pipeline``, default ``auto``,
for the device's family). Each stage (layer, FIFO, width converter) is then wrapped in :class:`Harness` and
placed and routed out of context by :func:`hwgen.flow.pnr.place_and_route` at ``--freq``. The harness feeds
the input stream from a linear-feedback shift register (payload, ``valid`` with pauses), takes the output
with an LFSR-driven ``ready``, and folds every output beat into a XOR register reduced to one pin through
registers. No stream signal reaches a pin, so each stage's Fmax is that of its own logic, not of paths to
I/O cells placed far away (what an AXI-Stream wrapper measures), and a stage that misses the clock alone
is one the whole accelerator will miss too. Printed as a Markdown table (with the start and end of each
critical path) and saved as ``DIR/stage_fmax.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Cat, Elaboratable, Module, Signal

from hwgen.flow import steps
from hwgen.flow.options import BuildOptions
from hwgen.flow.pnr import DEVICES, place_and_route

ROOT = Path(__file__).resolve().parents[1]
CNV = ROOT / "examples/models/cnv_w1a1/cnv_w1a1.qonnx.onnx"


class Harness(Elaboratable):
    """Stream component ``comp`` (ports ``i``, ``o``) between an LFSR source and a XOR sink; one pin."""

    def __init__(self, comp):
        self.comp = comp
        self.out = Signal()

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.comp
        win, wout = len(dut.i.payload), len(dut.o.payload)
        lfsr = Signal(31, init=1)  # x^31 + x^28 + 1
        m.d.sync += lfsr.eq(Cat(lfsr[1:], lfsr[0] ^ lfsr[3]))
        data = Signal(win)
        with m.If(dut.i.valid & dut.i.ready):  # a new payload per beat taken: shifted, low bits from the LFSR
            m.d.sync += data.eq(Cat(data[7:], data[:7] ^ lfsr[:7]) if win > 7 else data ^ lfsr[:win])
        valid, ready = Signal(), Signal()
        m.d.sync += [
            valid.eq(lfsr[5] | lfsr[9] | (dut.i.valid & ~dut.i.ready)),  # held until taken
            ready.eq(lfsr[7] | lfsr[11]),
        ]
        m.d.comb += [dut.i.valid.eq(valid), dut.i.payload.eq(data), dut.o.ready.eq(ready)]
        acc = Signal(wout)
        with m.If(dut.o.valid & dut.o.ready):
            m.d.sync += acc.eq(acc ^ dut.o.payload)
        level = acc
        while len(level) > 1:  # a registered XOR tree, four bits per LUT
            nxt = Signal((len(level) + 3) // 4)
            m.d.sync += [nxt[k].eq(level[4 * k : 4 * k + 4].xor()) for k in range(len(nxt))]
            level = nxt
        m.d.comb += self.out.eq(level)
        return m


def stage_verilog(comp, path: Path, name: str = "top") -> Path:
    """Write ``comp`` inside a :class:`Harness` as Verilog module ``name`` (ports: clk, rst, out)."""
    h = Harness(comp)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(verilog.convert(h, name=name, ports=[h.out]))
    return path


def _ends(report: Path) -> tuple[str, str]:
    """First and last cell of the critical path in nextpnr's JSON report."""
    paths = json.loads(report.read_text()).get("critical_paths") or [{}]
    steps_ = paths[0].get("path") or [{}]
    return steps_[0].get("from", {}).get("cell", ""), steps_[-1].get("to", {}).get("cell", "")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="folder for the builds (default: a temporary one)")
    ap.add_argument("--model", type=Path, default=CNV)
    ap.add_argument("--fps", type=float, default=10_000.0, help="target frames/s (default 10000)")
    ap.add_argument("--freq", type=float, default=125.0, help="clock in MHz (default 125)")
    ap.add_argument("--device", default="ecp5-85k", choices=sorted(DEVICES))
    ap.add_argument("--pipeline", default="auto", help="pipeline setting (default auto)")
    ap.add_argument("--only", nargs="+", default=None, help="stage names (s4_mvtu) or kinds (MVTU)")
    args = ap.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="hwgen-stage-fmax-"))
    family = DEVICES[args.device].family
    opts = BuildOptions(model=args.model, target_fps=args.fps, clock_mhz=args.freq, pipeline=args.pipeline,
                        family=family)  # fmt: skip
    hw = steps.streamline(steps.load(args.model), opts)
    acc = steps.generate(hw, steps.fold(hw, opts))
    rows = []
    print(f"{args.model.name}: II {acc.ii_cycles} cycles, pipeline {opts.pipeline_stages()}, {args.device}")
    print("| stage | layer | Fmax MHz | LUT | FF | BRAM | critical path from | to | seconds |")
    print("|---|---|---:|---:|---:|---:|---|---|---:|")
    for st in acc.stages:
        name = acc.instance(st)
        if args.only and name not in args.only and st.kind not in args.only:
            continue
        folder = out / name
        v = stage_verilog(st.component(), folder / "top.v")
        r = place_and_route(v, folder, args.device, top="top", freq_mhz=args.freq)
        start, end = _ends(folder / f"top_{args.device}_report.json")
        rows.append(
            {"stage": name, "layer": st.name, "kind": st.kind, **r.as_dict(), "from": start, "to": end}
        )
        print(
            f"| {name} | {st.name} | {r.fmax_mhz:.1f} | {r.luts} | {r.ffs} | {r.brams} | {start} | {end} | "
            f"{r.seconds:.0f} |",
            flush=True,
        )
    summary = {"model": str(args.model), "fps": args.fps, "freq_mhz": args.freq, "device": args.device,
               "pipeline": opts.pipeline_stages(), "ii_cycles": acc.ii_cycles, "rows": rows}  # fmt: skip
    (out / "stage_fmax.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    print(f"saved {out / 'stage_fmax.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
