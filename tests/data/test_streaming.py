"""Streamed CSV / Parquet sources (kiln.data.streaming): splits, fitted statistics, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from data_helpers import make_blueprint

from kiln.data import prepare_data
from kiln.data.sketch import BottomK, RunningMoments
from kiln.data.streaming import StreamedData, streaming_source
from kiln.errors import DataError

FEATURES = [{"name": f"x{i}", "type": "numeric"} for i in range(3)] + [
    {"name": "city", "type": "categorical"}]


def write_table(path: Path, rows: int = 3000, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    cols = {f"x{i}": rng.normal(i, 1 + i, rows) for i in range(3)}
    cols["city"] = rng.choice(["a", "b", "c"], rows)
    score = cols["x0"] - cols["x1"] / 2 + (cols["city"] == "a")
    cols["label"] = np.where(score + rng.normal(0, 0.5, rows) > 0, "yes", "no")
    pq.write_table(pa.table(cols), path, row_group_size=500)
    return path


def streamed(tmp_path: Path, batch_rows: int = 400, **data: object) -> StreamedData:
    write_table(tmp_path / "t.parquet")
    bp = make_blueprint(tmp_path, "t.parquet", features=FEATURES, streaming=True,
                        stream={"batch_rows": batch_rows, "shuffle_window": 700,
                                "sample_rows": 300}, **data)
    prepared = prepare_data(bp)
    assert isinstance(prepared, StreamedData)
    return prepared


def split_rows(data: StreamedData) -> dict[str, np.ndarray]:
    """Every row's split, from a pass over the streams (0-based file rows per split)."""
    out = {}
    for name, stream in data.streams.items():
        out[name] = np.concatenate([b.rows[b.splits == stream.code] for b in stream.reader])
    return out


def test_splits_are_stable_across_runs_and_batch_sizes(tmp_path: Path) -> None:
    a, b = streamed(tmp_path), streamed(tmp_path, batch_rows=1234)
    rows_a, rows_b = split_rows(a), split_rows(b)
    for name in ("train", "val", "test"):
        assert np.array_equal(rows_a[name], rows_b[name])
    assert a.fingerprint == b.fingerprint
    sizes = {k: len(v) / 3000 for k, v in rows_a.items()}
    assert sizes["test"] == pytest.approx(0.2, abs=0.03)
    assert sizes["val"] == pytest.approx(0.1, abs=0.03)
    assert len(a.streams["train"]) == len(rows_a["train"])


def test_fitted_statistics_equal_the_in_memory_fit_on_the_same_rows(tmp_path: Path) -> None:
    data = streamed(tmp_path)
    train = split_rows(data)["train"]
    table = pq.read_table(tmp_path / "t.parquet").to_pandas().iloc[train]
    for i in range(3):
        state = data.preprocessor.columns[f"x{i}"]
        values = table[f"x{i}"].to_numpy()
        assert state.center == pytest.approx(values.mean(), rel=1e-12)
        assert state.scale == pytest.approx(values.std(), rel=1e-12)
        assert (state.low, state.high) == (values.min(), values.max())
    assert data.preprocessor.columns["city"].categories == ["a", "b", "c"]
    assert data.preprocessor.labels("label") == ["no", "yes"]
    assert len(data.train) == 300 and len(data.table) == 900  # the bounded samples


def test_training_batches_are_seeded_and_cover_the_split_once(tmp_path: Path) -> None:
    data = streamed(tmp_path)
    stream = data.streams["train"]
    first = list(stream.batches(64, seed=0, epoch=1, window=700))
    again = list(stream.batches(64, seed=0, epoch=1, window=700))
    other = list(stream.batches(64, seed=0, epoch=2, window=700))
    rows = sum(len(t["label"]) for _, t in first)
    assert rows >= len(stream) - 1  # a last batch of one row may be dropped
    assert all(np.array_equal(x["tabular"], y["tabular"])
               for (x, _), (y, _) in zip(first, again, strict=True))
    assert not np.array_equal(first[0][0]["tabular"], other[0][0]["tabular"])


def test_moments_merge_exactly_and_bottom_k_ignores_batching() -> None:
    x = np.random.default_rng(1).normal(1e6, 3.0, 10_001)
    moments = RunningMoments()
    for part in np.array_split(x, 7):
        moments.update(part)
    assert moments.mean == pytest.approx(x.mean(), rel=1e-12)
    assert moments.std == pytest.approx(x.std(), rel=1e-9)
    priorities = np.random.default_rng(2).integers(0, 2**63, 5000).astype(np.uint64)
    kept = []
    for parts in (np.array_split(priorities, 3), np.array_split(priorities, 11)):
        sketch = BottomK(100)
        for part in parts:
            sketch.offer(part)
        kept.append(np.sort(sketch.priorities))
    assert np.array_equal(kept[0], kept[1])
    assert np.array_equal(kept[0], np.sort(priorities)[:100])


def test_a_bad_csv_value_names_file_line_and_column(tmp_path: Path) -> None:
    lines = ["x0,x1,x2,city,label"] + [f"{i},1,2,a,{'yes' if i % 2 else 'no'}"
                                         for i in range(50)]
    lines[31] = "7,oops,2,a,yes"
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    bp = make_blueprint(tmp_path, "t.csv", features=FEATURES, streaming=True)
    with pytest.raises(DataError, match=r"t\.csv, line 32.*column 'x1'.*oops"):
        prepare_data(bp)


def test_an_infinite_value_names_row_batch_and_column(tmp_path: Path) -> None:
    rows = 100
    cols = {"x0": np.arange(rows, dtype=float), "x1": np.ones(rows), "x2": np.ones(rows),
            "city": ["a"] * rows, "label": ["yes", "no"] * (rows // 2)}
    cols["x2"][70] = np.inf
    pq.write_table(pa.table(cols), tmp_path / "t.parquet")
    bp = make_blueprint(tmp_path, "t.parquet", features=FEATURES, streaming=True,
                        stream={"batch_rows": 32})
    with pytest.raises(DataError, match=r"row 71, batch 3, column 'x2': infinite value"):
        prepare_data(bp)


def test_streaming_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_table(tmp_path / "t.parquet", rows=50)
    auto = make_blueprint(tmp_path, "t.parquet", features=FEATURES)
    assert streaming_source(auto) is None  # auto: a small file loads in memory
    monkeypatch.setattr("kiln.data.streaming.AUTO_STREAM_BYTES", 1000)
    assert streaming_source(auto) == tmp_path / "t.parquet"  # ... a large one streams
    assert isinstance(prepare_data(auto), StreamedData)
    by_time = make_blueprint(tmp_path, "t.parquet", features=FEATURES,
                             split={"method": "time", "column": "x0"})
    assert streaming_source(by_time) is None
    forced = make_blueprint(tmp_path, "sklearn:iris", streaming=True)
    with pytest.raises(DataError, match=r"only \.csv, \.tsv and \.parquet"):
        streaming_source(forced)
    timed = make_blueprint(tmp_path, "t.parquet", features=FEATURES, streaming=True,
                           split={"method": "time", "column": "x0"})
    with pytest.raises(DataError, match="time needs every row sorted"):
        prepare_data(timed)


def test_encoded_batches_equal_the_preprocessor_on_the_same_rows(tmp_path: Path) -> None:
    path = write_table(tmp_path / "t.parquet")
    frame = pq.read_table(path).to_pandas()
    frame.loc[frame.index % 7 == 0, "x0"] = np.nan  # imputed by the fitted median
    frame.loc[frame.index % 11 == 0, "city"] = None  # the unknown bucket
    frame.to_parquet(path)
    bp = make_blueprint(tmp_path, "t.parquet", features=FEATURES, streaming=True,
                        stream={"batch_rows": 400})
    data = prepare_data(bp)
    assert isinstance(data, StreamedData)
    from kiln.data.stream_batches import encode

    stream = data.streams["val"]
    for batch in stream.reader:
        mask = batch.splits == stream.code
        inputs, targets = encode(data.preprocessor, batch.select(mask), "test")
        rows = frame.iloc[batch.rows[mask]]
        expected = data.preprocessor.transform(rows)
        for name, array in expected.items():
            np.testing.assert_array_equal(inputs[name], array)
        np.testing.assert_array_equal(targets["label"],
                                      data.preprocessor.transform_targets(rows)["label"])


def test_shards_split_a_stream_into_disjoint_parts(tmp_path: Path) -> None:
    stream = streamed(tmp_path).streams["train"]
    whole = np.concatenate([x["tabular"] for x, _ in stream.arrays()])
    parts = [np.concatenate([x["tabular"] for x, _ in stream.arrays(shard=(r, 2))])
             for r in range(2)]
    assert len(parts[0]) + len(parts[1]) == len(whole) == len(stream)
    assert 0.4 < len(parts[0]) / len(whole) < 0.6
    rows = {tuple(r) for r in whole}
    assert {tuple(r) for r in parts[0]} | {tuple(r) for r in parts[1]} == rows
    assert not {tuple(r) for r in parts[0]} & {tuple(r) for r in parts[1]}


def test_a_bad_value_deep_in_a_large_csv_names_its_line(tmp_path: Path) -> None:
    """Past the first block (1 MiB) Arrow reports the error while streaming, not on open."""
    lines = ["x0,x1,x2,city,label"] + [f"{i},1,2,a,{'yes' if i % 2 else 'no'}"
                                         for i in range(100_000)]
    lines[90_001] = "7,oops,2,a,yes"
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    bp = make_blueprint(tmp_path, "t.csv", features=FEATURES, streaming=True)
    with pytest.raises(DataError, match=r"t\.csv, line 90002 \(row 90001\), column 'x1'"):
        prepare_data(bp)


def test_scoring_keeps_a_bounded_stable_subset_of_a_large_split(tmp_path: Path) -> None:
    from kiln.data.streaming import split_arrays

    data = streamed(tmp_path)
    streams = [data.streams["val"], data.streams["test"]]

    def kept() -> dict[str, np.ndarray]:
        parts: dict[str, list[np.ndarray]] = {"val": [], "test": []}
        for name, (inputs, _), keep in split_arrays(streams, keep_rows=150):
            parts[name].append(inputs["tabular"][keep])
        return {k: np.concatenate(v) for k, v in parts.items()}

    first, second = kept(), kept()
    for name in ("val", "test"):
        assert 100 < len(first[name]) < 200  # ~150 of ~300 / ~600 rows
        np.testing.assert_array_equal(first[name], second[name])
