"""`kiln train --nproc N [torchrun flags]`: the distributed branch of `kiln train`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiln.cli.app import console, print_json

if TYPE_CHECKING:
    from kiln.runs import Run


def train_distributed(blueprint: Path | None, *, resume: str | None, cv: int | None,
                      epochs: int | None, nproc: int | None, nodes: dict[str, Any],
                      quiet: bool, json_out: bool) -> Run | None:
    """Launch the ranks (`kiln.train.launch`); the run rank 0 wrote, or None (after saying
    so) on a node of a multi-node job that does not hold rank 0."""
    from kiln.errors import RunError
    from kiln.train.launch import Nodes, launch

    if nproc is None:
        raise RunError("--nnodes/--node-rank/--rdzv-* are torchrun flags for a distributed "
                       "run — add --nproc N (processes per node)", where="--nproc")
    if cv is not None:
        raise RunError("--cv cannot be combined with --nproc: cross-validation trains its "
                       "folds one after another in one process", where="--cv")
    if resume is not None:
        if blueprint is not None or epochs is not None:
            raise RunError("--resume continues a run as it was started — give only the run "
                           "id (and --nproc, torchrun flags)")
        bp = None
    elif blueprint is None:
        raise RunError("kiln train: give a BLUEPRINT file, or --resume RUN_ID")
    else:
        from kiln.blueprint import load_blueprint

        bp = load_blueprint(blueprint)
        if epochs is not None:
            bp.training.epochs = epochs
    given = {k: v for k, v in nodes.items() if v is not None}
    run = launch(bp, nproc=nproc, resume=resume, nodes=Nodes(**given), quiet=quiet)
    if run is None:  # a node of a multi-node job without rank 0
        if json_out:
            print_json({"run_id": None, "status": "finished", "node_rank": nodes["node_rank"]})
        else:
            console.print("this node's ranks finished; rank 0's node wrote the run")
    return run
