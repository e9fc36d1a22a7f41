"""What the data stage hands to training and evaluation: model-ready arrays per split."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from kiln.blueprint.schema import FeatureSpec
    from kiln.model.signature import Signature


@dataclass
class Split:
    """One split, transformed: arrays keyed by model input / target name.

    inputs:  name → (N, *shape) float32 (vector, image) or int64 (category, tokens)
    targets: name → (N,) int64 class ids (classification), (N, K) float32 0/1 (multilabel),
             (N, K) float32 standardised values (regression)
    index:   (N,) positions of these rows in the loaded table (for slices and leakage checks)
    """

    inputs: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]
    index: np.ndarray

    def __len__(self) -> int:
        return len(self.index)


@dataclass
class CheckResult:
    """One line of the pre-training checks table. `level`: ok, warning or error."""

    name: str
    level: str
    message: str


@dataclass
class PreparedData:
    """Everything training needs, from `kiln.data.prepare_data(blueprint)`."""

    signature: Signature
    features: list[FeatureSpec]  # declared or inferred, resolved
    train: Split
    val: Split
    test: Split
    preprocessor: Any  # kiln.data.preprocessing.Preprocessor (fitted on train only)
    fingerprint: str  # SHA-256 of the loaded table, the split assignment and the seed
    checks: list[CheckResult] = field(default_factory=list)
    table: Any = None  # the loaded pandas DataFrame (slices, baselines)
