"""hwgen: streaming dataflow FPGA accelerators for binarized and quantized neural networks."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hwgen")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
