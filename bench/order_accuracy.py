"""Does leap's shuffle cost accuracy? PyTorch trains the seed MLP (784-128-10, Adam 1e-3, batch
64, the CPU tensor loop) once with its own torch.randperm orders and once with leap's epoch
orders (the samples sorted by shuffle_key(epoch seed, sample), src/shuffle_key.h, the epoch
seed of DataLoader::epoch_seed), the same initial weights for a seed in both arms; the mean test
accuracy of each arm over the seeds, with its standard error. A seed a process, one thread each.

usage: /usr/bin/python3 bench/order_accuracy.py [--seeds 100-139] [--epochs 3]"""
import argparse
import multiprocessing
import os
import statistics

import numpy as np

import mlp_peers as peers

MASK = (1 << 64) - 1


def splitmix64(x):
    """splitmix64 on numpy uint64 arrays (wrapping arithmetic), as src/shuffle_key.h."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def leap_order(seed, epoch, count):
    """Epoch `epoch`'s order in leap (its epochs count from 0)."""
    epoch_seed = np.uint64((seed * 0x9E3779B97F4A7C15 + epoch + 1) & MASK)
    with np.errstate(over="ignore"):
        keys = splitmix64(splitmix64(epoch_seed) + np.arange(count, dtype=np.uint64))
    return np.argsort(keys, kind="stable")


def accuracy(job):
    data_dir, seed, epochs, orders = job
    import torch
    torch.set_num_threads(1)
    leap_orders = lambda epoch, n: torch.from_numpy(leap_order(seed, epoch, n).astype(np.int64))  # noqa: E731
    return peers.torch_cpu_accuracy(peers.load_data(data_dir), [784, 128, 10], 64, epochs, seed,
                                    leap_orders if orders == "leap" else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="100-139", help="FIRST-LAST")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    first, _, last = args.seeds.partition("-")
    seeds = range(int(first), int(last or first) + 1)
    if len(seeds) < 2:
        raise SystemExit("--seeds: at least two seeds, e.g. 100-139")
    data_dir = args.data or peers.default_data_dir()
    with multiprocessing.get_context("spawn").Pool(os.cpu_count() or 1) as pool:
        results = pool.map(accuracy, [(data_dir, s, args.epochs, arm) for arm in ("leap", "randperm") for s in seeds])
    print(f"PyTorch, 784-128-10, {args.epochs} epochs, seeds {args.seeds}: test accuracy, mean +- standard error")
    for arm, values in (("leap's epoch orders", results[:len(seeds)]), ("torch.randperm", results[len(seeds):])):
        print(f"  {arm:<20} {statistics.mean(values):.4f} +- {statistics.stdev(values) / len(values) ** 0.5:.4f}")


if __name__ == "__main__":
    main()
