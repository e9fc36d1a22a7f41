"""kiln's training loop against a hand-written PyTorch loop, measured in the same run.

Both train the digits CNN (examples/digits_cnn.yaml) built by `kiln.build_model` from the
same seed, on the same in-memory tensors and batch order, with the same optimizer
(AdamW + cosine), thread count and per-epoch validation pass. kiln's epoch is timed from
end to end as a user gets it: training, validation metrics, early-stopping bookkeeping,
checkpoint (written atomically, with its SHA-256), MLflow logging and progress hooks.
Rounds alternate baseline and kiln to share any drift of the machine; the figure is the
median epoch time (the first epoch of each round, which warms up, is left out).

    python benchmarks/train_overhead.py [--epochs 8] [--rounds 3] [--threads N]
                                        [--no-tracking] [--json]

Target: ratio ≤ 1.10.
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


def baseline_epochs(bp: Any, data: Any, epochs: int) -> list[float]:
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
        start = time.perf_counter()
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
        times.append(time.perf_counter() - start)
        assert 0.0 <= accuracy <= 1.0
    return times


def kiln_epochs(bp: Any, data: Any, tracking: bool) -> list[float]:
    """kiln's `train()`; an epoch lasts from one `epoch_callback` to the next, so checkpoint
    writing and tracking are inside it."""
    from kiln.train import train

    stamps: list[float] = []
    start = time.perf_counter()
    train(bp, data=data, quiet=True, tracking=tracking,
          epoch_callback=lambda epoch, val: stamps.append(time.perf_counter()))
    edges = [start, *stamps]
    return [b - a for a, b in itertools.pairwise(edges)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for both loops (default: training.threads or "
                             "PyTorch's default)")
    parser.add_argument("--no-tracking", action="store_true", help="kiln without MLflow")
    parser.add_argument("--json", action="store_true")
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
    base: list[float] = []
    ours: list[float] = []
    for _ in range(args.rounds):
        base += baseline_epochs(bp, data, args.epochs)[1:]
        ours += kiln_epochs(bp, data, tracking=not args.no_tracking)[1:]
    base_ms, kiln_ms = statistics.median(base) * 1e3, statistics.median(ours) * 1e3
    # The fastest epoch of each: what the loops cost when nothing else disturbs the machine.
    base_min, kiln_min = min(base) * 1e3, min(ours) * 1e3
    result = {"benchmark": "train_overhead", "model": "digits_cnn", "threads":
              bp.training.threads, "epochs": args.epochs, "rounds": args.rounds,
              "tracking": not args.no_tracking, "train_rows": len(data.train),
              "baseline_ms_per_epoch": round(base_ms, 2), "kiln_ms_per_epoch": round(kiln_ms, 2),
              "ratio": round(kiln_ms / base_ms, 3), "ratio_fastest": round(kiln_min / base_min, 3),
              "target": 1.10}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"digits CNN, {len(data.train)} training rows, {bp.training.threads} threads, "
              f"{len(base)} epochs each")
        print(f"hand-written PyTorch loop: median {base_ms:8.2f} ms/epoch · fastest {base_min:.2f}")
        print(f"kiln train:                median {kiln_ms:8.2f} ms/epoch · fastest {kiln_min:.2f}")
        print(f"ratio kiln / baseline:     median {kiln_ms / base_ms:8.3f} · fastest "
              f"{kiln_min / base_min:.3f}  (target ≤ 1.10)")
    sys.exit(0)


if __name__ == "__main__":
    main()
