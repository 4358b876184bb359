"""``hwgen synth OUT`` for Zynq boards: the Vivado project script, the DMA wrapper, the PYNQ driver, and a
``synth_xilinx`` utilisation estimate (Vivado itself is not needed to generate or check any of them).

Written into ``OUT/vivado``: ``hwgen_project.tcl`` (from ``rtl_templates/vivado_project.tcl``),
``hwgen_dma.v`` (``rtl_templates/axis_dma_wrapper.v``: the accelerator between AXI DMA words) and
``hwgen_pynq.py`` (``rtl_templates/pynq_driver.py.tmpl``). Every template is filled with
``string.Template.substitute``, which raises on a placeholder left without a value; :func:`fill` also refuses
a value given for a placeholder the template does not have, so template and code cannot drift apart.
"""

from __future__ import annotations

import re
import string
import time
from importlib import resources
from pathlib import Path

from hwgen.errors import HwgenError

from .manifest import read_manifest, update_manifest

__all__ = ["PS_CONFIG", "fill", "placeholders", "run_vivado_flow", "write_project"]

WRAPPER = "hwgen_dma"
OVERLAY = "hwgen"
SCRIPT = "hwgen_project.tcl"
DRIVER = "hwgen_pynq.py"

#: How each processing system is set up: its Tcl, master/slave AXI ports and fabric clock pin.
PS_CONFIG = {
    "processing_system7": {
        "ps_master": "M_AXI_GP0",
        "ps_slave": "S_AXI_HP0",
        "ps_clock": "FCLK_CLK0",
        "tcl": (
            "apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 -config "
            '{{make_external "FIXED_IO, DDR" apply_board_preset "1" Master "Disable" Slave "Disable"}} $ps\n'
            "set_property -dict [list CONFIG.PCW_USE_M_AXI_GP0 {{1}} CONFIG.PCW_USE_S_AXI_HP0 {{1}} "
            "CONFIG.PCW_EN_CLK0_PORT {{1}} CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ {{{clock_mhz:g}}}] $ps"
        ),
    },
    "zynq_ultra_ps_e": {
        "ps_master": "M_AXI_HPM0_FPD",
        "ps_slave": "S_AXI_HP0_FPD",
        "ps_clock": "pl_clk0",
        "tcl": (
            "apply_bd_automation -rule xilinx.com:bd_rule:zynq_ultra_ps_e "
            '-config {{apply_board_preset "1"}} $ps\n'
            "set_property -dict [list CONFIG.PSU__USE__M_AXI_GP0 {{1}} CONFIG.PSU__USE__M_AXI_GP1 {{0}} "
            "CONFIG.PSU__USE__M_AXI_GP2 {{0}} CONFIG.PSU__USE__S_AXI_GP2 {{1}} "
            "CONFIG.PSU__FPGA_PL0_ENABLE {{1}} "
            "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ {{{clock_mhz:g}}}] $ps"
        ),
    },
}


def _template(name: str) -> str:
    return resources.files("hwgen.rtl_templates").joinpath(name).read_text()


def placeholders(text: str) -> set[str]:
    """Names of the ``$name`` / ``${name}`` placeholders of a string.Template text (``$$`` is a dollar)."""
    names = set()
    for m in string.Template.pattern.finditer(text):
        name = m.group("named") or m.group("braced")
        if name:
            names.add(name)
        elif m.group("invalid") is not None:
            raise ValueError(f"invalid placeholder at offset {m.start()}")
    return names


def fill(name: str, **values) -> str:
    """Template ``name`` of ``rtl_templates`` with ``values``: every placeholder filled, none left over."""
    text = _template(name)
    wanted = placeholders(text)
    extra = set(values) - wanted
    if extra:
        raise KeyError(f"{name}: no placeholder named {sorted(extra)}")
    return string.Template(text).substitute(values)  # KeyError for a missing one


def _pow2_bits(bits: int) -> int:
    return max(8, 1 << (bits - 1).bit_length())


def _kind(dtype: str) -> tuple[str, int]:
    from hwgen.ir.datatypes import DataType

    dt = DataType.from_name(dtype)
    kind = "bipolar" if dt.kind == "bipolar" else ("signed" if dt.signed else "unsigned")
    return kind, dt.bits


def write_project(out, m: dict, board, jobs: int = 4) -> dict:
    """Write the Vivado project script, the DMA wrapper and the PYNQ driver into ``OUT/vivado``; returns
    ``{"script", "files"}`` with the files the script reads (absolute paths)."""
    out = Path(out).resolve()
    vdir = out / "vivado"
    vdir.mkdir(exist_ok=True)
    sin, sout = m["input"], m["output"]
    top = m["rtl"]["top"]
    dma_in, dma_out = _pow2_bits(sin["tdata_bits"]), _pow2_bits(sout["tdata_bits"])
    pad = dma_out - sout["tdata_bits"]
    wrapper = fill(
        "axis_dma_wrapper.v",
        top=top,
        wrapper=WRAPPER,
        in_bits=sin["tdata_bits"],
        out_bits=sout["tdata_bits"],
        dma_in_bits=dma_in,
        dma_out_bits=dma_out,
        beats_in=sin["beats_per_frame"],
        clock_hz=round(m["clock_mhz"] * 1e6),
        out_assign=f"assign m_axis_tdata = {{{{{pad}{{1'b0}}}}, beat_out}};"
        if pad
        else "assign m_axis_tdata = beat_out;",
    )
    (vdir / f"{WRAPPER}.v").write_text(wrapper)
    rtl = [f"../{f}" for f in m["rtl"]["files"]] + [f"{WRAPPER}.v"]
    ps = PS_CONFIG[board.ps_ip]
    script = fill(
        "vivado_project.tcl",
        top=top,
        board_title=board.title,
        part=board.part,
        board_part=board.vivado_board_part,
        script_name=SCRIPT,
        ps_ip=board.ps_ip,
        wrapper=WRAPPER,
        clock_mhz=f"{m['clock_mhz']:g}",
        overlay=OVERLAY,
        project="hwgen_vivado",
        rtl_files=" ".join(f"[file join $here {' '.join(Path(f).parts)}]" for f in rtl),
        ps_config=ps["tcl"].format(clock_mhz=m["clock_mhz"]),
        dma_in_bits=dma_in,
        dma_out_bits=dma_out,
        ps_master=ps["ps_master"],
        ps_slave=ps["ps_slave"],
        ps_clock=ps["ps_clock"],
        jobs=jobs,
    )
    (vdir / SCRIPT).write_text(script)
    ik, ib = _kind(sin["dtype"])
    ok, ob = _kind(sout["dtype"])
    driver = fill(
        "pynq_driver.py.tmpl",
        top=top,
        model=Path(m["model"]["source"]).name,
        board_title=board.title,
        overlay=OVERLAY,
        module=Path(DRIVER).stem,
        in_elems=sin["elements_per_frame"],
        in_lanes=sin["elements_per_beat"],
        in_elem_bits=ib,
        in_kind=ik,
        out_elems=sout["elements_per_frame"],
        out_lanes=sout["elements_per_beat"],
        out_elem_bits=ob,
        out_kind=ok,
        dma_in_bytes=dma_in // 8,
        dma_out_bytes=dma_out // 8,
    )
    (vdir / DRIVER).write_text(driver)
    return {"script": vdir / SCRIPT, "files": [(vdir / f).resolve() for f in rtl]}


def named_files(script: Path) -> list[Path]:
    """The files a generated project script reads (its ``[file join $here ...]`` RTL list)."""
    text = script.read_text()
    m = re.search(r"foreach f \[list (.*)\] \{", text)
    if not m:
        raise ValueError(f"{script}: no RTL file list")
    parts = re.findall(r"\[file join \$here ([^\]]+)\]", m.group(1))
    return [(script.parent / Path(*p.split())).resolve() for p in parts]


def run_vivado_flow(out, progress=None) -> dict:
    """Write the project (:func:`write_project`) and estimate its utilisation with yosys ``synth_xilinx``;
    records the manifest's ``synth`` section."""
    from .synth import Ticker, board_of_build, stage_resources
    from .yosys import synthesize

    out = Path(out)
    m = read_manifest(out)
    board = board_of_build(m, out)
    if board.flow != "vivado":
        raise HwgenError(f"{out}: board {board.name} uses the {board.flow} flow, not Vivado")
    t0 = time.monotonic()
    proj = write_project(out, m, board)
    if progress:
        progress(f"wrote {proj['script']}")
    with Ticker("yosys synth_xilinx (utilisation estimate)", progress):
        est = synthesize(proj["files"], out / "vivado" / "synth_xilinx", family="xc7", top=WRAPPER)
    with Ticker("yosys synth_xilinx per layer (hierarchy kept)", progress):
        layers = stage_resources(out, m, "xc7", out / "vivado" / "stages")
    record = {
        "flow": "vivado project (not run) + yosys synth_xilinx estimate",
        "device": board.part,
        "script": str(Path("vivado") / SCRIPT),
        "luts": est.luts,
        "ffs": est.ffs,
        "bram36": (est.brams + 1) // 2,
        "dsps": est.dsps,
        "available": {"luts": board.luts, "ffs": board.ffs, "bram36": board.bram_blocks, "dsps": board.dsps},
        "seconds": round(time.monotonic() - t0, 1),
        "meets_timing": None,
    }
    if layers:
        record["layers"] = layers
    update_manifest(out, synth=record)
    return {**record, "script": proj["script"]}
