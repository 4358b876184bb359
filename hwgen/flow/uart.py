"""8N1 UART receiver and transmitter as Amaranth stream components (the board shell's serial port).

Both count ``divisor`` clock cycles per bit (``round(f_clk / baud)``, at least 4). The receiver samples the
middle of every bit after a two-flip-flop synchronizer, drops a byte whose stop bit is low (``framing``
pulses) and raises the sticky ``overrun`` when a byte arrives while the previous one is still unread.
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["UartRx", "UartTx"]


def _check_divisor(divisor) -> int:
    if isinstance(divisor, bool) or not isinstance(divisor, int) or divisor < 4:
        raise TypeError(f"'divisor' must be an integer of at least 4 clock cycles per bit, not {divisor!r}")
    return divisor


class UartRx(wiring.Component):
    """Serial line in, bytes out.

    Members
    -------
    rx : In(1)
        The line (idle high); asynchronous to the clock.
    o : Out(stream.Signature(8))
        Received bytes.
    framing : Out(1)
        One-cycle pulse: a byte was dropped because its stop bit was low.
    overrun : Out(1)
        Sticky: a byte arrived while ``o`` still held an unread one (that byte was lost).
    """

    rx: In(1, init=1)
    o: Out(stream.Signature(8))
    framing: Out(1)
    overrun: Out(1)

    def __init__(self, divisor: int):
        self._divisor = _check_divisor(divisor)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        d = self._divisor
        line = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, line, init=1)
        timer = Signal(range(d))
        bits = Signal(range(8))
        shreg = Signal(8)

        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        tick = timer == 0
        with m.If(~tick):
            m.d.sync += timer.eq(timer - 1)
        with m.FSM():
            with m.State("idle"):
                with m.If(~line):
                    m.d.sync += timer.eq(d // 2 - 1)
                    m.next = "start"
            with m.State("start"):
                with m.If(tick):
                    m.d.sync += [timer.eq(d - 1), bits.eq(0)]
                    m.next = "data"
                    with m.If(line):  # a glitch, not a start bit
                        m.next = "idle"
            with m.State("data"):
                with m.If(tick):
                    m.d.sync += [timer.eq(d - 1), shreg.eq(Cat(shreg[1:], line)), bits.eq(bits + 1)]
                    with m.If(bits == 7):
                        m.next = "stop"
            with m.State("stop"):
                with m.If(tick):
                    m.next = "idle"
                    with m.If(line):
                        m.d.sync += [self.o.payload.eq(shreg), self.o.valid.eq(1)]
                        with m.If(self.o.valid & ~self.o.ready):
                            m.d.sync += self.overrun.eq(1)
                    with m.Else():
                        m.d.comb += self.framing.eq(1)
        return m


class UartTx(wiring.Component):
    """Bytes in, serial line out (8N1, least significant bit first).

    Members
    -------
    i : In(stream.Signature(8))
        Bytes to send.
    tx : Out(1)
        The line (idle high).
    """

    i: In(stream.Signature(8))
    tx: Out(1, init=1)

    def __init__(self, divisor: int):
        self._divisor = _check_divisor(divisor)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        d = self._divisor
        timer = Signal(range(d))
        shreg = Signal(10, init=0x3FF)
        left = Signal(range(11))

        idle = left == 0
        m.d.comb += [self.i.ready.eq(idle), self.tx.eq(shreg[0])]
        with m.If(idle):
            with m.If(self.i.valid):
                m.d.sync += [shreg.eq(Cat(0, self.i.payload, 1)), left.eq(10), timer.eq(d - 1)]
        with m.Elif(timer == 0):
            m.d.sync += [shreg.eq(Cat(shreg[1:], 1)), left.eq(left - 1), timer.eq(d - 1)]
        with m.Else():
            m.d.sync += timer.eq(timer - 1)
        return m
