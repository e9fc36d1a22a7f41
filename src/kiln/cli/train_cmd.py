"""`kiln train` (train, resume, cross-validate) and `kiln runs` (list the runs)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kiln.cli.app import JSON_HELP, app, console, err_console, print_json

if TYPE_CHECKING:
    from kiln.blueprint.schema import Blueprint
    from kiln.runs import Run


@app.command()
def train(
    blueprint: Annotated[Path | None, typer.Argument(help="Blueprint YAML file.")] = None,
    cv: Annotated[int | None, typer.Option("--cv", min=2,
                                           help="k-fold cross-validation: one model per fold."
                                           )] = None,
    resume: Annotated[str | None, typer.Option("--resume", metavar="RUN_ID",
                                               help="Continue a run from its last checkpoint."
                                               )] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1,
                                               help="Override training.epochs.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    nproc: Annotated[int | None, typer.Option(
        "--nproc", min=1, rich_help_panel="Distributed (torchrun)",
        help="DistributedDataParallel on N processes per node under torchrun.")] = None,
    nnodes: Annotated[str | None, typer.Option(
        "--nnodes", rich_help_panel="Distributed (torchrun)",
        help="torchrun: number of nodes, or MIN:MAX.")] = None,
    node_rank: Annotated[int | None, typer.Option(
        "--node-rank", rich_help_panel="Distributed (torchrun)",
        help="torchrun: this node's rank (static rendezvous).")] = None,
    rdzv_endpoint: Annotated[str | None, typer.Option(
        "--rdzv-endpoint", rich_help_panel="Distributed (torchrun)",
        help="torchrun: HOST:PORT of the rendezvous.")] = None,
    rdzv_id: Annotated[str | None, typer.Option(
        "--rdzv-id", rich_help_panel="Distributed (torchrun)",
        help="torchrun: job id, the same on every node.")] = None,
    rdzv_backend: Annotated[str | None, typer.Option(
        "--rdzv-backend", rich_help_panel="Distributed (torchrun)",
        help="torchrun: c10d (default) or static.")] = None,
) -> None:
    """Train the blueprint's model: data checks, a live progress bar, test metrics, and a
    run directory under $KILN_HOME/runs with an MLflow run."""
    from kiln.train import train as run_training

    if nproc is None and resume is not None:  # a DDP run resumes on as many processes
        from kiln.train.launch import recorded_nproc

        nproc = recorded_nproc(resume)
    nodes = {"nnodes": nnodes, "node_rank": node_rank, "rdzv_endpoint": rdzv_endpoint,
             "rdzv_id": rdzv_id, "rdzv_backend": rdzv_backend}
    distributed = nproc is not None or any(v is not None for v in nodes.values())
    # --cv with --nproc is refused by the distributed branch, with its own reason
    bp = blueprint_to_train(blueprint, resume, epochs, cv=None if distributed else cv)
    if distributed:
        from kiln.cli.distributed_train import train_distributed

        run = train_distributed(bp, resume=resume, cv=cv, nproc=nproc, nodes=nodes,
                                quiet=quiet, json_out=json_out)
        if run is None:  # a node of a multi-node job without rank 0: nothing to show
            return
    elif bp is None:
        run = run_training(resume=resume, quiet=quiet)
    elif cv is not None:
        run = run_training(bp, cv=cv, quiet=quiet)
    else:
        run = run_training(bp, data=prepare_with_checks(bp, show=not quiet), quiet=quiet)
    if json_out:
        print_json(run_summary(run))
    else:
        render_run(run)


def blueprint_to_train(blueprint: Path | None, resume: str | None, epochs: int | None, *,
                       cv: int | None = None) -> Blueprint | None:
    """The blueprint to train, with --epochs applied; None when --resume continues a run."""
    from kiln.errors import RunError

    if resume is not None:
        if blueprint is not None or cv is not None or epochs is not None:
            raise RunError("--resume continues a run as it was started — give only the run id "
                           "(and --nproc, torchrun flags)")
        return None
    if blueprint is None:
        raise RunError("kiln train: give a BLUEPRINT file, or --resume RUN_ID")
    from kiln.blueprint import load_blueprint

    bp = load_blueprint(blueprint)
    if epochs is not None:
        bp.training.epochs = epochs
    return bp


def prepare_with_checks(bp: Any, *, show: bool) -> Any:
    """Prepare the data and print the checks table (also when a check stops the run)."""
    from kiln.data import prepare_data
    from kiln.data.checks import ChecksFailed, render_checks

    try:
        data = prepare_data(bp)
    except ChecksFailed as exc:
        err_console.print(render_checks(exc.checks))
        raise
    if show:
        err_console.print(render_checks(data.checks))
    return data


def run_summary(run: Run) -> dict[str, Any]:
    """The `--json` object of `kiln train`."""
    metrics, info = run.metrics, run.info
    out = {"run_id": run.id, "run_dir": str(run.dir.resolve()), "status": info.get("status"),
           "val": metrics.get("val", {}), "test": metrics.get("test", {}),
           "best_epoch": info.get("best_epoch"), "epochs_run": info.get("epochs_run"),
           "selected_by": info.get("selected_by"),
           "mlflow_run_id": info.get("mlflow_run_id"),
           "weights": str((run.dir / "weights.safetensors").resolve())}
    if "threshold" in metrics:
        out["threshold"] = metrics["threshold"]
    if "members" in metrics:
        out["members"] = metrics["members"]
    if "cv" in metrics:
        out["cv"] = {"k": metrics["cv"]["k"], "mean": metrics["cv"]["mean"],
                     "std": metrics["cv"]["std"]}
    return out


def render_run(run: Run) -> None:
    from rich.table import Table

    metrics, info = run.metrics, run.info
    table = Table(title="metrics", title_justify="left")
    table.add_column("metric")
    members = metrics.get("members")
    table.add_column("validation (out-of-fold)" if members else "validation (best epoch)",
                     justify="right")
    table.add_column("test", justify="right")
    val, test = metrics.get("val", {}), metrics.get("test", {})
    for name in dict.fromkeys([*val, *test]):
        if name != "objective":
            table.add_row(name, _fmt(val.get(name)), _fmt(test.get(name)))
    console.print(table)
    cv = metrics.get("cv")
    if cv:
        cv_table = Table(title=f"{cv['k']}-fold cross-validation", title_justify="left")
        cv_table.add_column("metric")
        cv_table.add_column("mean ± std", justify="right")
        for key, mean in cv["mean"].items():
            if not key.endswith(".objective"):
                cv_table.add_row(key, f"{mean:.4f} ± {cv['std'][key]:.4f}")
        console.print(cv_table)
    threshold = metrics.get("threshold")
    if threshold:
        console.print(threshold_line(threshold))
    chosen = f" (chosen by {info['selected_by']})" if info.get("selected_by") else ""
    if members:
        epochs = " · ".join(f"{m['best_epoch']}/{m['epochs_run']}" for m in members)
        line = f"{len(members)} bagged members, best epoch/epochs run {epochs}{chosen}"
    else:
        line = f"best epoch {info.get('best_epoch')} of {info.get('epochs_run')}{chosen}"
    console.print(f"{line} · run [bold]{run.id}[/]\nrun dir {run.dir}")


def threshold_line(threshold: dict[str, Any]) -> str:
    """One line on the chosen decision threshold and what it gives on val and test."""
    def figures(split: dict[str, Any]) -> str:
        return (f"precision {split['precision']:.3f}, recall {split['recall']:.3f}, "
                f"FP {split['false_positives']}, FN {split['false_negatives']}")

    met = "" if threshold["met"] else " [yellow](no threshold meets it: 0.5 kept)[/]"
    test = f"; test: {figures(threshold['test'])}" if threshold.get("test") else ""
    return (f"decision threshold {threshold['value']:.4f} for {threshold['positive']!r} "
            f"({threshold['rule']}){met} — validation: {figures(threshold['val'])}{test}")


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


@app.command()
def runs(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show the newest N.")] = 20,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List the runs under $KILN_HOME/runs, newest first."""
    from kiln.cli.fit_table import Column, fit_table
    from kiln.runs import list_runs, runs_root

    rows = [run_row(r) for r in list_runs(limit)]
    if json_out:
        print_json({"runs": rows})
        return
    if not rows:
        console.print(f"no runs under {runs_root()} — `kiln train BLUEPRINT` makes one")
        return
    # The name column only when some name is not already the start of its run id.
    names = any(not r["id"].startswith(r["name"]) for r in rows)
    columns = [Column("id", keep=True), *([Column("name", priority=1)] if names else []),
               Column("created", priority=2), Column("status", keep=True),
               Column("objective (val)", priority=3), Column("test", priority=0)]
    cells = []
    for row in rows:
        test = " · ".join(f"{k} {v:.3f}" for k, v in row["test"].items() if k != "objective")
        objective = (f"{row['objective']} {row['objective_value']:.3f}"
                     if row["objective_value"] is not None else "")
        created = row["created"][:16].replace("T", " ")
        cells.append([row["id"], *([row["name"]] if names else []), created, row["status"],
                      objective, test])
    table = fit_table(f"runs · {runs_root()}", columns, cells, console)
    console.print(table)


def run_row(run: Run) -> dict[str, Any]:
    """One line of `kiln runs`; a run whose files are unreadable still gets a line."""
    from kiln.errors import KilnError

    try:
        info, metrics = run.info, run.metrics
        objective = run.blueprint.task.objective
    except KilnError:
        return {"id": run.id, "name": "", "created": "", "status": "unreadable",
                "objective": None, "objective_value": None, "test": {}}
    return {"id": run.id, "name": info.get("name", ""), "created": info.get("created", ""),
            "status": run.status, "objective": objective,
            "objective_value": metrics.get("val", {}).get("objective"),
            "test": metrics.get("test", {})}
