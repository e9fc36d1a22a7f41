"""How many threads each local tuning worker gets, and a warning when they oversubscribe.

Two workers each running PyTorch with every core's worth of threads on a 2-core machine
fight over the cores: `kiln tune --workers 2` took 38 s against 14 s with one worker. Each
worker now gets `cores // workers` threads (at least 1) unless the blueprint sets
`training.threads`, and `plan_threads` says so when workers × threads exceed the cores.
"""

from __future__ import annotations

import os


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def plan_threads(workers: int, blueprint_threads: int | None,
                 cores: int | None = None) -> tuple[int, str | None]:
    """(threads per worker, a warning or None) for `workers` local worker processes."""
    cores = cores or available_cores()
    threads = blueprint_threads or max(1, cores // workers)
    if workers * threads <= cores:
        return threads, None
    why = (f"training.threads: {blueprint_threads}" if blueprint_threads
           else "one thread each at least")
    return threads, (f"tune: {workers} workers × {threads} thread(s) ({why}) = "
                     f"{workers * threads} > {cores} cores — the workers will slow each other "
                     f"down; use --workers {max(1, cores // threads)} or fewer threads")
