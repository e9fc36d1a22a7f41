"""The blueprint's `compress:` section (see docs/compress.md). Validated when the blueprint
is loaded; `kiln compress` flags override it.

```yaml
compress:
  prune: 0.5               # structured pruning ratio; absent: no pruned variant
  finetune_epochs: 5
  threads: 1               # ONNX Runtime / PyTorch intra-op threads for every measurement
  distill:
    student: student.yaml  # relative to the blueprint
    alpha: 0.5
    temperature: 4.0
```
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from kiln.blueprint.section import Section


class DistillSpec(Section):
    # Student blueprint, a path relative to the teacher's blueprint.
    student: str | None = None
    # Weight of the soft-target term; 0.5 gives teacher and labels an equal say.
    alpha: Annotated[float, Field(ge=0, le=1)] = 0.5
    # Softening temperature; 4 exposes the teacher's "dark knowledge" on small class counts.
    temperature: Annotated[float, Field(gt=0)] = 4.0


class CompressSpec(Section):
    # Fraction of channels / units removed by structured pruning; null: no pruned variant.
    prune: Annotated[float, Field(gt=0, lt=1)] | None = None
    # A pruned model recovers in a few epochs; more rarely helps on small data.
    finetune_epochs: Annotated[int, Field(gt=0)] = 5
    # The fine-tune's learning rate as a fraction of training.lr (it starts near a solution).
    finetune_lr_scale: Annotated[float, Field(gt=0, le=1)] = 0.3
    # Intra-op threads for every timing (ONNX Runtime and eager PyTorch alike); null: 1.
    threads: Annotated[int, Field(gt=0)] | None = None
    # Rows of the training split used to calibrate static int8 activation ranges.
    calibration_rows: Annotated[int, Field(gt=0)] = 256
    # Per-channel weight scales for static int8: auto keeps them only when they agree
    # better with PyTorch on the validation split (they cost a few bytes per channel).
    per_channel: Literal["auto"] | bool = "auto"
    # Seconds spent timing each measurement (batch 1, batch 64) per variant.
    timing_budget_s: Annotated[float, Field(gt=0)] = 2.0
    distill: DistillSpec = Field(default_factory=DistillSpec)
    # An ExecuTorch .pte edge variant (XNNPACK), measured but never selected; needs the
    # `edge` extra (docs/compress.md#edge-target-executorch).
    executorch: bool = False
