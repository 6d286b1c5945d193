"""Networks from torch modules.

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
from typing import Any, Callable, Literal

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp

from dna.workload.forms import IRValue as _Val
from dna.workload.forms import unique_name, view_as
from dna.workload.ir import INPUT, Network, Shape, WorkloadError
from dna.workload.zoo import NetBuilder


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
        return unique_name(str(node.target) if node.op == "call_module" else node.name,
                           self.used)

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
        viewed = view_as(v, out, lambda s: self.b.shuffle(self.name(node), s.groups,
                                                           src=s.name))
        if viewed is None:
            raise _Unsupported(f"view of a {v.form} tensor {v.torch_shape()} as {out}")
        return viewed

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
