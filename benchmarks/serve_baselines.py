"""The servers `benchmarks/serve.py` compares `kiln serve` with, one per process:

    tutorial  the seed's deployment example: FastAPI, a pydantic request body, one PyTorch
              forward per request (PyTorch's default threads, FastAPI's thread pool)
    onnx      FastAPI + ONNX Runtime, one `Bundle.predict` (one ORT call) per request
    litserve  LitServe with its batching (max_batch_size 64, batch_timeout 2 ms), the
              bundle's predict on each batch — run only when litserve is importable

    python benchmarks/serve_baselines.py KIND FOLDER PORT

FOLDER holds `bundle/` and `torch/` (blueprint, signature, preprocessing, weights) as
`benchmarks/serve.py --prepare` writes them. Every server answers POST /predict with
{"records": [...]} and GET /health.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel


class PredictRequest(BaseModel):
    """The tutorial's request body (module level: FastAPI resolves it by name)."""

    records: list[dict[str, Any]]


def tutorial_app(folder: Path) -> Any:
    import torch
    from fastapi import FastAPI
    from safetensors.torch import load_file

    from kiln import build_model, load_blueprint
    from kiln.data.preprocessing import Preprocessor
    from kiln.model.signature import Signature

    torch_dir = folder / "torch"
    signature = Signature.from_dict(json.loads((torch_dir / "signature.json").read_text()))
    model = build_model(load_blueprint(torch_dir / "blueprint.yaml"), signature)
    model.load_state_dict(load_file(str(torch_dir / "weights.safetensors")))
    model.eval()
    pre = Preprocessor.load(torch_dir / "preprocessing.json")
    head = signature.outputs[0]

    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/predict")
    def predict(request: PredictRequest) -> dict[str, Any]:
        names = list(request.records[0])
        inputs = pre.transform({n: [r[n] for r in request.records] for n in names})
        with torch.no_grad():
            raw = model(*[torch.from_numpy(inputs[s.name]) for s in signature.inputs])
        probs = pre.decode({o.name: r.numpy() for o, r in
                            zip(signature.outputs, raw, strict=True)})[head.name]
        return {"predictions": [{"label": head.labels[int(p.argmax())],
                                 "confidence": float(p.max())} for p in probs]}

    return app


def onnx_app(folder: Path) -> Any:
    from fastapi import FastAPI

    import kiln.bundle

    bundle = kiln.bundle.load(folder / "bundle")

    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/predict")
    def predict(request: PredictRequest) -> dict[str, Any]:
        return {"predictions": bundle.predict(request.records)}

    return app


def run_litserve(folder: Path, port: int) -> None:
    import litserve as ls
    from serve_litserve import BundleAPI  # module level: LitServe pickles it into a worker

    api = BundleAPI(str(folder / "bundle"), max_batch_size=64, batch_timeout=0.002)
    server = ls.LitServer(api, accelerator="cpu", workers_per_device=1)
    server.run(host="127.0.0.1", port=port, log_level="warning", generate_client_file=False)


def main() -> None:
    kind, folder, port = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    if kind == "litserve":
        run_litserve(folder, port)
        return
    import uvicorn

    app = tutorial_app(folder) if kind == "tutorial" else onnx_app(folder)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
