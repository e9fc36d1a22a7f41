"""`kiln train --nproc N [torchrun flags]`: the distributed branch of `kiln train`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kiln.cli.app import console, print_json

if TYPE_CHECKING:
    from kiln.blueprint.schema import Blueprint
    from kiln.runs import Run


def train_distributed(bp: Blueprint | None, *, resume: str | None, cv: int | None,
                      nproc: int | None, nodes: dict[str, Any], quiet: bool,
                      json_out: bool) -> Run | None:
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
    given = {k: v for k, v in nodes.items() if v is not None}
    run = launch(bp, nproc=nproc, resume=resume, nodes=Nodes(**given), quiet=quiet)
    if run is None:  # a node of a multi-node job without rank 0
        if json_out:
            print_json({"run_id": None, "status": "finished", "node_rank": nodes["node_rank"]})
        else:
            console.print("this node's ranks finished; rank 0's node wrote the run")
    return run
