"""``OUT/report.html``: parsed with html.parser, every embedded image decoded, and every number shown compared
with the manifest (or with values computed here from the manifest's layers, independently of the page)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from helpers.cli import hwgen
from helpers.html_page import Page, decode_images
from helpers.onnx_models import binary_mlp

from hwgen.errors import HwgenError
from hwgen.flow.manifest import read_manifest, update_manifest


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    return binary_mlp(tmp_path_factory.mktemp("model") / "mlp.onnx", sizes=(16, 8, 4))


@pytest.fixture
def build(mlp, tmp_path, capsys):
    out = tmp_path / "out"
    rc, _, err = hwgen(capsys, "build", mlp, "-o", out, "--folding", _folding(tmp_path))
    assert rc == 0, err
    return out


def _folding(tmp_path) -> Path:
    f = tmp_path / "fold.json"
    f.write_text(json.dumps({"fc0": {"pe": 2, "simd": 4}, "fc1": {"pe": 1, "simd": 2}}))
    return f


def _page(out: Path) -> Page:
    return Page((out / "report.html").read_text(encoding="utf-8"))


def test_build_writes_a_self_contained_page_whose_numbers_are_the_manifests(build):
    m = json.loads((build / "manifest.json").read_text())
    p = _page(build)
    assert p.sections == ["summary", "cycles", "layers", "resources", "fifos", "timing", "verify"]
    assert not {"script", "link", "iframe"} & p.tags
    assert "http" not in (build / "report.html").read_text()  # nothing loaded from anywhere
    assert len(decode_images(p)) == 4  # cycles, LUTs, BRAM per layer, FIFO depths (no board, no Fmax yet)
    # hand-computed cycles: (MH/PE)·(MW/SIMD) = (8/2)(16/4) = 16 and (4/1)(8/2) = 16, II 16
    assert [ly["cycles"] for ly in m["layers"]] == [16, 16] and m["ii_cycles"] == 16
    k = p.keys
    assert k["ii_cycles"] == "16" and k["latency_cycles"] == str(m["latency_cycles"])
    assert float(k["clock_mhz"]) == m["clock_mhz"] == 100
    assert float(k["fps"]) == pytest.approx(100e6 / 16, abs=0.05)
    assert float(k["latency_us"]) == pytest.approx(m["latency_cycles"] / 100, abs=0.05)
    assert k["bottleneck"] == "fc0, fc1"
    rows = p.tables["layers-table"]
    head = rows[0]
    col = {h: i for i, h in enumerate(head)}
    assert len(rows) - 1 == len(m["layers"])
    for row, ly in zip(rows[1:], m["layers"], strict=True):
        assert row[col["layer"]] == ly["name"] and row[col["kind"]] == ly["kind"]
        assert int(row[col["PE"]]) == ly["pe"] and int(row[col["SIMD"]]) == ly["simd"]
        assert int(row[col["cycles/frame"]]) == ly["cycles"] and int(row[col["latency"]]) == ly["latency"]
        assert int(row[col["LUTs (est.)"]]) == ly["resources"]["luts"]
        assert int(row[col["BRAM bits (est.)"]]) == ly["resources"]["bram_bits"]
        assert row[col["shape"]] == "x".join(map(str, ly["shape"]))
    assert p.marked["layers-table"] == [0, 1]  # both layers take II cycles
    tot = {r[0]: r for r in p.tables["totals-table"][1:]}
    assert (
        int(tot["LUTs"][1])
        == m["resources"]["luts"]
        == sum(x["resources"]["luts"] for x in m["layers"] + m["buffers"])
    )
    assert int(tot["FFs"][1]) == m["resources"]["ffs"]
    fifos = [b for b in m["buffers"] if b["kind"] == "FIFO"]
    frows = p.tables["fifos-table"]
    assert [r[0] for r in frows[1:]] == [b["name"] for b in fifos]
    assert [int(r[2]) for r in frows[1:]] == [b["depth"] for b in fifos]
    assert "peak occupancy" not in " ".join(frows[0])
    text = (build / "report.html").read_text()
    assert "Peak occupancy: run" in text and "Not verified yet" in text and "no Fmax" in text


def test_the_page_has_no_build_time_so_rebuilds_are_identical(mlp, tmp_path, capsys):
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        assert hwgen(capsys, "build", mlp, "-o", out, "--folding", _folding(tmp_path))[0] == 0
    created = json.loads((outs[0] / "manifest.json").read_text())["created"]
    a, b = ((o / "report.html").read_bytes() for o in outs)
    assert a == b and created.encode() not in a


def test_verify_and_pnr_sections_update_the_page(build):
    """Sections as hwgen verify and hwgen sweep --pnr write them (values chosen by hand): shown as given."""
    pnr = {
        "device": "ecp5-85k", "top": "hwgen_top", "freq_mhz": 100.0, "fmax_mhz": 87.25, "luts": 321,
        "ffs": 210, "brams": 0, "ios": 20, "seconds": 1.0, "meets_timing": False,
        "utilisation": {"TRELLIS_COMB": {"used": 321, "available": 83640},
                        "TRELLIS_FF": {"used": 210, "available": 83640},
                        "DP16KD": {"used": 0, "available": 208}},
    }  # fmt: skip
    ver = {"frames": 77, "mismatching_frames": 0, "passed": True, "cycles_per_frame": 17}
    ver |= {"mean_cycles_per_frame": 16.5, "first_out_latency": 13, "stall": 0.25, "inputs": "random"}
    fifos = [b for b in read_manifest(build)["buffers"] if b["kind"] == "FIFO"]
    ver["fifo_peak"] = {b["name"]: k + 1 for k, b in enumerate(fifos)}
    m = update_manifest(build, verify=ver, pnr=pnr)
    assert read_manifest(build)["pnr"]["fmax_mhz"] == 87.25  # the schema accepts what it wrote
    p = _page(build)
    k = p.keys
    assert (k["verify.frames"], k["verify.cycles_per_frame"], k["verify.first_out_latency"]) == (
        "77",
        "17",
        "13",
    )
    assert k["verify.passed"] == "PASS" and k["verify.mismatching_frames"] == "0"
    assert float(k["verify.stall"]) == pytest.approx(0.2, abs=0.051)  # shown with one decimal
    timing = p.tables["timing-table"]
    assert timing[1][1:] == ["100", "87.2", "FAILED"] or timing[1][1:] == ["100", "87.3", "FAILED"]
    tot = {r[0]: r for r in p.tables["totals-table"][1:]}
    assert p.tables["totals-table"][0][-1] == "capacity (device ecp5-85k)"
    assert tot["LUTs"][2] == "321" and tot["LUTs"][-1] == "83640"
    assert tot["block RAMs"][2] == "0" and tot["block RAMs"][-1] == "208"
    assert tot["LUTs"][1] == str(m["resources"]["luts"])
    assert len(decode_images(p)) == 6  # + usage against the device, + Fmax
    frows = p.tables["fifos-table"]
    assert frows[0][-1] == "peak occupancy (hwgen verify, pauses 0.25)"
    assert [int(r[-1]) for r in frows[1:]] == list(range(1, len(fifos) + 1)) and fifos
    md = (build / "report.md").read_text()
    assert all(f"| `{b['name']}` | FIFO |" in md and f"| {k + 1} |" in md for k, b in enumerate(fifos))


def test_a_board_build_shows_the_boards_capacity(mlp, tmp_path, capsys):
    from hwgen.boards import get_board

    out = tmp_path / "out"
    rc, _, err = hwgen(capsys, "build", mlp, "-o", out, "--board", "ulx3s_85f")
    assert rc == 0, err
    board = get_board("ulx3s_85f")
    p = _page(out)
    head = p.tables["totals-table"][0]
    assert head[-1] == f"capacity (board {board.title})"
    tot = {r[0]: r for r in p.tables["totals-table"][1:]}
    assert tot["LUTs"][-1] == str(board.luts) and tot["BRAM bits"][-1] == str(board.bram_bits)
    assert tot["block RAMs"][-1] == str(board.bram_blocks)
    m = json.loads((out / "manifest.json").read_text())
    fit = (out / "report.html").read_text()
    assert f"~{m['fit']['estimated_luts']} of {m['fit']['lut_limit']} LUTs" in fit
    decode_images(p)


def test_a_bad_section_is_refused_and_nothing_is_written(build):
    before = (build / "manifest.json").read_bytes(), (build / "report.html").read_bytes()
    for bad in ({"frames": 0, "mismatching_frames": 0, "passed": True}, {"frames": 3, "passed": "yes"}):
        with pytest.raises(HwgenError, match="verify"):
            update_manifest(build, verify=bad)
    with pytest.raises(HwgenError, match="pnr.fmax_mhz"):
        update_manifest(build, pnr={"device": "up5k", "freq_mhz": 10, "fmax_mhz": "fast"})
    assert ((build / "manifest.json").read_bytes(), (build / "report.html").read_bytes()) == before


@pytest.mark.verilator
def test_hwgen_verify_records_what_it_measured(build, capsys):
    rc, so, err = hwgen(capsys, "verify", build, "--random", "40", "--cocotb-frames", "0", "--jobs", "1")
    assert rc == 0, err
    m = read_manifest(build)
    v = m["verify"]
    assert v["frames"] == 40 and v["passed"] and v["mismatching_frames"] == 0
    assert f"measured cycles per frame {v['cycles_per_frame']} " in so  # the number the command printed
    assert v["cycles_per_frame"] == m["ii_cycles"] == 16  # II met (DESIGN §3)
    k = _page(build).keys
    assert k["verify.cycles_per_frame"] == "16" and k["verify.frames"] == "40"
    assert k["verify.first_out_latency"] == str(v["first_out_latency"])


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (Debian package chromium)")
def test_headless_chromium_renders_the_page(build, tmp_path):
    import matplotlib.image as mpimg

    shot = tmp_path / "shot.png"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
           f"--screenshot={shot}", "--window-size=1200,2400", (build / "report.html").as_uri()]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert shot.is_file(), proc.stderr[-2000:]
    img = mpimg.imread(str(shot))
    assert img.std() > 0.01  # not blank
    console = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln or "Failed to load" in ln]
    assert not console, console


def test_synthesized_counts_per_layer_are_shown(build):
    """``synth.layers`` as ``hwgen synth`` writes it (values chosen by hand): per-layer columns and bars."""
    m = read_manifest(build)
    names = [ly["name"] for ly in m["layers"]] + [b["name"] for b in m["buffers"]]
    layers = {n: {"luts": 10 * (k + 1), "ffs": k, "brams": k % 2} for k, n in enumerate(names)}
    synth = {"flow": "yosys + nextpnr-ecp5", "device": "LFE5U-85F", "luts": 999, "ffs": 99, "brams": 1}
    synth |= {"fmax_mhz": 120.5, "freq_mhz": 100.0, "meets_timing": True, "bitstream": None, "seconds": 1.0}
    update_manifest(build, synth=synth | {"layers": layers})
    p = _page(build)
    rows = p.tables["layers-table"]
    col = {h: i for i, h in enumerate(rows[0])}
    for row, ly in zip(rows[1:], m["layers"], strict=True):
        want = layers[ly["name"]]
        got = (row[col["LUTs (synth)"]], row[col["FFs (synth)"]], row[col["block RAMs (synth)"]])
        assert got == (str(want["luts"]), str(want["ffs"]), str(want["brams"]))
    assert "keeps the hierarchy" in (build / "report.html").read_text()
    with pytest.raises(HwgenError, match="synth.layers"):
        update_manifest(build, synth=synth | {"layers": {"x": {"luts": "many"}}})
