"""cocotb testbenches, the Verilator runner and the bulk-simulation driver (installed as ``hwgen.sim``)."""
