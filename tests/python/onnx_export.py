"""`leap export --format onnx` writes a model that onnx's checker accepts (with shape
inference) and that computes leap's logits within 1e-5 on the Fashion-MNIST test set, at any
batch size, for weights leap trained for one epoch. Evaluated with onnx.reference when this onnx has it, else with numpy
(python/onnx_numpy.py).

Run by CTest with Debian's python3 (python3-onnx, numpy). Exits 77 (skipped) without onnx or
without the data set."""
import os
import subprocess
import tempfile

import numpy as np

import harness
import idx_files
import safetensors_io

onnx = harness.require("onnx", "python3-onnx")
import onnx_numpy  # noqa: E402  (it needs onnx)

SPEC = "784-64-32-10"
OPSET = 13
TOLERANCE = 1e-5


def evaluate(model, images):
    if hasattr(onnx, "reference"):
        from onnx.reference import ReferenceEvaluator
        return ReferenceEvaluator(model).run(None, {"input": images})[0], "onnx.reference"
    return onnx_numpy.run(model, {"input": images})[0], "numpy"


def main():
    args = harness.arguments()
    harness.require_fashion_mnist(args.data)
    images = idx_files.images(args.data, "t10k-images-idx3-ubyte")
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        weights, model_file, logits_file = (os.path.join(tmp, name) for name in
                                            ("w.safetensors", "model.onnx", "logits.safetensors"))
        harness.train_one_epoch(args.leap, SPEC, 2, args.data, weights)
        subprocess.run([args.leap, "export", "--format", "onnx", "--load", weights, "--model", SPEC,
                        "-o", model_file], check=True)
        harness.predict(args.leap, SPEC, weights, args.data, logits_file, os.devnull)
        leap_logits = safetensors_io.load_file(logits_file)["logits"]
        model = onnx.load(model_file)

    onnx.checker.check_model(model, full_check=True)  # raises on an invalid model
    opsets = {o.domain: o.version for o in model.opset_import}
    print(f"onnx {onnx.__version__}: checker passed; ir_version {model.ir_version}, opsets {opsets}, "
          f"nodes {[n.op_type for n in model.graph.node]}")
    if opsets.get("", None) != OPSET:
        failures.append(f"opset {opsets} is not {OPSET}")
    batch_dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    if not batch_dim.dim_param or batch_dim.HasField("dim_value"):
        failures.append("the batch axis of the input is not dynamic")

    for rows in (len(images), 1, 7):  # the whole set, then other batch sizes
        logits, how = evaluate(model, images[:rows])
        error = float(np.abs(logits - leap_logits[:rows]).max())
        same = bool(np.all(logits.argmax(1) == leap_logits[:rows].argmax(1)))
        print(f"batch {rows}: max |onnx ({how}) - leap| logit = {error:.2e} (tolerance {TOLERANCE:g}); "
              f"same classes: {same}")
        if not error <= TOLERANCE:
            failures.append(f"batch {rows}: logits differ by {error:.2e}")
    harness.finish("onnx export", failures)


if __name__ == "__main__":
    main()
