"""One rank of `kiln train --nproc N`: `python -m kiln.train.ddp_worker`, started by torchrun.

Every rank prepares the data and builds the model the same way; rank 0 alone opens the run
directory and the MLflow run, writes checkpoints and shows progress (`kiln.train.session`,
as one process does), and the others only train. The launcher (`kiln.train.launch`) gives a
job folder: the blueprint to train, and where rank 0 names its run (`run_id`) and a rank
that fails leaves its error (`errors/rank-K.json`), so the launcher can say what happened.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
from pathlib import Path
from typing import Any

from kiln.errors import KilnError
from kiln.files import atomic_write_text, write_json
from kiln.train.distributed import (
    DistributedLoop,
    Rank,
    check_same_data,
    process_group,
    rank_device,
)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kiln.train.ddp_worker")
    parser.add_argument("--job", type=Path, required=True)
    parser.add_argument("--blueprint", type=Path, help="resolved blueprint YAML to train")
    parser.add_argument("--source", help="the original blueprint file (relative paths)")
    parser.add_argument("--resume", type=Path, help="run directory to continue")
    parser.add_argument("--run-name")
    parser.add_argument("--parent-run-id")
    parser.add_argument("--no-tracking", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def die_with_launcher() -> None:
    """Linux: end this rank when torchrun's agent dies (SIGKILL leaves it no time to stop
    its workers), instead of training on as an orphan."""
    if sys.platform.startswith("linux"):
        with_errno = ctypes.CDLL(None, use_errno=True)
        with_errno.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    die_with_launcher()
    rank = Rank.from_env()
    try:
        run_rank(args, rank)
    except BaseException as exc:
        report_error(args.job, rank, exc)
        if isinstance(exc, KilnError):
            sys.exit(exc.exit_code)  # the launcher re-raises it; no traceback for a user error
        if lost_peer(exc):
            sys.exit(1)  # another rank died: the launcher names it; this trace says nothing
        raise


def lost_peer(exc: BaseException) -> bool:
    """Whether a collective failed because another rank went away (gloo's TCP pair, a
    timed-out or aborted NCCL/gloo collective)."""
    import torch.distributed as dist

    text = str(exc)
    return isinstance(exc, dist.DistError) or (
        isinstance(exc, RuntimeError)
        and any(s in text for s in ("gloo/transport", "Connection reset by peer",
                                    "Connection closed by peer", "timed out")))


def run_rank(args: argparse.Namespace, rank: Rank) -> None:
    from kiln.runs.run import load_run
    from kiln.train.loop import select_device

    if args.resume is not None:
        run = load_run(args.resume)
        blueprint = run.blueprint
    else:
        from kiln.blueprint import load_blueprint

        blueprint = load_blueprint(args.blueprint)
        blueprint.set_source(args.source)
    device = rank_device(select_device(blueprint), rank)
    with process_group(device):
        if args.resume is not None:
            resume_rank(run, rank, device, job=args.job, quiet=args.quiet,
                        tracking=not args.no_tracking)
        else:
            train_rank(blueprint, rank, device, args)


def make_loop(blueprint: Any, data: Any, rank: Rank, device: Any,
              quiet: bool) -> DistributedLoop:
    from kiln.model import build_model
    from kiln.train.progress import make_progress

    model = build_model(blueprint, data.signature)
    return DistributedLoop(model, data, blueprint, device=device, rank=rank,
                           progress=make_progress(quiet or not rank.leader,
                                                  f"train · {rank.world} ranks"))


def job_info(rank: Rank, device: Any) -> dict[str, Any]:
    local = int(os.environ.get("LOCAL_WORLD_SIZE", rank.world))
    return {"world_size": rank.world, "nproc_per_node": local,
            "nnodes": max(1, rank.world // max(local, 1)),
            "backend": "nccl" if device.type == "cuda" else "gloo"}


def train_rank(blueprint: Any, rank: Rank, device: Any, args: argparse.Namespace) -> None:
    from kiln.train.session import execute, open_run, prepare, training_context

    with training_context(blueprint):
        data = prepare(blueprint)
        check_same_data(data.fingerprint, rank, device)
        loop = make_loop(blueprint, data, rank, device, args.quiet)
        if not rank.leader:
            loop.run()
            return
        run, tracker = open_run(blueprint, data, loop, name=args.run_name or blueprint.name,
                                parent_run_id=args.parent_run_id,
                                tracking=not args.no_tracking,
                                extra={"distributed": job_info(rank, device)})
        atomic_write_text(args.job / "run_id", run.id)
        execute(run, loop, tracker)


def resume_rank(run: Any, rank: Rank, device: Any, *, job: Path, quiet: bool,
                tracking: bool) -> None:
    """Continue `run` from its checkpoint on every rank; rank 0 reopens its MLflow run."""
    from kiln.train.checkpoint import load_checkpoint
    from kiln.train.session import (
        check_unchanged_data,
        execute,
        prepare,
        reopen_run,
        training_context,
    )

    state = load_checkpoint(run.dir / "checkpoints")
    blueprint = run.blueprint
    with training_context(blueprint):
        data = prepare(blueprint)
        check_unchanged_data(run, data)
        check_same_data(data.fingerprint, rank, device)
        loop = make_loop(blueprint, data, rank, device, quiet)
        loop.load_state_dict(state)
        if not rank.leader:
            loop.run()
            return
        atomic_write_text(job / "run_id", run.id)
        tracker = reopen_run(run, loop, tracking=tracking, extra=job_info(rank, device))
        execute(run, loop, tracker)


def report_error(job: Path, rank: Rank, exc: BaseException) -> None:
    """Leave `errors/rank-K.json` for the launcher: the error's class, message and `where`."""
    record = {"rank": rank.rank, "class": type(exc).__name__, "message": str(exc)[:2000],
              "where": getattr(exc, "where", None)}
    try:
        (job / "errors").mkdir(parents=True, exist_ok=True)
        write_json(job / "errors" / f"rank-{rank.rank}.json", record)
    except OSError:
        pass  # the job folder is gone (the launcher ended first): nothing to tell it
    # Also on this rank's stderr, one line, for a multi-node job's other hosts.
    print(f"kiln rank {rank.rank}: {record['class']}: {record['message']}", file=sys.stderr)
    sys.stderr.flush()


if __name__ == "__main__":
    main()
