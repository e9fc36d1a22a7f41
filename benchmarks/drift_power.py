"""False-alarm rate and detection power of kiln's drift verdict, against Evidently's
documented default data-drift rules, on the same synthetic data.

The world: four standard-normal numeric features and two categorical ones (shares
0.5/0.3/0.2 and 0.4/0.4/0.2). The reference is 2,000 training rows (what a kiln bundle
keeps in profile.json); each live window draws fresh rows, with feature x1 shifted by
0, 0.25, 0.5 or 1 standard deviation. For every (shift, window) cell, R resamples with
fixed seeds; a cell's figure is the share of resamples in which drift was called.

kiln: `kiln.monitor.drift.drift_table` with the default `MonitorSpec` (KS / chi-square
while the effective sample is ≤ 1,000 rows, else normalised Wasserstein / Jensen–Shannon,
plus PSI and unseen share, plus the domain classifier, p-values corrected together by
Benjamini–Hochberg at 0.05).

Reference: Evidently (0.7.23 installs without touching torch but does not import with
pandas 3: `infer_dtype_from_object` is gone), so its documented defaults are applied
with SciPy: reference ≤ 1,000 rows → KS / chi-square at p < 0.05, else Wasserstein
(normed) / Jensen–Shannon distance ≥ 0.1, each column on its own, no correction; shown
as "any column drifted" and as the preset's dataset verdict (≥ 50% of columns drifted).

    .venv/bin/python benchmarks/drift_power.py [--resamples 100]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np

SHIFTS = (0.0, 0.25, 0.5, 1.0)
WINDOWS = (200, 500, 1000, 5000)
REFERENCE_ROWS = 2000
CATEGORIES = {"city": (["a", "b", "c"], [0.5, 0.3, 0.2]),
              "color": (["red", "blue", "green"], [0.4, 0.4, 0.2])}


def world(rows: int, seed: int, shift: float) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {f"x{j}": rng.normal(size=rows) for j in range(1, 5)}
    out["x1"] = out["x1"] + shift
    for name, (values, p) in CATEGORIES.items():
        out[name] = rng.choice(values, rows, p=p).astype(object)
    return out


def kiln_verdict(reference: dict[str, np.ndarray], live: dict[str, np.ndarray]) -> bool:
    from kiln.blueprint.monitor_spec import MonitorSpec
    from kiln.monitor.drift import Series, drift_table, input_matrix
    from kiln.monitor.registry import Reference

    series = [Series(name, "categorical" if name in CATEGORIES else "numeric",
                     Reference("categorical", values=ref, known=frozenset(ref.tolist()))
                     if name in CATEGORIES else Reference("numeric", values=ref),
                     live[name]) for name, ref in reference.items()]
    return any(r.drifted for r in drift_table(series, MonitorSpec(), input_matrix(series)))


def evidently_defaults(reference: dict[str, np.ndarray],
                       live: dict[str, np.ndarray]) -> list[bool]:
    """Per column: drift by Evidently's documented default test and threshold."""
    from scipy import stats
    from scipy.spatial import distance

    small = REFERENCE_ROWS <= 1000
    out = []
    for name, ref in reference.items():
        cur = live[name]
        if name in CATEGORIES:
            names = sorted(set(ref.tolist()) | set(cur.tolist()))
            r = np.array([np.sum(ref == n) for n in names], float)
            c = np.array([np.sum(cur == n) for n in names], float)
            out.append(bool(stats.chi2_contingency(np.vstack([r, c]))[1] < 0.05) if small
                       else bool(distance.jensenshannon(r / r.sum(), c / c.sum()) >= 0.1))
        elif small:
            out.append(bool(stats.ks_2samp(ref, cur).pvalue < 0.05))
        else:
            out.append(bool(stats.wasserstein_distance(ref, cur) / np.std(ref) >= 0.1))
    return out


def table(title: str, cells: dict[tuple[float, int], float]) -> None:
    print(f"\n{title}")
    print("shift \\ window " + "".join(f"{w:>8}" for w in WINDOWS))
    for shift in SHIFTS:
        print(f"{shift:>5.2f} sd       " + "".join(f"{cells[shift, w]:>8.1%}" for w in WINDOWS))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=100)
    args = parser.parse_args(argv)
    reference = world(REFERENCE_ROWS, 0, 0.0)
    kiln: dict[tuple[float, int], float] = {}
    any_column: dict[tuple[float, int], float] = {}
    dataset: dict[tuple[float, int], float] = {}
    started = time.perf_counter()
    for shift in SHIFTS:
        for window in WINDOWS:
            k = a = d = 0
            for r in range(args.resamples):
                live = world(window, 1_000_000 + 1000 * r + window, shift)
                k += kiln_verdict(reference, live)
                columns = evidently_defaults(reference, live)
                a += any(columns)
                d += sum(columns) / len(columns) >= 0.5
            n = args.resamples
            kiln[shift, window], any_column[shift, window], dataset[shift, window] = \
                k / n, a / n, d / n
    print(f"{args.resamples} resamples per cell, reference {REFERENCE_ROWS} rows, "
          f"{len(reference)} features ({time.perf_counter() - started:.0f} s)")
    table("kiln verdict (row 0.00 = false-alarm rate)", kiln)
    table("Evidently defaults, any column drifted", any_column)
    table("Evidently defaults, dataset drift (≥ 50% of columns)", dataset)


if __name__ == "__main__":
    main()
