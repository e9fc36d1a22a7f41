"""Splits: sizes, determinism, stratification, k-fold, group and time semantics."""

from __future__ import annotations

import numpy as np
import pytest

from kiln.blueprint import SplitSpec
from kiln.data.splits import SplitIndices, split_rows
from kiln.errors import DataError

LABELS = np.array(["a"] * 80 + ["b"] * 20)


def disjoint_cover(split: SplitIndices, n: int) -> None:
    everything = np.concatenate([split.train, split.val, split.test])
    assert sorted(everything.tolist()) == list(range(n))


@pytest.mark.parametrize("method", ["holdout", "stratified", "kfold", "group", "time"])
def test_same_seed_same_indices(method: str) -> None:
    spec = SplitSpec(method=method, column="g" if method in ("group", "time") else None)
    column = np.arange(100) // 5 if method in ("group", "time") else None
    first = split_rows(100, spec, 7, labels=LABELS, column=column)
    again = split_rows(100, spec, 7, labels=LABELS, column=column)
    other = split_rows(100, spec, 8, labels=LABELS, column=column)
    disjoint_cover(first, 100)
    for name in ("train", "val", "test"):
        assert np.array_equal(first.named()[name], again.named()[name])
    if method != "time":  # time order does not depend on the seed
        assert not np.array_equal(first.test, other.test)


def test_holdout_sizes() -> None:
    split = split_rows(100, SplitSpec(method="holdout", test=0.2, val=0.1), 0)
    assert (len(split.train), len(split.val), len(split.test)) == (70, 10, 20)


def test_stratified_keeps_class_shares() -> None:
    split = split_rows(100, SplitSpec(method="stratified", test=0.2, val=0.1), 0, labels=LABELS)
    assert (LABELS[split.test] == "b").sum() == 4
    assert (LABELS[split.val] == "b").sum() == 2


def test_kfold_folds_cover_every_row_once() -> None:
    spec = SplitSpec(method="kfold", folds=4, val=0.1)
    tests = [split_rows(100, spec, 0, labels=LABELS, fold=k).test for k in range(4)]
    assert sorted(np.concatenate(tests).tolist()) == list(range(100))
    split = split_rows(100, spec, 0, labels=LABELS, fold=2)
    disjoint_cover(split, 100)
    assert len(split.test) == 25 and len(split.val) == 10
    assert (LABELS[split.test] == "b").sum() == 5  # stratified folds


def test_fold_out_of_range() -> None:
    with pytest.raises(DataError, match=r"fold: 5 is out of range .* folds are 0\.\.4"):
        split_rows(100, SplitSpec(method="kfold"), 0, fold=5)


def test_group_rows_stay_together() -> None:
    groups = np.repeat(np.arange(20), 5)  # 20 groups of 5 rows
    split = split_rows(100, SplitSpec(method="group", column="g"), 0, column=groups)
    disjoint_cover(split, 100)
    seen = [set(groups[rows].tolist()) for rows in (split.train, split.val, split.test)]
    assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])
    assert len(split.test) == 20 and len(split.val) == 10


def test_group_kfold() -> None:
    groups = np.repeat(np.arange(10), 10)
    split = split_rows(100, SplitSpec(method="group", column="g", folds=5), 0, column=groups,
                       fold=1)
    assert not set(groups[split.test].tolist()) & set(groups[split.train].tolist())


def test_time_split_puts_latest_rows_in_test() -> None:
    times = np.random.default_rng(0).permutation(100)  # row i happened at times[i]
    split = split_rows(100, SplitSpec(method="time", column="t"), 0, column=times)
    disjoint_cover(split, 100)
    assert times[split.train].max() < times[split.val].min()
    assert times[split.val].max() < times[split.test].min()
    assert sorted(times[split.test].tolist()) == list(range(80, 100))
    with pytest.raises(DataError, match="the time split has no folds"):
        split_rows(100, SplitSpec(method="time", column="t"), 0, column=times, fold=0)


def test_too_few_rows() -> None:
    with pytest.raises(DataError, match="leave none to train on"):
        split_rows(2, SplitSpec(method="holdout", test=0.5, val=0.3), 0)
