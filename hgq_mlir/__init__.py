"""hgq-mlir: HGQ2 quantized networks to multiplier-free FPGA logic, built on xDSL."""

__version__ = "0.1.0"
