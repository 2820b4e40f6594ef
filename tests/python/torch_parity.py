"""Training parity with PyTorch: the same initial weights (made by torch and loaded by leap
from safetensors) and the same 100 batches of Fashion-MNIST give the same losses within 1e-4
relative and the same final weights within 1e-4; the initial model's logits agree within 1e-5.

Run by CTest with Debian's python3 (torch 1.13, numpy). Exits 77 (skipped) without torch."""
import os
import subprocess
import sys
import tempfile

import numpy as np

import harness
import idx_files
import safetensors_io

torch = harness.require("torch", "python3-torch")
nn = torch.nn

STEPS, BATCH = 100, 64


def load_batches(data_dir):
    """The first STEPS*BATCH training samples in a seeded random order, or random data when
    the data set is not installed."""
    rng = np.random.default_rng(7)
    count = STEPS * BATCH
    if os.path.exists(os.path.join(data_dir, "train-images-idx3-ubyte.gz")):
        images = idx_files.images(data_dir, "train-images-idx3-ubyte")
        labels = idx_files.labels(data_dir, "train-labels-idx1-ubyte")
        order = rng.permutation(len(images))[:count]
        return images[order], labels[order]
    print("Fashion-MNIST not found: using random data")
    return rng.random((count, 784), dtype=np.float32), rng.integers(0, 10, count)


def main():
    args = harness.arguments("--tool")

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    images, labels = load_batches(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        init, data, out = (os.path.join(tmp, n) for n in ("init.safetensors", "data.safetensors", "out.safetensors"))
        safetensors_io.save_torch(model.state_dict(), init)
        safetensors_io.save_file({"images": images, "labels": labels.astype(np.int64),
                                  "batch": np.array([BATCH], np.int64)}, data)
        subprocess.run([args.tool, "784-128-10", init, data, out], check=True)
        leap = safetensors_io.load_file(out)

    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    with torch.no_grad():
        logits_init = model(x[:BATCH]).numpy()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    losses = []
    for step in range(STEPS):
        batch = slice(step * BATCH, (step + 1) * BATCH)
        optimizer.zero_grad()
        loss = criterion(model(x[batch]), y[batch])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

    failures = []
    logit_error = np.abs(leap["logits_init"] - logits_init).max()
    print(f"initial logits: max |leap - torch| = {logit_error:.2e} (tolerance 1e-5)")
    if not logit_error <= 1e-5:
        failures.append("initial logits")
    loss_error = np.max(np.abs(leap["losses"] - np.array(losses)) / np.abs(losses))
    print(f"losses over {STEPS} Adam steps: first {losses[0]:.4f}, last {losses[-1]:.4f}; "
          f"max relative difference {loss_error:.2e} (tolerance 1e-4)")
    if not loss_error <= 1e-4:
        failures.append("losses")
    for name, value in model.state_dict().items():
        error = np.abs(leap[name] - value.numpy()).max()
        print(f"final {name}: max |leap - torch| = {error:.2e} (tolerance 1e-4)")
        if not error <= 1e-4:
            failures.append(name)
    # The weights leap saved load into a fresh torch model with load_state_dict (strict).
    reloaded = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    reloaded.load_state_dict({k: torch.from_numpy(v) for k, v in leap.items() if k[0].isdigit()})
    with torch.no_grad():
        agree = (reloaded(x).argmax(1) == model(x).argmax(1)).float().mean().item()
    print(f"leap's saved weights in torch: {agree:.2%} of predictions equal torch's own")
    if agree < 0.999:
        failures.append("reloaded predictions")
    if failures:
        print("PARITY FAILED:", ", ".join(failures))
        return 1
    print("parity with PyTorch: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
