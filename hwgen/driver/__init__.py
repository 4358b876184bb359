"""Host side of a built accelerator: :class:`Accelerator` (UART shell over pyserial, or its Verilator model)
and, on Zynq boards, the PYNQ overlay of ``hwgen synth`` (``port="pynq"``, AXI DMA)."""

from .accelerator import Accelerator

__all__ = ["Accelerator"]
