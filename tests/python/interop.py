"""Weights cross between leap and PyTorch through safetensors, both ways, and give the same
answers: leap's trained weights load into torch's nn.Sequential with load_state_dict (strict)
and torch's weights into `leap predict`; on the Fashion-MNIST test set the logits agree within
1e-5 and so do the predicted classes. Also checks that `leap inspect` lists the file.

Run by CTest with Debian's python3 (torch 1.13, numpy). Exits 77 (skipped) without torch or
without the data set."""
import csv
import os
import subprocess
import tempfile

import numpy as np

import harness
import idx_files
import safetensors_io

torch = harness.require("torch", "python3-torch")
nn = torch.nn

SPEC = "784-64-32-10"
TOLERANCE = 1e-5


def torch_model(spec):
    """nn.Sequential of the spec, as leap builds it: Linear layers with ReLU between."""
    widths = [int(w) for w in spec.split("-")]
    layers = []
    for i, (inputs, outputs) in enumerate(zip(widths, widths[1:])):
        if i > 0:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(inputs, outputs))
    return nn.Sequential(*layers)


def leap_predict(leap, weights, data_dir, tmp):
    """leap's logits and predicted classes for the test set."""
    logits_file, csv_file = os.path.join(tmp, "logits.safetensors"), os.path.join(tmp, "pred.csv")
    harness.predict(leap, SPEC, weights, data_dir, logits_file, csv_file)
    with open(csv_file) as f:
        classes = np.array([int(row["prediction"]) for row in csv.DictReader(f)])
    return safetensors_io.load_file(logits_file)["logits"], classes


def compare(what, labels, leap_logits, leap_classes, torch_logits):
    """Failures (as text) of leap's answers against torch's."""
    error = float(np.abs(leap_logits - torch_logits).max())
    torch_classes = torch_logits.argmax(axis=1)
    # A class may flip only where torch's two best logits lie within the tolerance.
    top2 = np.sort(torch_logits, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 2 * TOLERANCE
    flips = int(np.sum((leap_classes != torch_classes) & clear))
    print(f"{what}: max |leap - torch| logit = {error:.2e} (tolerance {TOLERANCE:g}); "
          f"classes differ on {int(np.sum(leap_classes != torch_classes))} of {len(leap_classes)} "
          f"({flips} with a clear margin); torch accuracy {np.mean(torch_classes == labels):.4f}")
    failures = []
    if not error <= TOLERANCE:
        failures.append(f"{what}: logits differ by {error:.2e}")
    if flips:
        failures.append(f"{what}: {flips} predicted classes differ")
    return failures


def main():
    args = harness.arguments()
    harness.require_fashion_mnist(args.data)
    images = torch.from_numpy(idx_files.images(args.data, "t10k-images-idx3-ubyte"))
    labels = idx_files.labels(args.data, "t10k-labels-idx1-ubyte")
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        # leap -> torch: weights leap trained for one epoch.
        leap_weights = os.path.join(tmp, "leap.safetensors")
        harness.train_one_epoch(args.leap, SPEC, 3, args.data, leap_weights)
        listing = subprocess.run([args.leap, "inspect", leap_weights], check=True,
                                 capture_output=True, text=True).stdout
        print(listing, end="")
        for needle in ("6 tensors", "52,650 parameters", "0.weight", "[64, 784]", "4.bias", "F32"):
            if needle not in listing:
                failures.append(f"leap inspect does not show {needle!r}")
        model = torch_model(SPEC)
        model.load_state_dict(safetensors_io.load_torch(leap_weights), strict=True)
        with torch.no_grad():
            torch_logits = model(images).numpy()
        failures += compare("leap's weights in torch", labels, *leap_predict(args.leap, leap_weights, args.data, tmp),
                            torch_logits)

        # torch -> leap: weights torch trained for 200 Adam steps on the training set.
        torch.manual_seed(5)
        model = torch_model(SPEC)
        train_x = torch.from_numpy(idx_files.images(args.data, "train-images-idx3-ubyte"))
        train_y = torch.from_numpy(idx_files.labels(args.data, "train-labels-idx1-ubyte"))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        for step in range(200):
            batch = slice(step * 64, (step + 1) * 64)
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(train_x[batch]), train_y[batch]).backward()
            optimizer.step()
        torch_weights = os.path.join(tmp, "torch.safetensors")
        safetensors_io.save_torch(model.state_dict(), torch_weights)
        with torch.no_grad():
            torch_logits = model(images).numpy()
        failures += compare("torch's weights in leap", labels, *leap_predict(args.leap, torch_weights, args.data, tmp),
                            torch_logits)
    harness.finish("interop", failures)


if __name__ == "__main__":
    main()
