"""leap serve against a FastAPI + uvicorn + PyTorch server of the same weights (bench/fastapi_server.py),
both driven by the same load generator (wrk with bench/serve_post.lua) with the same Open Inference
Protocol request, at 1 client and at 64 concurrent clients: requests/s, p50/p99 latency and CPU
time per request (the servers' processes, from /proc). Beside them, the floor: leap serve's HTTP
stack answering a fixed body (bench_serve_floor), and with --floor-httplib the same on cpp-httplib. Prints a table with PASS/FAIL against the targets
and writes bench/results/DATE-DEVICE-serve.txt and .json.

Targets: at 64 clients, >= 10x the FastAPI server's requests/s at a lower p99; at 1 client, p50
under 50 us for batch 1. With --device cuda: also leap serve --max-batch 1024 under concurrent
clients sending --gpu-rows rows a request, >= 1 million predictions a second.

usage: python3 bench/serve_bench.py --leap build/leap --floor build/bench/bench_serve_floor
                                    [--floor-httplib build/bench/bench_serve_floor_httplib]
                                    [--device cpu|cuda] [--duration 5] [--wrk wrk] [--out bench/results]"""
import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import safetensors_io  # noqa: E402

SPEC = "784-128-10"
CPU_TARGET_SPEEDUP, CPU_TARGET_P50_US, GPU_TARGET_PREDICTIONS = 10.0, 50.0, 1e6


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, process, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a server exited with {process.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port}")


def process_tree(pid):
    """pid and its descendants (uvicorn's workers)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_seconds(pid):
    total = 0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def run_wrk(wrk, port, body_file, path, clients, threads, duration):
    body_file, *json_length = body_file.split(":")  # FILE[:JSON_LENGTH] (binary tensor data)
    command = [wrk, f"-t{threads}", f"-c{clients}", f"-d{duration}s", "--latency", "-s",
               os.path.join(HERE, "serve_post.lua"), f"http://127.0.0.1:{port}", "--", body_file, path] + json_length
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def measure(name, command, port, wrk, body_file, path, loads, duration, rows=1):
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows_out = []
    try:
        wait_for_port(port, process)
        run_wrk(wrk, port, body_file, path, 8, 1, 1)  # warm up
        for clients, threads in loads:
            before = cpu_seconds(process.pid)
            result = run_wrk(wrk, port, body_file, path, clients, threads, duration)
            used = cpu_seconds(process.pid) - before
            seconds = result["duration_us"] / 1e6
            result.update(server=name, clients=clients, rows=rows, requests_per_s=result["requests"] / seconds,
                          predictions_per_s=result["requests"] * rows / seconds,
                          cpu_us_per_request=used * 1e6 / max(result["requests"], 1))
            print(f"{name:>13} {clients:>3} clients: {result['requests_per_s']:>10.0f} req/s  p50 {result['p50_us']:>7} us"
                  f"  p99 {result['p99_us']:>8} us  {result['cpu_us_per_request']:>7.1f} CPU us/req"
                  f"  ({result['non_2xx']} non-2xx, {result['socket_errors']} socket errors)", flush=True)
            rows_out.append(result)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    return rows_out


def body(images, datatype="UINT8"):
    return json.dumps({"inputs": [{"name": "input", "shape": list(images.shape), "datatype": datatype,
                                   "data": images.reshape(-1).tolist()}],
                       "outputs": [{"name": "logits"}]})


def device_name(device):
    if device == "cuda":
        try:
            return subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                                  text=True, check=True).stdout.strip().splitlines()[0]
        except (OSError, subprocess.CalledProcessError, IndexError):
            return "unknown GPU"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def peer_available():
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--leap", required=True)
    parser.add_argument("--floor", required=True)
    parser.add_argument("--floor-httplib", help="bench_serve_floor_httplib: the floor on cpp-httplib, for the choice of library")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    parser.add_argument("--python", default=sys.executable, help="the interpreter of the FastAPI peer")
    parser.add_argument("--gpu-rows", type=int, default=256, help="rows a request in the GPU throughput run")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args()
    cores = os.cpu_count()
    wrk_threads = max(1, min(cores // 2, 8))
    loads = [(1, 1), (64, wrk_threads)]
    stamp = datetime.datetime.now(datetime.timezone.utc)
    results, verdicts = [], []
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        weights = os.path.join(tmp, "model.safetensors")
        safetensors_io.save_file({"0.weight": rng.normal(0, 0.05, (128, 784)).astype(np.float32),
                                  "0.bias": np.zeros(128, np.float32),
                                  "2.weight": rng.normal(0, 0.1, (10, 128)).astype(np.float32),
                                  "2.bias": np.zeros(10, np.float32)}, weights)
        one = os.path.join(tmp, "one.json")
        with open(one, "w") as out:
            out.write(body(rng.integers(0, 256, (1, 784), dtype=np.uint8)))
        path = "/v2/models/fashion/infer"
        print(f"{SPEC}, batch 1 (UINT8 image, JSON), {args.duration} s a load, wrk {wrk_threads} threads at 64 clients, "
              f"{cores} cores, {args.device} ({device_name(args.device)})", flush=True)
        port = free_port()
        results += measure("floor", [args.floor, str(port), "64"], port, args.wrk, one, path, loads, args.duration)
        if args.floor_httplib:
            port = free_port()
            results += measure("floor-httplib", [args.floor_httplib, str(port), "64"], port, args.wrk, one, path, loads,
                               args.duration)
        port = free_port()
        leap = [args.leap, "serve", "--load", weights, "--model", SPEC, "--name", "fashion", "--port", str(port),
                "--device", args.device, "--threads", "64"]
        results += measure("leap", leap, port, args.wrk, one, path, loads, args.duration)
        if peer_available() or args.python != sys.executable:
            port = free_port()
            peer = [args.python, os.path.join(HERE, "fastapi_server.py"), "--weights", weights, "--model", SPEC,
                    "--port", str(port), "--workers", str(cores), "--device", args.device]
            results += measure("fastapi", peer, port, args.wrk, one, path, loads, args.duration)
        else:
            print("FastAPI peer: fastapi/uvicorn/torch not importable here; its targets are not judged", flush=True)
        if args.device == "cuda":
            # Batched requests in the binary tensor data extension (as Triton's clients send them):
            # 784 bytes an image instead of some 2,800 of JSON.
            images = rng.integers(0, 256, (args.gpu_rows, 784), dtype=np.uint8)
            header = json.dumps({"inputs": [{"name": "input", "shape": list(images.shape), "datatype": "UINT8",
                                             "parameters": {"binary_data_size": images.size}}],
                                 "outputs": [{"name": "logits", "parameters": {"binary_data": True}}]}).encode()
            many = os.path.join(tmp, "many.bin")
            with open(many, "wb") as out:
                out.write(header + images.tobytes())
            many += f":{len(header)}"
            port = free_port()
            batched = leap + ["--max-batch", "1024", "--max-delay-us", "500"]
            batched[batched.index("--port") + 1] = str(port)
            results += measure("leap-gpu", batched, port, args.wrk, many, path, [(64, wrk_threads)], args.duration,
                               rows=args.gpu_rows)

    def get(server, clients):
        return next((r for r in results if r["server"] == server and r["clients"] == clients), None)
    leap64, peer64, leap1, floor1 = get("leap", 64), get("fastapi", 64), get("leap", 1), get("floor", 1)
    if peer64:
        speedup = leap64["requests_per_s"] / peer64["requests_per_s"]
        verdicts.append((speedup >= CPU_TARGET_SPEEDUP and leap64["p99_us"] < peer64["p99_us"],
                         f"64 clients: leap {speedup:.1f}x the FastAPI server's requests/s (target >= {CPU_TARGET_SPEEDUP:g}x), "
                         f"p99 {leap64['p99_us']} us against {peer64['p99_us']} us (target lower)"))
    verdicts.append((leap1["p50_us"] < CPU_TARGET_P50_US,
                     f"1 client: leap p50 {leap1['p50_us']} us (target < {CPU_TARGET_P50_US:g} us; "
                     f"the HTTP floor's p50 {floor1['p50_us']} us)"))
    gpu = get("leap-gpu", 64)
    if gpu:
        verdicts.append((gpu["predictions_per_s"] >= GPU_TARGET_PREDICTIONS,
                         f"GPU, 64 clients x {args.gpu_rows} rows a request, --max-batch 1024: "
                         f"{gpu['predictions_per_s']:,.0f} predictions/s (target >= {GPU_TARGET_PREDICTIONS:,.0f})"))
    if any(r["non_2xx"] or r["socket_errors"] for r in results if r["server"].startswith("leap")):
        verdicts.append((False, "some of leap's requests failed (non-2xx or socket errors): see the table"))
    for passed, text in verdicts:
        print(("PASS  " if passed else "FAIL  ") + text, flush=True)

    label = "cpu" if args.device == "cpu" else device_name("cuda").split()[-1].lower().replace(" ", "")
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"{stamp:%Y-%m-%d}-{label}-serve")
    load = os.getloadavg()[0]  # other work on the machine inflates every figure alike
    report = {"date": stamp.isoformat(timespec="seconds"), "device": args.device, "device_name": device_name(args.device),
              "cores": cores, "load_average_1min": load, "model": SPEC, "duration_s": args.duration, "results": results,
              "verdicts": [{"pass": p, "what": t} for p, t in verdicts]}
    with open(stem + ".json", "w") as out:
        json.dump(report, out, indent=1)
    with open(stem + ".txt", "w") as out:
        out.write(f"# leap serve against FastAPI + uvicorn + PyTorch, {report['date']}, {args.device}: "
                  f"{report['device_name']}, {cores} cores, load average {load:.1f} at the end; wrk, {SPEC}, "
                  f"{args.duration} s a load; CPU us/req: the server's processes\n")
        out.write(f"{'server':>13} {'clients':>7} {'rows':>5} {'req/s':>10} {'pred/s':>11} {'p50 us':>7} {'p99 us':>7} "
                  f"{'CPU us/req':>10} {'failed':>6}\n")
        for r in results:
            out.write(f"{r['server']:>13} {r['clients']:>7} {r['rows']:>5} {r['requests_per_s']:>10.0f} "
                      f"{r['predictions_per_s']:>11.0f} {r['p50_us']:>7} {r['p99_us']:>7} {r['cpu_us_per_request']:>10.1f} "
                      f"{r['non_2xx'] + r['socket_errors']:>6}\n")
        for passed, text in verdicts:
            out.write(("PASS  " if passed else "FAIL  ") + text + "\n")
    print("wrote", stem + ".txt")
    return 0 if all(p for p, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
