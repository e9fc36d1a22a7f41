"""`kiln train --nproc N`: the same training under torchrun, as DistributedDataParallel.

The launcher is PyTorch's own, `torch.distributed.run` (what the `torchrun` command runs),
called in this process: it starts N ranks of `kiln.train.ddp_worker` per node, with
`--max-restarts 0` so that a rank that dies stops the whole job, and raises a
`ChildFailedError` naming the ranks that failed — which becomes one clear `KilnError`.
Multi-node jobs pass torchrun's own rendezvous flags through (`Nodes`); see
docs/distributed.md.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiln import errors
from kiln.errors import KilnError, RunError, TrainingError

if TYPE_CHECKING:
    from kiln.blueprint.schema import Blueprint
    from kiln.data.prepared import PreparedData
    from kiln.runs import Run
    from kiln.train.loop import EpochCallback
    from kiln.train.losses import Distillation

WORKER = "kiln.train.ddp_worker"
# The signals torchrun's agent takes over while it runs (its default list).
AGENT_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT")


@dataclass(frozen=True)
class Nodes:
    """torchrun's multi-node flags, passed through as they are (None: torchrun's default).

    nnodes: "2" or an elastic range "1:4"; node_rank: this node (static rendezvous);
    rdzv_endpoint: "host:port" every node reaches; rdzv_id: one job id on every node;
    rdzv_backend: "c10d" (default for an endpoint) or "static" with `node_rank`.
    """

    nnodes: str = "1"
    node_rank: int | None = None
    rdzv_endpoint: str | None = None
    rdzv_id: str | None = None
    rdzv_backend: str | None = None

    @property
    def single(self) -> bool:
        return self.nnodes == "1" and self.rdzv_endpoint is None

    def flags(self) -> list[str]:
        if self.single:
            return ["--standalone"]  # a free local port, one rendezvous of its own
        out = ["--nnodes", self.nnodes]
        for flag, value in (("--node-rank", self.node_rank),
                            ("--rdzv-endpoint", self.rdzv_endpoint),
                            ("--rdzv-id", self.rdzv_id),
                            ("--rdzv-backend", self.rdzv_backend or "c10d")):
            if value is not None:
                out += [flag, str(value)]
        return out


def train_distributed(blueprint: Blueprint | None, *, nproc: int, data: PreparedData | None,
                      cv: int | None, resume: str | None, quiet: bool,
                      epoch_callback: EpochCallback | None, distill: Distillation | None,
                      parent_run_id: str | None, run_name: str | None, tracking: bool) -> Run:
    """`train(..., nproc=N)`: what can cross into the ranks goes; the rest is refused."""
    refused = [name for name, value in (("data", data), ("cv", cv), ("distill", distill),
                                        ("epoch_callback", epoch_callback))
               if value is not None]
    if refused:
        raise RunError(f"train: {', '.join(refused)} cannot be combined with nproc — each rank "
                       f"prepares its data and runs in its own process; train without nproc")
    run = launch(blueprint, nproc=nproc, resume=resume, quiet=quiet, tracking=tracking,
                 run_name=run_name, parent_run_id=parent_run_id)
    if run is None:  # one node always holds rank 0
        raise RunError("train: rank 0 did not name its run")
    return run


def launch(blueprint: Blueprint | None = None, *, nproc: int, resume: str | None = None,
           nodes: Nodes | None = None, quiet: bool = False, tracking: bool = True,
           run_name: str | None = None, parent_run_id: str | None = None) -> Run | None:
    """Train `blueprint` (or continue run `resume`) on `nproc` ranks per node under torchrun.

    Returns the run rank 0 wrote, or None on a node of a multi-node job that does not hold
    rank 0 (that node's ranks finished; the run is on rank 0's node). Raises `RunError` for
    a bad request, `TrainingError` when a rank dies, and a rank's own `KilnError` (a data
    check, a bad blueprint) as that rank raised it.
    """
    nodes = nodes or Nodes()
    if nproc < 1:
        raise RunError(f"--nproc {nproc}: give the number of processes per node (1 or more)",
                       where="--nproc")
    with job_folder() as job:
        worker = ["--job", str(job)]
        if resume is not None:
            from kiln.runs.run import load_resumable

            run = load_resumable(resume)
            refuse_single_process(run.blueprint)
            worker += ["--resume", str(run.dir.resolve())]
        elif blueprint is None:
            raise RunError("train: give a blueprint to train, or resume=RUN_ID to continue")
        else:
            refuse_single_process(blueprint)
            from kiln.blueprint import dump_blueprint

            (job / "blueprint.yaml").write_text(dump_blueprint(blueprint), encoding="utf-8")
            worker += ["--blueprint", str(job / "blueprint.yaml")]
            if blueprint.path is not None:
                worker += ["--source", str(blueprint.path)]
        worker += [*(["--run-name", run_name] if run_name else []),
                   *(["--parent-run-id", parent_run_id] if parent_run_id else []),
                   *([] if tracking else ["--no-tracking"]), *(["--quiet"] if quiet else [])]
        # --max-restarts 0: a rank that dies ends the job; --shutdown-timeout: the other
        # ranks get 10 s after SIGTERM (they need none; a stalled one is then SIGKILLed);
        # --log-dir: torchrun's own files go to the job folder, removed with it.
        argv = ["--nproc-per-node", str(nproc), "--max-restarts", "0",
                "--shutdown-timeout", "10", "--log-dir", str(job / "torchrun"), *nodes.flags(),
                "-m", WORKER, *worker]
        run_torchrun(argv, job, nproc)
        return finished_run(job)


def refuse_single_process(blueprint: Blueprint) -> None:
    """What trains in one process only. Streamed data (data.streaming, docs/streaming.md):
    its batches are read from the file and are not yet cut into per-rank shards. Bagging
    (training.bagging): its members train one after another on their own folds."""
    from kiln.data.streaming import streaming_source

    if blueprint.training.bagging > 1:
        raise RunError(f"--nproc: training.bagging is {blueprint.training.bagging}, and a "
                       f"bagged model's members train one after another in one process — "
                       f"drop --nproc, or set training.bagging: 1", where="training.bagging")
    if streaming_source(blueprint) is not None:
        raise RunError("--nproc: this run streams its data (data.streaming, or a source of "
                       "1 GiB or more with streaming: auto), which trains in one process for "
                       "now — drop --nproc, or set data.streaming: false if the table fits "
                       "in memory", where="data.streaming")


def recorded_nproc(ref: str) -> int | None:
    """The processes per node a run was trained with, when it ran on one node under
    torchrun (None: one process, several nodes — those say `--nproc` themselves — or a
    run that cannot be read, which the resume itself then reports)."""
    from kiln.runs.run import load_run

    try:
        job = load_run(ref).info.get("distributed") or {}
    except KilnError:
        return None
    if job.get("nnodes") == 1 and isinstance(job.get("nproc_per_node"), int):
        return int(job["nproc_per_node"])
    return None


@contextlib.contextmanager
def job_folder() -> Iterator[Path]:
    """A private folder for the ranks' hand-back files, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="kiln-ddp-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def agent_scope() -> Iterator[None]:
    """torchrun's agent sets OMP_NUM_THREADS and takes over signal handlers in the process
    that runs it; put both back afterwards, so the Python API leaves its caller as it was."""
    environ = dict(os.environ)
    handlers = {name: signal.getsignal(getattr(signal, name)) for name in AGENT_SIGNALS
                if hasattr(signal, name)}
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(environ)
        for name, handler in handlers.items():
            if handler is not None:
                with contextlib.suppress(ValueError):  # not the main thread: nothing was set
                    signal.signal(getattr(signal, name), handler)


def run_torchrun(argv: list[str], job: Path, nproc: int) -> None:
    """`torchrun ARGV` in this process; a failed rank becomes one `KilnError`."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    with agent_scope():
        # torchrun gives every rank one thread unless told; share the cores out instead (a
        # blueprint's `training.threads` still decides inside each rank).
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
        try:
            run(parse_args(argv))
        except ChildFailedError as exc:
            raise rank_failure(exc, job) from None


def rank_failure(exc: Any, job: Path) -> KilnError:
    """What ended the job, for a person: a rank's own `KilnError` when one raised it, else
    the rank that was killed or crashed (the ranks torchrun then stopped are not the cause)."""
    from kiln.files import read_json

    reports = {}
    for path in sorted((job / "errors").glob("rank-*.json")):
        with contextlib.suppress(Exception):
            record = read_json(path)
            reports[int(record["rank"])] = record
    for rank, record in sorted(reports.items()):
        kind = getattr(errors, str(record.get("class")), None)
        if isinstance(kind, type) and issubclass(kind, KilnError):
            return rebuilt(kind, f"rank {rank}: {record['message']}", record.get("where"))
    failures = exc.failures  # global rank → ProcessFailure
    killed = {r: f for r, f in failures.items()
              if f.exitcode < 0 and f.signal_name() != "SIGTERM"}
    rank, failure = min((killed or failures).items(),
                        key=lambda item: (item[1].timestamp, item[0]))
    cause = (f"was killed by {failure.signal_name()}" if failure.exitcode < 0
             else f"exited with status {failure.exitcode}")
    detail = reports.get(rank)
    said = f" ({detail['class']}: {detail['message'][:300]})" if detail else ""
    run_id = (job / "run_id").read_text(encoding="utf-8").strip() \
        if (job / "run_id").exists() else None
    again = (f"; continue it with `kiln train --resume {run_id} --nproc N`" if run_id
             else "")
    return TrainingError(
        f"distributed training stopped: rank {rank} (pid {failure.pid}) {cause}{said} — "
        f"torchrun ended the other ranks (--max-restarts 0){again}", where=f"rank {rank}")


def rebuilt(kind: type[KilnError], message: str, where: Any) -> KilnError:
    where = str(where) if where is not None else None
    if issubclass(kind, errors.ChecksFailed):
        return kind(message, [], where=where)
    try:
        return kind(message, where=where)
    except TypeError:  # a kind with a constructor of its own
        return TrainingError(message, where=where)


def finished_run(job: Path) -> Run | None:
    from kiln.runs.run import load_run

    marker = job / "run_id"
    if not marker.exists():
        return None
    return load_run(marker.read_text(encoding="utf-8").strip())
