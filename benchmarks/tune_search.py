"""Benchmark: TPE + median pruning vs random search on the digits search space, and the
overhead of kiln's search harness.

    python benchmarks/tune_search.py                      # 20 TPE vs 40 random, 3 seeds
    python benchmarks/tune_search.py --tpe 6 --random 12 --seeds 0 --epochs 3   # quick

For each seed, in one run: the best validation accuracy after `--tpe` trials of TPE with
median pruning, and after `--random` trials of random search without pruning, with both
wall times. Then the harness overhead: `--overhead-trials` trials run by `kiln tune`
(random sampler, no pruning, MLflow tracking on) against the same concrete blueprints
trained directly with `kiln.train.train(tracking=False)` on the same prepared data; the
difference per trial is study bookkeeping + tracking.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def search_blueprint(path: Path, epochs: int | None, out: Path) -> Path:
    raw = yaml.safe_load(path.read_text())
    if epochs is not None:
        raw["training"]["epochs"] = epochs
    target = out / "search.yaml"
    target.write_text(yaml.safe_dump(raw, sort_keys=False))
    return target


def run_study(blueprint: Path, *, sampler: str, pruner: str, trials: int, seed: int,
              tracking: bool = False) -> tuple[float, float, Any]:
    """(best value, wall seconds, TuneResult) of one study in a fresh $KILN_HOME."""
    from kiln.tune import TuneOptions, tune

    os.environ["KILN_HOME"] = tempfile.mkdtemp(prefix="kiln-bench-")
    started = time.perf_counter()
    result = tune(blueprint, TuneOptions(trials=trials, sampler=sampler, pruner=pruner,
                                         seed=seed, tracking=tracking, quiet=True,
                                         study=f"{sampler}-{seed}"))
    wall = time.perf_counter() - started
    best = result.best_values[0] if result.best_values else float("nan")
    return best, wall, result


def compare(blueprint: Path, args: argparse.Namespace) -> None:
    rows = []
    for seed in args.seeds:
        tpe = run_study(blueprint, sampler="tpe", pruner="median", trials=args.tpe, seed=seed)
        rnd = run_study(blueprint, sampler="random", pruner="none", trials=args.random,
                        seed=seed)
        pruned = tpe[2].counts.get("pruned", 0)
        rows.append((seed, tpe[0], tpe[1], rnd[0], rnd[1], pruned))
        print(f"seed {seed}: TPE+median {args.tpe} trials best {tpe[0]:.4f} in {tpe[1]:.1f}s "
              f"({pruned} pruned) · random {args.random} trials best {rnd[0]:.4f} in "
              f"{rnd[1]:.1f}s", flush=True)
    tpe_best = statistics.mean(r[1] for r in rows)
    rnd_best = statistics.mean(r[3] for r in rows)
    tpe_wall = statistics.mean(r[2] for r in rows)
    rnd_wall = statistics.mean(r[4] for r in rows)
    print(f"\nmean over {len(rows)} seeds: TPE+median best val accuracy {tpe_best:.4f}, "
          f"random {rnd_best:.4f} → difference {100 * (tpe_best - rnd_best):+.2f} points")
    print(f"wall time: TPE+median {tpe_wall:.1f}s, random {rnd_wall:.1f}s → ratio "
          f"{tpe_wall / rnd_wall:.2f}")


def overhead(blueprint: Path, args: argparse.Namespace) -> None:
    """Per-trial harness cost, in parts: study bookkeeping (sampling, storage writes, ask and
    tell: trial time minus the budget check and the training), the budget check (build +
    latency), and MLflow tracking (tracked minus untracked training of the same blueprint,
    alternated so that load drift cancels)."""
    import optuna

    from kiln.data import prepare_data
    from kiln.train.stage import train
    from kiln.tune.settings import load_search

    _, wall, result = run_study(blueprint, sampler="random", pruner="none",
                                trials=args.overhead_trials, seed=0, tracking=True)
    study = optuna.load_study(study_name=result.study,
                              storage=f"sqlite:///{os.environ['KILN_HOME']}/optuna.db")
    done = [t for t in study.trials if t.state.name == "COMPLETE" and t.duration]
    total = [t.duration.total_seconds() for t in done if t.duration]
    check = [float(t.user_attrs["check_s"]) for t in done]
    trained = [float(t.user_attrs["train_s"]) for t in done]
    bookkeeping = [a - b - c for a, b, c in zip(total, check, trained, strict=True)]
    search = load_search(blueprint)
    diffs = []
    for t in done[:args.tracking_pairs]:
        _, bp = search.concrete(lambda d, t=t: t.params[d.name])
        data = prepare_data(bp)
        train(bp, data=data, quiet=True, tracking=True)  # warm-up, not timed
        times: dict[bool, list[float]] = {}
        for tracking in (True, False, False, True):
            started = time.perf_counter()
            train(bp, data=data, quiet=True, tracking=tracking)
            times.setdefault(tracking, []).append(time.perf_counter() - started)
        diffs.append(statistics.mean(times[True]) - statistics.mean(times[False]))
    trial_s = statistics.median(total)
    parts = {"study bookkeeping": statistics.median(bookkeeping),
             "budget check (build + latency)": statistics.median(check),
             "MLflow tracking": statistics.median(diffs)}
    print(f"\nharness overhead, median over {len(done)} trials of {trial_s:.2f}s "
          f"(tracking measured on {len(diffs)} blueprints, 2 tracked + 2 untracked runs each):")
    for name, seconds in parts.items():
        print(f"  {name:<32} {seconds:6.3f}s  {100 * seconds / trial_s:5.1f}% of trial time")
    harness = parts["study bookkeeping"] + parts["MLflow tracking"]
    print(f"  bookkeeping + tracking           {harness:6.3f}s  "
          f"{100 * harness / trial_s:5.1f}% of trial time")
    between = wall - sum(t.duration.total_seconds() for t in study.trials if t.duration)
    print(f"outside trials (space check, study set-up, report, MLflow parent run): "
          f"{between:.1f}s per study of {len(study.trials)} trials")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blueprint", type=Path, default=ROOT / "examples/digits_search.yaml")
    parser.add_argument("--tpe", type=int, default=20, help="TPE + median pruning trials")
    parser.add_argument("--random", type=int, default=40, help="random-search trials")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=None, help="override training.epochs")
    parser.add_argument("--overhead-trials", type=int, default=8)
    parser.add_argument("--tracking-pairs", type=int, default=4)
    parser.add_argument("--skip-compare", action="store_true")
    args = parser.parse_args()
    import torch

    print(f"torch threads {torch.get_num_threads()}, cpus {os.cpu_count()}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="kiln-bench-bp-"))
    blueprint = search_blueprint(args.blueprint, args.epochs, work)
    if not args.skip_compare:
        compare(blueprint, args)
    overhead(blueprint, args)


if __name__ == "__main__":
    main()
