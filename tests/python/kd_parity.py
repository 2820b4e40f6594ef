"""The distillation loss and its gradient against PyTorch on random logits:
alpha * T^2 * F.kl_div(F.log_softmax(s/T), F.softmax(t/T), reduction='batchmean')
+ (1 - alpha) * F.cross_entropy(s, y). Tolerance: 1e-5 relative (loss), 1e-6 absolute (grad).
Run by CTest with Debian's python3; exits 77 (skipped) without torch."""
import os
import subprocess
import sys
import tempfile

import numpy as np

import harness
import safetensors_io

torch = harness.require("torch", "python3-torch")
F = torch.nn.functional


def main():
    args = harness.arguments("--tool")
    rng = np.random.default_rng()
    failures = 0
    for batch, classes, temperature, alpha in ((64, 10, 4.0, 0.9), (7, 10, 2.0, 0.5), (5, 23, 1.0, 0.3)):
        s = (rng.standard_normal((batch, classes)) * 3).astype(np.float32)
        t = (rng.standard_normal((batch, classes)) * 3).astype(np.float32)
        y = rng.integers(0, classes, batch)
        with tempfile.TemporaryDirectory() as tmp:
            src, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
            safetensors_io.save_file({"student": s, "teacher": t, "labels": y.astype(np.int64),
                                      "settings": np.array([temperature, alpha], np.float32)}, src)
            subprocess.run([args.tool, src, out], check=True)
            leap = safetensors_io.load_file(out)
        student = torch.tensor(s, dtype=torch.float64, requires_grad=True)
        teacher = torch.tensor(t, dtype=torch.float64)
        soft = F.kl_div(F.log_softmax(student / temperature, dim=1), F.softmax(teacher / temperature, dim=1),
                        reduction="batchmean") * temperature ** 2
        loss = alpha * soft + (1 - alpha) * F.cross_entropy(student, torch.from_numpy(y))
        loss.backward()
        loss_error = abs(leap["loss"][0] - loss.item()) / abs(loss.item())
        grad_error = np.abs(leap["grad"] - student.grad.numpy()).max()
        ok = loss_error <= 1e-5 and grad_error <= 1e-6
        failures += not ok
        print(f"batch {batch}, classes {classes}, T={temperature}, alpha={alpha}: loss {loss.item():.6f}, "
              f"relative error {loss_error:.1e}; grad max error {grad_error:.1e} {'ok' if ok else 'FAILED'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
