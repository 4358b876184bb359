"""cocotb bench of the UART board shell (loaded by test_uart_cocotb.py; pytest does not collect it):
cocotbext-uart sends the frames' bytes into ``rx`` and collects what the shell sends on ``tx``.

The spec (JSON, path in ``HWGEN_UART_SPEC``): ``clock_ns``, ``baud``, ``input`` (hex), ``n_out`` (bytes
expected), ``results`` (path written with ``{"output": hex}``).
"""

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, with_timeout
from cocotbext.uart import UartSink, UartSource


@cocotb.test()
async def frames_through_the_shell(dut):
    with open(os.environ["HWGEN_UART_SPEC"]) as fh:
        spec = json.load(fh)
    cocotb.start_soon(Clock(dut.clk, spec["clock_ns"], unit="ns").start())
    dut.rx.value = 1
    dut.rst.value = 1
    await ClockCycles(dut.clk, 8)
    dut.rst.value = 0
    source = UartSource(dut.rx, baud=spec["baud"], bits=8, stop_bits=1)
    sink = UartSink(dut.tx, baud=spec["baud"], bits=8, stop_bits=1)
    data = bytes.fromhex(spec["input"])
    await source.write(data)
    got = bytearray()
    byte_ns = 10 * 1e9 / spec["baud"]
    limit = int(byte_ns * (len(data) + spec["n_out"]) * 2 + 1e6)
    while len(got) < spec["n_out"]:
        got += await with_timeout(sink.read(), limit, "ns")  # what has arrived (at least one byte)
    await ClockCycles(dut.clk, 200)
    extra = got[spec["n_out"] :] + sink.read_nowait()
    got = got[: spec["n_out"]]
    with open(spec["results"], "w") as fh:
        json.dump(
            {"output": bytes(got).hex(), "extra": bytes(extra).hex(), "error": int(dut.error.value)}, fh
        )
