"""kiln's training loop against a hand-written PyTorch loop, measured in the same run.

Both train the digits CNN (examples/digits_cnn.yaml) built by `kiln.build_model` from the
same seed, on the same in-memory tensors and batch order, with the same optimizer
(AdamW + cosine), thread count and per-epoch validation pass. kiln's epoch is timed from
end to end as a user gets it: training, validation metrics, early-stopping bookkeeping,
checkpoint (written atomically, with its SHA-256), MLflow logging and progress hooks.
Rounds alternate baseline and kiln to share any drift of the machine; the figure is the
median epoch time (the first epoch of each round, which warms up, is left out). Beside the
wall time it reports the process CPU time per epoch (every thread: the checkpoint writer's
too), which a busy shared machine disturbs less, and the load average before and after.

    python benchmarks/train_overhead.py [--epochs 8] [--rounds 3] [--threads N]
                                        [--no-tracking] [--json] [--check]

Target: median wall-time ratio ≤ 1.05 (PASS/FAIL printed; `--check` exits 1 on FAIL).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.05


def clocks() -> tuple[float, float]:
    """(wall, process CPU) seconds."""
    return time.perf_counter(), time.process_time()


def baseline_epochs(bp: Any, data: Any, epochs: int) -> list[tuple[float, float]]:
    """The loop one writes by hand: shuffle, forward, loss, backward, step; then val accuracy."""
    import torch
    import torch.nn.functional as F

    from kiln.model import build_model

    torch.manual_seed(bp.seed)
    model = build_model(bp, data.signature)
    tr = bp.training
    optimizer = torch.optim.AdamW(model.parameters(), lr=tr.lr, weight_decay=tr.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=tr.epochs)
    x = torch.as_tensor(data.train.inputs["image"])  # (N, 1, 8, 8)
    y = torch.as_tensor(data.train.targets["label"])  # (N,)
    x_val = torch.as_tensor(data.val.inputs["image"])
    y_val = torch.as_tensor(data.val.targets["label"])
    generator = torch.Generator().manual_seed(bp.seed)
    times = []
    for _ in range(epochs):
        start = clocks()
        model.train()
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), tr.batch_size):
            index = order[i:i + tr.batch_size]
            if len(index) < 2:
                continue
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[index])[0], y[index])
            loss.backward()
            optimizer.step()
        scheduler.step()
        model.eval()
        with torch.inference_mode():
            accuracy = (model(x_val)[0].argmax(1) == y_val).float().mean().item()
        end = clocks()
        times.append((end[0] - start[0], end[1] - start[1]))
        assert 0.0 <= accuracy <= 1.0
    return times


def kiln_epochs(bp: Any, data: Any, tracking: bool) -> list[tuple[float, float]]:
    """kiln's `train()`; an epoch lasts from one `epoch_callback` to the next, so checkpoint
    writing and tracking are inside it."""
    from kiln.train import train

    stamps: list[tuple[float, float]] = []
    start = clocks()
    train(bp, data=data, quiet=True, tracking=tracking,
          epoch_callback=lambda epoch, val: stamps.append(clocks()))
    edges = [start, *stamps]
    return [(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(edges)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for both loops (default: training.threads or "
                             "PyTorch's default)")
    parser.add_argument("--no-tracking", action="store_true", help="kiln without MLflow")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 1 when the ratio misses "
                        f"the target ({TARGET})")
    args = parser.parse_args()

    os.environ.setdefault("KILN_HOME", tempfile.mkdtemp(prefix="kiln-bench-"))
    import torch

    from kiln.blueprint import load_blueprint
    from kiln.data import prepare_data

    bp = load_blueprint(ROOT / "examples" / "digits_cnn.yaml")
    bp.training.epochs = args.epochs
    bp.training.early_stopping.patience = None  # every epoch runs, in both loops
    bp.training.threads = args.threads or bp.training.threads or torch.get_num_threads()
    torch.set_num_threads(bp.training.threads)
    data = prepare_data(bp)
    load_before = os.getloadavg()[0]
    base: list[tuple[float, float]] = []
    ours: list[tuple[float, float]] = []
    for _ in range(args.rounds):
        base += baseline_epochs(bp, data, args.epochs)[1:]
        ours += kiln_epochs(bp, data, tracking=not args.no_tracking)[1:]
    result = summarise(base, ours)
    result.update({"benchmark": "train_overhead", "model": "digits_cnn",
                   "threads": bp.training.threads, "epochs": args.epochs,
                   "rounds": args.rounds, "tracking": not args.no_tracking,
                   "train_rows": len(data.train), "target": TARGET,
                   "load_before": round(load_before, 2),
                   "load_after": round(os.getloadavg()[0], 2), "cores": os.cpu_count()})
    if args.json:
        print(json.dumps(result))
    else:
        report(result, len(base))
    sys.exit(1 if args.check and not result["pass"] else 0)


def summarise(base: list[tuple[float, float]], ours: list[tuple[float, float]]
              ) -> dict[str, Any]:
    def ms(values: list[float]) -> float:
        return statistics.median(values) * 1e3

    base_ms, kiln_ms = ms([w for w, _ in base]), ms([w for w, _ in ours])
    base_cpu, kiln_cpu = ms([c for _, c in base]), ms([c for _, c in ours])
    # The fastest epoch of each: what the loops cost when nothing else disturbs the machine.
    base_min, kiln_min = min(w for w, _ in base) * 1e3, min(w for w, _ in ours) * 1e3
    ratio = kiln_ms / base_ms
    return {"baseline_ms_per_epoch": round(base_ms, 2), "kiln_ms_per_epoch": round(kiln_ms, 2),
            "baseline_fastest_ms": round(base_min, 2), "kiln_fastest_ms": round(kiln_min, 2),
            "ratio": round(ratio, 3), "ratio_fastest": round(kiln_min / base_min, 3),
            "baseline_cpu_ms_per_epoch": round(base_cpu, 2),
            "kiln_cpu_ms_per_epoch": round(kiln_cpu, 2),
            "ratio_cpu": round(kiln_cpu / base_cpu, 3), "pass": ratio <= TARGET}


def report(r: dict[str, Any], epochs: int) -> None:
    print(f"digits CNN, {r['train_rows']} training rows, {r['threads']} threads, {epochs} "
          f"epochs each · load average {r['load_before']} → {r['load_after']} on "
          f"{r['cores']} cores")
    print(f"hand-written PyTorch loop: median {r['baseline_ms_per_epoch']:8.2f} ms/epoch · "
          f"fastest {r['baseline_fastest_ms']:.2f} · CPU {r['baseline_cpu_ms_per_epoch']:.2f}")
    print(f"kiln train:                median {r['kiln_ms_per_epoch']:8.2f} ms/epoch · "
          f"fastest {r['kiln_fastest_ms']:.2f} · CPU {r['kiln_cpu_ms_per_epoch']:.2f}")
    verdict = "PASS" if r["pass"] else "FAIL"
    print(f"ratio kiln / baseline:     median {r['ratio']:8.3f} · fastest "
          f"{r['ratio_fastest']:.3f} · CPU time {r['ratio_cpu']:.3f}  (target ≤ {TARGET}: "
          f"{verdict})")


if __name__ == "__main__":
    main()
