"""hgq-mlir: HGQ2 quantized networks to multiplier-free FPGA logic, built on xDSL.

    import hgq_mlir
    result = hgq_mlir.compile("model.keras", "out", latency_cutoff=2)
    rows = hgq_mlir.compile_many(["checkpoints/"], "sweep", latency_cutoffs=[1, 2, 4])
"""

__version__ = "0.1.0"


def compile(model_or_path, out_dir, **kwargs):
    """Compile a keras.Model or a `.keras` / `.h5` file to RTL in out_dir (see `hgq_mlir.api.compile`)."""
    from hgq_mlir.api import compile as _compile

    return _compile(model_or_path, out_dir, **kwargs)


def compile_many(paths, out_dir, **kwargs):
    """Compile many models for several latency cutoffs on Dask (see `hgq_mlir.batch.compile_many`)."""
    from hgq_mlir.batch import compile_many as _compile_many

    return _compile_many(paths, out_dir, **kwargs)


__all__ = ["__version__", "compile", "compile_many"]
