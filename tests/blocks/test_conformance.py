"""One contract for every registered block and combiner (scikit-learn's `test_common` idea).

Each one is built from a small valid input shape and arguments (the CASES tables), then:
the forward output has the shape kiln inferred; a safetensors state-dict round trip into a
freshly built twin gives identical outputs; it exports to ONNX with a dynamic batch axis and
ONNX Runtime agrees with PyTorch within 1e-4; the same seed gives the same initial weights.
A newly registered block without a case fails here — add it to CASES.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load, save
from torch import nn

from kiln.blocks import registered
from kiln.blueprint.schema import BlockSpec
from kiln.model.builder import build_sequence
from kiln.model.plugins import load_plugin_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# The example plugin is a registered block like any other: it must meet the same contract.
load_plugin_file(EXAMPLES / "plugins" / "gated_linear.py")

pytestmark = [pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning"),
              pytest.mark.filterwarnings("ignore:.*legacy TorchScript-based ONNX export"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning:torch.*"),
              pytest.mark.filterwarnings("ignore:Exporting a model to ONNX with a batch_size")]

BATCH = 3  # export traces batch 2; ONNX Runtime then runs batch 3 (the batch axis is dynamic)
VOCAB = 11


@dataclass
class Case:
    """A valid input for one block: per-sample shape, block arguments, input dtype."""

    shape: tuple[int, ...]
    args: dict[str, Any] = field(default_factory=dict)
    ids: bool = False  # int64 ids in [0, VOCAB) instead of float values
    blocks: list[BlockSpec] | None = None


BLOCKS: dict[str, Case] = {
    "linear": Case((6,), {"units": 4}),
    "conv1d": Case((3, 10), {"out_channels": 4, "kernel_size": 3}),
    "conv2d": Case((3, 8, 8), {"out_channels": 4, "kernel_size": 3, "stride": 2}),
    "sepconv2d": Case((3, 8, 8), {"out_channels": 5}),
    "maxpool1d": Case((3, 10), {"kernel_size": 2}),
    "maxpool2d": Case((3, 8, 8), {"kernel_size": 2}),
    "avgpool1d": Case((3, 10), {"kernel_size": 2}),
    "avgpool2d": Case((3, 8, 8), {"kernel_size": 2}),
    "global_avg_pool": Case((4, 5, 5)),
    "seq_pool": Case((7, 6), {"mode": "max"}),
    "flatten": Case((2, 3, 4)),
    "batchnorm": Case((4, 5, 5)),
    "layernorm": Case((5, 8)),
    "dropout": Case((6,), {"p": 0.5}),
    "relu": Case((6,)),
    "gelu": Case((6,)),
    "silu": Case((6,)),
    "tanh": Case((6,)),
    "sigmoid": Case((6,)),
    "softmax": Case((6,)),
    "embedding": Case((5,), {"dim": 4}, ids=True),
    "lstm": Case((5, 6), {"hidden": 4, "bidirectional": True}),
    "gru": Case((5, 6), {"hidden": 4, "return_sequence": True}),
    "self_attention": Case((5, 8), {"heads": 2}),
    "transformer_encoder": Case((5, 8), {"heads": 2, "ff": 16, "dropout": 0.0}),
    "residual": Case((6,), blocks=[BlockSpec(type="linear", args={"units": 6}),
                                   BlockSpec(type="relu")]),
    "squeeze_excite": Case((8, 4, 4), {"reduction": 2}),
    "gated_linear": Case((6,), {"units": 5}),
    "piecewise_linear": Case((5,), {"bins": 6, "dim": 3}),
    "periodic": Case((5,), {"frequencies": 4, "dim": 3, "sigma": 1.0}),
    "residual_mlp": Case((6,), {"hidden": 10}),
    "ft_transformer": Case((5,), {"dim": 8, "heads": 2, "layers": 2, "dropout": 0.0}),
}

COMBINERS: dict[str, tuple[dict[str, tuple[int, ...]], dict[str, Any]]] = {
    "concat": ({"a": (4,), "b": (3,)}, {}),
    "sum": ({"a": (4,), "b": (4,)}, {}),
    "attention": ({"a": (4,), "b": (6,)}, {"dim": 8, "heads": 2}),
}


def build_block(name: str, seed: int) -> tuple[nn.Module, tuple[int, ...]]:
    """The block built the way the model builder builds it; returns it and its output shape."""
    case = BLOCKS[name]
    spec = BlockSpec(type=name, args=case.args, blocks=case.blocks)
    dtype = torch.int64 if case.ids else torch.float32
    torch.manual_seed(seed)
    module, out_shape, _ = build_sequence([spec], case.shape, dtype, "conformance", [],
                                          vocab_size=VOCAB if case.ids else None)
    return module.eval(), out_shape


def build_combiner(name: str, seed: int) -> tuple[nn.Module, dict[str, tuple[int, ...]]]:
    entry = registered("combiner")[name]
    shapes, args = COMBINERS[name]
    torch.manual_seed(seed)
    module = entry.builder(in_shapes=dict(shapes), **entry.validate_args(args, "conformance"))
    return module.eval(), shapes


def block_inputs(name: str, batch: int) -> list[torch.Tensor]:
    case = BLOCKS[name]
    generator = torch.Generator().manual_seed(1)
    if case.ids:
        return [torch.randint(0, VOCAB, (batch, *case.shape), generator=generator)]
    return [torch.randn((batch, *case.shape), generator=generator)]


def combiner_inputs(shapes: dict[str, tuple[int, ...]], batch: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return [torch.randn((batch, *s), generator=generator) for s in shapes.values()]


def scramble(module: nn.Module) -> None:
    """Random values in every float parameter and buffer (running variances stay > 0)."""
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.5)
        for b in module.buffers():
            if b.is_floating_point():
                b.copy_(torch.rand(b.shape, generator=generator) + 0.5)


def round_trip(module: nn.Module, twin: nn.Module) -> None:
    """state_dict → safetensors bytes → a freshly built twin."""
    state = {k: v.contiguous() for k, v in module.state_dict().items()}
    twin.load_state_dict(load(save(state)) if state else {}, strict=True)


def onnx_matches(module: nn.Module, trace: list[torch.Tensor], run: list[torch.Tensor]) -> None:
    import onnxruntime as ort

    names = [f"x{i}" for i in range(len(trace))]
    buffer = io.BytesIO()
    torch.onnx.export(module, tuple(trace), buffer, dynamo=False, input_names=names,
                      output_names=["y"], opset_version=17,
                      dynamic_axes={n: {0: "batch"} for n in [*names, "y"]})
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {n: t.numpy() for n, t in zip(names, run, strict=True)})
    with torch.no_grad():
        expected = module(*run).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)


def check_contract(module: nn.Module, twin: nn.Module, other_seed: nn.Module,
                   trace: list[torch.Tensor], run: list[torch.Tensor]) -> None:
    weights = module.state_dict()
    for key, value in twin.state_dict().items():  # same seed → same initial weights
        assert torch.equal(value, weights[key]), f"{key} differs between two same-seed builds"
    scramble(module)  # weights unlike any fresh build, so the round trip has to carry them
    round_trip(module, other_seed)
    with torch.no_grad():
        assert torch.equal(module(*run), other_seed(*run))
    onnx_matches(module, trace, run)


@pytest.mark.parametrize("name", sorted(registered("block")))
def test_block_contract(name: str) -> None:
    if name not in BLOCKS:
        pytest.fail(f"block {name!r} is registered but has no case in BLOCKS — add a small "
                    f"valid input shape and arguments for it")
    module, inferred = build_block(name, seed=0)
    run = block_inputs(name, BATCH)
    with torch.no_grad():
        out = module(*run)
    assert tuple(out.shape) == (BATCH, *inferred)
    twin, _ = build_block(name, seed=0)
    other, _ = build_block(name, seed=1)
    check_contract(module, twin, other, block_inputs(name, 2), run)


@pytest.mark.parametrize("name", sorted(registered("combiner")))
def test_combiner_contract(name: str) -> None:
    if name not in COMBINERS:
        pytest.fail(f"combiner {name!r} is registered but has no case in COMBINERS")
    module, shapes = build_combiner(name, seed=0)
    run = combiner_inputs(shapes, BATCH)
    with torch.no_grad():
        out = module(*run)
    assert out.dim() == 2 and out.shape[0] == BATCH
    twin, _ = build_combiner(name, seed=0)
    other, _ = build_combiner(name, seed=1)
    check_contract(module, twin, other, combiner_inputs(shapes, 2), run)


def test_cases_name_only_registered_blocks() -> None:
    stale = (set(BLOCKS) - set(registered("block"))) | (set(COMBINERS)
                                                         - set(registered("combiner")))
    assert not stale, f"cases for names that are not registered: {sorted(stale)}"
