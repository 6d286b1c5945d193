"""Networks into and out of the IR: YAML files / plain dicts, and torch modules (torch.fx).

YAML / dict format (example: examples/networks/tiny.yaml). The design file stores
networks in the same form (`network_to_dict`).

    name: tiny               # network name (required string)
    input: [3, 32, 32]       # channels, rows, cols of one image (required)
    batch: 1                 # optional, default 1
    layers:                  # topological order; the last layer is the output
      - name: stem           # unique, not "input"
        op: conv             # conv | act | add | shuffle | pool | gap
        inputs: [input]      # optional; default: the previous layer ("input" for the first)
        k: 16                # conv: output channels (required)
        kernel: 3            # conv: int or [rows, cols] (required)
        stride: 2            # conv: default 1
        padding: 1           # conv, pool: default 0
        groups: 1            # conv: default 1 (groups == channels: depthwise)
      - {name: r, op: act, fn: relu6}               # fn: relu (default) | relu6
      - {name: s, op: shuffle, groups: 2}           # groups default 2
      - {name: p, op: pool, fn: max, size: 2}       # fn max | avg; size default 2, stride = size
      - {name: a, op: add, inputs: [x, y]}          # exactly two inputs of the same shape
      - {name: g, op: gap}                          # global average pool -> (c, 1, 1)
      - {name: fc, op: conv, k: 10, kernel: 1}      # FC head = 1x1 conv on the 1x1 map

Shapes are inferred from `input`. Every problem is collected into one `WorkloadError`
naming the file and the field path, e.g.
`tiny.yaml: layers[2].kernel: expected a positive integer or [rows, cols], got 'x'`.

`network_from_torch` traces a module with torch.fx and maps: Conv2d; Linear (a conv whose
kernel is the flattened map's size, 1x1 after global pooling); ReLU / ReLU6 / F.relu /
F.relu6 / clamp(0, 6); MaxPool2d / AvgPool2d; AdaptiveAvgPool2d(1) / mean over (2, 3)
-> GlobalAvgPool (an average window covering the whole map is a GlobalAvgPool too);
`+` / torch.add -> Add; channel shuffle as view -> transpose -> view or `ChannelShuffle`.
BatchNorm2d is skipped: at quantisation time it is folded into the conv before it (scale
into the weights, shift into the bias that `Network.params` already counts). Identity,
Dropout, contiguous and flatten / view of a map into a vector are skipped too. Shapes of
the IR are checked against a real forward pass (torch.fx ShapeProp).
"""
from __future__ import annotations

import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

import torch
import torch.fx
import torch.nn.functional as F
import yaml
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp

from dna.networks import NetBuilder
from dna.workload import (INPUT, Act, Add, Conv, GlobalAvgPool, Network, Node, Pool, Shape,
                          Shuffle, WorkloadError)

# ----------------------------------------------------------------------------- YAML / dict


def _pos_int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"expected a positive integer, got {v!r}")
    return v


def _nonneg_int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"expected a non-negative integer, got {v!r}")
    return v


def _kernel(v: Any) -> tuple[int, int]:
    if isinstance(v, int) and not isinstance(v, bool) and v >= 1:
        return v, v
    if (isinstance(v, list) and len(v) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in v)):
        return v[0], v[1]
    raise ValueError(f"expected a positive integer or [rows, cols], got {v!r}")


def _choice(*options: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if v not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {v!r}")
        return v
    return check


_REQUIRED = object()
# op -> field -> (validator, default); stride None for pool means "= size"
_OP_FIELDS: dict[str, dict[str, tuple[Callable[[Any], Any], Any]]] = {
    "conv": {"k": (_pos_int, _REQUIRED), "kernel": (_kernel, _REQUIRED),
             "stride": (_pos_int, 1), "padding": (_nonneg_int, 0), "groups": (_pos_int, 1)},
    "act": {"fn": (_choice("relu", "relu6"), "relu")},
    "add": {},
    "shuffle": {"groups": (_pos_int, 2)},
    "pool": {"fn": (_choice("max", "avg"), "max"), "size": (_pos_int, 2),
             "stride": (_pos_int, None), "padding": (_nonneg_int, 0)},
    "gap": {},
}
_TOP_FIELDS = ("name", "input", "batch", "layers")


def _chw(s: Shape) -> str:
    return f"{s.c}x{s.h}x{s.w}"


def _make_node(op: str, name: str, inputs: tuple[str, ...], shapes: list[Shape],
               f: dict[str, Any], at: str) -> tuple[Node | None, list[str]]:
    """The node of one validated layer, or the shape problems that forbid it."""
    x = shapes[0]
    if op == "conv":
        n = Conv(name, inputs, x, f["k"], *f["kernel"], stride=f["stride"],
                 padding=f["padding"], groups=f["groups"])
        if x.c % n.groups or n.k % n.groups:
            return None, [f"{at}.groups: {n.groups} does not divide in channels {x.c} "
                          f"and k = {n.k}"]
        if n.y < 1 or n.x < 1:
            return None, [f"{at}.kernel: {n.r}x{n.s} does not fit the {x.h}x{x.w} input "
                          f"with padding {n.padding}"]
        return n, []
    if op == "act":
        return Act(name, inputs, x, fn=f["fn"]), []
    if op == "add":
        if shapes[0] != shapes[1]:
            return None, [f"{at}.inputs: cannot add {inputs[0]!r} ({_chw(shapes[0])}) and "
                          f"{inputs[1]!r} ({_chw(shapes[1])}): shapes differ"]
        return Add(name, inputs, x), []
    if op == "shuffle":
        if x.c % f["groups"]:
            return None, [f"{at}.groups: {f['groups']} does not divide channels {x.c}"]
        return Shuffle(name, inputs, x, groups=f["groups"]), []
    if op == "pool":
        stride = f["size"] if f["stride"] is None else f["stride"]
        n = Pool(name, inputs, x, fn=f["fn"], size=f["size"], stride=stride,
                 padding=f["padding"])
        if n.out_shape.h < 1 or n.out_shape.w < 1:
            return None, [f"{at}.size: window {n.size} does not fit the {x.h}x{x.w} input "
                          f"with padding {n.padding}"]
        return n, []
    return GlobalAvgPool(name, inputs, x), []


def _parse_layer(layer: Any, at: str, shapes: dict[str, Shape | None], prev: str,
                 problems: list[str]) -> tuple[str | None, Node | None]:
    """(layer name if usable, node if every check passed); appends problems."""
    if not isinstance(layer, dict):
        problems.append(f"{at}: expected a mapping, got {layer!r}")
        return None, None
    before = len(problems)
    name = layer.get("name")
    if not isinstance(name, str) or not name:
        problems.append(f"{at}.name: expected a non-empty string, got {name!r}")
        name = None
    elif name in shapes:
        problems.append(f"{at}.name: duplicate name {name!r}")
        name = None
    op = layer.get("op")
    if op not in _OP_FIELDS:
        problems.append(f"{at}.op: unknown op {op!r}; valid ops: {', '.join(_OP_FIELDS)}")
        return name, None
    fields = _OP_FIELDS[op]
    for key in layer:
        if key not in ("name", "op", "inputs", *fields):
            valid = ", ".join(("name", "op", "inputs", *fields))
            problems.append(f"{at}.{key}: unknown field for op {op}; valid fields: {valid}")
    values: dict[str, Any] = {}
    for key, (check, default) in fields.items():
        if key not in layer:
            if default is _REQUIRED:
                problems.append(f"{at}.{key}: required for op {op}")
            values[key] = default
            continue
        try:
            values[key] = check(layer[key])
        except ValueError as exc:
            problems.append(f"{at}.{key}: {exc}")
    inputs = layer.get("inputs", [prev])
    inputs = [inputs] if isinstance(inputs, str) else inputs
    arity = 2 if op == "add" else 1
    if not isinstance(inputs, list) or not all(isinstance(s, str) for s in inputs):
        problems.append(f"{at}.inputs: expected a list of layer names, got {inputs!r}")
    elif len(inputs) != arity:
        problems.append(f"{at}.inputs: op {op} takes {arity} input(s), got {len(inputs)}")
    else:
        for j, src in enumerate(inputs):
            if src not in shapes:
                problems.append(f"{at}.inputs[{j}]: {src!r} is not an earlier layer "
                                f"or {INPUT!r}")
    if len(problems) > before or name is None:
        return name, None
    in_shapes = [shapes[s] for s in inputs]
    if any(s is None for s in in_shapes):  # an input already failed: reported there
        return name, None
    node, shape_problems = _make_node(op, name, tuple(inputs), in_shapes, values, at)
    problems.extend(shape_problems)
    return name, node


def network_from_dict(data: Any, where: str = "network") -> Network:
    """Build a network from the dict form (see module docstring); errors name `where`."""
    if not isinstance(data, dict):
        raise WorkloadError(f"{where}: expected a mapping with fields "
                            f"{', '.join(_TOP_FIELDS)}, got {type(data).__name__}")
    problems: list[str] = []
    for key in data:
        if key not in _TOP_FIELDS:
            problems.append(f"{key}: unknown field; valid fields: {', '.join(_TOP_FIELDS)}")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        problems.append(f"name: expected a non-empty string, got {name!r}")
    batch = data.get("batch", 1)
    try:
        _pos_int(batch)
    except ValueError as exc:
        problems.append(f"batch: {exc}")
        batch = None
    chw = data.get("input")
    input_shape = None
    if (isinstance(chw, list) and len(chw) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in chw)):
        if batch is not None:
            input_shape = Shape(batch, *chw)
    else:
        problems.append(f"input: expected [channels, rows, cols] of positive integers, "
                        f"got {chw!r}")
    layers = data.get("layers")
    if not isinstance(layers, list) or not layers:
        problems.append(f"layers: expected a non-empty list, got {layers!r}")
        layers = []
    shapes: dict[str, Shape | None] = {INPUT: input_shape}
    nodes: list[Node] = []
    prev = INPUT
    for i, layer in enumerate(layers):
        layer_name, node = _parse_layer(layer, f"layers[{i}]", shapes, prev, problems)
        if layer_name is not None:
            shapes[layer_name] = node.out_shape if node is not None else None
            prev = layer_name
        if node is not None:
            nodes.append(node)
    if problems:
        raise WorkloadError(f"{where}: " + "; ".join(problems))
    try:
        return Network(name, input_shape, tuple(nodes))
    except WorkloadError as exc:
        raise WorkloadError(f"{where}: {exc}") from None


def network_from_yaml(path: str | Path) -> Network:
    """Load a network from a YAML file; every problem is one `WorkloadError`."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise WorkloadError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise WorkloadError(f"{path}: malformed YAML{at}: {problem}") from None
    return network_from_dict(data, str(path))


def network_to_dict(net: Network) -> dict[str, Any]:
    """The dict form of `net` (inputs and defaults explicit); inverse of network_from_dict."""
    s = net.input_shape
    layers = []
    for n in net.nodes:
        d: dict[str, Any] = {"name": n.name, "op": n.kind, "inputs": list(n.inputs)}
        if isinstance(n, Conv):
            d.update(k=n.k, kernel=n.r if n.r == n.s else [n.r, n.s], stride=n.stride,
                     padding=n.padding, groups=n.groups)
        elif isinstance(n, Act):
            d["fn"] = n.fn
        elif isinstance(n, Shuffle):
            d["groups"] = n.groups
        elif isinstance(n, Pool):
            d.update(fn=n.fn, size=n.size, stride=n.stride, padding=n.padding)
        layers.append(d)
    return {"name": net.name, "input": [s.c, s.h, s.w], "batch": s.n, "layers": layers}


# ----------------------------------------------------------------------------- torch.fx


class ChannelShuffle(nn.Module):
    """Channel shuffle (ShuffleNet); `network_from_torch` maps it to one `Shuffle` node."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape  # (N, C, H, W)
        x = x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2)  # (N, C/g, g, H, W)
        return x.reshape(n, c, h, w)


class _Tracer(torch.fx.Tracer):
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, ChannelShuffle) or super().is_leaf_module(m, qualname)


@dataclass(frozen=True)
class _Val:
    """What an fx tensor holds in IR terms."""

    name: str  # IR node (or "input") whose output this is
    shape: Shape  # IR shape (n, c, h, w) of that output
    # map: (n, c, h, w); flat: (n, c*h*w); split: (n, g, c/g, h, w); shuffled: (n, c/g, g, h, w)
    form: Literal["map", "flat", "split", "shuffled"] = "map"
    groups: int = 1  # g of split / shuffled

    def torch_shape(self) -> tuple[int, ...]:
        n, c, h, w, g = self.shape.n, self.shape.c, self.shape.h, self.shape.w, self.groups
        return {"map": (n, c, h, w), "flat": (n, c * h * w), "split": (n, g, c // g, h, w),
                "shuffled": (n, c // g, g, h, w)}[self.form]


class _Unsupported(Exception):
    """Raised inside the converter; turned into a WorkloadError naming the fx node."""


_RELU_FNS = {F.relu, torch.relu, torch.relu_}
_ADD_FNS = {operator.add, operator.iadd, torch.add}
_CLAMP_FNS = {torch.clamp, torch.clip, torch.clamp_}
_SKIP_MODULES = (nn.BatchNorm2d, nn.Identity, nn.Dropout, nn.Dropout2d)


def _pair(v: Any, what: str) -> int:
    """One int from an int or an equal pair, else unsupported."""
    if isinstance(v, int):
        return v
    if isinstance(v, (tuple, list)) and len(v) == 2 and v[0] == v[1]:
        return int(v[0])
    raise _Unsupported(f"non-square {what} {v!r}")


class _FxConverter:
    """Walks a traced graph once, in order, appending IR nodes to a NetBuilder."""

    def __init__(self, gm: torch.fx.GraphModule, in_shape: Shape) -> None:
        self.gm = gm
        self.modules = dict(gm.named_modules())
        self.b = NetBuilder(in_shape)
        self.used: set[str] = {INPUT}

    def name(self, node: torch.fx.Node) -> str:
        base = str(node.target) if node.op == "call_module" else node.name
        name, i = base, 0
        while name in self.used:
            i += 1
            name = f"{base}_{i}"
        self.used.add(name)
        return name

    @staticmethod
    def arg(node: torch.fx.Node, i: int, key: str, default: Any = None) -> Any:
        if len(node.args) > i:
            return node.args[i]
        return node.kwargs.get(key, default)

    def val(self, vals: dict, a: Any, forms: tuple[str, ...] = ("map",)) -> _Val:
        v = vals.get(a) if isinstance(a, torch.fx.Node) else None
        if not isinstance(v, _Val):
            raise _Unsupported(f"operand {a!r} is not an activation tensor")
        if v.form not in forms:
            raise _Unsupported(f"expects a {' or '.join(forms)} tensor, got a {v.form} one")
        return v

    def convert(self, node: torch.fx.Node, vals: dict, out: tuple[int, ...]) -> _Val:
        """The IR value of one tensor-producing fx node (adding IR nodes as needed)."""
        def x(forms: tuple[str, ...] = ("map",)) -> _Val:
            return self.val(vals, node.args[0], forms)

        t = node.target
        if node.op == "call_module":
            return self.module(node, self.modules[t], x)
        kind = t if node.op == "call_method" else None
        if t in _RELU_FNS or kind in ("relu", "relu_"):
            return self.act(node, x(("map", "flat")), "relu")
        if t is F.relu6:
            return self.act(node, x(("map", "flat")), "relu6")
        if t in _CLAMP_FNS or kind in ("clamp", "clamp_", "clip"):
            lo, hi = self.arg(node, 1, "min"), self.arg(node, 2, "max")
            if lo != 0 or hi not in (None, 6):
                raise _Unsupported(f"clamp({lo}, {hi}) is neither relu nor relu6")
            return self.act(node, x(("map", "flat")), "relu" if hi is None else "relu6")
        if t is F.hardtanh and (self.arg(node, 1, "min_val", -1),
                                self.arg(node, 2, "max_val", 1)) == (0, 6):
            return self.act(node, x(("map", "flat")), "relu6")
        if t in _ADD_FNS or kind in ("add", "add_"):
            if self.arg(node, 2, "alpha", 1) != 1:
                raise _Unsupported("add with alpha")
            a = x(("map", "flat"))
            b = self.val(vals, node.args[1], (a.form,))
            return _Val(self.b.add(self.name(node), a.name, b.name), a.shape, a.form)
        if t is torch.flatten or kind == "flatten":
            if self.arg(node, 1, "start_dim", 0) != 1 or self.arg(node, 2, "end_dim", -1) != -1:
                raise _Unsupported("flatten other than flatten(x, 1)")
            v = x(("map", "flat"))
            return _Val(v.name, v.shape, "flat")
        if t is torch.reshape or kind in ("view", "reshape"):
            return self.view(node, x(("map", "flat", "split", "shuffled")), out)
        if t is torch.transpose or kind in ("transpose", "permute"):
            return self.transpose(node, x(("split", "shuffled")))
        if kind == "contiguous":
            return x(("map", "flat", "split", "shuffled"))
        if t is torch.mean or kind == "mean":
            dims = self.arg(node, 1, "dim")
            dims = [dims] if isinstance(dims, int) else list(dims or [])
            if sorted(d % 4 for d in dims) != [2, 3]:
                raise _Unsupported(f"mean over dims {dims!r} (only (2, 3))")
            v = self.gap(node, x())
            return v if self.arg(node, 2, "keepdim", False) else _Val(v.name, v.shape, "flat")
        if t in (F.adaptive_avg_pool2d, F.avg_pool2d, F.max_pool2d):
            return self.pool_fn(node, x())
        raise _Unsupported("unsupported op")

    def module(self, node: torch.fx.Node, m: nn.Module, x: Callable[..., _Val]) -> _Val:
        if isinstance(m, nn.Conv2d):
            if m.dilation != (1, 1) or m.padding_mode != "zeros":
                raise _Unsupported("dilated or non-zero-padded Conv2d")
            if m.padding == "same" and m.kernel_size[0] == m.kernel_size[1] \
                    and m.kernel_size[0] % 2:
                padding = m.kernel_size[0] // 2
            else:
                padding = 0 if m.padding == "valid" else _pair(m.padding, "padding")
            v = x()
            name = self.b.conv(self.name(node), m.out_channels, m.kernel_size,
                               stride=_pair(m.stride, "stride"), padding=padding,
                               groups=m.groups, src=v.name)
            return _Val(name, self.b.shape(name))
        if isinstance(m, nn.Linear):
            v = x(("flat",))
            if m.in_features != v.shape.c * v.shape.h * v.shape.w:
                raise _Unsupported(f"Linear in_features {m.in_features} != flattened size")
            name = self.b.fc(self.name(node), m.out_features, src=v.name)
            return _Val(name, self.b.shape(name), "flat")
        if isinstance(m, nn.ReLU6) or (isinstance(m, nn.Hardtanh)
                                       and (m.min_val, m.max_val) == (0, 6)):
            return self.act(node, x(("map", "flat")), "relu6")
        if isinstance(m, nn.ReLU):
            return self.act(node, x(("map", "flat")), "relu")
        if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            if getattr(m, "ceil_mode", False) or getattr(m, "dilation", 1) not in (1, (1, 1)):
                raise _Unsupported("pool with ceil_mode or dilation")
            fn = "max" if isinstance(m, nn.MaxPool2d) else "avg"
            return self.pool(node, x(), fn, m.kernel_size, m.stride, m.padding)
        if isinstance(m, nn.AdaptiveAvgPool2d):
            return self.adaptive(node, x(), m.output_size)
        if isinstance(m, nn.Flatten):
            if (m.start_dim, m.end_dim) != (1, -1):
                raise _Unsupported("Flatten other than Flatten(1, -1)")
            v = x(("map", "flat"))
            return _Val(v.name, v.shape, "flat")
        if isinstance(m, ChannelShuffle):
            v = x()
            return _Val(self.b.shuffle(self.name(node), m.groups, src=v.name), v.shape)
        if isinstance(m, _SKIP_MODULES):
            return x(("map", "flat"))
        raise _Unsupported(f"unsupported module {type(m).__name__}")

    def act(self, node: torch.fx.Node, v: _Val, fn: Literal["relu", "relu6"]) -> _Val:
        return _Val(self.b.act(self.name(node), fn, src=v.name), v.shape, v.form)

    def gap(self, node: torch.fx.Node, v: _Val) -> _Val:
        name = self.b.gap(self.name(node), src=v.name)
        return _Val(name, self.b.shape(name))

    def pool(self, node: torch.fx.Node, v: _Val, fn: str, size: Any, stride: Any,
             padding: Any) -> _Val:
        size = _pair(size, "pool window")
        stride = size if stride in (None, ()) else _pair(stride, "pool stride")
        padding = _pair(padding, "pool padding")
        if size == stride == 1 and padding == 0:
            return v  # 1x1 window, stride 1: the identity (kuangliu VGG's AvgPool2d(1, 1))
        if fn == "avg" and padding == 0 and size == v.shape.h == v.shape.w:
            return self.gap(node, v)  # window covers the whole map
        name = self.b.pool(self.name(node), size, stride, padding=padding, fn=fn, src=v.name)
        return _Val(name, self.b.shape(name))

    def pool_fn(self, node: torch.fx.Node, v: _Val) -> _Val:
        if node.target is F.adaptive_avg_pool2d:
            return self.adaptive(node, v, self.arg(node, 1, "output_size"))
        if self.arg(node, 5, "ceil_mode", False) or (node.target is F.max_pool2d
                                                     and self.arg(node, 4, "dilation", 1) != 1):
            raise _Unsupported("pool with ceil_mode or dilation")
        fn = "max" if node.target is F.max_pool2d else "avg"
        return self.pool(node, v, fn, self.arg(node, 1, "kernel_size"),
                         self.arg(node, 2, "stride"), self.arg(node, 3, "padding", 0))

    def adaptive(self, node: torch.fx.Node, v: _Val, size: Any) -> _Val:
        oh, ow = (size, size) if isinstance(size, int) else size
        oh, ow = oh or v.shape.h, ow or v.shape.w  # None keeps that dim
        if (oh, ow) == (1, 1):
            return self.gap(node, v)
        if (oh, ow) == (v.shape.h, v.shape.w):
            return v  # identity (e.g. torchvision's avgpool at 224x224)
        if v.shape.h % oh == 0 and v.shape.w % ow == 0 and v.shape.h // oh == v.shape.w // ow:
            return self.pool(node, v, "avg", v.shape.h // oh, v.shape.h // oh, 0)
        raise _Unsupported(f"adaptive pool {v.shape.h}x{v.shape.w} -> {oh}x{ow}")

    def view(self, node: torch.fx.Node, v: _Val, out: tuple[int, ...]) -> _Val:
        n, c, h, w = v.shape.n, v.shape.c, v.shape.h, v.shape.w
        if v.form in ("map", "flat", "split") and out == (n, c, h, w):
            return _Val(v.name, v.shape)
        if v.form in ("map", "flat") and out == (n, c * h * w):
            return _Val(v.name, v.shape, "flat")
        if v.form == "map" and len(out) == 5 and out[0] == n and out[1] * out[2] == c \
                and out[3:] == (h, w):
            return _Val(v.name, v.shape, "split", out[1])
        if v.form == "shuffled" and out == (n, c, h, w):
            return _Val(self.b.shuffle(self.name(node), v.groups, src=v.name), v.shape)
        raise _Unsupported(f"view of a {v.form} tensor {v.torch_shape()} as {out}")

    def transpose(self, node: torch.fx.Node, v: _Val) -> _Val:
        dims = node.args[1:] if node.target != "permute" or len(node.args) > 2 else node.args[1]
        dims = tuple(dims)
        if dims in ((1, 2), (2, 1), (0, 2, 1, 3, 4)):
            return _Val(v.name, v.shape, "shuffled" if v.form == "split" else "split",
                        v.groups)
        raise _Unsupported(f"transpose/permute {dims} of a {v.form} tensor")

    def run(self, net_name: str) -> Network:
        """Convert every fx node in order; the IR network named `net_name`."""
        vals: dict[torch.fx.Node, _Val | None] = {}
        for node in self.gm.graph.nodes:
            try:
                if node.op == "placeholder":
                    if any(isinstance(v, _Val) and v.name == INPUT for v in vals.values()):
                        raise _Unsupported("more than one input")
                    vals[node] = _Val(INPUT, self.b.input_shape)
                elif node.op == "output":
                    v = self.val(vals, node.args[0], ("map", "flat"))
                    if v.name != self.b.last:
                        raise _Unsupported(f"output {v.name!r} is not the last IR node")
                elif node.op == "get_attr" or "tensor_meta" not in node.meta:
                    vals[node] = None  # a constant or shape arithmetic (size, getitem)
                else:
                    out = tuple(getattr(node.meta["tensor_meta"], "shape", ()))
                    v = self.convert(node, vals, out)
                    if v.torch_shape() != out:
                        raise _Unsupported(f"IR shape {v.torch_shape()} disagrees with the "
                                           f"traced shape {out}")
                    vals[node] = v
            except (_Unsupported, WorkloadError) as exc:
                what = node.target if isinstance(node.target, str) else \
                    getattr(node.target, "__name__", repr(node.target))
                raise WorkloadError(f"{net_name}: fx node {node.name!r} ({node.op} {what}): "
                                    f"{exc}") from None
        return self.b.build(net_name)


def network_from_torch(module: nn.Module, input_shape: tuple[int, int, int, int],
                       name: str) -> Network:
    """Trace `module` with torch.fx and map it to the IR (see module docstring).

    `input_shape` is (n, c, h, w); one forward pass on zeros (eval mode, no grad) checks
    every inferred shape. Unsupported ops raise WorkloadError naming the fx node.
    """
    if len(input_shape) != 4 or not all(isinstance(v, int) and v >= 1 for v in input_shape):
        raise WorkloadError(f"{name}: input_shape: expected (n, c, h, w) positive integers, "
                            f"got {input_shape!r}")
    try:
        graph = _Tracer().trace(module)
    except Exception as exc:  # fx raises TraceError, TypeError, ... on dynamic code
        raise WorkloadError(f"{name}: torch.fx cannot trace the module: {exc}") from None
    gm = torch.fx.GraphModule(module, graph)
    modes = {m: m.training for m in module.modules()}
    try:
        module.eval()
        with torch.no_grad():
            ShapeProp(gm).propagate(torch.zeros(input_shape))
    except Exception as exc:  # a forward error: wrong input shape for the module, ...
        raise WorkloadError(f"{name}: forward pass on {tuple(input_shape)} failed: "
                            f"{exc}") from None
    finally:
        for m, training in modes.items():
            m.training = training
    return _FxConverter(gm, Shape(*input_shape)).run(name)
