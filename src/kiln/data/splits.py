"""Train / validation / test indices, seeded by the blueprint: same seed → same indices.

    holdout     a seeded random permutation
    stratified  class proportions kept in every split (the default; holdout for regression)
    kfold       `fold=k` makes fold k (0-based) of `folds` the test split; val is carved
                from the other folds (stratified for classification)
    group       rows sharing a value of `column` stay in one split
    time        rows sorted by `column`: the latest are test, the ones before are val

Sizes: round(test * N) test rows, round(val * N) validation rows (by whole groups for the
group method), the rest train. Indices are positions in the loaded table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kiln.blueprint.schema import SplitSpec
from kiln.errors import DataError


@dataclass(frozen=True)
class SplitIndices:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def named(self) -> dict[str, np.ndarray]:
        return {"train": self.train, "val": self.val, "test": self.test}


def _sizes(n: int, spec: SplitSpec) -> tuple[int, int]:
    n_test, n_val = round(spec.test * n), round(spec.val * n)
    if n - n_test - n_val < 1:
        raise DataError(f"data.split: {n} rows leave none to train on — add rows or "
                        f"lower split.test / split.val")
    return n_test, n_val


def _carve(rows: np.ndarray, size: int, labels: np.ndarray | None,
           seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split `rows` into (rest, carved) with `size` carved rows, stratified when labelled."""
    if size <= 0:
        return rows, rows[:0]
    if size >= len(rows):
        raise DataError(f"data.split: not enough rows ({len(rows)}) for a split of {size}")
    if labels is not None:
        from sklearn.model_selection import train_test_split

        try:
            rest, carved = train_test_split(rows, test_size=size, random_state=seed,
                                            stratify=labels[rows])
            return np.asarray(rest), np.asarray(carved)
        except ValueError:
            pass  # a class too small to stratify: the class-count check reported it
    order = np.random.default_rng(seed).permutation(rows)
    return order[size:], order[:size]


def split_rows(n: int, spec: SplitSpec, seed: int, *, labels: np.ndarray | None = None,
               column: np.ndarray | None = None, fold: int | None = None) -> SplitIndices:
    """Indices for `n` rows. `labels` (class labels) enable stratification; `column` holds
    the group or time values. `fold` selects a k-fold test fold (any method but time)."""
    rows = np.arange(n)
    n_test, n_val = _sizes(n, spec)
    method = spec.method
    strat = labels if method in ("stratified", "kfold") else None
    if fold is not None or method == "kfold":
        if method == "time":
            raise DataError("fold: the time split has no folds — use split.method: kfold")
        test, rest = _fold(n, spec, seed, fold or 0, strat, column if method == "group" else None)
        if method == "group":
            assert column is not None
            train, val = _by_groups(rest, column, n_val, seed + 1)
        else:
            train, val = _carve(rest, n_val, strat, seed + 1)
    elif method == "group":
        if column is None:
            raise DataError("data.split: the group method needs split.column")
        rest, test = _by_groups(rows, column, n_test, seed)
        train, val = _by_groups(rest, column, n_val, seed + 1)
    elif method == "time":
        if column is None:
            raise DataError("data.split: the time method needs split.column")
        order = np.argsort(column, kind="stable")  # earliest first
        train = order[: n - n_test - n_val]
        val, test = order[n - n_test - n_val: n - n_test], order[n - n_test:]
        return SplitIndices(train, val, test)
    else:
        rest, test = _carve(rows, n_test, strat, seed)
        train, val = _carve(rest, n_val, strat, seed + 1)
    return SplitIndices(np.sort(train), np.sort(val), np.sort(test))


def _fold(n: int, spec: SplitSpec, seed: int, fold: int, labels: np.ndarray | None,
          groups: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(test, rest) for fold `fold` of `spec.folds`."""
    from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

    if not 0 <= fold < spec.folds:
        raise DataError(f"fold: {fold} is out of range — split.folds is {spec.folds}, so "
                        f"folds are 0..{spec.folds - 1}")
    rows = np.arange(n)
    if groups is not None:
        if len(np.unique(groups)) < spec.folds:
            raise DataError(f"data.split: {len(np.unique(groups))} groups cannot make "
                            f"{spec.folds} folds — lower split.folds")
        splits = list(GroupKFold(spec.folds, shuffle=True, random_state=seed)
                      .split(rows, groups=groups))
    elif labels is not None and np.unique(labels, return_counts=True)[1].min() >= spec.folds:
        splits = list(StratifiedKFold(spec.folds, shuffle=True, random_state=seed)
                      .split(rows, labels))
    else:
        splits = list(KFold(spec.folds, shuffle=True, random_state=seed).split(rows))
    rest, test = splits[fold]
    return np.asarray(test), np.asarray(rest)


def _by_groups(rows: np.ndarray, column: np.ndarray, size: int,
               seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(rest, carved): whole groups, in seeded random order, until `size` rows are carved."""
    if size <= 0:
        return rows, rows[:0]
    keys = np.array([str(v) for v in column[rows]])
    groups = np.unique(keys)  # sorted, so the shuffle below depends only on the seed
    if len(groups) < 2:
        raise DataError(f"data.split: the group column has {len(groups)} distinct value(s) "
                        f"among these rows — a group split needs at least 2 groups")
    order = np.random.default_rng(seed).permutation(groups)
    taken: list[str] = []
    count = 0
    counts = {g: int(c) for g, c in zip(*np.unique(keys, return_counts=True), strict=True)}
    for group in order[:-1]:  # always leave at least one group behind
        if count >= size:
            break
        taken.append(group)
        count += counts[group]
    mask = np.isin(keys, taken)
    return rows[~mask], rows[mask]
