"""The pipeline recipe: a blueprint carried to a registered, serving-ready bundle.

    shipped = kiln.pipeline.ship(bp)             # train → evaluate → report → compress →
    shipped.bundle, shipped.version              # export → verify → register → alias

One plain function that calls the stages in order, the way a torchtune recipe reads: set-up,
the steps, the result. `kiln demo` runs it on a bundled example and `kiln retrain` runs it
for a challenger; each step's result goes to `on_step(name, value)` so a caller can print
it as it happens. Every artifact is a file the stages already write (run directory,
evaluation, report, variants, bundle, registry version); this module adds none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiln.blueprint.schema import Blueprint
    from kiln.compress.stage import CompressionResult
    from kiln.data.prepared import PreparedData
    from kiln.evaluate.stage import Evaluation
    from kiln.registry.store import VersionInfo
    from kiln.runs import Run

StepCallback = Callable[[str, Any], None]
STEPS = ("train", "evaluate", "report", "compress", "export", "register")


@dataclass
class Shipped:
    """What `ship` produced: the run, its judgement, its variants and the bundle."""

    run: Run
    evaluation: Evaluation | None
    report: Path | None
    compression: CompressionResult
    variant: str
    bundle: Path
    version: VersionInfo | None
    alias: str | None
    budget_error: str | None = None  # set only with enforce_budgets=False: what it broke

    def to_dict(self) -> dict[str, Any]:
        """The `--json` summary: ids, paths and figures, no objects."""
        return {"run_id": self.run.id, "test": self.run.metrics.get("test", {}),
                "report": str(self.report) if self.report else None,
                "variant": self.variant, "bundle": str(self.bundle),
                "model": self.version.name if self.version else None,
                "version": self.version.version if self.version else None,
                "alias": self.alias, "budget_error": self.budget_error}


def ship(blueprint: Blueprint, *, data: PreparedData | None = None,
         name: str | None = None, prune: float | None = None,
         output: str | Path | None = None, evaluate: bool = True, report: bool = True,
         register: bool = True, alias: str | None = "champion",
         on_step: StepCallback | None = None, run_name: str | None = None,
         enforce_budgets: bool = True) -> Shipped:
    """Train `blueprint` and carry the run to a verified bundle in the registry.

    data: the blueprint's own prepared data, when the caller has it already (it saves
    preparing it twice); other rows must come through the blueprint's `data.source`,
    because evaluate, compress and export prepare the run's data again from its blueprint.
    name: the registered model (default: the blueprint's name); prune: add a pruned
    variant; output: the bundle folder (default `$KILN_HOME/bundles/<run id>`);
    register=False stops after the bundle;
    alias: the registry alias the new version takes (None: none). The variant exported is
    the one `compress` selected under the blueprint's budgets; when no variant keeps them,
    `BudgetError` — or, with `enforce_budgets=False` (`kiln retrain`, whose gate judges
    budgets itself), the fp32 variant is shipped and `budget_error` says what it broke.
    Raises what the stages raise (`DataError`, `BudgetError`, `ParityError`, ...).
    """
    from kiln import bundle as bundle_format
    from kiln.export import export
    from kiln.runs import kiln_home
    from kiln.train import train

    step = on_step or (lambda _name, _value: None)
    run = train(blueprint, data=data, run_name=run_name)
    step("train", run)
    evaluation, page = _judge(run, evaluate=evaluate, report=report, step=step)
    compression, budget_error = _compress(run, prune=prune, enforce_budgets=enforce_budgets)
    step("compress", compression)
    variant = compression.selected or "fp32"
    destination = Path(output) if output is not None else kiln_home() / "bundles" / run.id
    bundle_path = export(run, variant=variant, output=destination, overwrite=True)
    bundle_format.load(bundle_path)  # verify every file and open the session once
    step("export", bundle_path)
    version = None
    if register:
        from kiln.registry import promote
        from kiln.registry import register as register_bundle

        version = register_bundle(bundle_path, name=name or blueprint.name)
        if alias is not None:
            promote(version.name, version.version, alias=alias)
        step("register", version)
    return Shipped(run, evaluation, page, compression, variant, bundle_path, version,
                   alias if register else None, budget_error)


def _compress(run: Run, *, prune: float | None,
              enforce_budgets: bool) -> tuple[CompressionResult, str | None]:
    from kiln.compress import compress
    from kiln.compress.stage import load_variants
    from kiln.errors import BudgetError

    try:
        return compress(run, prune=prune), None
    except BudgetError as exc:
        if enforce_budgets:
            raise
        return load_variants(run), str(exc)  # variants.json is written before it raises


def _judge(run: Run, *, evaluate: bool, report: bool,
           step: StepCallback) -> tuple[Evaluation | None, Path | None]:
    if not evaluate:
        return None, None
    from kiln.evaluate import evaluate as evaluate_run

    evaluation = evaluate_run(run)
    step("evaluate", evaluation)
    page = None
    if report:
        from kiln.report import report as write_report

        page = write_report(run, evaluation=evaluation)
        step("report", page)
    return evaluation, page
