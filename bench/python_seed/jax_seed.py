"""The seed workload in JAX (jit-compiled step, Adam written out as torch.optim.Adam
computes it, PyTorch's initialisation), for the GPU machine where Keras 3 is not carried.
usage: jax_seed.py [--epochs 10]"""
import argparse
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import idx_files  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=10)
args = parser.parse_args()

data = os.environ.get("LEAP_DATA_DIR", "/usr/share/datasets/fashion-mnist")
x = jnp.asarray(idx_files.images(data, "train-images-idx3-ubyte"))
y = jnp.asarray(idx_files.labels(data, "train-labels-idx1-ubyte").astype(np.int32))
x_test = jnp.asarray(idx_files.images(data, "t10k-images-idx3-ubyte"))
y_test = jnp.asarray(idx_files.labels(data, "t10k-labels-idx1-ubyte").astype(np.int32))


def linear(key, fan_in, fan_out):
    bound = 1 / np.sqrt(fan_in)
    k1, k2 = jax.random.split(key)
    return (jax.random.uniform(k1, (fan_out, fan_in), minval=-bound, maxval=bound),
            jax.random.uniform(k2, (fan_out,), minval=-bound, maxval=bound))


k1, k2 = jax.random.split(jax.random.PRNGKey(0))
params = [linear(k1, 784, 128), linear(k2, 128, 10)]


def logits_of(params, images):
    (w1, b1), (w2, b2) = params
    return jnp.maximum(images @ w1.T + b1, 0) @ w2.T + b2


def loss_of(params, images, labels):
    logits = logits_of(params, images)
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1))


@jax.jit
def step(params, m, v, t, images, labels):
    loss, grads = jax.value_and_grad(loss_of)(params, images, labels)
    m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, grads)
    v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, grads)
    correction1, correction2 = 1 - 0.9 ** t, 1 - 0.999 ** t
    params = jax.tree_util.tree_map(
        lambda p, m, v: p - 1e-3 / correction1 * m / (jnp.sqrt(v) / jnp.sqrt(correction2) + 1e-8), params, m, v)
    return params, m, v, loss


m = jax.tree_util.tree_map(jnp.zeros_like, params)
v = jax.tree_util.tree_map(jnp.zeros_like, params)
t, key = 0, jax.random.PRNGKey(1)
for epoch in range(args.epochs):
    key, shuffle = jax.random.split(key)
    order = jax.random.permutation(shuffle, len(x))
    for begin in range(0, len(x), 64):
        index = order[begin:begin + 64]
        t += 1
        params, m, v, loss = step(params, m, v, t, x[index], y[index])
    accuracy = float(jnp.mean(jnp.argmax(logits_of(params, x_test), 1) == y_test))
    print(f"epoch {epoch + 1}: loss {float(loss):.4f}, test accuracy {accuracy:.4f}", flush=True)
