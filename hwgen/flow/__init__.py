"""Build steps, configuration, Verilog export, simulation and synthesis runners, reports."""
