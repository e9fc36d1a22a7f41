"""Shorter ONNX files: internal tensor names shortened, optional fields dropped.

The exporter and the quantizer name every tensor after its module path
(`/encoders/image/encoders.image.0/Conv_output_0_QuantizeLinear_Output`); in a small int8
model those strings weigh as much as the weights. Graph input and output names — the
model's public contract — are kept. Graphs with sub-graphs (If, Loop, Scan) are left alone,
since a sub-graph may refer to outer names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kiln.files import atomic_path

if TYPE_CHECKING:
    import onnx


def compact_names(model: onnx.ModelProto) -> onnx.ModelProto:
    """Rename internal tensors `t<k>`; drop node names, doc strings, value_info, all-zero
    DequantizeLinear zero points and unused opset imports.

    Returns the same (modified) proto. A no-op for graphs holding sub-graphs.
    """
    import onnx

    graph = model.graph
    if any(attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
           for node in graph.node for attr in node.attribute):
        return model
    public = {v.name for v in graph.input} | {v.name for v in graph.output} | {""}
    names: dict[str, str] = {}

    def short(name: str) -> str:
        if name in public:
            return name
        return names.setdefault(name, f"t{len(names):x}")

    for init in graph.initializer:
        init.name = short(init.name)
        init.ClearField("doc_string")
    for node in graph.node:
        node.ClearField("name")  # optional in ONNX; ONNX Runtime names nodes itself
        node.ClearField("doc_string")
        node.input[:] = [short(n) for n in node.input]
        node.output[:] = [short(n) for n in node.output]
    _drop_zero_dequantize_points(graph)
    del graph.value_info[:]
    graph.ClearField("doc_string")
    model.ClearField("doc_string")
    _drop_unused_opsets(model)
    return model


def compact_file(path: str | Path) -> Path:
    """Rewrite the ONNX file at `path` with compact names, atomically."""
    import onnx

    path = Path(path)
    model = compact_names(onnx.load(str(path)))
    with atomic_path(path) as tmp:
        onnx.save_model(model, str(tmp), save_as_external_data=False)
    return path


def _drop_zero_dequantize_points(graph: onnx.GraphProto) -> None:
    """DequantizeLinear's zero point is optional and 0 by default: an all-zero constant one
    (every symmetric weight and every int32 bias) is dead weight. QuantizeLinear keeps its
    zero point: without one its output type would change to uint8."""
    from onnx import numpy_helper

    inits = {init.name: init for init in graph.initializer}
    dropped: set[str] = set()
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or len(node.input) < 3:
            continue
        zp = inits.get(node.input[2])
        if zp is not None and not numpy_helper.to_array(zp).any():
            dropped.add(node.input[2])
            del node.input[2]
    still_used = {name for node in graph.node for name in node.input}
    keep = [init for init in graph.initializer
            if init.name not in dropped or init.name in still_used]
    del graph.initializer[:]
    graph.initializer.extend(keep)


def _drop_unused_opsets(model: onnx.ModelProto) -> None:
    """The quantizer declares every domain it knows; keep those the nodes use."""
    used = {node.domain for node in model.graph.node} | {"", "ai.onnx"}
    keep = [op for op in model.opset_import if op.domain in used]
    del model.opset_import[:]
    model.opset_import.extend(keep)
