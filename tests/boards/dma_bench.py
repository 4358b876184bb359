"""cocotb bench of the Zynq DMA wrapper ``hwgen_dma`` (loaded by test_vivado.py; pytest does not collect it):
cocotbext-axi plays the AXI DMA, sending batches of frames as MM2S transfers (tlast on each batch's last word)
and receiving S2MM transfers, which must end exactly at each batch's last output word.

The spec (JSON, path in ``HWGEN_DMA_SPEC``): ``batches`` (list of hex strings, one per transfer),
``results`` (path written with ``{"received": [hex per S2MM transfer]}``).
"""

import itertools
import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource


@cocotb.test()
async def batches_end_with_tlast(dut):
    with open(os.environ["HWGEN_DMA_SPEC"]) as fh:
        spec = json.load(fh)
    cocotb.start_soon(Clock(dut.aclk, 10, unit="ns").start())
    source = AxiStreamSource(
        AxiStreamBus.from_prefix(dut, "s_axis"), dut.aclk, dut.aresetn, reset_active_level=False
    )
    sink = AxiStreamSink(
        AxiStreamBus.from_prefix(dut, "m_axis"), dut.aclk, dut.aresetn, reset_active_level=False
    )
    sink.set_pause_generator(itertools.cycle([0, 0, 1]))
    dut.aresetn.value = 0
    await ClockCycles(dut.aclk, 8)
    dut.aresetn.value = 1
    await ClockCycles(dut.aclk, 2)
    received = []
    for batch in spec["batches"]:  # one transfer in flight at a time, as the PYNQ driver does
        await source.send(AxiStreamFrame(bytes.fromhex(batch)))
        frame = await with_timeout(sink.recv(), 10, "ms")
        received.append(bytes(frame.tdata).hex())
    await ClockCycles(dut.aclk, 500)
    assert sink.empty(), "output after the last transfer"
    with open(spec["results"], "w") as fh:
        json.dump({"received": received}, fh)
