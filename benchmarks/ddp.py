"""Training throughput of `kiln train --nproc 2` (DDP, gloo) against one process, same run.

Trains the digits CNN (examples/digits_cnn.yaml) as kiln does, end to end, as
  - one process with every core's threads (the baseline: what `kiln train` does today),
  - one process with one thread (the per-rank share of the cores),
  - N processes under torchrun (`train(bp, nproc=N)`, one thread each by default),
and prints training rows per second — train-split rows over the median epoch time (an
epoch: its training steps and the validation pass, gathered across ranks), the first epoch
of each run left out — the ratio of N processes to the baseline and to one process with
one thread (what each rank has on a machine of N cores), and the wall time of each
run with start-up (torchrun, N imports of torch, N data preparations). Rounds alternate
the configurations to share the machine's drift. It also prints the scaling model's
figures: parameters, gradient bytes all-reduced per step, bytes each rank sends per step
with a ring all-reduce, and the validation gather per epoch (docs/distributed.md).

    python benchmarks/ddp.py [--nproc 2] [--epochs 6] [--rounds 2] [--json]

No target: on 2 shared cores two ranks have no spare core to gain from.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def blueprint(epochs: int, threads: int | None) -> Any:
    from kiln.blueprint import load_blueprint

    bp = load_blueprint(ROOT / "examples" / "digits_cnn.yaml")
    bp.training.epochs = epochs
    bp.training.early_stopping.patience = None
    bp.training.threads = threads
    return bp


def measure(epochs: int, threads: int | None, nproc: int | None) -> dict[str, float]:
    """One kiln run; its training rows/s (median epoch, first left out) and wall time."""
    from kiln.train import train

    started = time.perf_counter()
    run = train(blueprint(epochs, threads), nproc=nproc, quiet=True, tracking=False)
    wall = time.perf_counter() - started
    times = [h["time"] for h in run.metrics["history"]][1:]
    rows = len(run.data().train)
    return {"rows_per_s": rows / statistics.median(times), "wall_s": wall,
            "epoch_s": statistics.median(times), "train_rows": rows}


def scaling_figures(nproc: int) -> dict[str, Any]:
    """What crosses the network per step and per epoch (fp32 gradients, ring all-reduce)."""
    from kiln.data import prepare_data
    from kiln.model import build_model

    bp = blueprint(1, None)
    data = prepare_data(bp)
    model = build_model(bp, data.signature)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    grad_bytes = 4 * params
    val_rows = len(data.val)
    outputs = sum(o.size for o in data.signature.outputs)
    return {"parameters": params, "gradient_bytes_per_step": grad_bytes,
            "ring_bytes_sent_per_rank_per_step": round(2 * (nproc - 1) / nproc * grad_bytes),
            "steps_per_epoch": -(-len(data.train) // bp.training.batch_size),
            "val_gather_bytes_per_epoch": 4 * val_rows * outputs,
            "batch_per_rank": bp.training.batch_size // nproc}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kiln-bench-ddp-") as home:
        os.environ["KILN_HOME"] = home
        report = measure_all(args)
    if args.json:
        print(json.dumps(report))
        return
    print(f"digits CNN, {report['train_rows']} training rows, {args.epochs} epochs, "
          f"{args.rounds} rounds, {report['cores']} cores")
    for name, row in report["runs"].items():
        print(f"  {name:<34} {row['rows_per_s']:>9.0f} rows/s   epoch {row['epoch_s']:.3f} s"
              f"   run with start-up {row['wall_s']:.1f} s")
    print(f"ratio {args.nproc} processes / baseline: {report['ratio_ddp_to_baseline']:.2f}×   "
          f"/ 1 process × 1 thread: {report['ratio_ddp_to_one_thread']:.2f}×")
    print("scaling model: " + ", ".join(f"{k} {v}" for k, v in report["scaling"].items()))


def measure_all(args: argparse.Namespace) -> dict[str, Any]:
    """Every configuration, rounds alternating; medians; the scaling figures."""
    cores = os.cpu_count() or 1
    configs = {f"1 process × {cores} threads (baseline)": (cores, None),
               "1 process × 1 thread": (1, None),
               f"{args.nproc} processes (DDP, gloo)": (None, args.nproc)}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in configs}
    for _ in range(args.rounds):
        for name, (threads, nproc) in configs.items():
            results[name].append(measure(args.epochs, threads, nproc))
    summary = {name: {"rows_per_s": statistics.median(r["rows_per_s"] for r in runs),
                      "wall_s": statistics.median(r["wall_s"] for r in runs),
                      "epoch_s": statistics.median(r["epoch_s"] for r in runs)}
               for name, runs in results.items()}
    baseline, one_thread, ddp = (summary[n]["rows_per_s"] for n in configs)
    report = {"cores": cores, "epochs": args.epochs, "rounds": args.rounds,
              "train_rows": results[next(iter(configs))][0]["train_rows"], "runs": summary,
              "ratio_ddp_to_baseline": ddp / baseline,
              "ratio_ddp_to_one_thread": ddp / one_thread,
              "scaling": scaling_figures(args.nproc)}
    return report


if __name__ == "__main__":
    sys.exit(main())
