"""The FBNet network space (Wu et al., CVPR 2019; DNA paper Sec. 3.2, Table 2) and its supernet.

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
...}. `arch_to_network` expands it into the workload IR; the supernet's candidate ops are
torch modules built from the very same IR nodes (`IRGraph`), so a single path through the
supernet computes exactly the network `arch_to_network` describes.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dna.quant.contract import channel_shuffle
from dna.space.fbnet.blocks import block_output, fbnet_block, skip_block
from dna.workload.ir import (
    INPUT,
    Act,
    Add,
    Conv,
    GlobalAvgPool,
    Network,
    Node,
    Pool,
    Shape,
    Shuffle,
    WorkloadError,
)
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


# ---------------------------------------------------------------- torch modules

class IRGraph(nn.Module):
    """Executes a list of IR nodes as a float torch module.

    Every conv is Conv2d (no bias) + BatchNorm2d, except those in `head_convs` (the FC
    classifier), which have a bias and no BN. `folded_weights` folds BN for quantisation.
    """

    def __init__(self, nodes: Sequence[Node], input_name: str = INPUT, *,
                 head_convs: Sequence[str] = ()) -> None:
        super().__init__()
        self.nodes = tuple(nodes)
        self.input_name = input_name
        self.output_name = nodes[-1].name if nodes else input_name
        self.layers = nn.ModuleList()
        self._conv_at: list[int] = []  # per node: index into self.layers, or -1
        for n in self.nodes:
            if isinstance(n, Conv):
                conv = nn.Conv2d(n.in_shape.c, n.k, (n.r, n.s), n.stride, n.padding,
                                 groups=n.groups, bias=n.name in head_convs)
                mod = conv if n.name in head_convs else nn.Sequential(conv, nn.BatchNorm2d(n.k))
                self._conv_at.append(len(self.layers))
                self.layers.append(mod)
            else:
                self._conv_at.append(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) -> output node
        vals = {self.input_name: x}
        for n, at in zip(self.nodes, self._conv_at):
            a = vals[n.inputs[0]]
            if at >= 0:
                y = self.layers[at](a)
            elif isinstance(n, Act):
                y = F.relu6(a) if n.fn == "relu6" else F.relu(a)
            elif isinstance(n, Add):
                y = a + vals[n.inputs[1]]
            elif isinstance(n, Shuffle):
                y = channel_shuffle(a, n.groups)
            elif isinstance(n, GlobalAvgPool):
                y = a.mean(dim=(2, 3), keepdim=True)
            elif isinstance(n, Pool) and n.fn == "max":
                y = F.max_pool2d(a, n.size, n.stride, n.padding)
            elif isinstance(n, Pool):
                y = F.avg_pool2d(a, n.size, n.stride, n.padding, count_include_pad=True)
            else:
                raise WorkloadError(f"node {n.name!r}: cannot execute {type(n).__name__}")
            vals[n.name] = y
        return vals[self.output_name]

    def convs(self) -> dict[str, nn.Module]:
        """Conv node name -> its Conv2d or Sequential(Conv2d, BatchNorm2d)."""
        return {n.name: self.layers[at] for n, at in zip(self.nodes, self._conv_at) if at >= 0}

    def folded_weights(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """{conv name: (w (K,C,R,S), b (K,))} float64 with BN folded (running statistics)."""
        out = {}
        for name, mod in self.convs().items():
            if isinstance(mod, nn.Conv2d):
                w, b = mod.weight.double(), mod.bias.double()
            else:
                conv, bn = mod
                scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
                w = conv.weight.double() * scale.view(-1, 1, 1, 1)
                b = bn.bias.double() - bn.running_mean.double() * scale
            out[name] = (w.detach().cpu().numpy(), b.detach().cpu().numpy())
        return out


def network_module(net: Network) -> IRGraph:
    """A trainable float module of any IR network; its output conv is the FC (bias, no BN)."""
    head = (net.output.name,) if isinstance(net.output, Conv) else ()
    return IRGraph(net.nodes, head_convs=head)


class Supernet(nn.Module):
    """FBNet supernet: layer l outputs sum_k w[l, k] * O_lk(x), candidates as `IRGraph`s.

    `forward(x, weights)` takes (L, K) op weights: Gumbel-softmax samples of alpha while
    searching, one-hot rows for a single path. With `skip_zero=True` ops whose weight is
    exactly zero are not computed, so a one-hot row runs just that op (off while training
    under DDP, which expects every parameter to take part).
    """

    def __init__(self, space: FBNetSpace) -> None:
        super().__init__()
        self.space = space
        stem = stem_nodes(space)
        self.stem = IRGraph(stem)
        self.candidates = nn.ModuleList()
        for slot in space.slots:
            self.candidates.append(nn.ModuleList(
                IRGraph(block_nodes(slot, op, "x", slot.in_shape), "x") for op in space.ops))
        last = space.slots[-1]
        h = (last.in_shape.h - 1) // last.stride + 1
        head = head_nodes(space, "x", Shape(1, last.out_channels, h, h))
        self.head = IRGraph(head, "x", head_convs=("fc",))

    def forward(self, x: torch.Tensor, weights: torch.Tensor, *, skip_zero: bool = False
                ) -> torch.Tensor:
        """(N, C, H, W), (L, K) -> logits (N, classes)."""
        x = self.stem(x)
        nonzero = (weights != 0).tolist()
        for ops, w, nz in zip(self.candidates, weights, nonzero):
            active = [k for k in range(len(ops)) if nz[k] or not skip_zero]
            x = sum(w[k] * ops[k](x) for k in active)
        return self.head(x).flatten(1)

def one_hot(space: FBNetSpace, arch: Arch) -> torch.Tensor:
    """(L, K) one-hot op weights selecting `arch`."""
    w = torch.zeros(len(space.slots), len(space.ops))
    w[torch.arange(len(space.slots)), torch.tensor(space.indices(arch))] = 1.0
    return w


# ---------------------------------------------------------------- Gumbel-softmax

def temperature(epoch: int, tau0: float = 5.0, decay: float = 0.956) -> float:
    """Gumbel-softmax temperature of `epoch` (0-based): tau0 * decay^epoch (FBNet)."""
    return tau0 * decay ** epoch


def gumbel_softmax(alpha: torch.Tensor, tau: float, gen: torch.Generator) -> torch.Tensor:
    """Soft Gumbel-softmax sample softmax((alpha + g) / tau) per row, g ~ Gumbel(0, 1) drawn
    from `gen` (so every DDP rank draws the same sample)."""
    u = torch.rand(alpha.shape, generator=gen, dtype=alpha.dtype).clamp(1e-10, 1 - 1e-10)
    g = -torch.log(-torch.log(u))
    return torch.softmax((alpha + g.to(alpha.device)) / tau, dim=-1)


def sample_archs(space: FBNetSpace, alpha: torch.Tensor, m: int, gen: torch.Generator
                 ) -> list[Arch]:
    """`m` architectures drawn from P(alpha) = softmax(alpha) per layer."""
    probs = torch.softmax(alpha.detach().double().cpu(), dim=-1)  # (L, K)
    idx = torch.multinomial(probs, m, replacement=True, generator=gen)  # (L, m)
    return [space.arch_from_indices(idx[:, j].tolist()) for j in range(m)]


def argmax_arch(space: FBNetSpace, alpha: torch.Tensor) -> Arch:
    return space.arch_from_indices(alpha.detach().argmax(-1).tolist())
