"""Which process owns a `running` run, and whether it is still alive.

A run killed before it could write `failed` (SIGKILL, a power cut, a closed laptop) would
say `running` for ever. run.json records its owner — host, pid and the process's start time
(so that a recycled pid is not mistaken for it) — and `Run.status` reports `interrupted`
when that process is gone. On another host nothing can be known: the run stays `running`.
"""

from __future__ import annotations

import os
import socket
from typing import Any


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            stat = handle.read()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the name may hold spaces


def process_owner() -> dict[str, Any]:
    """This process, as run.json's `owner`."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "start": _start_time(pid)}


def owner_alive(owner: Any) -> bool:
    """False only when `owner` is a process of this host that is certainly gone."""
    if not isinstance(owner, dict) or owner.get("host") != socket.gethostname():
        return True
    pid = owner.get("pid")
    if not isinstance(pid, int):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process with that pid exists
    start = owner.get("start")
    return start is None or _start_time(pid) in (None, start)
