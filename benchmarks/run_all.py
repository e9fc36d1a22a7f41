"""Run every benchmark under benchmarks/ in turn (what `make bench` does).

Each benchmark measures a baseline and kiln in the same run and prints the ratio; this
script runs them one after another with their default arguments, so they never compete
for the cores, and exits non-zero when any of them failed. `--only NAME` runs a subset.

    python benchmarks/run_all.py                 # all of them
    python benchmarks/run_all.py --only serve    # benchmarks whose file name contains it
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[],
                        help="run only benchmarks whose file name contains this")
    args = parser.parse_args()
    scripts = sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name)
    if args.only:
        scripts = [p for p in scripts if any(key in p.stem for key in args.only)]
    failed = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(script)], check=False)
        print(f"=== {script.name}: exit {done.returncode}, "
              f"{time.perf_counter() - started:.0f} s ===", flush=True)
        if done.returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
