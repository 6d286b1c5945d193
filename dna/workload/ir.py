"""Workload IR: a network is a DAG of frozen layer nodes in topological order.

A conv layer is the 7-deep loop nest N, K, C, Y, X, R, S (C = input channels per group)
with stride, padding and groups. Pointwise, depthwise, grouped convs and the FC head
(a 1x1 conv on a 1x1 map) are all `Conv`. The other node kinds are `Act`, `Add`,
`Shuffle`, `Pool` (max/avg window) and `GlobalAvgPool`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

from dna.errors import DnaError

DIMS: tuple[str, ...] = ("N", "K", "C", "Y", "X", "R", "S")
INPUT = "input"  # name of the network input, usable in `inputs`


class WorkloadError(DnaError):
    """A network description is malformed; the message names the node and field."""


@dataclass(frozen=True)
class Shape:
    """Activation tensor shape of one image batch: (n, c, h, w)."""

    n: int  # batch
    c: int  # channels
    h: int  # rows
    w: int  # columns

    @property
    def elements(self) -> int:
        return self.n * self.c * self.h * self.w


@dataclass(frozen=True)
class Conv:
    """Convolution (also pointwise, depthwise, grouped and FC-as-1x1)."""

    name: str
    inputs: tuple[str, ...]  # exactly one producer
    in_shape: Shape  # input activation shape
    k: int  # output channels (all groups)
    r: int  # kernel rows
    s: int  # kernel cols
    stride: int = 1
    padding: int = 0
    groups: int = 1
    kind: Literal["conv"] = field(default="conv", repr=False)

    @property
    def c(self) -> int:
        """Input channels per group (the C loop bound)."""
        return self.in_shape.c // self.groups

    @property
    def y(self) -> int:
        return (self.in_shape.h + 2 * self.padding - self.r) // self.stride + 1

    @property
    def x(self) -> int:
        return (self.in_shape.w + 2 * self.padding - self.s) // self.stride + 1

    @property
    def out_shape(self) -> Shape:
        return Shape(self.in_shape.n, self.k, self.y, self.x)

    @property
    def is_depthwise(self) -> bool:
        return self.groups > 1 and self.groups == self.in_shape.c == self.k

    @property
    def bounds(self) -> dict[str, int]:
        """Loop bounds of the 7-deep nest (K counts all groups, C is per group)."""
        return {"N": self.in_shape.n, "K": self.k, "C": self.c, "Y": self.y,
                "X": self.x, "R": self.r, "S": self.s}

    @property
    def macs(self) -> int:
        b = self.bounds
        return b["N"] * b["K"] * b["C"] * b["Y"] * b["X"] * b["R"] * b["S"]

    @property
    def weight_count(self) -> int:
        return self.k * self.c * self.r * self.s


@dataclass(frozen=True)
class Act:
    """Elementwise activation, realised in hardware as a clamp."""

    name: str
    inputs: tuple[str, ...]
    in_shape: Shape
    fn: Literal["relu", "relu6"] = "relu"
    kind: Literal["act"] = field(default="act", repr=False)

    @property
    def out_shape(self) -> Shape:
        return self.in_shape


@dataclass(frozen=True)
class Add:
    """Residual add of two tensors of the same shape."""

    name: str
    inputs: tuple[str, ...]  # exactly two producers
    in_shape: Shape
    kind: Literal["add"] = field(default="add", repr=False)

    @property
    def out_shape(self) -> Shape:
        return self.in_shape


@dataclass(frozen=True)
class Shuffle:
    """Channel shuffle (ShuffleNet): view (g, c/g) -> transpose -> flatten."""

    name: str
    inputs: tuple[str, ...]
    in_shape: Shape
    groups: int = 2
    kind: Literal["shuffle"] = field(default="shuffle", repr=False)

    @property
    def out_shape(self) -> Shape:
        return self.in_shape


@dataclass(frozen=True)
class Pool:
    """Windowed max or average pooling."""

    name: str
    inputs: tuple[str, ...]
    in_shape: Shape
    fn: Literal["max", "avg"] = "max"
    size: int = 2  # window rows = cols
    stride: int = 2
    padding: int = 0
    kind: Literal["pool"] = field(default="pool", repr=False)

    @property
    def out_shape(self) -> Shape:
        h = (self.in_shape.h + 2 * self.padding - self.size) // self.stride + 1
        w = (self.in_shape.w + 2 * self.padding - self.size) // self.stride + 1
        return Shape(self.in_shape.n, self.in_shape.c, h, w)


@dataclass(frozen=True)
class GlobalAvgPool:
    """Average over the whole spatial map, giving (n, c, 1, 1)."""

    name: str
    inputs: tuple[str, ...]
    in_shape: Shape
    kind: Literal["gap"] = field(default="gap", repr=False)

    @property
    def out_shape(self) -> Shape:
        return Shape(self.in_shape.n, self.in_shape.c, 1, 1)


Node = Union[Conv, Act, Add, Shuffle, Pool, GlobalAvgPool]
NODE_KINDS: dict[str, type] = {"conv": Conv, "act": Act, "add": Add, "shuffle": Shuffle,
                               "pool": Pool, "gap": GlobalAvgPool}


@dataclass(frozen=True)
class Network:
    """A DAG of nodes in topological order; the last node is the output."""

    name: str
    input_shape: Shape
    nodes: tuple[Node, ...]

    def __post_init__(self) -> None:
        problems = check_network(self)
        if problems:
            raise WorkloadError(f"network {self.name!r}: " + "; ".join(problems))

    @property
    def convs(self) -> tuple[Conv, ...]:
        """Conv layers in topological order: what the accelerator computes."""
        return tuple(n for n in self.nodes if isinstance(n, Conv))

    @property
    def macs(self) -> int:
        return sum(c.macs for c in self.convs)

    @property
    def params(self) -> int:
        """Weights plus one bias per output channel of every conv."""
        return sum(c.weight_count + c.k for c in self.convs)

    @property
    def output(self) -> Node:
        return self.nodes[-1]

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def shape_of(self, name: str) -> Shape:
        """Output shape of node `name` (or the network input)."""
        return self.input_shape if name == INPUT else self.node(name).out_shape


def check_network(net: Network) -> list[str]:
    """Every structural problem of `net`: names, edges, arity and shape agreement."""
    problems: list[str] = []
    seen: dict[str, Shape] = {INPUT: net.input_shape}
    if not net.nodes:
        problems.append("has no nodes")
    for i, n in enumerate(net.nodes):
        where = f"nodes[{i}] ({n.name})"
        if n.name in seen:
            problems.append(f"{where}: duplicate name")
        arity = 2 if isinstance(n, Add) else 1
        if len(n.inputs) != arity:
            problems.append(f"{where}: expects {arity} input(s), got {len(n.inputs)}")
        for src in n.inputs:
            if src not in seen:
                problems.append(f"{where}: input {src!r} is not an earlier node")
            elif seen[src] != n.in_shape:
                problems.append(f"{where}: in_shape {n.in_shape} != shape {seen[src]} of {src!r}")
        if isinstance(n, Conv):
            if n.groups < 1 or n.in_shape.c % n.groups or n.k % n.groups:
                problems.append(f"{where}: groups={n.groups} must divide in channels "
                                f"{n.in_shape.c} and out channels {n.k}")
            if min(n.k, n.r, n.s, n.stride) < 1 or n.padding < 0:
                problems.append(f"{where}: k, r, s, stride must be >= 1 and padding >= 0")
            elif n.y < 1 or n.x < 1:
                problems.append(f"{where}: kernel {n.r}x{n.s} does not fit input "
                                f"{n.in_shape.h}x{n.in_shape.w} with padding {n.padding}")
        if isinstance(n, Shuffle) and (n.groups < 1 or n.in_shape.c % n.groups):
            problems.append(f"{where}: shuffle groups {n.groups} must divide {n.in_shape.c}")
        if isinstance(n, Pool) and (min(n.size, n.stride) < 1 or n.padding < 0):
            problems.append(f"{where}: pool size, stride must be >= 1 and padding >= 0")
        # out_shape divides by the stride: fall back to in_shape once a stride < 1 is reported
        bad_stride = isinstance(n, (Conv, Pool)) and n.stride < 1
        seen[n.name] = n.in_shape if bad_stride else n.out_shape
    return problems
