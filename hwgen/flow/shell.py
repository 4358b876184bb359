"""The UART board shell of the open-flow boards: bytes in over the board's USB-serial port, frames through
the accelerator, outputs back as bytes.

Protocol (what :mod:`hwgen.driver` speaks): the host sends a frame as its input beats, each beat as
``ceil(tdata_bits / 8)`` bytes least significant byte first; the shell returns every output beat the same way.
Frames follow each other with no header. A line break (RX held low for :data:`BREAK_BITS` bit times) resets
the accelerator and the shell, so a host that lost count starts over. The status LED blinks while the shell
runs and stays lit after an error (a byte lost to overrun or a bad stop bit) until the next break.

:class:`ShellCore` is everything clocked (UART, byte FIFO, beat assembly, the accelerator as an instance of
its Verilog top, output serializer) with plain ``rx``/``tx``/``led`` ports: what Verilator simulates.
:class:`BoardTop` wraps it for one board's amaranth-boards platform: oscillator, PLL, reset (PLL lock and
the board's button), UART pins and LED.
"""

from amaranth.hdl import (
    Cat,
    ClockDomain,
    ClockSignal,
    Elaboratable,
    Instance,
    Module,
    Mux,
    ResetInserter,
    ResetSignal,
    Signal,
)
from amaranth.lib import io, wiring
from amaranth.lib.cdc import FFSynchronizer, ResetSynchronizer
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from .uart import UartRx, UartTx

__all__ = ["BREAK_BITS", "BoardTop", "ShellCore", "shell_params"]

#: Bit times RX must stay low to count as a break (a byte is 10 bit times).
BREAK_BITS = 24
QUIET_BITS = 12
SHELL_TOP = "hwgen_shell"
BOARD_TOP = "hwgen_board"


def shell_params(manifest: dict, divisor: int) -> dict:
    """ShellCore arguments for a build's manifest."""
    return {
        "top": manifest["rtl"]["top"],
        "in_bits": manifest["input"]["tdata_bits"],
        "out_bits": manifest["output"]["tdata_bits"],
        "beats_per_frame": manifest["input"]["beats_per_frame"],
        "divisor": divisor,
    }


class ShellCore(wiring.Component):
    """UART shell around the accelerator's Verilog top ``top`` (a black-box instance).

    Members
    -------
    rx : In(1)
    tx : Out(1)
    led : Out(1)
        Blinks while running; steady after an error.
    error : Out(1)
        Sticky: a byte was lost (overrun) or had a bad stop bit; cleared by a break.
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)
    led: Out(1)
    error: Out(1)

    def __init__(
        self, top: str, in_bits: int, out_bits: int, beats_per_frame: int, divisor: int, blink_bits=23
    ):
        for name, v in (("in_bits", in_bits), ("out_bits", out_bits), ("beats_per_frame", beats_per_frame)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise TypeError(f"'{name}' must be a positive integer, not {v!r}")
        if in_bits % 8 or out_bits % 8:
            raise ValueError(f"tdata widths must be whole bytes, not {in_bits}/{out_bits} bits")
        self._top = top
        self._in_bytes, self._out_bytes = in_bits // 8, out_bits // 8
        self._bpf = beats_per_frame
        self._divisor = divisor
        self._blink_bits = blink_bits
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        d = self._divisor
        nin, nout = self._in_bytes, self._out_bytes

        # break: RX low for BREAK_BITS bit times resets the shell and the accelerator until RX has been high
        # for QUIET_BITS bit times (so the receiver starts again between bytes)
        line = Signal(init=1)
        m.submodules.brk_sync = FFSynchronizer(self.rx, line, init=1)
        low = Signal(range(BREAK_BITS * d + 1))
        high = Signal(range(QUIET_BITS * d + 1))
        brk = Signal()
        m.d.sync += low.eq(Mux(line, 0, low + (low != BREAK_BITS * d)))
        with m.If(low == BREAK_BITS * d):
            m.d.sync += brk.eq(1)
        with m.If(brk):
            m.d.sync += high.eq(Mux(line, high + 1, 0))
            with m.If(high == QUIET_BITS * d):
                m.d.sync += [brk.eq(0), high.eq(0)]

        rx, tx = UartRx(d), UartTx(d)
        fifo = SyncFIFOBuffered(width=8, depth=32)
        m.submodules.rx = ResetInserter(brk)(rx)
        m.submodules.tx = ResetInserter(brk)(tx)
        m.submodules.fifo = ResetInserter(brk)(fifo)
        m.d.comb += [
            rx.rx.eq(self.rx),
            self.tx.eq(tx.tx),
            fifo.w_data.eq(rx.o.payload),
            fifo.w_en.eq(rx.o.valid),
            rx.o.ready.eq(fifo.w_rdy),
        ]

        # bytes -> input beats (first byte in the least significant bits), tlast on the frame's last beat
        s_data = Signal(8 * nin)
        s_valid, s_ready = Signal(), Signal()
        nbyte = Signal(range(nin + 1))
        beat = Signal(range(self._bpf))
        m.d.comb += fifo.r_en.eq(~s_valid)
        with m.If(fifo.r_rdy & ~s_valid):
            m.d.sync += [s_data.eq(Cat(s_data[8:], fifo.r_data)), nbyte.eq(nbyte + 1)]
            with m.If(nbyte == nin - 1):
                m.d.sync += [nbyte.eq(0), s_valid.eq(1)]
        with m.If(s_valid & s_ready):
            m.d.sync += [s_valid.eq(0), beat.eq(Mux(beat == self._bpf - 1, 0, beat + 1))]

        # output beats -> bytes
        m_data = Signal(8 * nout)
        m_valid, m_ready = Signal(), Signal()
        shreg = Signal(8 * nout)
        left = Signal(range(nout + 1))
        m.d.comb += [m_ready.eq(left == 0), tx.i.payload.eq(shreg[:8]), tx.i.valid.eq(left != 0)]
        with m.If((left == 0) & m_valid):
            m.d.sync += [shreg.eq(m_data), left.eq(nout)]
        with m.If(tx.i.valid & tx.i.ready):
            m.d.sync += [shreg.eq(shreg >> 8), left.eq(left - 1)]

        # the accelerator's reset (thousands of flip-flops across the chip) leaves a register, so its long
        # route starts at a clock edge (CNV-W1A1 on the ULX3S: lock -> break OR -> every layer was 12.2 ns)
        accel_rst = Signal(init=1)
        m.d.sync += accel_rst.eq(ResetSignal() | brk)
        m.submodules.accel = Instance(
            self._top,
            i_clk=ClockSignal(),
            i_rst=accel_rst,
            i_s_axis_tdata=s_data,
            i_s_axis_tvalid=s_valid,
            o_s_axis_tready=s_ready,
            i_s_axis_tlast=beat == self._bpf - 1,
            o_m_axis_tdata=m_data,
            o_m_axis_tvalid=m_valid,
            i_m_axis_tready=m_ready,
            o_m_axis_tlast=Signal(),
        )

        # status: sticky error, heartbeat
        with m.If(rx.framing | (rx.o.valid & ~fifo.w_rdy)):
            m.d.sync += self.error.eq(1)
        blink = Signal(self._blink_bits)
        m.d.sync += blink.eq(blink + 1)
        m.d.comb += self.led.eq(self.error | blink[-1])

        with m.If(brk):  # after the statements above: the break wins
            m.d.sync += [s_valid.eq(0), nbyte.eq(0), beat.eq(0), left.eq(0), self.error.eq(0)]
        return m


class BoardTop(Elaboratable):
    """``core`` (a :class:`ShellCore`) on ``board``: PLL to ``clock_mhz``, reset, UART pins, status LED."""

    def __init__(self, board, core: ShellCore, clock_mhz: float):
        self._board, self._core, self._clock_mhz = board, core, clock_mhz

    def elaborate(self, platform):
        m = Module()
        b = self._board
        pll = b.pll(self._clock_mhz)
        clk, lock = Signal(), Signal(init=1)
        if pll.primitive == "none":
            m.d.comb += clk.eq(_input(m, "clk_buf", platform.request(platform.default_clk, 0, dir="-")))
        elif pll.primitive == "SB_PLL40_PAD":
            pad = platform.request(platform.default_clk, 0, dir="-")
            p = pll.params
            m.submodules.pll = Instance(
                "SB_PLL40_PAD",
                p_FEEDBACK_PATH="SIMPLE",
                p_DIVR=p["DIVR"],
                p_DIVF=p["DIVF"],
                p_DIVQ=p["DIVQ"],
                p_FILTER_RANGE=p["FILTER_RANGE"],
                i_PACKAGEPIN=pad.io,
                i_RESETB=1,
                i_BYPASS=0,
                o_PLLOUTGLOBAL=clk,
                o_LOCK=lock,
            )
        else:  # EHXPLLL, feedback from CLKOP
            p = pll.params
            m.submodules.pll = Instance(
                "EHXPLLL",
                a_FREQUENCY_PIN_CLKI=f"{pll.input_mhz:g}",
                a_FREQUENCY_PIN_CLKOP=f"{pll.achieved_mhz:g}",
                p_CLKI_DIV=p["CLKI_DIV"],
                p_CLKFB_DIV=p["CLKFB_DIV"],
                p_CLKOP_DIV=p["CLKOP_DIV"],
                p_CLKOP_CPHASE=p["CLKOP_CPHASE"],
                p_CLKOP_FPHASE=0,
                p_CLKOP_ENABLE="ENABLED",
                p_FEEDBK_PATH="CLKOP",
                p_OUTDIVIDER_MUXA="DIVA",
                p_PLLRST_ENA="DISABLED",
                p_INTFB_WAKE="DISABLED",
                p_STDBY_ENABLE="DISABLED",
                p_DPHASE_SOURCE="DISABLED",
                i_CLKI=_input(m, "clk_buf", platform.request(platform.default_clk, 0, dir="-")),
                i_CLKFB=clk,
                i_RST=0,
                i_STDBY=0,
                i_PHASESEL0=0,
                i_PHASESEL1=0,
                i_PHASEDIR=1,
                i_PHASESTEP=1,
                i_PHASELOADREG=1,
                i_PLLWAKESYNC=0,
                i_ENCLKOP=0,
                o_CLKOP=clk,
                o_LOCK=lock,
            )
        m.domains.sync = ClockDomain("sync")
        m.d.comb += ClockSignal("sync").eq(clk)
        reset = Signal()
        m.d.comb += reset.eq(~lock)
        if b.reset_button is not None:
            button = _input(m, "button_buf", platform.request(*b.reset_button, dir="-"))
            m.d.comb += reset.eq(~lock | button)
        m.submodules.reset_sync = ResetSynchronizer(reset, domain="sync")

        m.submodules.shell = core = self._core
        uart = platform.request(*b.uart, dir="-")
        led = platform.request(*b.led[:2], dir="-")
        led = getattr(led, b.led[2]) if len(b.led) > 2 else led
        m.submodules.tx_buf = tx_buf = io.Buffer("o", uart.tx)
        m.submodules.led_buf = led_buf = io.Buffer("o", led)
        m.d.comb += [core.rx.eq(_input(m, "rx_buf", uart.rx)), tx_buf.o.eq(core.tx), led_buf.o.eq(core.led)]
        return m


def _input(m: Module, name: str, port):
    """The input buffer of ``port`` (added to ``m`` as ``name``): its value."""
    m.submodules[name] = buf = io.Buffer("i", port)
    return buf.i
