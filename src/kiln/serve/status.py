"""The service's own monitor, off the request path: a thread that has the service's
prediction log checked every `monitor_s` seconds, and the live request rate for the status
page. The check runs in a child process (spawned once, at low CPU priority): in a thread it
held the GIL long enough to raise `/predict`'s p99 latency several-fold (BENCHMARKS.md),
and it would have grown the service's memory by SciPy's and pandas' imports.

The check itself is a *watcher*: a `"module:function"` reference (`ServeSettings.watcher`,
set by `kiln serve` to `kiln.monitor.service:service_watch` when kiln's monitor is
installed), called as `watcher(bundle_path, log, since=..., model=...)` and returning the
Prometheus lines and the status summary. kiln.serve never imports the monitor itself (it is
a sibling layer, and a `kiln[serve]`-only install has no SciPy); without a watcher the
status page shows the service figures only.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import importlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kiln.errors import KilnError

if TYPE_CHECKING:
    from kiln.serve.service import Service

log = logging.getLogger("kiln.serve")
Watcher = Callable[..., tuple[str, dict[str, Any]]]
RATE_WINDOW_S = 60.0


@dataclass
class Snapshot:
    """The last monitor check: its gauges, its summary, when, and what went wrong."""

    prometheus: str = ""
    summary: dict[str, Any] | None = None
    checked_at: float | None = None
    error: str | None = None
    alerts: list[str] = field(default_factory=list)  # the last alerts seen, newest first


def resolve_watcher(ref: str) -> Watcher:
    """The function a `"module:function"` reference names. Raises `KilnError`."""
    module, _, name = ref.partition(":")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise KilnError(f"serve watcher {ref!r} cannot be imported ({exc}) — install "
                        f"kiln[monitor] or drop the watcher", where="watcher") from None
    return found


class StatusBoard:
    """Uptime, the live request rate and the last monitor snapshot of one service."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.started_at = time.time()
        self.snapshot = Snapshot()
        s = service.settings
        self.watcher = s.watcher if s.watcher else None
        if self.watcher:
            resolve_watcher(self.watcher)  # fail at start-up, not in the first check
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._samples: collections.deque[tuple[float, float]] = collections.deque(maxlen=600)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.watcher is not None and self.service.settings.monitor_s > 0:
            import multiprocessing

            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_lower_priority)
        self._thread = threading.Thread(target=self._loop, name="kiln-status", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def request_rate(self) -> float:
        """Records answered per second over the last minute (sampled once a second)."""
        self._sample()
        now, total = self._samples[-1]
        old = [(t, n) for t, n in self._samples if now - t <= RATE_WINDOW_S]
        t0, n0 = old[0]
        return (total - n0) / (now - t0) if now > t0 else 0.0

    def _sample(self) -> None:
        total = sum(s.value for metric in self.service.metrics.records.collect()
                    for s in metric.samples if s.name.endswith("_total"))
        self._samples.append((time.time(), total))

    def _loop(self) -> None:
        period = self.service.settings.monitor_s
        next_check = time.monotonic() + min(period, 5.0)  # a first look soon after start
        while not self._stop.wait(1.0):
            self._sample()
            if self._pool is not None and time.monotonic() >= next_check:
                self.check_now()
                next_check = time.monotonic() + period

    def check_now(self) -> Snapshot:
        """Run the watcher on the log's last `monitor_window_s` now (the thread calls it)."""
        s, model = self.service.settings, self.service.current
        if self._pool is None or not s.log_enabled:
            return self.snapshot
        assert self.watcher is not None
        try:
            future = self._pool.submit(_watch, self.watcher, model.source, str(s.log_path()),
                                       time.time() - s.monitor_window_s, model.name)
            lines, summary = future.result(timeout=max(60.0, s.monitor_s))
        except Exception as exc:  # a failed check must never stop the service: shown on /
            self.snapshot = Snapshot(self.snapshot.prometheus, self.snapshot.summary,
                                     time.time(), str(exc), self.snapshot.alerts)
            return self.snapshot
        alerts = [*summary.get("alerts", []), *self.snapshot.alerts][:10]
        self.snapshot = Snapshot(lines, summary, time.time(), None, alerts)
        for alert in summary.get("alerts", []):
            log.warning("kiln monitor alert: %s", alert)
        return self.snapshot

    def to_dict(self) -> dict[str, Any]:
        """The `/status` object."""
        model, snap = self.service.current, self.snapshot
        return {"model": model.name, "version": model.version, "source": model.source,
                "loaded_at": model.loaded_at, "started_at": self.started_at,
                "uptime_s": round(time.time() - self.started_at, 1),
                "records_per_s": round(self.request_rate(), 2),
                "monitor": {"watcher": self.service.settings.watcher,
                            "every_s": self.service.settings.monitor_s,
                            "window_s": self.service.settings.monitor_window_s,
                            "checked_at": snap.checked_at, "error": snap.error,
                            "summary": snap.summary, "last_alerts": snap.alerts}}


def _lower_priority() -> None:
    """The check's process yields the CPU to the service's own."""
    with contextlib.suppress(AttributeError, OSError):
        os.nice(10)


def _watch(ref: str, bundle: str, log: str, since: float,
           model: str) -> tuple[str, dict[str, Any]]:
    """One check, in the child process."""
    return resolve_watcher(ref)(bundle, log, since=since, model=model)
