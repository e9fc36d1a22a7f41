"""Duplicate rows: identical feature rows in the source table are data, not an error.

Survey, sensor and transaction tables hold rows that agree on every feature: different
respondents who gave the same answers. Split row by row, such copies straddle train and
test and inflate the test score; refused, the table cannot be trained at all. kiln tells
apart the two things the leakage check used to conflate:

    copies in the source table     handled by `data.duplicates` (below), a warning with
                                   their share; never an error
    one row in two splits          a user-chosen group or time split that separates copies
                                   stays an error of the leakage check

`data.duplicates`:
    group  (default) each set of identical feature rows is one group; the split is made on
           one representative row per group (stratified, k-fold ... as configured) and every
           copy follows its representative, so no group straddles two splits
    drop   keep the first row of each group
    keep   split row by row; copies across splits are reported as leakage warnings

Conflicting duplicates (same features, different targets) are counted and reported: no
model can tell them apart, so they bound the reachable accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kiln.data.prepared import CheckResult
from kiln.data.splits import SplitIndices, split_rows

if TYPE_CHECKING:
    from kiln.blueprint.schema import SplitSpec

# Split methods whose assignment kiln chooses; group and time splits are the user's own.
GROUPABLE_METHODS = ("holdout", "stratified", "kfold")


@dataclass(frozen=True)
class Duplicates:
    """Groups of rows with identical features.

    group:        (N,) group id of each row (rows with the same features share one)
    first:        (G,) the first row of each group, in table order
    copies:       rows that repeat an earlier row's features (N − G)
    conflicting:  groups whose rows disagree on the target
    conflicting_rows: rows in those groups
    """

    group: np.ndarray
    first: np.ndarray
    copies: int
    conflicting: int
    conflicting_rows: int

    @property
    def rows(self) -> int:
        return len(self.group)


def find_duplicates(feature_rows: np.ndarray, full_rows: np.ndarray) -> Duplicates:
    """Group rows by their feature hash; `full_rows` (features + targets) finds conflicts."""
    _, first, group = np.unique(feature_rows, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # number groups in table order
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    group = rank[group.ravel()]
    first = first[order]
    pairs = np.unique(np.stack([group.astype(np.uint64), full_rows]), axis=1)
    per_group = np.bincount(pairs[0].astype(np.int64), minlength=len(first))  # distinct rows
    conflicted = per_group > 1
    return Duplicates(group=group, first=np.sort(first), copies=len(group) - len(first),
                      conflicting=int(conflicted.sum()),
                      conflicting_rows=int(conflicted[group].sum()))


def duplicate_check(dups: Duplicates, policy: str, method: str) -> CheckResult:
    """A warning with the share of copies, what the policy does, and the conflicts."""
    if dups.copies == 0:
        return CheckResult("duplicates", "ok", "no duplicate feature rows")
    share = dups.copies / dups.rows
    if policy == "drop":
        action = "dropped (data.duplicates: drop)"
    elif policy == "keep":
        action = "kept and split row by row (data.duplicates: keep)"
    elif method in GROUPABLE_METHODS:
        action = "kept; each set of copies stays inside one split (data.duplicates: group)"
    else:
        action = f"kept; the {method} split decides where they go"
    conflict = ""
    if dups.conflicting:
        conflict = (f"; {dups.conflicting} of them ({dups.conflicting_rows} rows) disagree "
                    f"on the target — no model can tell those rows apart, which bounds the "
                    f"reachable accuracy")
    return CheckResult("duplicates", "warning",
                       f"{dups.copies} of {dups.rows} rows ({share:.1%}) repeat an earlier "
                       f"row's features — {action}{conflict}")


def split_by_groups(dups: Duplicates, spec: SplitSpec, seed: int, *,
                    labels: np.ndarray | None, fold: int | None) -> SplitIndices:
    """Split one representative row per group as `spec` says; copies follow it."""
    representatives = split_rows(len(dups.first), spec, seed,
                                 labels=None if labels is None else labels[dups.first],
                                 fold=fold)
    parts = []
    for chosen in (representatives.train, representatives.val, representatives.test):
        parts.append(np.flatnonzero(np.isin(dups.group, chosen)))
    return SplitIndices(*parts)
