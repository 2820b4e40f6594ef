"""The peer of `leap serve` in bench/serve_bench.py: the way one would put a PyTorch model behind
an endpoint without a serving framework. FastAPI + uvicorn + PyTorch (Debian's python3-fastapi,
python3-uvicorn, python3-torch) answering the same Open Inference Protocol request
(POST /v2/models/{name}/infer, JSON tensors, FP32 or UINT8) with the same weights.

usage: python3 bench/fastapi_server.py --weights W.safetensors [--model 784-128-10] [--port P]
                                       [--workers N] [--device cpu|cuda]"""
import argparse
import os
import sys

import numpy as np
import torch
from fastapi import FastAPI, HTTPException, Request
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import safetensors_io  # noqa: E402


def build_model():
    widths = [int(w) for w in os.environ["SERVE_PEER_MODEL"].split("-")]
    layers = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    model.load_state_dict(safetensors_io.load_torch(os.environ["SERVE_PEER_WEIGHTS"]), strict=True)
    return model.eval().to(os.environ.get("SERVE_PEER_DEVICE", "cpu")), widths[0]


torch.set_num_threads(1)  # one per worker process: the workers share the cores
app = FastAPI()
model = None
features = 0


@app.on_event("startup")
def load():
    global model, features
    model, features = build_model()


@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: Request):
    body = await request.json()
    try:
        tensor = body["inputs"][0]
        rows = int(tensor["shape"][0])
        dtype = np.uint8 if tensor["datatype"] == "UINT8" else np.float32
        x = np.asarray(tensor["data"], dtype=dtype).reshape(rows, features)
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise HTTPException(status_code=400, detail=str(error))
    x = torch.from_numpy(x.astype(np.float32) / 255 if dtype == np.uint8 else x)
    with torch.no_grad():
        logits = model(x.to(next(model.parameters()).device)).cpu().numpy()
    return {"model_name": name, "model_version": "1",
            "outputs": [{"name": "logits", "datatype": "FP32", "shape": list(logits.shape),
                         "data": logits.reshape(-1).tolist()}]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", required=True)
    parser.add_argument("--model", default="784-128-10")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    os.environ.update(SERVE_PEER_WEIGHTS=os.path.abspath(args.weights), SERVE_PEER_MODEL=args.model,
                      SERVE_PEER_DEVICE=args.device)
    import uvicorn
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    uvicorn.run("fastapi_server:app", host="127.0.0.1", port=args.port, workers=args.workers,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
