"""The same run compressed again and again: does the selected variant stay the same?

Trains the digits CNN (examples/digits_cnn.yaml, 4 epochs, 1 thread) once, then runs
`kiln.compress.compress` on copies of that run `--runs` times, as the CI test
`test_a_run_compressed_twice_selects_the_same_variant` does (timing budget 1 s, 1 thread).
With `--load`, a competing busy process spins on one core the whole time, as the rest of a
test suite does on a shared 2-vCPU box.

For each compression it prints the selected variant, the rounds timed, and the per-round
int8/fp32 latency ratio (each round's lower quartile, as selection compares them). The
baseline is kiln's previous rule applied to the same rounds: each round's p50, compared over
every (round, round) pair, faster in 90% of them. Both picks are counted at the end.

    python benchmarks/compress_stability.py [--runs 8] [--load] [--json]

Target: one variant selected in every run, with and without `--load`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def spin(seconds: float) -> None:
    """A competing process: pure-Python busy work for `seconds`."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sum(range(10_000))


def previous_pick(result: Any, budgets: Any) -> str:
    """kiln's pick on the same timings under the previous rule: each round's p50, compared
    over every (round, round) pair, faster by the margin in 90% of them."""
    from unittest import mock

    from kiln.compress import selection
    from kiln.compress.selection import TIE_MARGIN

    def p50_rounds(v: Any) -> list[float]:
        return list(v.details["p50_rounds_ms"])

    def all_pairs(a: list[float], b: list[float], margin: float = TIE_MARGIN) -> bool:
        wins = sum(1 for x in a for y in b if x * (1 + margin) < y)
        return wins / (len(a) * len(b)) >= 0.9

    copies = [selection.Variant.from_dict(v.to_dict()) for v in result.variants
              if v.name != "pte"]  # the edge variant is never selected
    with mock.patch.object(selection, "latency_rounds", p50_rounds), \
            mock.patch.object(selection, "decidedly_faster", all_pairs):
        picked = selection.select_variant(copies, budgets,
                                          result.reference["metric"], result.objective)
    return picked.selected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--load", action="store_true",
                        help="a competing busy process on one core while compressing")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from kiln import load_blueprint
    from kiln.compress import compress
    from kiln.train import load_run, train

    home = Path(tempfile.mkdtemp(prefix="kiln-stability-"))
    os.environ["KILN_HOME"] = str(home)
    bp = load_blueprint(ROOT / "examples" / "digits_cnn.yaml")
    bp.training.epochs, bp.training.threads = 4, 1
    trained = train(bp, quiet=True, tracking=False)
    rival = None
    if args.load:
        rival = multiprocessing.get_context("spawn").Process(target=spin, args=(3600,))
        rival.start()
    rows = []
    try:
        for k in range(args.runs):
            copy = home / f"copy{k}"
            shutil.copytree(trained.dir, copy / trained.dir.name)
            run = load_run(copy / trained.dir.name)
            result = compress(run, tracking=False, timing_budget_s=1.0, threads=1)
            ratio = (np.array(result.variant("int8").details["p25_rounds_ms"])
                     / np.array(result.variant("fp32").details["p25_rounds_ms"]))
            rows.append({"selected": result.selected,
                         "previous_rule": previous_pick(result, run.blueprint.budgets),
                         "rounds": len(ratio), "int8_over_fp32": ratio.round(3).tolist()})
            if not args.json:
                print(f"run {k}: kiln {rows[-1]['selected']:<6} previous rule "
                      f"{rows[-1]['previous_rule']:<6} rounds {len(ratio):>2}  int8/fp32 "
                      f"per round {np.round(ratio, 2).tolist()}", flush=True)
    finally:
        if rival is not None:
            rival.terminate()
        shutil.rmtree(home, ignore_errors=True)
    ratios = np.concatenate([r["int8_over_fp32"] for r in rows])
    summary = {"runs": len(rows), "load": args.load,
               "kiln": dict(Counter(r["selected"] for r in rows)),
               "previous_rule": dict(Counter(r["previous_rule"] for r in rows)),
               "int8_over_fp32_p5_p50_p95": np.percentile(ratios, [5, 50, 95]).round(3).tolist()}
    if args.json:
        print(json.dumps({"summary": summary, "runs": rows}, indent=2))
    else:
        print(f"kiln picked {summary['kiln']}; the previous rule on the same rounds "
              f"{summary['previous_rule']}; int8/fp32 per round (5th/50th/95th percentile) "
              f"{summary['int8_over_fp32_p5_p50_p95']}")
    return 0 if len(summary["kiln"]) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
