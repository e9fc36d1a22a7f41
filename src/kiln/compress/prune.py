"""Structured pruning: whole channels (conv) and units (linear) removed with torch-pruning.

The model really shrinks — weight tensors get smaller and every layer that reads a pruned
layer's output is narrowed to match (torch-pruning's dependency graph) — so speed-ups are
measured on a smaller dense model, not inferred from counted zeros. Channels are ranked by
the L2 norm of their weights (`GroupMagnitudeImportance`). Output projections of the heads
keep their size (they are the model's contract), and so do layers torch-pruning cannot
narrow safely (attention, recurrent and embedding tables).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from kiln.errors import KilnError

if TYPE_CHECKING:
    from kiln.model.signature import Signature

# Modules kept whole: pruning them would need per-head bookkeeping or is unsupported by ONNX.
KEEP_WHOLE = (nn.MultiheadAttention, nn.LSTM, nn.GRU, nn.RNN, nn.Embedding)


@dataclass
class PruneReport:
    ratio: float
    params_before: int
    params_after: int
    shapes: dict[str, list[int]]  # parameter name → its shape after pruning

    def to_dict(self) -> dict[str, Any]:
        return {"ratio": self.ratio, "params_before": self.params_before,
                "params_after": self.params_after}


def head_projections(model: nn.Module) -> list[nn.Module]:
    """The last Linear of every head (its width is the number of classes / targets)."""
    heads = getattr(model, "heads", None)
    out: list[nn.Module] = []
    if isinstance(heads, nn.ModuleDict):
        for head in heads.values():
            linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
            out.extend(linears[-1:])
        return out
    # A whole-model class: keep the last Linear/Conv of the network (its output layer).
    layers: list[nn.Module] = [m for m in model.modules()
                               if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))]
    return layers[-1:]


def prune_model(model: nn.Module, signature: Signature, ratio: float, *,
                round_to: int | None = None) -> PruneReport:
    """Remove `ratio` of the channels/units of every prunable layer, in place.

    Raises `KilnError` when the ratio is out of range or torch-pruning cannot trace the model.
    """
    import torch_pruning as tp

    from kiln.model.measure import count_params, example_batch

    if not 0.0 < ratio < 1.0:
        raise KilnError(f"--prune {ratio}: the pruning ratio must lie strictly between 0 and 1 "
                        f"(0.5 removes half of the channels)")
    model.eval()
    ignored = head_projections(model) + [m for m in model.modules() if isinstance(m, KEEP_WHOLE)]
    before = count_params(model)
    example = tuple(example_batch(signature, 2))
    try:
        with warnings.catch_warnings():
            # torch-pruning warns about parameters outside Linear/Conv (e.g. a learned
            # modality embedding) that it narrows along their last axis; the parity check
            # after export is the real test, so for a user the warning is noise.
            warnings.simplefilter("ignore", UserWarning)
            pruner = tp.pruner.MetaPruner(
                model, example, importance=tp.importance.GroupMagnitudeImportance(p=2),
                pruning_ratio=ratio, ignored_layers=ignored, round_to=round_to,
                output_transform=_flatten_outputs)
            pruner.step()
        with torch.no_grad():
            model(*example)  # the narrowed model must still run
    except Exception as exc:
        raise KilnError(f"structured pruning failed for {type(model).__name__}: "
                        f"{type(exc).__name__}: {exc} — a custom block may hide its channels "
                        f"from torch-pruning; compress without --prune") from None
    shapes = {name: list(p.shape) for name, p in model.state_dict().items()}
    return PruneReport(ratio, before, count_params(model), shapes)


def _flatten_outputs(out: Any) -> torch.Tensor:
    """torch-pruning traces from one tensor: sum every head's output into a scalar."""
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return sum((o.float().sum() for o in outs), torch.zeros(()))


def resize_to(model: nn.Module, shapes: dict[str, list[int]]) -> nn.Module:
    """Give `model` (freshly built from the blueprint) the narrowed shapes of a pruned model,
    so that the pruned weights (safetensors) load with `load_state_dict`.

    Only the shapes and the width attributes of Linear, Conv and BatchNorm/LayerNorm layers
    are changed; values come from the state dict loaded next.
    """
    for name, module in model.named_modules():
        prefix = f"{name}." if name else ""
        for pname, param in list(module.named_parameters(recurse=False)) + \
                list(module.named_buffers(recurse=False)):
            wanted = shapes.get(prefix + pname)
            if wanted is not None and param is not None and list(param.shape) != wanted:
                fresh = torch.zeros(wanted, dtype=param.dtype)
                if isinstance(param, nn.Parameter):
                    setattr(module, pname, nn.Parameter(fresh, requires_grad=param.requires_grad))
                else:
                    module.register_buffer(pname, fresh)
        _update_widths(module)
    return model


def _update_widths(module: nn.Module) -> None:
    weight = getattr(module, "weight", None)
    if isinstance(module, nn.Linear) and weight is not None:
        module.out_features, module.in_features = weight.shape
    elif isinstance(module, nn.modules.conv._ConvNd) and weight is not None:
        module.out_channels = weight.shape[0]
        module.in_channels = weight.shape[1] * module.groups
    elif isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is not None:
        module.num_features = module.running_mean.shape[0]
    elif isinstance(module, nn.LayerNorm) and weight is not None:
        module.normalized_shape = tuple(weight.shape)


def save_pruned(model: nn.Module, report: PruneReport, folder: Path) -> Path:
    """`weights.safetensors` (+ the pruned shapes in its metadata) in `folder`, atomically."""
    import json

    from safetensors.torch import save_file

    from kiln.files import atomic_path

    path = folder / "weights.safetensors"
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    meta = {"kiln.pruned_shapes": json.dumps(report.shapes), "kiln.prune_ratio": str(report.ratio)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def load_pruned(model: nn.Module, path: Path) -> nn.Module:
    """Load pruned weights saved by `save_pruned` into a model built from the blueprint."""
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata() or {}
    if "kiln.pruned_shapes" not in meta:
        raise KilnError(f"{path}: not a kiln pruned model (no pruned shapes in its metadata)")
    resize_to(model, json.loads(meta["kiln.pruned_shapes"]))
    model.load_state_dict(load_file(str(path)))
    return model.eval()
