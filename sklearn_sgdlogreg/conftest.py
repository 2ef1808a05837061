"""What pytest collects from the package's modules."""

from importlib.util import find_spec

# The example in the ONNX module's docstring runs an export, which needs the
# optional [onnx] extra; tests/test_onnx.py skips itself the same way.
collect_ignore = []
if find_spec("skl2onnx") is None or find_spec("onnxruntime") is None:
    collect_ignore.append("onnx.py")
# The Dask module's example starts a LocalCluster: the [dask] extra.
if find_spec("dask") is None or find_spec("distributed") is None:
    collect_ignore.append("dask.py")
