"""Networks into and out of the IR as YAML files / plain dicts (torch modules: workload_torch).

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
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import yaml

from dna.workload.ir import (INPUT, Act, Add, Conv, GlobalAvgPool, Network, Node, Pool, Shape,
                             Shuffle, WorkloadError)

# ----------------------------------------------------------------------------- YAML / dict


def _pos_int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise WorkloadError(f"expected a positive integer, got {v!r}")
    return v


def _nonneg_int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise WorkloadError(f"expected a non-negative integer, got {v!r}")
    return v


def _kernel(v: Any) -> tuple[int, int]:
    if isinstance(v, int) and not isinstance(v, bool) and v >= 1:
        return v, v
    if (isinstance(v, list) and len(v) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in v)):
        return v[0], v[1]
    raise WorkloadError(f"expected a positive integer or [rows, cols], got {v!r}")


def _choice(*options: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if v not in options:
            raise WorkloadError(f"expected one of {', '.join(options)}, got {v!r}")
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
        except WorkloadError as exc:
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
    except WorkloadError as exc:
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
