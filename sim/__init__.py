"""cocotb testbenches, the Verilator runner and the bulk-simulation driver (installed as ``hwgen.sim``).

- :mod:`hwgen.sim.runner` — ``build_verilator`` (cached, lock-protected builds under a given folder)
  and ``run_bench`` (runs the AXI-Stream bench on a build with a list of ``BenchRun`` stimuli).
- :mod:`hwgen.sim.axis_bench` — the one cocotb test module: cocotbext-axi source, sink and monitor,
  seeded pause generators on both ends, exact beat comparison, frame-completion cycles.
- :mod:`hwgen.sim.amaranth_bench` — the same idea in ``amaranth.sim`` (tier 2).
- :mod:`hwgen.sim.smoke` — the toolchain smoke test (``python -m hwgen.sim.smoke``).

A verifier of a built accelerator needs only: the Verilog from ``OUT/rtl`` (top with the ports of
:class:`hwgen.flow.verilog.AxisTop`), input beats packed from the frames, the golden model's output
beats, and ``run_bench(build_verilator(files, top, cache), [BenchRun(..., in_pause=p, out_pause=p)], work)``;
each ``RunResult`` holds mismatches, the received beats and ``cycles_per_frame``.
"""
