"""Training throughput CPU vs GPU vs GPU+AMP (and GPU+AMP+torch.compile), and a check that
every GPU path of kiln's training loop works — run it unchanged on a machine with one GPU.

The same kiln loop (`kiln.train.loop.Loop`) trains the same CNN from the same seed on the
same generated 3×32×32 images in the same batch order, once per configuration; only
`training.device`, `training.amp` and `training.compile` change. Each configuration runs one
warm-up epoch (cuDNN autotuning, compilation) and then `--epochs` timed ones.

    python benchmarks/gpu.py [--rows 16384] [--epochs 3] [--cpu-epochs 1] [--no-compile]
                             [--json] [--simulate-on-cpu]

Checks (any failure prints `GPU PATH BROKEN: ...` on stderr and exits 1):
- the device chosen by `training.device: auto` is CUDA;
- AMP picks bfloat16 where the GPU supports it, else float16 with a GradScaler, and the
  forward really runs in that dtype;
- pinned host → device copies arrive intact;
- every configuration's losses are finite and fall, and the GPU's first-epoch loss is
  within tolerance of the CPU's (same weights, same batches: fp32 5 %, AMP 10 %; TF32 and
  reduced precision round differently);
- `training.compile: true` compiles (no fallback to eager).

Exit codes: 0 all paths work; 1 a GPU path is broken; 3 no CUDA GPU here (nothing measured).
Target: the whole script ≤ 5 minutes on one GPU (Inductor's first compile is most of it).
`--simulate-on-cpu` runs the "GPU" rows on the CPU to test this script without a GPU.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

NO_CUDA = 3
BROKEN = 1


class Broken(Exception):
    """A GPU path does not work."""


def make_blueprint(folder: Path, rows: int) -> Any:
    """A CNN on `rows` generated 3×32×32 images in 10 classes (labels depend on the pixels,
    so the loss falls), saved as an .npz source."""
    import numpy as np

    from kiln.blueprint import load_blueprint

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, size=rows)
    centres = rng.normal(size=(10, 3, 32, 32)).astype(np.float32)
    images = centres[labels] + rng.normal(scale=2.0, size=(rows, 3, 32, 32)).astype(np.float32)
    np.savez(folder / "images.npz", image=images, label=labels)
    conv = [{"conv2d": {"out_channels": 64, "kernel_size": 3, "padding": 1}}, "batchnorm", "relu",
            {"conv2d": {"out_channels": 64, "kernel_size": 3, "padding": 1}}, "batchnorm", "relu",
            {"maxpool2d": {"kernel_size": 2}},
            {"conv2d": {"out_channels": 128, "kernel_size": 3, "padding": 1}}, "batchnorm",
            "relu", {"maxpool2d": {"kernel_size": 2}},
            {"conv2d": {"out_channels": 128, "kernel_size": 3, "padding": 1}}, "batchnorm",
            "relu", "global_avg_pool"]
    return load_blueprint({
        "name": "gpu_bench", "seed": 0,
        "task": {"type": "classification", "target": "label", "num_classes": 10,
                 "metrics": ["accuracy"]},
        "data": {"source": str(folder / "images.npz"),
                 "features": [{"name": "image", "type": "image", "shape": [3, 32, 32]}]},
        "architecture": {"encoders": {"image": conv}, "trunk": [{"linear": {"units": 128}},
                                                                 "relu"]},
        "training": {"epochs": 100, "batch_size": 256, "lr": 0.002,
                     "early_stopping": {"patience": None}},
    })


def run_config(bp: Any, data: Any, *, device: str, amp: bool, compile: bool,
               epochs: int) -> dict[str, Any]:
    """Train `1 + epochs` epochs with kiln's loop; rows/s over the timed epochs."""
    import torch

    from kiln.train.compiled import CompileFallbackWarning
    from kiln.train.session import make_loop

    spec = bp.model_copy(deep=True)
    spec.training.device, spec.training.amp, spec.training.compile = device, amp, compile
    torch.manual_seed(spec.seed)
    loop = make_loop(spec, data, quiet=True, epoch_callback=None, distill=None)
    losses = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileFallbackWarning)  # a fallback is a broken path
        try:
            losses.append(loop.train_epoch())  # warm-up: autotuning, compilation
            synchronize(loop.device)
            start = time.perf_counter()
            for _ in range(epochs):
                losses.append(loop.train_epoch())
            synchronize(loop.device)
        except CompileFallbackWarning as exc:
            raise Broken(f"torch.compile fell back to eager on {device}: {exc}") from None
    seconds = time.perf_counter() - start
    if not all(math.isfinite(v) for v in losses):
        raise Broken(f"{device} amp={amp}: non-finite training loss {losses}")
    if losses[-1] >= losses[0]:
        raise Broken(f"{device} amp={amp} compile={compile}: the loss does not fall {losses}")
    rows = len(data.train) * epochs
    return {"device": loop.device.type, "precision": loop.precision.name,
            "scaled": loop.precision.scaled, "compiled": loop.forward.is_compiled,
            "first_loss": losses[0], "losses": [round(v, 5) for v in losses],
            "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds, 1),
            "model": loop.model, "loop": loop}


def synchronize(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def check_paths(gpu: str) -> list[str]:
    """Device choice, AMP dtype and pinned copies; returns what was checked."""
    import numpy as np
    import torch

    from kiln.train.device import choose_precision, host_to_device, resolve_device

    checked = []
    device = resolve_device("auto")
    if device.type != gpu:
        raise Broken(f"training.device: auto chose {device}, not {gpu}")
    checked.append(f"device auto → {device}")
    precision = choose_precision(device, amp=True)
    if gpu == "cuda":
        expected = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if precision.dtype != expected or precision.scaled != (expected == torch.float16):
            raise Broken(f"AMP chose {precision}, expected {expected}")
        with precision.autocast(device):
            out = torch.nn.Linear(8, 8).to(device)(torch.ones(4, 8, device=device))
        if out.dtype != expected:
            raise Broken(f"autocast produced {out.dtype}, expected {expected}")
        checked.append(f"AMP → {precision.name} (loss scaling: {precision.scaled}), "
                       f"autocast output {out.dtype}")
    array = np.random.default_rng(1).normal(size=(1024, 3, 32, 32)).astype(np.float32)
    copied = host_to_device(array, device)
    if copied.device.type != gpu or not np.array_equal(copied.cpu().numpy(), array):
        raise Broken("pinned non-blocking host → device copy does not arrive intact")
    checked.append("pinned non-blocking copy intact")
    return checked


def compare(cpu: dict[str, Any], other: dict[str, Any], tolerance: float, name: str) -> None:
    gap = abs(other["first_loss"] - cpu["first_loss"]) / abs(cpu["first_loss"])
    if gap > tolerance:
        raise Broken(f"{name}: first-epoch loss {other['first_loss']:.5f} vs CPU "
                     f"{cpu['first_loss']:.5f} ({gap:.1%} apart, tolerance {tolerance:.0%})")


def measure(args: argparse.Namespace, gpu: str) -> dict[str, Any]:
    from kiln.data import prepare_data

    with tempfile.TemporaryDirectory(prefix="kiln-gpu-bench-") as folder:
        os.environ.setdefault("KILN_HOME", str(Path(folder) / "home"))
        bp = make_blueprint(Path(folder), args.rows)
        data = prepare_data(bp)
    checked = check_paths(gpu)
    rows: dict[str, dict[str, Any]] = {}
    rows["cpu"] = run_config(bp, data, device="cpu", amp=False, compile=False,
                             epochs=args.cpu_epochs)
    rows["gpu"] = run_config(bp, data, device=gpu, amp=False, compile=False, epochs=args.epochs)
    rows["gpu+amp"] = run_config(bp, data, device=gpu, amp=True, compile=False,
                                 epochs=args.epochs)
    if not args.no_compile:
        rows["gpu+amp+compile"] = run_config(bp, data, device=gpu, amp=True, compile=True,
                                             epochs=args.epochs)
    compare(rows["cpu"], rows["gpu"], 0.05, "gpu fp32")
    for name in ("gpu+amp", "gpu+amp+compile"):
        if name in rows:
            compare(rows["cpu"], rows[name], 0.10, name)
    for row in rows.values():
        row.pop("model"), row.pop("loop")
    return {"checked": checked, "rows": rows, "train_rows": len(data.train)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=16384)
    parser.add_argument("--epochs", type=int, default=3, help="timed GPU epochs")
    parser.add_argument("--cpu-epochs", type=int, default=1, help="timed CPU epochs")
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--simulate-on-cpu", action="store_true",
                        help="run the GPU rows on the CPU (tests this script, measures nothing)")
    args = parser.parse_args()
    import torch

    started = time.perf_counter()
    if args.simulate_on_cpu:
        from kiln.train import compiled

        gpu = "cpu"
        compiled.BACKEND = "aot_eager"  # Inductor's C++ build takes minutes on a small CPU
        print("SIMULATED: the GPU rows run on the CPU; the figures mean nothing",
              file=sys.stderr)
    elif torch.cuda.is_available():
        gpu = "cuda"
    else:
        print(f"NO CUDA GPU: torch {torch.__version__} (CUDA build: "
              f"{torch.version.cuda or 'none'}) sees no GPU — nothing measured; run this on "
              f"a machine with one", file=sys.stderr)
        sys.exit(NO_CUDA)
    try:
        result = measure(args, gpu)
    except Broken as exc:
        print(f"GPU PATH BROKEN: {exc}", file=sys.stderr)
        sys.exit(BROKEN)
    result.update(benchmark="gpu", torch=torch.__version__,
                  gpu_name=torch.cuda.get_device_name(0) if gpu == "cuda" else "none",
                  wall_s=round(time.perf_counter() - started, 1))
    report(result, args.json)


def report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    rows = result["rows"]
    cpu = rows["cpu"]["rows_per_s"]
    print(f"{result['gpu_name']} · torch {result['torch']} · {result['train_rows']} training "
          f"rows (3×32×32), batch 256 · {result['wall_s']} s in all")
    for line in result["checked"]:
        print(f"  ok  {line}")
    print(f"{'configuration':<18} {'precision':<9} {'rows/s':>10} {'× CPU':>7}  first loss")
    for name, row in rows.items():
        print(f"{name:<18} {row['precision']:<9} {row['rows_per_s']:>10.0f} "
              f"{row['rows_per_s'] / cpu:>7.1f}  {row['first_loss']:.4f}")


if __name__ == "__main__":
    main()
