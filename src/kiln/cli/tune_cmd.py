"""`kiln tune`: search a blueprint's space with Optuna; print the trials table and the best."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kiln.cli.app import JSON_HELP, app, console, print_json

if TYPE_CHECKING:
    from kiln.tune.results import TuneResult


@app.command()
def tune(
    blueprint: Annotated[Path, typer.Argument(help="Blueprint YAML with {tune: ...} values.")],
    trials: Annotated[int | None, typer.Option(
        help="Trials the study should hold (completed + pruned); default search.trials.")] = None,
    sampler: Annotated[str | None, typer.Option(
        help="tpe (default), random, grid, cmaes, nsga2 (default for several objectives).")
    ] = None,
    pruner: Annotated[str | None, typer.Option(help="median (default), hyperband, none.")
                      ] = None,
    objectives: Annotated[str | None, typer.Option(
        help="Comma-separated: the task metric, then costs (params, flops, latency, "
             "onnx_size), e.g. accuracy,latency → NSGA-II and a Pareto front.")] = None,
    storage: Annotated[str | None, typer.Option(
        help="Optuna storage URL (postgresql://…); default sqlite:///$KILN_HOME/optuna.db.")
    ] = None,
    study: Annotated[str | None, typer.Option(
        help="Study name; default the blueprint's name. Re-running resumes it.")] = None,
    workers: Annotated[int, typer.Option(help="Local worker processes sharing the study.",
                                         min=1)] = 1,
    cv: Annotated[int | None, typer.Option(
        help="Judge each trial by the mean of K-fold cross-validation.", min=2)] = None,
    seed: Annotated[int | None, typer.Option(help="Sampler seed; default the blueprint's.")
                    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Stop starting trials after S seconds.")
                       ] = None,
    no_tracking: Annotated[bool, typer.Option("--no-tracking",
                                              help="Do not log MLflow runs.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No per-trial lines.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    worker: Annotated[bool, typer.Option("--worker", hidden=True)] = False,
    worker_trials: Annotated[int, typer.Option("--worker-trials", hidden=True)] = 0,
) -> None:
    """Search the blueprint's space (Optuna): sample, reject over-budget models before
    training, prune poor trials per epoch, keep the best; writes best.yaml and report.html
    under $KILN_HOME/tune/STUDY/."""
    from kiln.tune import TuneOptions, work
    from kiln.tune import tune as run_tune

    options = TuneOptions(
        trials=trials, sampler=sampler, pruner=pruner,
        objectives=[o for o in (objectives or "").split(",") if o.strip()],
        seed=seed, storage=storage, study=study, cv=cv, workers=workers, timeout=timeout,
        tracking=not no_tracking, quiet=quiet or json_out,
    )
    if worker:
        work(blueprint, options, worker_trials or trials or 1)
        return
    result = run_tune(blueprint, options)
    if not json_out:
        render_tune(result)
    else:
        print_json(result.to_dict())


def render_tune(result: TuneResult) -> None:
    from rich.table import Table

    styles = {"COMPLETE": "green", "PRUNED": "yellow", "REJECTED": "magenta", "FAIL": "red"}
    table = Table(title=f"tune · {result.study}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("state")
    for name in result.objectives:
        table.add_column(name, justify="right")
    table.add_column("s", justify="right")
    table.add_column("params")
    table.add_column("note")
    for row in result.rows:
        values = ([f"{v:.4g}" for v in row.values] if row.values
                  else [""] * len(result.objectives))
        mark = " *" if row.number == result.best_number else ""
        style = styles.get(row.state, "")
        table.add_row(f"{row.number}{mark}", f"[{style}]{row.state.lower()}[/]" if style
                      else row.state.lower(), *values,
                      f"{row.seconds:.1f}" if row.seconds is not None else "",
                      " ".join(f"{k}={_short(v)}" for k, v in row.params.items()), row.note)
    console.print(table)
    counts = " · ".join(f"{n} {s}" for s, n in result.counts.items())
    console.print(f"study {result.study} on {result.storage}: {counts}")
    if result.best_values is None:
        console.print("[yellow]no completed trial yet[/]")
        return
    best = ", ".join(f"{o} {v:.4g}" for o, v in
                     zip(result.objectives, result.best_values, strict=True))
    console.print(f"[bold]best: trial {result.best_number}[/] · {best}")
    if result.pareto:
        console.print(f"Pareto front: trials {', '.join(map(str, result.pareto))}")
    console.print(f"best blueprint: {result.best_blueprint}  →  kiln train "
                  f"{result.best_blueprint}")
    console.print(f"report: {result.report}")


def _short(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
