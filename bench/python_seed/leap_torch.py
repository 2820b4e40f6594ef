"""The seed workload as a PyTorch user writes it, on leap (leap.nn, leap.optim, the manual
loop). usage: leap_torch.py [--epochs 10] [--device cpu|cuda]"""
import argparse

import leap

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--device", default="cpu")
args = parser.parse_args()

(x_train, y_train), (x_test, y_test) = leap.datasets.fashion_mnist.load_data()
model = leap.nn.Sequential(leap.nn.Linear(784, 128), leap.nn.ReLU(), leap.nn.Linear(128, 10),
                           device=args.device)
criterion = leap.nn.CrossEntropyLoss()
optimizer = leap.optim.Adam(model.parameters(), lr=1e-3)
loader = leap.data.DataLoader(x_train, y_train, batch_size=64, shuffle=True, device=args.device)
for epoch in range(args.epochs):
    for images, labels in loader:
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
    model.eval()
    accuracy = (model(x_test).argmax(1) == y_test).mean()
    model.train()
    print(f"epoch {epoch + 1}: loss {loss.item():.4f}, test accuracy {accuracy:.4f}", flush=True)
