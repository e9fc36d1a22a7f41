"""Shape checks shared by the built-in blocks. Shapes exclude the batch axis."""

from __future__ import annotations

from kiln.errors import ShapeError

Shape = tuple[int, ...]


def show(shape: Shape) -> str:
    """`(N, 32, 4, 4)`: how kiln prints a batch shape."""
    return "(" + ", ".join(["N", *map(str, shape)]) + ")"


def require_rank(in_shape: Shape, ranks: tuple[int, ...], expects: str, hint: str = "") -> None:
    """Raise `ShapeError` unless the per-sample shape has one of `ranks` axes."""
    if len(in_shape) not in ranks:
        message = f"expects {expects}, got {show(in_shape)}"
        if not hint and len(in_shape) > max(ranks):
            hint = "add a flatten or global_avg_pool block before it"
        raise ShapeError(message + (f" — {hint}" if hint else ""))


class BuiltBlocks:
    """Nested blocks already built by kiln (for `residual` and other wrappers)."""

    def __init__(self, module: object, in_shape: Shape, out_shape: Shape) -> None:
        self.module = module
        self.in_shape = in_shape
        self.out_shape = out_shape
