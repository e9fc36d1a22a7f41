"""The blueprint: schema and loading."""

from kiln.blueprint.load import dump_blueprint, load_blueprint
from kiln.blueprint.schema import (
    ArchitectureSpec,
    BlockSpec,
    Blueprint,
    BudgetsSpec,
    DataSpec,
    FeatureSpec,
    SplitSpec,
    TargetSpec,
    TaskSpec,
    TrainingSpec,
)

__all__ = [
    "ArchitectureSpec",
    "BlockSpec",
    "Blueprint",
    "BudgetsSpec",
    "DataSpec",
    "FeatureSpec",
    "SplitSpec",
    "TargetSpec",
    "TaskSpec",
    "TrainingSpec",
    "dump_blueprint",
    "load_blueprint",
]
