"""Why `kiln init` writes `threads: 1` for tables: the starter blueprint of a small and a
medium table, trained with PyTorch's default thread count and with one thread, in the same
run, alternating, same seed (so the same epochs and the same metrics).

    python benchmarks/table_threads.py [--tables iris,digits] [--rounds 2] [--json]

Each training is `kiln.train.train(blueprint, tracking=False)` in this process: the figure
is the training alone (data preparation, epochs, checkpoints), not process start or MLflow.
Prints seconds per training for each setting and the ratio default / one thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def blueprint_for(name: str, folder: Path) -> Any:
    """The starter `kiln init` writes for the scikit-learn table `name`."""
    import numpy as np
    from sklearn import datasets

    from kiln.blueprint import load_blueprint
    from kiln.scaffold import scaffold

    frame = getattr(datasets, f"load_{name}")(as_frame=True).frame
    if name == "digits":
        frame.columns = [*[f"p{i}" for i in range(64)], "target"]
    else:
        bunch = getattr(datasets, f"load_{name}")()
        frame["target"] = np.asarray(bunch.target_names)[bunch.target]
    frame.to_csv(folder / f"{name}.csv", index=False)
    scaffold(folder / f"{name}.csv", "target", folder / f"{name}.yaml", force=True)
    return load_blueprint(folder / f"{name}.yaml")


def timed(blueprint: Any, threads: int | None) -> tuple[float, dict[str, Any]]:
    from kiln.train import train

    bp = blueprint.model_copy(deep=True)
    bp.set_source(blueprint.path)
    bp.training.threads = threads
    started = time.perf_counter()
    run = train(bp, quiet=True, tracking=False)
    return time.perf_counter() - started, run.metrics["test"]


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default="iris,digits")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="kiln-table-threads-"))
    default = torch.get_num_threads()
    rows = []
    for name in args.tables.split(","):
        blueprint = blueprint_for(name, folder)
        seconds: dict[str, list[float]] = {"default": [], "one": []}
        metrics: dict[str, Any] = {}
        for _ in range(args.rounds):  # alternate, to share the machine's drift
            for label, threads in (("default", None), ("one", 1)):
                wall, metrics[label] = timed(blueprint, threads)
                seconds[label].append(wall)
        base, one = statistics.median(seconds["default"]), statistics.median(seconds["one"])
        rows.append({"table": name, "default_threads": default, "default_s": round(base, 2),
                     "one_thread_s": round(one, 2), "ratio": round(base / one, 2),
                     "same_metrics": metrics["default"] == metrics["one"]})
        print(f"{name:8s} {default} threads {base:6.1f} s · 1 thread {one:6.1f} s · "
              f"ratio {base / one:.2f}× · same metrics {rows[-1]['same_metrics']}", flush=True)
    if args.json:
        print(json.dumps({"tables": rows}))


if __name__ == "__main__":
    main()
