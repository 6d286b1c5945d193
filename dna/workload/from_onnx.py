"""Networks from ONNX models (`--network model.onnx`).

`network_from_onnx` reads a model with the `onnx` package and maps, node by node in graph
order: Conv (grouped, depthwise, strided, symmetric padding or SAME with an odd kernel);
BatchNormalization after a conv (folded into it at quantisation time, as torch.fx import
does); Relu; Clip(0, 6) -> ReLU6 and Clip(0, inf) -> ReLU; Add of two activations;
MaxPool / AveragePool (no ceil mode or dilation; an average window covering the whole map
is a GlobalAvgPool); GlobalAveragePool and ReduceMean over (2, 3); Flatten / Reshape of a
map into a vector before the head; Gemm or MatMul with constant weights as the FC (a conv
whose kernel is the map size; a constant bias Add after MatMul belongs to it); channel
shuffle as Reshape -> Transpose -> Reshape; Identity and Dropout are skipped. Any other
op is refused: every such node is named in one error, with its op type. The IR shapes are
checked against ONNX shape inference.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from dna.workload.forms import IRValue as _Val
from dna.workload.forms import unique_name, view_as
from dna.workload.ir import INPUT, Network, Shape, WorkloadError
from dna.workload.zoo import NetBuilder

SUPPORTED_OPS = ("Conv", "BatchNormalization", "Relu", "Clip", "Add", "MaxPool",
                 "AveragePool", "GlobalAveragePool", "ReduceMean", "Flatten", "Reshape",
                 "Transpose", "Gemm", "MatMul", "Identity", "Dropout", "Constant")


class _Unsupported(Exception):
    """Raised inside the converter; turned into a WorkloadError naming the ONNX node."""


def _attrs(node: Any) -> dict[str, Any]:
    import onnx
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _square(values: Any, what: str) -> int:
    vals = list(values)
    if len(vals) != 2 or vals[0] != vals[1]:
        raise _Unsupported(f"{what} {vals}: only square 2-D windows")
    return int(vals[0])


def _padding(a: dict[str, Any], kernel: int, stride: int) -> int:
    """Symmetric padding from `pads` or `auto_pad` (SAME with an odd kernel at stride 1)."""
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        if kernel % 2 == 0 or stride != 1:
            raise _Unsupported(f"auto_pad {auto} with kernel {kernel}, stride {stride}")
        return kernel // 2
    if auto == "VALID":
        return 0
    pads = list(a.get("pads", [0, 0, 0, 0]))
    if len(set(pads)) > 1:
        raise _Unsupported(f"pads {pads}: only the same padding on every side")
    return int(pads[0]) if pads else 0


class _OnnxConverter:
    """Walks the graph once, in order, appending IR nodes to a NetBuilder."""

    def __init__(self, graph: Any, in_name: str, in_shape: Shape) -> None:
        from onnx import numpy_helper
        self.consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.vals: dict[str, _Val] = {in_name: _Val(INPUT, in_shape)}
        self.b = NetBuilder(in_shape)
        self.used: set[str] = {INPUT}

    def name(self, node: Any, i: int) -> str:
        return unique_name(node.name or f"{node.op_type.lower()}_{i}", self.used)

    def val(self, tensor: str, forms: tuple[str, ...] = ("map",)) -> _Val:
        v = self.vals.get(tensor)
        if v is None:
            raise _Unsupported(f"operand {tensor!r} is not an activation tensor")
        if v.form not in forms:
            raise _Unsupported(f"expects a {' or '.join(forms)} tensor, got a {v.form} one")
        return v

    def const(self, tensor: str, what: str) -> np.ndarray:
        if tensor not in self.consts:
            raise _Unsupported(f"{what} {tensor!r} is not a constant")
        return self.consts[tensor]

    def convert(self, node: Any, i: int) -> None:
        """Map one node; its outputs' IR values go to self.vals (constants to self.consts)."""
        op, a = node.op_type, _attrs(node)
        if op == "Constant":
            from onnx import numpy_helper
            if "value" not in a:
                raise _Unsupported("Constant without a tensor value")
            self.consts[node.output[0]] = numpy_helper.to_array(a["value"])
            return
        if op == "Identity" and node.input[0] in self.consts:  # a shared initializer
            self.consts[node.output[0]] = self.consts[node.input[0]]
            return
        if op == "Add" and node.input[1] in self.consts and node.input[0] in self.vals:
            v = self.val(node.input[0], ("flat",))  # the FC's bias after MatMul
            if not v.conv:
                raise _Unsupported("Add of a constant to something other than a MatMul FC")
            self.vals[node.output[0]] = v
            return
        self.vals[node.output[0]] = getattr(self, f"op_{op}")(node, a, i)

    def op_Conv(self, node: Any, a: dict[str, Any], i: int) -> _Val:
        w = self.const(node.input[1], "weight")
        if any(d != 1 for d in a.get("dilations", [1, 1])):
            raise _Unsupported(f"dilations {list(a['dilations'])}")
        kernel = _square(a.get("kernel_shape", w.shape[2:]), "kernel")
        stride = _square(a.get("strides", [1, 1]), "strides")
        v = self.val(node.input[0])
        name = self.b.conv(self.name(node, i), int(w.shape[0]), kernel, stride=stride,
                           padding=_padding(a, kernel, stride), groups=int(a.get("group", 1)),
                           src=v.name)
        return _Val(name, self.b.shape(name), conv=True)

    def op_BatchNormalization(self, node: Any, a: dict[str, Any], i: int) -> _Val:
        v = self.val(node.input[0])
        if not v.conv:
            raise _Unsupported("BatchNormalization that does not follow a conv")
        return _Val(v.name, v.shape)

    def op_Relu(self, node: Any, a: dict[str, Any], i: int) -> _Val:
        return self.act(node, i, "relu")

    def op_Clip(self, node: Any, a: dict[str, Any], i: int) -> _Val:
        ins = list(node.input) + ["", ""]
        lo = float(self.const(ins[1], "min")) if ins[1] else a.get("min", -np.inf)
        hi = float(self.const(ins[2], "max")) if ins[2] else a.get("max", np.inf)
        if lo != 0 or hi not in (6.0, np.inf):
            raise _Unsupported(f"Clip({lo}, {hi}) is neither relu nor relu6")
        return self.act(node, i, "relu6" if hi == 6.0 else "relu")

    def act(self, node: Any, i: int, fn: Literal["relu", "relu6"]) -> _Val:
        v = self.val(node.input[0], ("map", "flat"))
        return _Val(self.b.act(self.name(node, i), fn, src=v.name), v.shape, v.form)

    def op_Add(self, node: Any, a: dict[str, Any], i: int) -> _Val:
        x = self.val(node.input[0], ("map", "flat"))
        y = self.val(node.input[1], (x.form,))
        return _Val(self.b.add(self.name(node, i), x.name, y.name), x.shape, x.form)

    def op_MaxPool(self, node: Any, a: dict[str, Any], i: int) -> _Val:
        return self.pool(node, a, i, "max")

    def op_AveragePool(self, node: Any, a: dict[str, Any], i: int) -> _Val:
        return self.pool(node, a, i, "avg")

    def pool(self, node: Any, a: dict[str, Any], i: int, fn: Literal["max", "avg"]) -> _Val:
        if a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1, 1])):
            raise _Unsupported("pool with ceil_mode or dilation")
        size = _square(a["kernel_shape"], "kernel")
        stride = _square(a.get("strides", [1, 1]), "strides")
        padding = _padding(a, size, stride)
        if fn == "avg" and padding and not a.get("count_include_pad", 0):
            raise _Unsupported("padded AveragePool without count_include_pad")
        v = self.val(node.input[0])
        if size == stride == 1 and padding == 0:
            return v
        if fn == "avg" and padding == 0 and size == v.shape.h == v.shape.w:
            return self.gap(node, i, v)
        name = self.b.pool(self.name(node, i), size, stride, padding=padding, fn=fn,
                           src=v.name)
        return _Val(name, self.b.shape(name))

    def gap(self, node: Any, i: int, v: _Val) -> _Val:
        name = self.b.gap(self.name(node, i), src=v.name)
        return _Val(name, self.b.shape(name))

    def op_GlobalAveragePool(self, node: Any, a: dict[str, Any], i: int) -> _Val:
        return self.gap(node, i, self.val(node.input[0]))

    def op_ReduceMean(self, node: Any, a: dict[str, Any], i: int) -> _Val:
        axes = a.get("axes")
        if axes is None and len(node.input) > 1:
            axes = self.const(node.input[1], "axes").tolist()
        if sorted(int(d) % 4 for d in axes or []) != [2, 3]:
            raise _Unsupported(f"ReduceMean over axes {axes} (only (2, 3))")
        v = self.gap(node, i, self.val(node.input[0]))
        return v if a.get("keepdims", 1) else _Val(v.name, v.shape, "flat")

    def op_Flatten(self, node: Any, a: dict[str, Any], i: int) -> _Val:
        if a.get("axis", 1) != 1:
            raise _Unsupported(f"Flatten with axis {a['axis']} (only 1)")
        v = self.val(node.input[0], ("map", "flat"))
        return _Val(v.name, v.shape, "flat")

    def op_Reshape(self, node: Any, a: dict[str, Any], i: int) -> _Val:
        v = self.val(node.input[0], ("map", "flat", "split", "shuffled"))
        out = [int(d) for d in self.const(node.input[1], "shape")]
        total = v.shape.elements
        if -1 in out:  # the one inferred dimension
            known = int(np.prod([d for d in out if d != -1]))
            out[out.index(-1)] = total // known if known else 0
        out = [d if d else v.torch_shape()[k] for k, d in enumerate(out)]  # 0: keep
        viewed = view_as(v, out, lambda s: self.b.shuffle(self.name(node, i), s.groups,
                                                           src=s.name))
        if viewed is None:
            raise _Unsupported(f"Reshape of a {v.form} tensor to {out}")
        return viewed

    def op_Transpose(self, node: Any, a: dict[str, Any], i: int) -> _Val:
        v = self.val(node.input[0], ("split",))
        if list(a.get("perm", [])) != [0, 2, 1, 3, 4]:
            raise _Unsupported(f"Transpose perm {list(a.get('perm', []))}")
        return _Val(v.name, v.shape, "shuffled", v.groups)

    def op_Gemm(self, node: Any, a: dict[str, Any], i: int) -> _Val:
        if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
            raise _Unsupported("Gemm with transA, alpha or beta")
        w = self.const(node.input[1], "weight")
        return self.fc(node, i, w.shape[0] if a.get("transB", 0) else w.shape[1],
                       w.shape[1] if a.get("transB", 0) else w.shape[0])

    def op_MatMul(self, node: Any, a: dict[str, Any], i: int) -> _Val:
        w = self.const(node.input[1], "weight")
        if w.ndim != 2:
            raise _Unsupported(f"MatMul with a {w.ndim}-D weight")
        return self.fc(node, i, w.shape[1], w.shape[0])

    def fc(self, node: Any, i: int, k: int, features: int) -> _Val:
        v = self.val(node.input[0], ("flat",))
        if features != v.shape.c * v.shape.h * v.shape.w:
            raise _Unsupported(f"{features} input features != flattened size "
                               f"{v.shape.c * v.shape.h * v.shape.w}")
        name = self.b.fc(self.name(node, i), int(k), src=v.name)
        return _Val(name, self.b.shape(name), "flat", conv=True)

    def op_Identity(self, node: Any, a: dict[str, Any], i: int) -> _Val:
        return self.val(node.input[0], ("map", "flat", "split", "shuffled"))

    op_Dropout = op_Identity


def _input(graph: Any, where: str) -> tuple[str, Shape]:
    """The one image input (a graph input that is not an initializer) and its shape; a
    symbolic batch dimension is 1."""
    inits = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise WorkloadError(f"{where}: expected one image input, found {len(inputs)}")
    dims = inputs[0].type.tensor_type.shape.dim
    shape = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    if len(shape) != 4 or any(d is None for d in shape[1:]):
        raise WorkloadError(f"{where}: input {inputs[0].name!r} has shape {shape}: expected "
                            f"(n, c, h, w) with fixed c, h, w")
    return inputs[0].name, Shape(shape[0] or 1, *shape[1:])


def _inferred_shapes(model: Any) -> dict[str, tuple[int, ...]]:
    import onnx
    inferred = onnx.shape_inference.infer_shapes(model)
    out = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            out[vi.name] = tuple(d.dim_value for d in dims)
    return out


def network_from_onnx(path: str | Path, name: str | None = None) -> Network:
    """The IR network of the ONNX model in `path` (see the module docstring); one
    WorkloadError naming the file and every unsupported node, or the node that fails."""
    import onnx  # a dependency; imported here to keep it off every command's start-up
    where = str(path)
    try:
        model = onnx.load(str(path))
    except FileNotFoundError:
        raise WorkloadError(f"{where}: no such ONNX file") from None
    except Exception as exc:  # protobuf DecodeError, ...
        raise WorkloadError(f"{where}: not a readable ONNX model ({exc})") from None
    graph = model.graph
    bad = [f"node {n.name or f'#{i}'!r} ({n.op_type})" for i, n in enumerate(graph.node)
           if n.op_type not in SUPPORTED_OPS]
    if bad:
        raise WorkloadError(f"{where}: unsupported: {', '.join(bad)} (supported: "
                            f"{', '.join(SUPPORTED_OPS)})")
    in_name, in_shape = _input(graph, where)
    conv = _OnnxConverter(graph, in_name, in_shape)
    _convert_all(conv, graph, _inferred_shapes(model), where)
    if len(graph.output) != 1:
        raise WorkloadError(f"{where}: expected one output, found {len(graph.output)}")
    out = conv.vals.get(graph.output[0].name)
    if out is None or out.name != conv.b.last:
        raise WorkloadError(f"{where}: the output is not the last layer's")
    return conv.b.build(name or Path(path).stem)


def _convert_all(conv: _OnnxConverter, graph: Any, shapes: dict[str, tuple[int, ...]],
                 where: str) -> None:
    """Convert every node in order, checking each IR shape against ONNX's inference."""
    for i, node in enumerate(graph.node):
        try:
            conv.convert(node, i)
            v = conv.vals.get(node.output[0])
            got = shapes.get(node.output[0])
            if v is not None and got is not None and v.torch_shape() != got:
                raise _Unsupported(f"IR shape {v.torch_shape()} disagrees with ONNX's {got}")
        except (_Unsupported, WorkloadError, KeyError, IndexError, ValueError) as exc:
            raise WorkloadError(f"{where}: node {node.name or f'#{i}'!r} ({node.op_type}): "
                                f"{exc}") from None
