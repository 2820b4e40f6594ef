"""leap's ONNX export run by onnxruntime, against leap's own logits (within 1e-5), on the
Fashion-MNIST test set: on the GPU (CUDA execution provider, TF32 off) when onnxruntime has
one, and on the CPU. Prints a table and writes dated JSON naming the device.

usage: python3 bench/onnx_check.py --leap build/leap [--load W --model SPEC] [--device auto]
       [--data DIR] [--json bench/results/DATE-DEVICE-onnx-check.json]
Without --load, leap trains SPEC for one epoch first."""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import idx_files  # noqa: E402
import safetensors_io  # noqa: E402

TOLERANCE = 1e-5


def device_name():
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, check=True).stdout.strip()
        if out:
            return out.splitlines()[0]
    except (OSError, subprocess.CalledProcessError):
        pass
    return "cpu"


def runtimes(model_file):
    """(name, runtime) for each execution provider worth comparing: CUDA (fp32) and CPU."""
    import onnxruntime as ort
    result = []
    print(f"onnxruntime {ort.__version__}, execution providers: {', '.join(ort.get_available_providers())}")
    if "CUDAExecutionProvider" in ort.get_available_providers():
        # TF32 would round the products to 10 mantissa bits: leap computes in fp32.
        result.append(("onnxruntime CUDA", ort.InferenceSession(
            model_file, providers=[("CUDAExecutionProvider", {"use_tf32": "0"})])))
    result.append(("onnxruntime CPU", ort.InferenceSession(model_file, providers=["CPUExecutionProvider"])))
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--leap", required=True)
    parser.add_argument("--model", default="784-128-10")
    parser.add_argument("--load", help="weights (safetensors); default: train one epoch")
    parser.add_argument("--device", default="auto", help="where leap computes its logits")
    parser.add_argument("--data", default=os.environ.get("LEAP_DATA_DIR", "/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--json", help="where to write the results (default: bench/results/, dated)")
    args = parser.parse_args()

    images = idx_files.images(args.data, "t10k-images-idx3-ubyte")
    labels = idx_files.labels(args.data, "t10k-labels-idx1-ubyte")
    with tempfile.TemporaryDirectory() as tmp:
        weights = args.load or os.path.join(tmp, "w.safetensors")
        if not args.load:
            subprocess.run([args.leap, "train", "--no-run-dir", "--model", args.model, "--epochs", "1", "--device",
                            args.device, "--data", args.data, "--save", weights], check=True,
                           stdout=subprocess.DEVNULL)
        model_file, logits_file = os.path.join(tmp, "model.onnx"), os.path.join(tmp, "logits.safetensors")
        subprocess.run([args.leap, "export", "--format", "onnx", "--load", weights, "--model",
                        args.model, "-o", model_file], check=True)
        subprocess.run([args.leap, "predict", "--load", weights, "--model", args.model, "--data",
                        args.data, "--device", args.device, "--logits", logits_file, "-o", os.devnull],
                       check=True)
        leap_logits = safetensors_io.load_file(logits_file)["logits"]
        rows = []
        for name, runtime in runtimes(model_file):
            logits = runtime.run(None, {"input": images})[0]
            error = float(np.abs(logits - leap_logits).max())
            rows.append({"runtime": name, "max_abs_logit_difference": error,
                         "same_classes": bool(np.all(logits.argmax(1) == leap_logits.argmax(1))),
                         "accuracy": float(np.mean(logits.argmax(1) == labels)),
                         "passed": error <= TOLERANCE})

    device = device_name()
    print(f"leap {args.model} on {args.device} ({device}), {len(images)} test images, tolerance {TOLERANCE:g}")
    print(f"{'runtime':<20} {'max |diff|':>11} {'same classes':>13} {'accuracy':>9}  result")
    for row in rows:
        print(f"{row['runtime']:<20} {row['max_abs_logit_difference']:>11.2e} {str(row['same_classes']):>13} "
              f"{row['accuracy']:>9.4f}  {'ok' if row['passed'] else 'FAIL'}")
    today = datetime.date.today().isoformat()
    path = args.json or os.path.join(os.path.dirname(__file__), "results",
                                     f"{today}-{device.replace(' ', '-').lower()}-onnx-check.json")
    with open(path, "w") as f:
        json.dump({"date": today, "device": device, "model": args.model, "leap_device": args.device,
                   "tolerance": TOLERANCE, "results": rows}, f, indent=2)
    print("wrote", path)
    sys.exit(0 if all(row["passed"] for row in rows) else 1)


if __name__ == "__main__":
    main()
