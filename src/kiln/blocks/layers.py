"""Built-in layer blocks: linear, convolutions, pooling, normalisation, dropout, activations."""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import Field
from torch import nn

from kiln.blocks.registry import block
from kiln.blocks.shapes import Shape, require_rank

Pos = Annotated[int, Field(gt=0)]
Padding = int | Literal["same", "valid"]


@block("linear")
def linear(in_shape: Shape, *, units: Pos, bias: bool = True) -> nn.Module:
    """Fully connected layer on the last axis: (N, F) → (N, units), or per token on (N, L, F)."""
    require_rank(in_shape, (1, 2), "(N, features) or (N, length, features)")
    return nn.Linear(in_shape[-1], units, bias=bias)


def _conv(dims: int, in_shape: Shape, out_channels: int, kernel_size: int, stride: int,
          padding: Padding, dilation: int, groups: int, bias: bool) -> nn.Module:
    layout = "(N, channels, length)" if dims == 1 else "(N, channels, height, width)"
    require_rank(in_shape, (dims + 1,), layout,
                 "declare the input's shape, or add a reshape before it" if len(in_shape) <= dims
                 else "")
    if padding == "same" and stride != 1:
        padding = kernel_size // 2  # PyTorch refuses 'same' with stride > 1; keep the intent
    conv = nn.Conv1d if dims == 1 else nn.Conv2d
    return conv(in_shape[0], out_channels, kernel_size, stride=stride, padding=padding,
                dilation=dilation, groups=groups, bias=bias)


@block("conv1d")
def conv1d(in_shape: Shape, *, out_channels: Pos, kernel_size: Pos = 3, stride: Pos = 1,
           padding: Padding = "same", dilation: Pos = 1, groups: Pos = 1,
           bias: bool = True) -> nn.Module:
    """1-D convolution over (N, C, L)."""
    return _conv(1, in_shape, out_channels, kernel_size, stride, padding, dilation, groups, bias)


@block("conv2d")
def conv2d(in_shape: Shape, *, out_channels: Pos, kernel_size: Pos = 3, stride: Pos = 1,
           padding: Padding = "same", dilation: Pos = 1, groups: Pos = 1,
           bias: bool = True) -> nn.Module:
    """2-D convolution over (N, C, H, W)."""
    return _conv(2, in_shape, out_channels, kernel_size, stride, padding, dilation, groups, bias)


@block("sepconv2d")
def sepconv2d(in_shape: Shape, *, out_channels: Pos, kernel_size: Pos = 3, stride: Pos = 1,
              padding: Padding = "same", bias: bool = True) -> nn.Module:
    """Depthwise-separable 2-D convolution: a per-channel conv, then a 1×1 pointwise conv."""
    require_rank(in_shape, (3,), "(N, channels, height, width)")
    channels = in_shape[0]
    depthwise = _conv(2, in_shape, channels, kernel_size, stride, padding, 1, channels, False)
    pointwise = nn.Conv2d(channels, out_channels, 1, bias=bias)
    return nn.Sequential(depthwise, pointwise)


def _pool(kind: str, dims: int, in_shape: Shape, kernel_size: int, stride: int | None) -> nn.Module:
    layout = "(N, channels, length)" if dims == 1 else "(N, channels, height, width)"
    require_rank(in_shape, (dims + 1,), layout)
    cls = {("max", 1): nn.MaxPool1d, ("max", 2): nn.MaxPool2d,
           ("avg", 1): nn.AvgPool1d, ("avg", 2): nn.AvgPool2d}[(kind, dims)]
    return cls(kernel_size, stride=stride)


@block("maxpool1d")
def maxpool1d(in_shape: Shape, *, kernel_size: Pos = 2, stride: Pos | None = None) -> nn.Module:
    """Max pooling over (N, C, L)."""
    return _pool("max", 1, in_shape, kernel_size, stride)


@block("maxpool2d")
def maxpool2d(in_shape: Shape, *, kernel_size: Pos = 2, stride: Pos | None = None) -> nn.Module:
    """Max pooling over (N, C, H, W)."""
    return _pool("max", 2, in_shape, kernel_size, stride)


@block("avgpool1d")
def avgpool1d(in_shape: Shape, *, kernel_size: Pos = 2, stride: Pos | None = None) -> nn.Module:
    """Average pooling over (N, C, L)."""
    return _pool("avg", 1, in_shape, kernel_size, stride)


@block("avgpool2d")
def avgpool2d(in_shape: Shape, *, kernel_size: Pos = 2, stride: Pos | None = None) -> nn.Module:
    """Average pooling over (N, C, H, W)."""
    return _pool("avg", 2, in_shape, kernel_size, stride)


class GlobalAvgPool(nn.Module):
    """Mean over every axis after the channel axis: (N, C, *spatial) → (N, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).mean(dim=2)  # (N, C)


@block("global_avg_pool")
def global_avg_pool(in_shape: Shape) -> nn.Module:
    """Global average pooling: (N, C, L) or (N, C, H, W) → (N, C)."""
    require_rank(in_shape, (2, 3), "(N, channels, length) or (N, channels, height, width)")
    return GlobalAvgPool()


class SequencePool(nn.Module):
    """Reduce the length axis of (N, L, D) to (N, D)."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "mean":
            return x.mean(dim=1)
        if self.mode == "max":
            return x.amax(dim=1)
        return x[:, 0] if self.mode == "first" else x[:, -1]


@block("seq_pool")
def seq_pool(in_shape: Shape, *,
             mode: Literal["mean", "max", "first", "last"] = "mean") -> nn.Module:
    """Pool a sequence (N, L, D) → (N, D): mean, max, first or last token."""
    require_rank(in_shape, (2,), "(N, length, features)")
    return SequencePool(mode)


@block("flatten")
def flatten(in_shape: Shape) -> nn.Module:
    """Flatten everything after the batch axis: (N, *) → (N, prod(*))."""
    return nn.Flatten()


@block("batchnorm")
def batchnorm(in_shape: Shape, *, momentum: float = 0.1) -> nn.Module:
    """Batch normalisation over the channel / feature axis (axis 1)."""
    require_rank(in_shape, (1, 2, 3), "(N, features), (N, C, L) or (N, C, H, W)")
    cls = nn.BatchNorm2d if len(in_shape) == 3 else nn.BatchNorm1d
    return cls(in_shape[0], momentum=momentum)


@block("layernorm")
def layernorm(in_shape: Shape) -> nn.Module:
    """Layer normalisation over the last axis."""
    return nn.LayerNorm(in_shape[-1])


@block("dropout")
def dropout(in_shape: Shape, *, p: Annotated[float, Field(ge=0, lt=1)] = 0.1) -> nn.Module:
    """Dropout with probability `p` (training only)."""
    return nn.Dropout(p)


@block("relu")
def relu(in_shape: Shape) -> nn.Module:
    """ReLU activation."""
    return nn.ReLU()


@block("gelu")
def gelu(in_shape: Shape) -> nn.Module:
    """GELU activation."""
    return nn.GELU()


@block("silu")
def silu(in_shape: Shape) -> nn.Module:
    """SiLU (swish) activation."""
    return nn.SiLU()


@block("tanh")
def tanh(in_shape: Shape) -> nn.Module:
    """Tanh activation."""
    return nn.Tanh()


@block("sigmoid")
def sigmoid(in_shape: Shape) -> nn.Module:
    """Sigmoid activation."""
    return nn.Sigmoid()


@block("softmax")
def softmax(in_shape: Shape, *, dim: int = -1) -> nn.Module:
    """Softmax over `dim` (default: the last axis)."""
    return nn.Softmax(dim=dim)
