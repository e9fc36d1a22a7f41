"""The tabular blocks beyond the shared contract: the encodings they compute, and chaining
a numeric embedding's tokens into the FT-Transformer."""

from __future__ import annotations

import pytest
import torch

from kiln.blocks.piecewise_linear import PiecewiseLinearEmbedding, normal_edges
from kiln.blueprint.schema import BlockSpec
from kiln.errors import ShapeError
from kiln.model.builder import build_sequence


def test_normal_edges_are_standard_normal_quantiles() -> None:
    edges = normal_edges(4)
    assert edges.shape == (5,)
    assert edges[2].item() == pytest.approx(0.0, abs=1e-9)  # the median
    assert edges[1].item() == pytest.approx(-0.6745, abs=1e-4)  # the first quartile
    assert torch.all(edges[1:] > edges[:-1])


def test_piecewise_linear_encoding_values() -> None:
    module = PiecewiseLinearEmbedding(1, 4, 2, flatten=True)
    left, width = module.left, module.width
    captured = {}
    module.linear.register_forward_hook(lambda m, args, out: captured.setdefault("t", args[0]))
    x = torch.tensor([[0.3], [-10.0], [10.0]])
    module(x)
    t = captured["t"][:, 0]  # (3, T)
    inside = ((0.3 - left[2]) / width[2]).item()
    assert t[0].tolist() == pytest.approx([1.0, 1.0, inside, 0.0])  # passed, passed, inside
    assert t[1, 0].item() < 0 and t[1, 1:].tolist() == [0.0, 0.0, 0.0]  # open first bin
    assert t[2, :3].tolist() == [1.0, 1.0, 1.0] and t[2, 3].item() > 1  # open last bin


def test_embedding_tokens_feed_the_ft_transformer() -> None:
    blocks = [BlockSpec(type="periodic", args={"dim": 8, "flatten": False}),
              BlockSpec(type="ft_transformer", args={"dim": 8, "heads": 2, "layers": 1})]
    module, shape, _ = build_sequence(blocks, (5,), torch.float32, "trunk", [])
    assert shape == (8,)
    assert module.eval()(torch.randn(3, 5)).shape == (3, 8)
    wrong = [BlockSpec(type="periodic", args={"dim": 6, "flatten": False}),
             BlockSpec(type="ft_transformer", args={"dim": 8, "heads": 2})]
    with pytest.raises(ShapeError, match="tokens of width 6 need dim: 6"):
        build_sequence(wrong, (5,), torch.float32, "trunk", [])
