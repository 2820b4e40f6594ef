"""PyTorch's batch-1 inference latency for an MLP (default 784-128-10), the peer of
build/bench/bench_latency in the same run: eager on the CPU under no_grad, and on the GPU
eager and as a CUDA graph (static input filled from pinned host memory, replay, copy out).
Each call takes a host array in and returns host logits. Prints p50/p99 and writes JSON
to --json.

usage: python3 bench/latency_peers.py [--iterations N] [--json FILE]"""
import argparse
import json
import time

import numpy as np
import torch
from torch import nn


def measure(call, iterations):
    rng = np.random.default_rng(1)
    samples = []
    for i in range(-iterations // 10, iterations):  # the first tenth warms up
        x = rng.random((1, 784), dtype=np.float32)
        start = time.perf_counter()
        call(x)
        if i >= 0:
            samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return {"p50_us": samples[len(samples) // 2], "p99_us": samples[len(samples) * 99 // 100],
            "mean_us": sum(samples) / len(samples)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)).eval()
    results = {}
    with torch.no_grad():
        results["pytorch cpu eager"] = measure(lambda x: model(torch.from_numpy(x)).numpy(), args.iterations)
        if torch.cuda.is_available():
            gpu = model.cuda()
            results["pytorch cuda eager"] = measure(
                lambda x: gpu(torch.from_numpy(x).cuda()).cpu().numpy(), args.iterations)
            static_in = torch.zeros(1, 784, device="cuda")
            pinned_in = torch.zeros(1, 784).pin_memory()
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(3):
                    gpu(static_in)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_out = gpu(static_in)

            def graphed(x):
                pinned_in.numpy()[:] = x
                static_in.copy_(pinned_in, non_blocking=True)
                graph.replay()
                return static_out.cpu().numpy()

            results["pytorch cuda graph"] = measure(graphed, args.iterations)
    print(f"{'peer':30} {'p50 us':>9} {'p99 us':>9} {'mean us':>9}")
    for name, r in results.items():
        print(f"{name:30} {r['p50_us']:9.2f} {r['p99_us']:9.2f} {r['mean_us']:9.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"benchmark": "latency_peers", "torch": torch.__version__,
                       "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
                       "iterations": args.iterations, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
