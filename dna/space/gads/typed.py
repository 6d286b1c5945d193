"""GADS, typed form: an accelerator = chunks of hardware + one mapping per conv layer.

Loop levels, outermost first::

    for dram loops (order["dram"], factors["dram"])   # GB tiles moved DRAM <-> GB
      for gb loops (order["gb"], factors["gb"])       # array tiles moved GB <-> PE RFs
        parallel for spatial (chunk.unroll)           # NoC dims, one MAC per PE per cycle
          for rf loops (order["rf"], factors["rf"])   # MACs on RF-resident tiles

Per dimension the product dram*gb*spatial*rf must cover the layer's bound; the excess
is padding, which the cost model charges in cycles and energy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from dna.errors import ProblemsError
from dna.workload.ir import DIMS, Conv, Network

NOCS: dict[str, tuple[str, ...]] = {
    "KYX": ("K", "Y", "X"),  # parallel over output partial sums
    "KCRS": ("K", "C", "R", "S"),  # parallel over kernels (spatial psum reduction)
    "KRX": ("K", "R", "X"),  # hybrid
}
TEMPORAL_LEVELS: tuple[str, ...] = ("dram", "gb", "rf")
TENSORS: tuple[str, ...] = ("inputs", "weights", "outputs")
# Dims each tensor's tile depends on; depthwise inputs also follow K (relevant_dims).
RELEVANT: dict[str, str] = {"inputs": "NCYXRS", "weights": "KCRS", "outputs": "NKYX"}
Style = Literal["pipeline", "multicycle"]


def relevant_dims(tensor: str, inputs_follow_k: bool) -> str:
    """Dims `tensor` (one of TENSORS) changes with; depthwise inputs follow K too."""
    return RELEVANT[tensor] + ("K" if tensor == "inputs" and inputs_follow_k else "")


class SpaceError(ProblemsError):
    """An accelerator or mapping is illegal; `problems` lists every field at fault."""


@dataclass(frozen=True)
class Problem:
    """The loop nest the hardware runs for one conv layer.

    Grouped convs run `repeat` = groups times over a per-group nest (K, C per group);
    depthwise convs run once with K = channels, C = 1 and inputs indexed by K.
    """

    name: str
    bounds: tuple[int, ...]  # N, K, C, Y, X, R, S
    stride: int
    inputs_follow_k: bool  # depthwise: input channel == output channel
    repeat: int  # times the nest runs (groups of a grouped, non-depthwise conv)

    @property
    def macs(self) -> int:
        return self.repeat * math.prod(self.bounds)

    def bound(self, dim: str) -> int:
        return self.bounds[DIMS.index(dim)]


def problem_of(conv: Conv) -> Problem:
    """The hardware loop nest of `conv` (see `Problem`)."""
    b = conv.bounds
    if conv.is_depthwise or conv.groups == 1:
        repeat, k = 1, b["K"]
    else:
        repeat, k = conv.groups, b["K"] // conv.groups
    bounds = (b["N"], k, b["C"], b["Y"], b["X"], b["R"], b["S"])
    return Problem(conv.name, bounds, conv.stride, conv.is_depthwise, repeat)


@dataclass(frozen=True)
class ChunkHW:
    """Hardware of one chunk: a PE array with its NoC and buffers."""

    noc: str  # one of NOCS
    unroll: tuple[int, ...]  # PEs along each NoC dim, same order as NOCS[noc]
    gb_words: tuple[int, int, int]  # global buffer capacity (inputs, weights, outputs), words
    rf_words: tuple[int, int, int]  # per-PE register file capacity (inputs, weights, outputs)

    @property
    def pes(self) -> int:
        return math.prod(self.unroll)

    def spatial(self) -> tuple[int, ...]:
        """PEs along each of the 7 dims (1 for dims outside the NoC)."""
        par = dict(zip(NOCS[self.noc], self.unroll))
        return tuple(par.get(d, 1) for d in DIMS)


@dataclass(frozen=True)
class LayerMapping:
    """How one conv layer runs on its chunk: loop orders and temporal tile factors."""

    layer: str  # conv node name
    chunk: int  # index into Accelerator.chunks
    order: tuple[str, str, str]  # per temporal level (dram, gb, rf): 7 dim letters, outer->inner
    factors: tuple[tuple[int, ...], ...]  # per temporal level: 7 loop bounds in DIMS order

    def factor(self, level: str, dim: str) -> int:
        return self.factors[TEMPORAL_LEVELS.index(level)][DIMS.index(dim)]


@dataclass(frozen=True)
class Accelerator:
    """A point of GADS: global style, chunks of hardware, a mapping per conv layer."""

    style: Style
    chunks: tuple[ChunkHW, ...]
    mappings: tuple[LayerMapping, ...]  # one per conv, in network order

    @property
    def pes(self) -> int:
        return sum(c.pes for c in self.chunks)


def tile_extents(m: LayerMapping, chunk: ChunkHW) -> dict[str, tuple[int, ...]]:
    """Per-dim extents of the tile held at each level: 'gb', 'array' (all PEs), 'rf' (one PE)."""
    sp = chunk.spatial()
    rf = m.factors[2]
    array = tuple(a * b for a, b in zip(sp, rf))
    gb = tuple(a * b for a, b in zip(m.factors[1], array))
    return {"gb": gb, "array": array, "rf": rf}


def window_rows(y, r, stride, minimum=min):
    """Input rows (or columns) that `y` output rows with `r`-row kernel windows touch: one
    band of (y-1)*stride + r rows when the windows overlap or abut, y*r separate rows when
    stride > r leaves gaps between them (docs/cost_model.md). Ints, or torch tensors with
    `minimum=torch.minimum`: the one rule of the cost model and both hardware backends."""
    return minimum(y * r, (y - 1) * stride + r)


def window_band(y, r, stride):
    """Are the rows of `window_rows` one band (windows overlap or abut, or y == 1), rather
    than y separate windows of r rows? Ints or torch tensors."""
    return (y - 1) * stride + r <= y * r


def tile_words(ext: tuple[int, ...], p: Problem) -> tuple[int, int, int]:
    """Words of (inputs, weights, outputs) in a tile with per-dim extents `ext`."""
    n, k, c, y, x, r, s = ext
    h, w = window_rows(y, r, p.stride), window_rows(x, s, p.stride)
    inputs = n * (k if p.inputs_follow_k else c) * h * w
    return inputs, k * c * r * s, n * k * y * x


def check_mapping(m: LayerMapping, p: Problem, chunk: ChunkHW, where: str) -> list[str]:
    """Problems with one layer's mapping on its chunk, each naming its field."""
    problems = []
    for li, level in enumerate(TEMPORAL_LEVELS):
        if sorted(m.order[li]) != sorted(DIMS):
            problems.append(f"{where}.order.{level} = {m.order[li]!r}: expected a permutation "
                            f"of {''.join(DIMS)}")
        if len(m.factors[li]) != 7 or any(f < 1 for f in m.factors[li]):
            problems.append(f"{where}.factors.{level}: expected 7 integers >= 1")
    if problems:
        return problems
    sp = chunk.spatial()
    for di, dim in enumerate(DIMS):
        d, g, r = (m.factors[li][di] for li in range(3))
        inner = g * sp[di] * r
        bound = p.bounds[di]
        if d * inner < bound:
            problems.append(f"{where}.factors.*.{dim}: dram {d} x gb {g} x spatial {sp[di]} "
                            f"x rf {r} = {d * inner} does not cover {dim} = {bound} "
                            f"of layer {p.name}")
        elif d > 1 and (d - 1) * inner >= bound:
            problems.append(f"{where}.factors.dram.{dim} = {d}: the last DRAM step would be "
                            f"all padding; expected ceil({bound}/{inner}) = "
                            f"{-(-bound // inner)} for layer {p.name}")
    ext = tile_extents(m, chunk)
    for level, cap in (("gb", chunk.gb_words), ("rf", chunk.rf_words)):
        need = tile_words(ext[level], p)
        for t, n_words, have in zip(TENSORS, need, cap):
            if n_words > have:
                problems.append(f"{where}: {level} tile of {t} needs {n_words} words but "
                                f"chunk {m.chunk} has {level}_words.{t} = {have}")
    return problems


def check_accelerator(acc: Accelerator, net: Network, *, max_pes: int | None = None,
                      where: str = "accelerator") -> list[str]:
    """Every problem of `acc` for `net`, each naming its field path."""
    problems: list[str] = []
    if acc.style not in ("pipeline", "multicycle"):
        problems.append(f"{where}.style = {acc.style!r}: expected 'pipeline' or 'multicycle'")
    if not acc.chunks:
        problems.append(f"{where}.chunks: expected at least one chunk")
    if acc.style == "multicycle" and len(acc.chunks) != 1:
        problems.append(f"{where}.chunks: a multicycle accelerator has exactly one chunk, "
                        f"got {len(acc.chunks)}")
    for i, ch in enumerate(acc.chunks):
        cw = f"{where}.chunks[{i}]"
        if ch.noc not in NOCS:
            problems.append(f"{cw}.noc = {ch.noc!r}: expected one of {sorted(NOCS)}")
        elif len(ch.unroll) != len(NOCS[ch.noc]) or any(u < 1 for u in ch.unroll):
            problems.append(f"{cw}.unroll: expected {len(NOCS[ch.noc])} integers >= 1 "
                            f"for dims {NOCS[ch.noc]}")
        if any(w < 1 for w in ch.gb_words + ch.rf_words):
            problems.append(f"{cw}: buffer sizes must be >= 1 word")
    if max_pes is not None and acc.pes > max_pes:
        problems.append(f"{where}: {acc.pes} PEs in all exceed the budget of {max_pes} PEs")
    convs = net.convs
    names = [m.layer for m in acc.mappings]
    if names != [c.name for c in convs]:
        problems.append(f"{where}.mappings: expected one mapping per conv layer in order "
                        f"{[c.name for c in convs]}, got {names}")
        return problems
    if problems:
        return problems
    used = set()
    for i, (m, conv) in enumerate(zip(acc.mappings, convs)):
        mw = f"{where}.mappings[{i}]"
        if not 0 <= m.chunk < len(acc.chunks):
            problems.append(f"{mw}.chunk = {m.chunk}: expected 0..{len(acc.chunks) - 1}")
            continue
        used.add(m.chunk)
        problems += check_mapping(m, problem_of(conv), acc.chunks[m.chunk], mw)
    if acc.style == "pipeline":
        problems += _check_chunk_assignment(acc, net, where)
    return problems


def _check_chunk_assignment(acc: Accelerator, net: Network, where: str) -> list[str]:
    """Pipeline rules: chunks hold contiguous layers; depthwise layers sit in their own chunks."""
    problems = []
    chunk_of = [m.chunk for m in acc.mappings]
    if chunk_of != sorted(chunk_of):
        problems.append(f"{where}.mappings[*].chunk = {chunk_of}: pipeline chunks must hold "
                        f"contiguous runs of layers in network order")
    if set(chunk_of) != set(range(len(acc.chunks))):
        problems.append(f"{where}.chunks: every chunk must run at least one layer")
    for i, conv in enumerate(net.convs):
        others = [c for j, c in enumerate(net.convs) if chunk_of[j] == chunk_of[i]]
        if conv.is_depthwise and any(not c.is_depthwise for c in others):
            problems.append(f"{where}.mappings[{i}].chunk = {chunk_of[i]}: depthwise layer "
                            f"{conv.name} must not share a chunk with non-depthwise layers")
    return problems


def required_buffers(acc: Accelerator, net: Network) -> list[tuple[tuple[int, int, int],
                                                                    tuple[int, int, int]]]:
    """(gb_words, rf_words) per chunk: the largest tile of each tensor that chunk runs."""
    need = [([1, 1, 1], [1, 1, 1]) for _ in acc.chunks]
    for m, conv in zip(acc.mappings, net.convs):
        p, ch = problem_of(conv), acc.chunks[m.chunk]
        ext = tile_extents(m, ch)
        for level_i, level in enumerate(("gb", "rf")):
            for t, words in enumerate(tile_words(ext[level], p)):
                need[m.chunk][level_i][t] = max(need[m.chunk][level_i][t], words)
    return [(tuple(g), tuple(r)) for g, r in need]
