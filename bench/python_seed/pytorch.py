"""The seed workload in PyTorch, the script leap's two shapes replace: tensors in memory
(TensorDataset), batch 64 shuffled, Adam 1e-3. usage: pytorch.py [--epochs 10] [--device cpu|cuda]"""
import argparse
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import idx_files  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--device", default="cpu")
args = parser.parse_args()

data = os.environ.get("LEAP_DATA_DIR", "/usr/share/datasets/fashion-mnist")
x = torch.from_numpy(idx_files.images(data, "train-images-idx3-ubyte")).to(args.device)
y = torch.from_numpy(idx_files.labels(data, "train-labels-idx1-ubyte")).to(args.device)
x_test = torch.from_numpy(idx_files.images(data, "t10k-images-idx3-ubyte")).to(args.device)
y_test = torch.from_numpy(idx_files.labels(data, "t10k-labels-idx1-ubyte")).to(args.device)
model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)).to(args.device)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(args.epochs):
    order = torch.randperm(len(x), device=args.device)
    for begin in range(0, len(x), 64):
        index = order[begin:begin + 64]
        optimizer.zero_grad()
        loss = criterion(model(x[index]), y[index])
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f"epoch {epoch + 1}: loss {loss.item():.4f}, test accuracy {accuracy:.4f}", flush=True)
