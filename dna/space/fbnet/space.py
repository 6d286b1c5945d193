"""The FBNet network space (Wu et al., CVPR 2019; DNA paper Sec. 3.2, Table 2).

Space: a stem (3x3 conv, 16 ch, ReLU), 22 searchable layers in 7 groups of [1, 4, 4, 4, 4,
4, 1] layers with [16, 24, 32, 64, 112, 184, 352] output channels (the first layer of a group
takes the group's stride), and a head (1x1 conv 1984 ch ImageNet / 1504 CIFAR, ReLU, global
average pool, FC as a 1x1 conv). Each searchable layer picks one of 9 ops (`OPS`): the FBNet
blocks k{3,5}_e{1,3,6} and k{3,5}_e1_g2 (dna.space.fbnet.blocks) and `skip`, so the space
holds 9^22 ~ 9.85E+20 networks (paper Table 2).

Variants (`VARIANTS`): ImageNet (224 input, stem stride 2, group strides [1,2,2,2,1,2,1]) and
CIFAR (32 input, stem stride 1, group strides [1,1,2,2,1,2,1]). `SpaceConfig.width` scales
every channel count (rounded to a multiple of 4) and `depth` the layers per group (at least
one), so a small proxy fits 2 CPU cores; the input size and class count follow the dataset.

An architecture (`Arch`) names the op of every layer: {"g1.b0": "k3_e1", "g2.b0": "skip",
...}. `arch_to_network` expands it into the workload IR; the supernet
(dna.space.fbnet.supernet) builds its candidate ops from the very same IR nodes.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from dna.space.fbnet.blocks import block_output, fbnet_block, skip_block
from dna.workload.ir import Conv, Network, Node, Shape, WorkloadError
from dna.workload.zoo import NetBuilder


@dataclass(frozen=True)
class OpSpec:
    """One candidate op: an FBNet block k{kernel}_e{expansion}[_g{groups}], or skip."""

    name: str
    kernel: int  # depthwise kernel size; 0 for skip
    expansion: int  # channel expansion of the first 1x1 conv; 0 for skip
    groups: int  # groups of both 1x1 convs (2: with a channel shuffle); 0 for skip

    @property
    def is_skip(self) -> bool:
        return self.kernel == 0


OPS: dict[str, OpSpec] = {}


def register_op(spec: OpSpec) -> None:
    """Add a candidate op to `OPS`; refuses duplicates."""
    if spec.name in OPS:
        raise WorkloadError(f"op {spec.name!r} is already registered")
    OPS[spec.name] = spec


for _k, _e, _g in ((3, 1, 1), (3, 1, 2), (3, 3, 1), (3, 6, 1), (5, 1, 1), (5, 1, 2),
                   (5, 3, 1), (5, 6, 1)):
    register_op(OpSpec(f"k{_k}_e{_e}" + ("_g2" if _g == 2 else ""), _k, _e, _g))
register_op(OpSpec("skip", 0, 0, 0))
PRIMITIVES: tuple[str, ...] = tuple(OPS)  # the 9 ops of paper Table 2, in this order

GROUP_LAYERS: tuple[int, ...] = (1, 4, 4, 4, 4, 4, 1)  # searchable layers per group
GROUP_CHANNELS: tuple[int, ...] = (16, 24, 32, 64, 112, 184, 352)  # output channels per group
STEM_CHANNELS = 16


@dataclass(frozen=True)
class Variant:
    """Input size, strides and head of one FBNet variant."""

    name: str
    input_size: int  # image rows = cols
    stem_stride: int
    group_strides: tuple[int, ...]  # stride of each group's first layer
    head_channels: int  # 1x1 head conv before pooling
    classes: int


VARIANTS: dict[str, Variant] = {
    "imagenet": Variant("imagenet", 224, 2, (1, 2, 2, 2, 1, 2, 1), 1984, 1000),
    "cifar": Variant("cifar", 32, 1, (1, 1, 2, 2, 1, 2, 1), 1504, 10),
}


@dataclass(frozen=True)
class SpaceConfig:
    """Which FBNet space: variant, proxy scaling, dataset-dependent input and classes."""

    variant: Literal["imagenet", "cifar"] = "cifar"
    width: float = 1.0  # channel multiplier (channels rounded to a multiple of 4, >= 4)
    depth: float = 1.0  # layers-per-group multiplier (rounded, >= 1 per group)
    input_size: int | None = None  # image rows = cols; None: the variant's
    in_channels: int = 3
    classes: int | None = None  # None: the variant's
    ops: tuple[str, ...] = PRIMITIVES  # candidate ops of every layer


@dataclass(frozen=True)
class Slot:
    """One searchable layer: where it sits and the shapes every candidate op maps between."""

    name: str  # "g{group}.b{index in group}", e.g. "g3.b0"
    group: int  # 1..7
    in_shape: Shape  # input activation shape (batch 1)
    out_channels: int
    stride: int


@dataclass(frozen=True)
class Arch:
    """One network of a space: the op of every searchable layer, by layer name."""

    choices: tuple[tuple[str, str], ...]  # (layer name, op name) in network order

    def to_dict(self) -> dict[str, str]:
        return dict(self.choices)

    def op(self, layer: str) -> str:
        return dict(self.choices)[layer]

    @property
    def key(self) -> str:
        """Short stable text form, e.g. "k3_e1/skip/k5_e6/..."."""
        return "/".join(op for _, op in self.choices)


def _round_channels(c: float) -> int:
    return max(4, round(c / 4) * 4)


@dataclass(frozen=True)
class FBNetSpace:
    """A concrete FBNet space: stem, searchable slots, head (build with `fbnet_space`)."""

    config: SpaceConfig
    input_shape: Shape  # batch 1
    stem_channels: int
    stem_stride: int
    slots: tuple[Slot, ...]
    head_channels: int
    classes: int
    ops: tuple[str, ...] = field(repr=False)

    @property
    def size(self) -> int:
        """Number of networks: ops ^ searchable layers."""
        return len(self.ops) ** len(self.slots)

    @property
    def log10_size(self) -> float:
        return len(self.slots) * math.log10(len(self.ops))

    def arch(self, ops: Mapping[str, str]) -> Arch:
        """Validated `Arch` from {layer name: op name}; WorkloadError lists every problem."""
        names = [s.name for s in self.slots]
        problems = [f"unknown layer {k!r}" for k in ops if k not in names]
        problems += [f"layer {n!r}: missing" for n in names if n not in ops]
        problems += [f"layer {n!r}: op {ops[n]!r} is not one of {', '.join(self.ops)}"
                     for n in names if n in ops and ops[n] not in self.ops]
        if problems:
            raise WorkloadError("architecture: " + "; ".join(problems))
        return Arch(tuple((n, ops[n]) for n in names))

    def arch_from_indices(self, idx: Sequence[int]) -> Arch:
        """The architecture picking op `self.ops[idx[l]]` at layer l."""
        return Arch(tuple((s.name, self.ops[int(i)]) for s, i in zip(self.slots, idx)))

    def indices(self, arch: Arch) -> list[int]:
        return [self.ops.index(op) for _, op in arch.choices]


def fbnet_space(config: SpaceConfig = SpaceConfig()) -> FBNetSpace:
    """Lay out the space: channels, strides and shapes of every searchable layer."""
    if config.variant not in VARIANTS:
        raise WorkloadError(f"variant {config.variant!r}: expected one of {sorted(VARIANTS)}")
    bad = [o for o in config.ops if o not in OPS]
    if bad or not config.ops:
        raise WorkloadError(f"ops {bad or '[]'}: expected some of {', '.join(OPS)}")
    if not config.width > 0 or not config.depth > 0:
        raise WorkloadError(f"width = {config.width}, depth = {config.depth}: must be > 0")
    v = VARIANTS[config.variant]
    size = config.input_size or v.input_size
    shape = Shape(1, config.in_channels, size, size)
    stem_c = _round_channels(STEM_CHANNELS * config.width)
    h = (size + 2 - 3) // v.stem_stride + 1
    cur = Shape(1, stem_c, h, h)
    slots = []
    for g, (n, c, s) in enumerate(zip(GROUP_LAYERS, GROUP_CHANNELS, v.group_strides), 1):
        out_c = _round_channels(c * config.width)
        for b in range(max(1, round(n * config.depth))):
            stride = s if b == 0 else 1
            slots.append(Slot(f"g{g}.b{b}", g, cur, out_c, stride))
            h = (cur.h + 2 * 1 - 3) // stride + 1  # every candidate keeps k//2 padding
            cur = Shape(1, out_c, h, h)
    if cur.h < 1:
        raise WorkloadError(f"input size {size} is too small for the variant's strides")
    return FBNetSpace(config, shape, stem_c, v.stem_stride, tuple(slots),
                      _round_channels(v.head_channels * config.width),
                      config.classes or v.classes, tuple(config.ops))


# ---------------------------------------------------------------- IR

def block_nodes(slot: Slot, op: str, input_name: str, in_shape: Shape) -> list[Node]:
    """IR nodes of candidate `op` at `slot`, reading `input_name` of shape `in_shape`."""
    spec = OPS[op]
    if spec.is_skip:
        return skip_block(slot.name, input_name, in_shape, out_channels=slot.out_channels,
                          stride=slot.stride)
    return fbnet_block(slot.name, input_name, in_shape, k=spec.kernel, e=spec.expansion,
                       g=spec.groups, out_channels=slot.out_channels, stride=slot.stride)


def stem_nodes(space: FBNetSpace, batch: int = 1) -> list[Node]:
    s = space.input_shape
    b = NetBuilder(Shape(batch, s.c, s.h, s.w))
    b.conv("stem.conv", space.stem_channels, 3, stride=space.stem_stride, padding=1)
    b.act("stem.relu")
    return b.nodes


def head_nodes(space: FBNetSpace, input_name: str, in_shape: Shape) -> list[Node]:
    b = NetBuilder(in_shape, input_name=input_name)
    b.conv("head.conv", space.head_channels, 1)
    b.act("head.relu")
    b.gap("head.pool")
    b.conv("fc", space.classes, 1)
    return b.nodes


def _batched(shape: Shape, batch: int) -> Shape:
    return Shape(batch, shape.c, shape.h, shape.w)


def arch_to_network(arch: Arch, space: FBNetSpace | str = "cifar", *, batch: int = 1,
                    name: str = "fbnet") -> Network:
    """The IR of `arch` (a string space means the full-size space of that variant)."""
    if isinstance(space, str):
        space = fbnet_space(SpaceConfig(variant=space))
    space.arch(arch.to_dict())  # validates
    nodes = stem_nodes(space, batch)
    last = nodes[-1].name
    for slot in space.slots:
        in_shape = _batched(slot.in_shape, batch)
        new = block_nodes(slot, arch.op(slot.name), last, in_shape)
        nodes += new
        last = block_output(new, last)
    shape = nodes[-1].out_shape
    nodes += head_nodes(space, last, shape)
    s = space.input_shape
    return Network(f"{name}-{space.config.variant}", Shape(batch, s.c, s.h, s.w), tuple(nodes))


def candidate_convs(space: FBNetSpace) -> list[tuple[int, int, Conv]]:
    """(layer index, op index, conv) of every conv of every candidate op (batch 1)."""
    out = []
    for li, slot in enumerate(space.slots):
        for ki, op in enumerate(space.ops):
            out += [(li, ki, n) for n in block_nodes(slot, op, "x", slot.in_shape)
                    if isinstance(n, Conv)]
    return out
