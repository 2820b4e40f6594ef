"""The seed workload as a Keras user writes it, on leap: 784-128-10, Adam 1e-3, batch 64,
Fashion-MNIST. usage: leap_keras.py [--epochs 10] [--device auto|cpu|cuda] [--json FILE]"""
import argparse
import json

import leap

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--device", default="auto")
parser.add_argument("--json")
args = parser.parse_args()

(x_train, y_train), (x_test, y_test) = leap.datasets.fashion_mnist.load_data()
model = leap.Sequential([leap.layers.Dense(128, activation="relu", input_shape=(784,)),
                         leap.layers.Dense(10)], device=args.device)
model.compile(optimizer=leap.optimizers.Adam(1e-3),
              loss=leap.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=64,
                    validation_data=(x_test, y_test), verbose=2)
loss, accuracy = model.evaluate(x_test, y_test)
print(f"test accuracy {accuracy:.4f}; {model.training_path}")
if args.json:
    with open(args.json, "w") as f:
        json.dump({"us_per_step": history.history["us_per_step"], "seconds": history.history["seconds"],
                   "test_accuracy": accuracy, "training_path": model.training_path}, f)
