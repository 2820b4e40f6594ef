"""What the Python tests that CTest runs share: the repository's python/ modules on the path,
skipping (exit 77, CTest's SKIP_RETURN_CODE for them) when a package or the data set is
missing, the command line, the leap runs they make, and the verdict."""
import argparse
import importlib
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))

SKIPPED = 77


def skip(reason):
    print(reason)
    sys.exit(SKIPPED)


def require(module, package):
    """The module, or a skip that names the Debian package to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        skip(f"{module.split('.')[0]} is not importable: skipping (install Debian's {package})")


def arguments(program="--leap"):
    """--leap (or --tool), the program under test, and --data, the Fashion-MNIST directory."""
    parser = argparse.ArgumentParser()
    parser.add_argument(program, required=True)
    parser.add_argument("--data", default=os.environ.get("LEAP_DATA_DIR", "/usr/share/datasets/fashion-mnist"))
    return parser.parse_args()


def has_fashion_mnist(directory):
    return os.path.exists(os.path.join(directory, "t10k-images-idx3-ubyte.gz"))


def require_fashion_mnist(directory):
    if not has_fashion_mnist(directory):
        skip(f"Fashion-MNIST not found in {directory}: skipping")


def train_one_epoch(leap, spec, seed, data, weights):
    """leap trains `spec` for one epoch on the CPU and saves the weights (no run directory)."""
    subprocess.run([leap, "train", "--no-run-dir", "--model", spec, "--epochs", "1", "--device", "cpu",
                    "--seed", str(seed), "--data", data, "--save", weights], check=True,
                   stdout=subprocess.DEVNULL)


def predict(leap, spec, weights, data, logits_file, classes_file):
    """leap predicts the test set on the CPU: logits (safetensors) and classes (CSV)."""
    subprocess.run([leap, "predict", "--load", weights, "--model", spec, "--data", data,
                    "--device", "cpu", "--logits", logits_file, "-o", classes_file], check=True)


def finish(name, failures):
    """Prints the failures and the verdict; exits 1 when there are any."""
    for failure in failures:
        print("FAIL:", failure)
    print(f"{name}:", "FAILED" if failures else "passed")
    sys.exit(1 if failures else 0)
