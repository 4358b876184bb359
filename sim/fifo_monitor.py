"""FIFO monitors of the bulk harness: the peak occupancy of every stream FIFO of an accelerator.

Stream FIFOs are the accelerator's submodules ``s<k>_fifo`` (:meth:`hwgen.dataflow.Accelerator.instance`).
A Verilator configuration file (:data:`FIFO_VLT`) makes their four handshake signals readable from C++;
after verilating, :func:`fifo_members` finds them in the generated root class and :func:`monitors`
writes the C++ that counts, every cycle before the clock edge, beats in minus beats out of each FIFO and
keeps the most it held (``fifo_peak.<instance> N`` lines on the harness's stdout).
"""

from __future__ import annotations

import re

__all__ = ["FIFO_VLT", "fifo_members", "monitors"]

#: Modules whose handshakes are monitored, and the Verilator configuration that makes them readable.
FIFO_MODULES = "*_fifo"
_HANDSHAKE = ("i__valid", "i__ready", "o__valid", "o__ready")
FIFO_VLT = "`verilator_config\n" + "".join(
    f'public_flat_rd -module "{FIFO_MODULES}" -var "{v}"\n' for v in _HANDSHAKE
)


def monitors(top: str, fifos: dict[str, str]) -> dict[str, str]:
    """C++ of the FIFO monitors: occupancy += beats in − beats out, every cycle before the clock edge."""
    if not fifos:
        return {"monitor_decl": "", "monitor_step": "", "monitor_report": ""}
    n = len(fifos)
    names = ", ".join(f'"{name}"' for name in fifos)
    decl = (
        f'#include "V{top}___024root.h"\n'
        f"static const char* const kFifoNames[{n}] = {{{names}}};\n"
        f"static int64_t fifo_level[{n}], fifo_peak[{n}];"
    )
    step = ["{", "auto* r = top->rootp;"]
    for k, pre in enumerate(fifos.values()):
        iv, ir, ov, orr = (f"r->{pre}__DOT__{v.replace('__', '___05F')}" for v in _HANDSHAKE)
        step.append(f"fifo_level[{k}] += int64_t({iv} & {ir}) - int64_t({ov} & {orr});")
        step.append(f"if (fifo_level[{k}] > fifo_peak[{k}]) fifo_peak[{k}] = fifo_level[{k}];")
    step.append("}")
    report = (
        f"for (int k = 0; k < {n}; ++k) "
        'std::printf("fifo_peak.%s %lld\\n", kFifoNames[k], static_cast<long long>(fifo_peak[k]));'
    )
    return {"monitor_decl": decl, "monitor_step": "\n        ".join(step), "monitor_report": report}


def fifo_members(root_header: str) -> dict[str, str]:
    """Instance name -> member prefix of every FIFO whose four handshake signals the Verilated root
    class (``V<top>___024root.h``) exposes, in stage order."""
    found: dict[str, set[str]] = {}
    pattern = re.compile(r"\b(\w+__DOT__(s(\d+)_fifo))__DOT__(i|o)___05F(valid|ready)\b")
    for mt in pattern.finditer(root_header):
        found.setdefault((int(mt.group(3)), mt.group(2), mt.group(1)), set()).add(mt.group(4) + mt.group(5))
    full = [key for key, sigs in sorted(found.items()) if len(sigs) == 4]
    return {name: prefix for _, name, prefix in full}
