"""Local tuning workers share the cores: threads per worker, and a warning past the cores."""

from __future__ import annotations

from kiln.tune.cores import available_cores, plan_threads


def test_threads_are_split_between_workers() -> None:
    assert plan_threads(2, None, cores=8) == (4, None)
    assert plan_threads(1, None, cores=2) == (2, None)
    assert available_cores() >= 1


def test_oversubscription_is_said() -> None:
    threads, warning = plan_threads(2, 2, cores=2)
    assert threads == 2
    assert warning is not None
    assert "2 workers × 2 thread(s) (training.threads: 2) = 4 > 2 cores" in warning
    assert "--workers 1" in warning
    threads, warning = plan_threads(4, None, cores=2)
    assert threads == 1 and warning is not None and "4 > 2 cores" in warning
