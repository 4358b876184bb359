"""``hwgen boards``: the boards ``hwgen build --board`` knows, with their resources, clock and flow."""

from __future__ import annotations

__all__ = ["board_table", "register"]


def board_table() -> list[str]:
    """The boards as Markdown table lines."""
    from hwgen.boards import all_boards

    lines = [
        "| board | part | package | speed | LUTs | FFs | BRAM (blocks, Kbit) | DSP | clock | flow | UART |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for b in all_boards():
        pll = b.pll()
        uart = f"{b.uart_bridge} {b.uart_baud() / 1e6:g} Mbaud" if b.uart_bauds else "AXI DMA"
        lines.append(
            f"| {b.name} | {b.part} | {b.package} | {b.speed} | {b.luts} | {b.ffs} | "
            f"{b.bram_blocks}, {b.bram_bits // 1024} | {b.dsps} | "
            f"{pll.achieved_mhz:g} MHz ({pll.primitive}) | {b.flow} | {uart} |"
        )
    return lines


def _cmd(args) -> int:
    print("\n".join(board_table()))
    return 0


def register(sub) -> None:
    p = sub.add_parser("boards", help="list the boards --board accepts, with resources and flow")
    p.set_defaults(func=_cmd)
