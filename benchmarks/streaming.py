"""Streamed training (`data.streaming: true`) against the in-memory path, measured in the
same run: peak RSS and training throughput on generated tables of 1 M, 10 M and 30 M rows.

The table: 20 numeric columns (256 distinct values each, so Parquet stores ~1 byte a value)
and 5 categorical ones (20 levels), a binary label that depends on both; written once per
size in row groups of 250,000 rows. Each point runs `kiln train` in a child process (a
tiny MLP, one epoch, batch 4096, no early stopping) and reads the child's peak RSS from
`getrusage(RUSAGE_CHILDREN)` in a probe process that runs nothing else.

    python benchmarks/streaming.py [--sizes 1e6,1e7,3e7] [--memory-sizes 1e6]
                                   [--dir /tmp/kiln-streaming] [--json]

rows/s: training rows × epochs / wall time of the whole `kiln train` (load, checks,
fit, the epoch, validation, final scores): what a user waits for. Targets: streamed peak
RSS flat (≤ 1.2× from 1 M to 30 M rows); streamed rows/s ≥ 0.7× in-memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NUMERIC, CATEGORICAL, GROUP = 20, 5, 250_000

PROBE = ("import resource, subprocess, sys; "
         "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
         "stderr=subprocess.PIPE, text=True); "
         "sys.stderr.write(done.stderr[-3000:]); "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode)")


def write_table(path: Path, rows: int) -> None:
    """The generated table (see the module doc), unless it is already there."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.exists():
        return
    rng = np.random.default_rng(0)
    pools = rng.normal(size=(NUMERIC, 256))
    levels = np.array([f"level{i}" for i in range(20)])
    weights = rng.normal(size=NUMERIC)
    partial = path.with_suffix(".partial")
    with pq.ParquetWriter(partial, _schema()) as writer:
        for start in range(0, rows, GROUP):
            n = min(GROUP, rows - start)
            codes = rng.integers(0, 256, size=(NUMERIC, n))
            numeric = pools[np.arange(NUMERIC)[:, None], codes]  # (20, n)
            cats = rng.integers(0, 20, size=(CATEGORICAL, n))
            score = weights @ numeric / 4 + (cats[0] < 10) - 0.5 + rng.normal(0, 0.5, n)
            columns = [pa.array(x) for x in numeric]
            columns += [pa.DictionaryArray.from_arrays(pa.array(c, pa.int32()),
                                                       pa.array(levels)).cast(pa.string())
                        for c in cats]
            columns.append(pa.array(np.where(score > 0, "yes", "no")))
            writer.write_table(pa.table(columns, schema=_schema()))
    partial.rename(path)


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema([pa.field(f"x{i}", pa.float64()) for i in range(NUMERIC)]
                     + [pa.field(f"c{i}", pa.string()) for i in range(CATEGORICAL)]
                     + [pa.field("label", pa.string())])


def write_blueprint(folder: Path, table: Path, streaming: bool) -> Path:
    import yaml

    features = ([{"name": f"x{i}", "type": "numeric"} for i in range(NUMERIC)]
                + [{"name": f"c{i}", "type": "categorical"} for i in range(CATEGORICAL)])
    raw = {"name": f"bench-{'stream' if streaming else 'memory'}", "seed": 0,
           "task": {"type": "classification", "target": "label", "metrics": ["accuracy"]},
           "data": {"source": str(table), "features": features, "streaming": streaming,
                    "duplicates": "keep", "split": {"method": "holdout"}},
           "architecture": {"trunk": [{"linear": {"units": 32}}, "relu"]},
           "training": {"epochs": 1, "batch_size": 4096, "lr": 0.003}}
    path = folder / f"{raw['name']}-{table.stem}.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def measure(blueprint: Path, home: Path) -> dict[str, Any]:
    """Run `kiln train` in a child; its peak RSS, wall time and run record."""
    kiln = str(Path(sys.executable).with_name("kiln"))
    env = {**os.environ, "KILN_HOME": str(home), "PYTHONPATH": str(ROOT / "src")}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PROBE, kiln, "train", str(blueprint),
                           "--quiet", "--json"], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    peak_kib, code = (int(x) for x in done.stdout.split()[-2:])
    if code != 0:
        raise SystemExit(f"kiln train {blueprint} failed:\n{done.stderr}")
    runs = sorted((home / "runs").glob("*/run.json"), key=lambda p: p.stat().st_mtime)
    info = json.loads(runs[-1].read_text())
    metrics = json.loads((runs[-1].parent / "metrics.json").read_text())
    return {"peak_rss_mib": peak_kib / 1024, "wall_s": wall,
            "train_s": info.get("train_seconds"), "test": metrics["test"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e6,1e7,3e7")
    parser.add_argument("--memory-sizes", default="1e6",
                        help="sizes also trained in memory (the in-memory path needs "
                             "several times the table in RAM)")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/kiln-streaming"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    in_memory = {int(float(s)) for s in args.memory_sizes.split(",") if s}
    args.dir.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    for rows in sizes:
        table = args.dir / f"table-{rows}.parquet"
        write_table(table, rows)
        train_rows = rows * 0.7  # holdout: 20 % test, 10 % validation
        for streaming in (True, False):
            if not streaming and rows not in in_memory:
                continue
            point = measure(write_blueprint(args.dir, table, streaming), args.dir / "home")
            point.update(rows=rows, path="stream" if streaming else "memory",
                         rows_per_s=train_rows / point["wall_s"])
            results.append(point)
            print(f"{rows:>11,} rows  {point['path']:<6}  peak RSS {point['peak_rss_mib']:7.0f}"
                  f" MiB  wall {point['wall_s']:7.1f} s  {point['rows_per_s']:9,.0f} rows/s  "
                  f"test accuracy {point['test']['accuracy']:.4f}", flush=True)
    report(results, args.json)


def report(results: list[dict[str, Any]], as_json: bool) -> None:
    stream = {r["rows"]: r for r in results if r["path"] == "stream"}
    memory = {r["rows"]: r for r in results if r["path"] == "memory"}
    ratios: dict[str, float] = {}
    if len(stream) > 1:
        low, high = min(stream), max(stream)
        ratios[f"stream peak RSS {high:,} / {low:,} rows"] = (
            stream[high]["peak_rss_mib"] / stream[low]["peak_rss_mib"])
    for rows in sorted(set(stream) & set(memory)):
        ratios[f"rows/s stream / memory at {rows:,}"] = (
            stream[rows]["rows_per_s"] / memory[rows]["rows_per_s"])
        ratios[f"peak RSS stream / memory at {rows:,}"] = (
            stream[rows]["peak_rss_mib"] / memory[rows]["peak_rss_mib"])
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}")
    if as_json:
        print(json.dumps({"results": results, "ratios": ratios}, indent=1))


if __name__ == "__main__":
    main()
