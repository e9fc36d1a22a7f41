"""Training on a streamed table: metrics like the in-memory path, an exportable run, and
peak memory that does not grow with the table (a > 4 GiB-as-float64 Parquet file)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from kiln.blueprint import load_blueprint

ROOT = Path(__file__).resolve().parents[2]


def write_blueprint(folder: Path, source: str, *, features: list[dict[str, Any]],
                    streaming: bool, stream: dict[str, Any] | None = None,
                    epochs: int = 6, batch_size: int = 64) -> Path:
    raw = {"name": "streamed", "seed": 0,
           "task": {"type": "classification", "target": "label",
                    "metrics": ["accuracy", "roc_auc"]},
           "data": {"source": source, "features": features, "streaming": streaming,
                    "stream": stream or {}},
           "architecture": {"trunk": [{"linear": {"units": 16}}, "relu"]},
           "training": {"epochs": epochs, "batch_size": batch_size, "lr": 0.01}}
    path = folder / ("streamed.yaml" if streaming else "memory.yaml")
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def small_table(path: Path, rows: int = 6000) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    cols: dict[str, Any] = {f"x{i}": rng.normal(size=rows) for i in range(4)}
    cols["city"] = rng.choice(["a", "b", "c"], rows)
    score = cols["x0"] + cols["x1"] - 0.5 * cols["x2"] + (cols["city"] == "a")
    cols["label"] = np.where(score + rng.normal(0, 0.5, rows) > 0, "yes", "no")
    pq.write_table(pa.table(cols), path, row_group_size=1000)
    return [{"name": f"x{i}", "type": "numeric"} for i in range(4)] + [
        {"name": "city", "type": "categorical"}]


@pytest.mark.slow
def test_streamed_metrics_match_the_in_memory_path(tmp_path: Path) -> None:
    """Different splits (row-key hash vs seeded permutation) and batch order: test accuracy
    within 0.03 and ROC AUC within 0.02 of the in-memory run on a 6,000-row table."""
    from kiln.train import train

    features = small_table(tmp_path / "t.parquet")
    stream = {"batch_rows": 2000, "shuffle_window": 3000, "sample_rows": 500}
    runs = {mode: train(load_blueprint(write_blueprint(
                tmp_path, "t.parquet", features=features, streaming=mode, stream=stream)),
                quiet=True, tracking=False) for mode in (True, False)}
    streamed, memory = runs[True].metrics["test"], runs[False].metrics["test"]
    assert streamed["accuracy"] == pytest.approx(memory["accuracy"], abs=0.03)
    assert streamed["roc_auc"] == pytest.approx(memory["roc_auc"], abs=0.02)
    info = runs[True].info
    assert info["status"] == "finished"


def test_a_streamed_run_exports_a_bundle_that_serves(tmp_path: Path) -> None:
    from kiln.bundle import load
    from kiln.export import export
    from kiln.train import train

    features = small_table(tmp_path / "t.parquet", rows=2000)
    run = train(load_blueprint(write_blueprint(
        tmp_path, "t.parquet", features=features, streaming=True, epochs=2,
        stream={"batch_rows": 500, "sample_rows": 300})), quiet=True, tracking=False)
    bundle = load(export(run, output=tmp_path / "bundle"))
    answers = bundle.predict([{"x0": 2.0, "x1": 1.0, "x2": 0.0, "x3": 0.0, "city": "a"}])
    assert answers[0]["label"]["probabilities"]["yes"] > 0.5
    assert bundle.manifest["parity"]["ok"]


def test_a_resumed_streamed_run_ends_as_the_unbroken_one(tmp_path: Path) -> None:
    """The window shuffle is seeded by (seed, epoch): resuming after epoch 2 reads epochs
    3 and 4 in the same order, so the metrics match the uninterrupted run exactly."""
    from train_helpers import without_time

    from kiln.runs import load_run
    from kiln.train import train

    features = small_table(tmp_path / "t.parquet", rows=1500)
    bp = load_blueprint(write_blueprint(
        tmp_path, "t.parquet", features=features, streaming=True, epochs=4,
        stream={"batch_rows": 400, "shuffle_window": 500, "sample_rows": 200}))
    full = train(bp, quiet=True, tracking=False)

    def stop(epoch: int, val: dict[str, float]) -> None:
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(bp, quiet=True, tracking=False, epoch_callback=stop)
    resumed = train(resume=load_run("latest").id, quiet=True, tracking=False)
    assert resumed.info["resumed"][0]["epoch"] == 2
    assert without_time(resumed.metrics) == without_time(full.metrics)


def big_table(path: Path, columns: int = 200, rows: int = 2_750_000,
              group: int = 50_000) -> int:
    """Low-entropy float64 columns (4 values, dictionary-encoded: ~2.5 bits a value on disk)
    and a unique `id`; returns the bytes the table would take as float64 in memory."""
    rng = np.random.default_rng(0)
    block = [pa.array(rng.integers(0, 4, group).astype(np.float64)) for _ in range(columns)]
    label = pa.array(np.where(block[0].to_numpy() + block[1].to_numpy() > 3, "a", "b"))
    names = [f"x{i}" for i in range(columns)]
    schema = pa.schema([pa.field("id", pa.float64())]
                       + [pa.field(n, pa.float64()) for n in names]
                       + [pa.field("label", pa.string())])
    with pq.ParquetWriter(path, schema, compression="none") as writer:
        for start in range(0, rows, group):
            n = min(group, rows - start)
            ids = pa.array(np.arange(start, start + n, dtype=np.float64))
            writer.write_table(pa.table([ids, *(a.slice(0, n) for a in block),
                                         label.slice(0, n)], schema=schema))
    return rows * (columns + 1) * 8


PEAK_RSS_BOUND = 1536 * 2**20  # bytes; the table needs > 4 GiB as float64


@pytest.mark.slow
def test_a_table_larger_than_memory_trains_in_bounded_memory(tmp_path: Path) -> None:
    as_float64 = big_table(tmp_path / "big.parquet")
    assert as_float64 > 4 * 2**30
    features = [{"name": f"x{i}", "type": "numeric"} for i in range(200)]
    blueprint = write_blueprint(
        tmp_path, "big.parquet", features=features, streaming=True, epochs=1,
        batch_size=8192, stream={"batch_rows": 32768, "shuffle_window": 65536,
                                 "sample_rows": 2000, "key": ["id"]})
    # A child measures its own child: ru_maxrss of RUSAGE_CHILDREN is the peak of the
    # largest child it waited for — `kiln train` alone, not this test process's others.
    probe = ("import resource, subprocess, sys; "
             "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    kiln = [str(Path(sys.executable).with_name("kiln")), "train", str(blueprint), "--quiet"]
    env_home = tmp_path / "home"
    result = subprocess.run([sys.executable, "-c", probe, *kiln], capture_output=True,
                            text=True, timeout=600, cwd=ROOT,
                            env=_env(env_home))
    assert result.returncode == 0, result.stderr[-2000:]
    peak = int(result.stdout.strip().splitlines()[-1]) * 1024  # Linux: KiB
    assert peak < PEAK_RSS_BOUND, f"peak RSS {peak / 2**20:.0f} MiB"
    run_json = next((env_home / "runs").glob("*/run.json"))
    assert json.loads(run_json.read_text())["status"] == "finished"


def _env(home: Path) -> dict[str, str]:
    import os

    return {**os.environ, "KILN_HOME": str(home), "PYTHONPATH": str(ROOT / "src")}
