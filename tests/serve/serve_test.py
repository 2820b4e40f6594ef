"""leap serve against the Open Inference Protocol (KServe v2 REST), with a client written from
the protocol's description alone (urllib, http.client and raw sockets): every endpoint, logits
equal to `leap predict`'s (both within 1e-6 of the float64 logits), a corpus of malformed requests answered with the right codes while
good requests keep being answered correctly, a burst far above capacity refused with 503 and
Retry-After within a memory bound, and SIGTERM during load losing no accepted request.
All traffic is on 127.0.0.1, bounded in count and time (about 30 s)."""
import argparse
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import safetensors_io  # noqa: E402

SPEC = "784-128-10"
FEATURES, CLASSES = 784, 10
# Logits against the float64 forward pass of the same weights, relative to the largest logit
# (>= 1). leap predict (OpenBLAS) and the server (16- or 8-lane SIMD sums, by CPU) add the 784
# products in different orders: each lands within 1e-6 of the exact logits, so the two agree
# within 2e-6, while two fp32 orders can differ by more than 1e-6 (sequential float32 sums of
# these weights land up to 7e-7 from the exact logits).
TOLERANCE = 1e-6
# VmRSS of the server during the overload burst (the sanitizer build's shadow memory and
# quarantine raise it: tests/CMakeLists.txt sets SERVE_TEST_MEMORY_BOUND_MB there).
MEMORY_BOUND_MB = int(os.environ.get("SERVE_TEST_MEMORY_BOUND_MB", "256"))
failures = []


def fail(message):
    print("FAIL:", message, flush=True)
    failures.append(message)


def expect(condition, message):
    if not condition:
        fail(message)
    return condition


# ---- fixtures: weights, images, and leap predict's logits -----------------------------------

def write_weights(path, seed):
    """Writes random weights of SPEC to `path` and returns them."""
    rng = np.random.default_rng(seed)
    tensors = {"0.weight": rng.normal(0, 0.05, (128, FEATURES)).astype(np.float32),
               "0.bias": rng.normal(0, 0.05, 128).astype(np.float32),
               "2.weight": rng.normal(0, 0.1, (CLASSES, 128)).astype(np.float32),
               "2.bias": rng.normal(0, 0.1, CLASSES).astype(np.float32)}
    safetensors_io.save_file(tensors, path)
    return tensors


def exact_logits(tensors, images):
    """The network's logits for UINT8 images, in float64 from the float32 inputs the engine sees."""
    x = (images.astype(np.float32) / np.float32(255)).astype(np.float64)
    f64 = {name: value.astype(np.float64) for name, value in tensors.items()}
    hidden = np.maximum(x @ f64["0.weight"].T + f64["0.bias"], 0)
    return hidden @ f64["2.weight"].T + f64["2.bias"]


def write_idx_images(path, images):
    with open(path, "wb") as out:
        out.write(struct.pack(">IIII", 0x803, len(images), 28, 28))
        out.write(images.astype(np.uint8).tobytes())


def predict_logits(leap, weights, images_file, tmp):
    logits_file = os.path.join(tmp, "logits.safetensors")
    subprocess.run([leap, "predict", "--load", weights, "--model", SPEC, "--images", images_file,
                    "--device", "cpu", "--logits", logits_file, "-o", os.devnull], check=True)
    return safetensors_io.load_file(logits_file)["logits"]


# ---- the server ------------------------------------------------------------------------------

class Server:
    def __init__(self, leap, args):
        self.process = subprocess.Popen([leap, "serve", "--port", "0", "--device", "cpu"] + args,
                                        stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.port = None
        listening = threading.Event()

        def read():
            for line in self.process.stderr:
                self.lines.append(line.rstrip())
                found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
                if found:
                    self.port = int(found.group(1))
                    listening.set()
        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        if not listening.wait(30):
            self.process.kill()
            raise SystemExit("leap serve did not start:\n" + "\n".join(self.lines))
        self.url = f"http://127.0.0.1:{self.port}"

    def rss_mb(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0

    def stop(self, timeout=30):
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self.reader.join(5)
        return code


def call(url, method="GET", body=None, timeout=10):
    """(status, headers, parsed JSON or text) of one request through urllib."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, headers, text = response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        status, headers, text = error.code, error.headers, error.read().decode()
    try:
        return status, headers, json.loads(text)
    except ValueError:
        return status, headers, text


def infer_body(rows, datatype="UINT8", outputs=None, nested=False, request_id=None):
    rows = np.asarray(rows)
    data = rows.tolist() if nested else rows.reshape(-1).tolist()
    body = {"inputs": [{"name": "input", "shape": [len(rows), FEATURES], "datatype": datatype, "data": data}]}
    if outputs is not None:
        body["outputs"] = [{"name": name} for name in outputs]
    if request_id is not None:
        body["id"] = request_id
    return body


def output(answer, name):
    for tensor in answer["outputs"]:
        if tensor["name"] == name:
            return tensor
    return None


def close_enough(logits, reference):
    scale = max(1.0, float(np.abs(reference).max()))
    return float(np.abs(np.asarray(logits, dtype=np.float64) - reference).max()) <= TOLERANCE * scale


# ---- the protocol ----------------------------------------------------------------------------

def check_protocol(server, images, reference):
    url = server.url
    status, _, body = call(url + "/v2/health/live")
    expect(status == 200 and body == {"live": True}, f"live: {status} {body}")
    status, _, body = call(url + "/v2/health/ready")
    expect(status == 200 and body == {"ready": True}, f"ready: {status} {body}")
    status, _, body = call(url + "/v2")
    expect(status == 200 and body.get("name") == "leap" and "version" in body and "extensions" in body,
           f"server metadata: {status} {body}")
    for name in ("fashion", "second"):
        status, _, body = call(f"{url}/v2/models/{name}")
        expect(status == 200 and body.get("name") == name and body.get("versions") == ["1"]
               and body.get("platform"), f"model metadata of {name}: {status} {body}")
        expect(body.get("inputs") == [{"name": "input", "datatype": "FP32", "shape": [-1, FEATURES]}],
               f"metadata inputs: {body.get('inputs')}")
        outputs = {o["name"]: o for o in body.get("outputs", [])}
        expect(outputs.get("logits") == {"name": "logits", "datatype": "FP32", "shape": [-1, CLASSES]}
               and outputs.get("class_ids", {}).get("datatype") == "INT64", f"metadata outputs: {outputs}")
        status, _, body = call(f"{url}/v2/models/{name}/ready")
        expect(status == 200 and body == {"name": name, "ready": True}, f"model ready: {status} {body}")
    status, _, body = call(url + "/v2/models/fashion/versions/1")
    expect(status == 200 and body.get("name") == "fashion", f"versioned metadata: {status}")
    status, _, body = call(url + "/v2/models/nosuch")
    expect(status == 404 and "nosuch" in body.get("error", ""), f"unknown model metadata: {status} {body}")
    status, _, body = call(url + "/v2/models/nosuch/ready")
    expect(status == 404, f"unknown model ready: {status}")

    # The whole batch at once, as UINT8 images: the logits of leap predict.
    status, _, body = call(url + "/v2/models/fashion/infer", "POST", infer_body(images, request_id="batch-64"))
    if expect(status == 200, f"infer UINT8 batch: {status} {body}"):
        logits = output(body, "logits")
        expect(body.get("model_name") == "fashion" and body.get("id") == "batch-64", f"infer answer: {body.keys()}")
        expect(logits["datatype"] == "FP32" and logits["shape"] == [len(images), CLASSES], f"logits tensor: {logits['shape']}")
        expect(close_enough(np.reshape(logits["data"], reference.shape), reference),
               "batch of 64: logits differ from the float64 logits")
        ids = output(body, "class_ids")
        expect(ids is not None and ids["shape"] == [len(images)] and ids["data"] == reference.argmax(1).tolist(),
               "class_ids differ from the logits' argmax")
    # One image a request (the direct path), FP32 and nested, each with its own answer.
    for i in range(8):
        floats = (images[i:i + 1].astype(np.float32) / np.float32(255)).astype(np.float64)
        status, _, body = call(url + "/v2/models/fashion/infer", "POST",
                               infer_body(floats, "FP32", ["logits"], nested=i % 2 == 1))
        if expect(status == 200, f"infer FP32 row {i}: {status} {body}"):
            expect([o["name"] for o in body["outputs"]] == ["logits"], "outputs asked for: logits only")
            expect(close_enough(np.reshape(output(body, "logits")["data"], (1, CLASSES)), reference[i:i + 1]),
                   f"row {i}: logits differ from the float64 logits")
    status, _, body = call(url + "/v2/models/fashion/versions/1/infer", "POST", infer_body(images[:3], outputs=["class_ids"]))
    expect(status == 200 and output(body, "class_ids")["data"] == reference[:3].argmax(1).tolist()
           and output(body, "logits") is None, f"class ids alone: {status} {body}")
    # 1,024 rows in one request (a body over 1 MB, run in chunks of --max-batch rows).
    tiled = np.tile(images, (16, 1))
    status, _, body = call(url + "/v2/models/fashion/infer", "POST", infer_body(tiled, outputs=["logits"]))
    expect(status == 200 and close_enough(np.reshape(output(body, "logits")["data"], (len(tiled), CLASSES)),
                                          np.tile(reference, (16, 1))), f"1,024 rows in one request: {status}")
    # The binary tensor data extension (Triton's clients use it by default): the JSON, then the
    # input's raw bytes; logits back as raw little-endian FP32 after the answer's JSON.
    header = json.dumps({"inputs": [{"name": "input", "shape": [len(images), FEATURES], "datatype": "UINT8",
                                     "parameters": {"binary_data_size": images.size}}],
                         "outputs": [{"name": "logits", "parameters": {"binary_data": True}},
                                     {"name": "class_ids"}]}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("POST", "/v2/models/fashion/infer", header + images.tobytes(),
                       {"Inference-Header-Content-Length": str(len(header)), "Content-Type": "application/octet-stream"})
    response = connection.getresponse()
    raw = response.read()
    length = int(response.getheader("Inference-Header-Content-Length") or 0)
    if expect(response.status == 200 and 0 < length < len(raw), f"binary request: {response.status} {raw[:200]}"):
        answer = json.loads(raw[:length])
        logits = output(answer, "logits")
        expect(logits["parameters"]["binary_data_size"] == len(raw) - length == len(images) * CLASSES * 4,
               f"binary logits size: {logits}")
        expect(close_enough(np.frombuffer(raw[length:], "<f4").reshape(len(images), CLASSES), reference),
               "binary logits differ from the float64 logits")
        expect(output(answer, "class_ids")["data"] == reference.argmax(1).tolist(), "class ids beside binary logits")
    connection.request("POST", "/v2/models/fashion/infer", header + images.tobytes()[:-1],
                       {"Inference-Header-Content-Length": str(len(header))})
    response = connection.getresponse()
    expect(response.status == 400 and b"binary_data_size" in response.read(), "a short binary input: 400")
    connection.close()
    # A second model is served beside the first, with its own weights.
    status, _, body = call(url + "/v2/models/second/infer", "POST", infer_body(images[:2]))
    expect(status == 200 and not close_enough(np.reshape(output(body, "logits")["data"], (2, CLASSES)), reference[:2]),
           f"the second model answers with its own weights: {status}")

    status, headers, text = call(url + "/metrics")
    expect(status == 200 and "text/plain" in headers.get("Content-Type", ""), f"metrics: {status}")
    for needle in ('leap_requests_total{code="200"}', 'leap_requests_total{code="404"}', "leap_errors_total",
                   "leap_request_duration_seconds_bucket", "leap_batch_size_bucket", "leap_queue_depth",
                   "leap_predictions_total"):
        expect(needle in text, f"metrics lack {needle}")


# ---- bad input while good requests keep being answered ---------------------------------------

def raw_exchange(port, payload, timeout=8, pause_after=None):
    """Sends bytes on a fresh connection; the status code answered, or None when the server
    closed the connection without one."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            for part in payload if isinstance(payload, list) else [payload]:
                sock.sendall(part)
            if pause_after:
                time.sleep(pause_after)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    found = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    return int(found.group(1)) if found else None


def post(path, body, extra=b""):
    body = body if isinstance(body, bytes) else body.encode()
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n").encode() + extra + b"\r\n" + body


def malformed_corpus():
    """(what, request bytes, the codes that are right)."""
    infer = "/v2/models/fashion/infer"
    good = infer_body(np.zeros((1, FEATURES), np.uint8))

    def with_input(**changes):
        body = json.loads(json.dumps(good))
        body["inputs"][0].update(changes)
        return post(infer, json.dumps(body))
    zeros = [0] * FEATURES
    corpus = [
        ("truncated JSON", post(infer, json.dumps(good)[:100]), {400}),
        ("empty body", post(infer, ""), {400}),
        ("not JSON", post(infer, "hello"), {400}),
        ("top-level array", post(infer, "[1,2,3]"), {400}),
        ("top-level string", post(infer, '"inputs"'), {400}),
        ("no inputs", post(infer, "{}"), {400}),
        ("inputs an object", post(infer, '{"inputs": {}}'), {400}),
        ("inputs empty", post(infer, '{"inputs": []}'), {400}),
        ("two inputs", post(infer, json.dumps({"inputs": good["inputs"] * 2})), {400}),
        ("input without name", post(infer, json.dumps({"inputs": [{k: v for k, v in good["inputs"][0].items() if k != "name"}]})), {400}),
        ("unknown input name", with_input(name="pixels"), {400}),
        ("no shape", post(infer, json.dumps({"inputs": [{k: v for k, v in good["inputs"][0].items() if k != "shape"}]})), {400}),
        ("shape of rank 1", with_input(shape=[FEATURES]), {400}),
        ("shape of the wrong width", with_input(shape=[1, 783]), {400}),
        ("shape of zero rows", with_input(shape=[0, FEATURES]), {400}),
        ("negative shape", with_input(shape=[-1, FEATURES]), {400}),
        ("huge shape", with_input(shape=[10**12, FEATURES]), {400}),
        ("shape past 2^64", with_input(shape=[2**70, FEATURES]), {400}),
        ("fractional shape", with_input(shape=[1.5, FEATURES]), {400}),
        ("datatype INT32", with_input(datatype="INT32"), {400}),
        ("datatype a number", with_input(datatype=7), {400}),
        ("too few values", with_input(data=zeros[:-1]), {400}),
        ("too many values", with_input(data=zeros + [0]), {400}),
        ("NaN strings", with_input(datatype="FP32", data=["NaN"] * FEATURES), {400}),
        ("null values", with_input(data=[None] * FEATURES), {400}),
        ("objects as values", with_input(data=[{}] * FEATURES), {400}),
        ("FP32 overflow", with_input(datatype="FP32", data=[1e39] * FEATURES), {400}),
        ("UINT8 of 256", with_input(data=[256] * FEATURES), {400}),
        ("UINT8 of -1", with_input(data=[-1] * FEATURES), {400}),
        ("UINT8 of 0.5", with_input(data=[0.5] * FEATURES), {400}),
        ("UINT8 past 2^63", with_input(data=[2**64 - 1] * FEATURES), {400}),
        ("unknown output", post(infer, json.dumps(dict(good, outputs=[{"name": "probabilities"}]))), {400}),
        ("outputs not an array", post(infer, json.dumps(dict(good, outputs="logits"))), {400}),
        ("id a number", post(infer, json.dumps(dict(good, id=5))), {400}),
        ("nested 200k deep", post(infer, "[" * 200000 + "]" * 200000), {400}),
        ("invalid UTF-8", post(infer, b'{"id": "\xff\xfe", "inputs": []}'), {400}),
        ("leading-zero number", post(infer, '{"inputs": [{"data": [01]}]}'), {400}),
        ("unknown model", post("/v2/models/nosuch/infer", json.dumps(good)), {404}),
        ("GET on infer", b"GET " + infer.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n", {404, 405}),
        ("unknown path", b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n", {404}),
        ("garbage request line", b"GARBAGE\r\n\r\n", {400, None}),
        ("binary header not a number", post(infer, json.dumps(good), b"Inference-Header-Content-Length: ten\r\n"), {400}),
        ("binary header past the body", post(infer, json.dumps(good), b"Inference-Header-Content-Length: 99999\r\n"), {400}),
    ]
    return corpus


def good_stream(port, images, reference, stop, counts):
    """Batch-1 requests on one keep-alive connection until told to stop, each checked."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    i = 0
    while not stop.is_set():
        row = i % len(images)
        connection.request("POST", "/v2/models/fashion/infer", json.dumps(infer_body(images[row:row + 1], outputs=["logits"])),
                           {"Content-Type": "application/json"})
        response = connection.getresponse()
        body = json.loads(response.read())
        if response.status == 200 and close_enough(np.reshape(body["outputs"][0]["data"], (1, CLASSES)), reference[row:row + 1]):
            counts["good"] += 1
        else:
            counts["bad"] += 1
        i += 1
    connection.close()


def check_bad_input(server, images, reference):
    stop, counts = threading.Event(), {"good": 0, "bad": 0}
    stream = threading.Thread(target=good_stream, args=(server.port, images, reference, stop, counts))
    stream.start()
    results = {}

    # Slow clients that never finish sending, alongside the rest (the read timeout drops them).
    def slow(name, payload):
        results[name] = raw_exchange(server.port, payload, timeout=15)
    slow_cases = {
        "slow client, body never finished": (post("/v2/models/fashion/infer", "{" + " " * 999)[:-900], {400, 408, None}),
        "slow client, headers never finished": (b"POST /v2/models/fashion/infer HTTP/1.1\r\nHost: x\r\n", {400, 408, None}),
    }
    slow_threads = [threading.Thread(target=slow, args=(name, payload)) for name, (payload, _) in slow_cases.items()]
    for thread in slow_threads:
        thread.start()
    corpus = malformed_corpus()
    for name, payload, codes in corpus:
        status = raw_exchange(server.port, payload)
        expect(status in codes, f"bad input '{name}': answered {status}, expected one of {sorted(codes, key=str)}")
    # 100 MB bodies: over the limit (8 MB here) by its length, and chunked without one.
    big = 100 << 20
    status = raw_exchange(server.port, [b"POST /v2/models/fashion/infer HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                        str(big).encode() + b"\r\n\r\n"] + [b" " * (1 << 20)] * 100)
    expect(status == 413, f"100 MB body: answered {status}, expected 413")
    chunk = b"%x\r\n" % (1 << 20) + b" " * (1 << 20) + b"\r\n"
    status = raw_exchange(server.port, [b"POST /v2/models/fashion/infer HTTP/1.1\r\nHost: x\r\n"
                                        b"Transfer-Encoding: chunked\r\n\r\n"] + [chunk] * 100 + [b"0\r\n\r\n"])
    expect(status == 413, f"100 MB chunked body: answered {status}, expected 413")
    for thread in slow_threads:
        thread.join(20)
    for name, (_, codes) in slow_cases.items():
        expect(results.get(name, "hung") in codes, f"{name}: answered {results.get(name, 'hung')}")
    stop.set()
    stream.join(20)
    print(f"bad input: {len(corpus) + 2 + len(slow_cases)} malformed requests; meanwhile {counts['good']} good "
          f"requests answered correctly, {counts['bad']} not", flush=True)
    expect(counts["bad"] == 0 and counts["good"] >= 20, f"the good stream: {counts}")
    expect(server.process.poll() is None, "the server died during the bad input")
    status, _, _ = call(server.url + "/v2/health/ready")
    expect(status == 200, "the server is not ready after the bad input")


# ---- overload --------------------------------------------------------------------------------

def check_overload(server, images, reference, clients=300):
    """Each client opens a connection, asks once and holds its connection a while: far more
    than the server's 8 threads and 8 waiting places."""
    codes, errors, lock = {}, [], threading.Lock()
    body = json.dumps(infer_body(images[:1], outputs=["logits"]))
    start = threading.Barrier(clients)

    def client():
        try:
            start.wait(10)
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
            connection.request("POST", "/v2/models/fashion/infer", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            answer = json.loads(response.read())
            with lock:
                codes[response.status] = codes.get(response.status, 0) + 1
            if response.status == 503:
                assert response.getheader("Retry-After") == "1", "503 without Retry-After: 1"
                assert "error" in answer
            elif response.status == 200:
                assert close_enough(np.reshape(answer["outputs"][0]["data"], (1, CLASSES)), reference[:1]), "wrong logits"
            time.sleep(0.5)
            connection.close()
        except Exception as error:  # noqa: BLE001 - every failure is reported
            with lock:
                errors.append(repr(error))
    threads = [threading.Thread(target=client) for _ in range(clients)]
    peak = 0.0
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        peak = max(peak, server.rss_mb())
        time.sleep(0.02)
    print(f"overload: {clients} clients at once: {codes}, {len(errors)} errors, server VmRSS peak {peak:.0f} MB "
          f"(bound {MEMORY_BOUND_MB})", flush=True)
    expect(not errors, f"overload: client errors {errors[:3]}")
    expect(codes.get(503, 0) > 0 and codes.get(200, 0) > 0 and set(codes) <= {200, 503}, f"overload codes: {codes}")
    expect(peak < MEMORY_BOUND_MB, f"overload: VmRSS {peak:.0f} MB over the bound")
    expect(server.process.poll() is None, "the server died in the burst")
    status, _, body = call(server.url + "/v2/models/fashion/infer", "POST", infer_body(images[:1]))
    expect(status == 200, f"after the burst: {status}")


# ---- SIGTERM during load -----------------------------------------------------------------------

def check_sigterm(leap, weights, images, reference, tmp):
    # Options from --config this time (the command line's --port and --device win over it).
    config = os.path.join(tmp, "serve.toml")
    with open(config, "w") as out:
        out.write(f'load = "{weights}"\nmodel = "{SPEC}"\nname = "fashion"\nmax-delay-us = 2000\nthreads = 16\n')
    server = Server(leap, ["--config", config])
    received, lost, lock, stop = {"n": 0}, [], threading.Lock(), threading.Event()

    def client(k):
        rows = 1 if k % 2 else 32  # the direct path and the batcher's queue
        body = json.dumps(infer_body(images[:rows], outputs=["logits"]))
        while not stop.is_set():
            try:
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
                connection.connect()
            except OSError:
                return  # no longer accepting: nothing was sent
            try:
                while True:
                    connection.request("POST", "/v2/models/fashion/infer", body, {"Content-Type": "application/json"})
                    try:
                        response = connection.getresponse()
                    except (http.client.RemoteDisconnected, ConnectionResetError):
                        break  # the server closed the idle keep-alive connection before reading it
                    answer = json.loads(response.read())
                    good = response.status == 200 and close_enough(
                        np.reshape(answer["outputs"][0]["data"], (rows, CLASSES)), reference[:rows])
                    with lock:
                        received["n"] += 1
                        if not good:
                            lost.append(f"status {response.status}")
            except ConnectionRefusedError:
                return  # reconnecting after the server's "Connection: close": no longer accepting
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                connection.close()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(12)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    # The batcher joined requests: some batches held more rows than one request's 32.
    _, _, metrics = call(server.url + "/metrics")
    buckets = dict(re.findall(r'leap_batch_size_bucket\{le="([^"]+)"\} (\d+)', metrics))
    expect(int(buckets.get("+Inf", 0)) > int(buckets.get("32", 0)),
           f"no batch joined several requests: {buckets}")
    code = server.stop()
    stop.set()
    for thread in threads:
        thread.join(20)
    answered = None
    for line in server.lines:
        found = re.search(r"\((\d+) in all", line)
        if found:
            answered = int(found.group(1))
    print(f"SIGTERM under load: exit {code}; the server answered {answered} requests, the clients received "
          f"{received['n']} and one metrics page, {len(lost)} wrong", flush=True)
    expect(code == 0, f"SIGTERM: exit code {code}")
    # The server's count holds the GET /metrics above as well.
    expect(answered is not None and answered == received["n"] + 1 and received["n"] > 50,
           f"SIGTERM: the server answered {answered} requests, the clients received {received['n']} (+1 metrics)")
    expect(not lost, f"SIGTERM: {lost[:3]}")


# ---- a model list from a TOML file ----------------------------------------------------------

def check_model_list(leap, weights, second, images, references, tmp):
    """Two models from one --config file's [[models]] list, each answering with its own logits;
    bad lists refused before the server listens, naming the file, the line and the entry."""
    config = os.path.join(tmp, "models.toml")
    with open(config, "w") as out:
        out.write(f'threads = 4\n\n[[models]]\nname = "first"\nload = "{weights}"\nmodel = "{SPEC}"\n\n'
                  f'[[models]]  # the spec defaults to {SPEC}\nname = "other"\nload = "{second}"\n')
    server = Server(leap, ["--config", config])
    try:
        for name, reference in zip(("first", "other"), references):
            status, _, body = call(f"{server.url}/v2/models/{name}")
            expect(status == 200 and body.get("name") == name, f"model list: metadata of {name}: {status} {body}")
            for rows in (images[:1], images[:5]):  # the direct path and a batch
                status, _, body = call(f"{server.url}/v2/models/{name}/infer", "POST", infer_body(rows, outputs=["logits"]))
                if expect(status == 200, f"model list: infer on {name}: {status} {body}"):
                    expect(close_enough(np.reshape(output(body, "logits")["data"], (len(rows), CLASSES)),
                                        reference[:len(rows)]),
                           f"model list: {name} does not answer with its own weights' logits")
        expect(not close_enough(references[0][:5], references[1][:5]), "model list: the two models' logits are alike")
        expect(server.stop() == 0, "model list: exit code after SIGTERM")
    finally:
        if server.process.poll() is None:
            server.process.kill()

    good = f'name = "first"\nload = "{weights}"\n'
    missing = os.path.join(tmp, "missing.safetensors")
    # (what, the list after a top-level line, the words the message must hold)
    bad_lists = [
        ("no load", f'[[models]]\n{good}[[models]]\nname = "other"\n',
         ["bad.toml:5:", "[[models]] entry 2 'other'", "no 'load'"]),
        ("no name", f'[[models]]\nload = "{second}"\n', ["bad.toml:2:", "[[models]] entry 1", "no 'name'"]),
        ("a name twice", f'[[models]]\n{good}[[models]]\n{good}',
         ["bad.toml:5:", "[[models]] entry 2", "the name 'first' is taken by the entry on line 2"]),
        ("an unreadable file", f'[[models]]\n{good}[[models]]\nname = "other"\nload = "{missing}"\n',
         ["bad.toml:5:", "[[models]] entry 2 'other'", "missing.safetensors", "does not exist"]),
        ("weights of another spec", f'[[models]]\n{good}model = "784-64-10"\n',
         ["bad.toml:2:", "[[models]] entry 1 'first'", "expected [64, 784]"]),
        ("an unknown key", f'[[models]]\n{good}weights = "x"\n',
         ["bad.toml:5:", "[[models]] entry 1", "unknown key 'weights'"]),
        ("a name not a string", f'[[models]]\nname = 7\nload = "{weights}"\n',
         ["bad.toml:3:", "'name' expects a string"]),
        ("--load beside the list", f'load = "{weights}"\n[[models]]\n{good}',
         ["bad.toml:3:", "give no --load, --model or --name beside it"]),
        ("another list's name", f'[[model]]\n{good}', ["bad.toml:2:", "reads no [[model]] list", "[[models]]"]),
    ]
    bad = os.path.join(tmp, "bad.toml")
    for what, text, words in bad_lists:
        with open(bad, "w") as out:
            out.write("threads = 4\n" + text)
        run = subprocess.run([leap, "serve", "--config", bad, "--port", "0", "--device", "cpu"],
                             capture_output=True, text=True, timeout=30)
        expect(run.returncode == 1 and "listening" not in run.stderr and all(w in run.stderr for w in words),
               f"bad model list, {what}: exit {run.returncode}, {run.stderr.strip()!r} lacks {words}")
    print(f"model list: two models from one TOML file; {len(bad_lists)} bad lists refused", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--leap", required=True)
    args = parser.parse_args()
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        weights, second = os.path.join(tmp, "a.safetensors"), os.path.join(tmp, "b.safetensors")
        tensors = write_weights(weights, 1)
        second_tensors = write_weights(second, 2)
        images = np.random.default_rng(3).integers(0, 256, (64, FEATURES)).astype(np.uint8)
        images_file = os.path.join(tmp, "images.idx")
        write_idx_images(images_file, images.reshape(-1, 28, 28))
        reference = exact_logits(tensors, images)
        second_reference = exact_logits(second_tensors, images)
        predicted = predict_logits(args.leap, weights, images_file, tmp).astype(np.float64)
        expect(close_enough(predicted, reference), "leap predict's logits differ from the float64 forward pass")
        server = Server(args.leap, ["--load", weights, "--model", SPEC, "--name", "fashion",
                                    "--load", second, "--name", "second", "--threads", "8", "--max-queue", "8",
                                    "--max-body-mb", "8", "--read-timeout", "2"])
        try:
            check_protocol(server, images, reference)
            check_bad_input(server, images, reference)
            check_overload(server, images, reference)
            code = server.stop()
            expect(code == 0, f"exit code after SIGTERM: {code}")
            expect(any("serve: 400" in line for line in server.lines), "no log line for the errors")
        finally:
            if server.process.poll() is None:
                server.process.kill()
        check_sigterm(args.leap, weights, images, reference, tmp)
        check_model_list(args.leap, weights, second, images, (reference, second_reference), tmp)
    print(f"serve test: {time.time() - started:.1f} s", flush=True)
    print("serve_protocol:", "FAILED" if failures else "passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
