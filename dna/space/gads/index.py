"""GADS, index form: one categorical choice per parameter (paper Table 1), for DAS.

Parameters, for a network of L conv layers and up to H = L chunks:
  style                      multicycle | pipeline
  layer[i].new_chunk (i>=1)  0 | 1: pipeline only; forced to 1 where a depthwise run begins
                             or ends (depthwise layers get their own chunks)
  chunk[h].noc               KYX | KCRS | KRX
  chunk[h].unroll[j]         PEs along the j-th NoC dim: powers of two up to max PEs
                             (`unroll="pow2"`), or those and every divisor of a loop bound
                             the j-th NoC dim takes in some layer (`unroll="divisors"`,
                             e.g. 14 for Y = 224, which lets K x Y = 64 x 14 fill 896 PEs)
  layer[i].order.<lv>[j]     j-th loop (outer -> inner) at level lv: an index into the
                             dims not yet picked (7 - j choices): n picks without replacement
  layer[i].<lv>.<D>          tile factor of dim D at level lv (gb, rf): powers of two up to
                             the layer's bound, and the bound itself
Decoding clips factors to each layer (dna.space.gads.io.expand_mapping) and sizes buffers for the
largest tile, so every index vector decodes to a well-formed accelerator; budgets (DSP,
BRAM, area) are checked by the cost model, not here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from dna.space.gads.io import expand_mapping
from dna.space.gads.typed import (
    NOCS,
    TEMPORAL_LEVELS,
    Accelerator,
    ChunkHW,
    LayerMapping,
    problem_of,
    required_buffers,
)
from dna.workload.ir import DIMS, Network

STYLES = ("multicycle", "pipeline")
NOC_NAMES = tuple(sorted(NOCS))
TILE_LEVELS = ("gb", "rf")


@dataclass(frozen=True)
class Param:
    """One categorical parameter of the index form."""

    name: str  # field path, e.g. "layer[3].order.gb[2]"
    choices: tuple  # the values an index selects
    group: str  # "global", "chunk", "mapping" (for the space-size table)


def pow2_upto(n: int) -> tuple[int, ...]:
    """1, 2, 4, ... <= n, then n itself if it is not a power of two."""
    out = tuple(2 ** i for i in range(int(math.log2(n)) + 1)) if n >= 1 else (1,)
    return out if out[-1] == n else out + (n,)


@dataclass(frozen=True)
class IndexSpace:
    """The index form of GADS for one network and PE budget."""

    network: Network
    max_pes: int
    params: tuple[Param, ...]

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(len(p.choices) for p in self.params)

    def log10_size(self, group: str | None = None) -> float:
        """log10 of the number of index vectors (of one `group`, or all)."""
        return sum(math.log10(len(p.choices)) for p in self.params
                   if group is None or p.group == group)

    def index(self, name: str) -> int:
        return [p.name for p in self.params].index(name)

    def decode(self, idx: list[int] | tuple[int, ...]) -> Accelerator:
        """The accelerator an index vector selects."""
        v = {p.name: p.choices[i] for p, i in zip(self.params, idx)}
        convs = self.network.convs
        style = v["style"]
        chunk_of = [0]
        for i in range(1, len(convs)):
            new = style == "pipeline" and (v[f"layer[{i}].new_chunk"]
                                           or convs[i].is_depthwise != convs[i - 1].is_depthwise)
            chunk_of.append(chunk_of[-1] + int(bool(new)))
        chunks = tuple(
            ChunkHW(v[f"chunk[{h}].noc"],
                    tuple(v[f"chunk[{h}].unroll[{j}]"]
                          for j in range(len(NOCS[v[f"chunk[{h}].noc"]]))),
                    (1, 1, 1), (1, 1, 1))
            for h in range(chunk_of[-1] + 1))
        maps = []
        for i, conv in enumerate(convs):
            order = tuple(_pick_order([v[f"layer[{i}].order.{lv}[{j}]"] for j in range(7)])
                          for lv in TEMPORAL_LEVELS)
            tiles = {lv: {d: v[f"layer[{i}].{lv}.{d}"] for d in DIMS} for lv in TILE_LEVELS}
            ch = chunks[chunk_of[i]]
            maps.append(LayerMapping(conv.name, chunk_of[i], order,
                                     expand_mapping(problem_of(conv), ch, order,
                                                    tiles["gb"], tiles["rf"])))
        acc = Accelerator(style, chunks, tuple(maps))
        sized = tuple(ChunkHW(c.noc, c.unroll, g, r)
                      for c, (g, r) in zip(chunks, required_buffers(acc, self.network)))
        return Accelerator(style, sized, acc.mappings)


def _pick_order(picks: list[int]) -> str:
    """Sequential picks without replacement -> a permutation string of DIMS."""
    left = list(DIMS)
    return "".join(left.pop(p) for p in picks)


def unroll_choices(net: Network, max_pes: int, position: int) -> tuple[int, ...]:
    """PEs along NoC position `position`: powers of two and divisors of the loop bounds
    that position unrolls (over every NoC and layer), all <= `max_pes`."""
    dims = {NOCS[n][position] for n in NOC_NAMES if position < len(NOCS[n])}
    bounds = {problem_of(c).bound(d) for c in net.convs for d in dims}
    top = min(max_pes, max(bounds))
    out = {2 ** i for i in range(int(math.log2(top)) + 1)}
    for b in bounds:
        out |= {v for v in range(1, min(b, max_pes) + 1) if b % v == 0}
    return tuple(sorted(out))


def restrict(space: IndexSpace, choices: dict[str, tuple]) -> IndexSpace:
    """`space` with the named parameters limited to `choices` (values, not indices);
    a one-value tuple fixes a parameter. Decoding stays correct: it reads the values."""
    names = {p.name for p in space.params}
    unknown = sorted(set(choices) - names)
    if unknown:
        raise KeyError(f"no parameters {unknown} in this space")
    params = tuple(replace(p, choices=tuple(choices[p.name])) if p.name in choices else p
                   for p in space.params)
    if any(not p.choices for p in params):
        raise ValueError("every parameter needs at least one choice")
    return replace(space, params=params)


def index_space(net: Network, *, max_pes: int, styles: tuple[str, ...] = STYLES,
                unroll: Literal["pow2", "divisors"] = "pow2") -> IndexSpace:
    """The index form of GADS for `net` under a budget of `max_pes` PEs."""
    convs = net.convs
    params = [Param("style", styles, "global")]
    if "pipeline" in styles:
        params += [Param(f"layer[{i}].new_chunk", (0, 1), "global")
                   for i in range(1, len(convs))]
    n_chunks = len(convs) if "pipeline" in styles else 1
    per_pos = [pow2_upto(max_pes) if unroll == "pow2" else unroll_choices(net, max_pes, j)
               for j in range(4)]
    for h in range(n_chunks):
        params.append(Param(f"chunk[{h}].noc", NOC_NAMES, "chunk"))
        params += [Param(f"chunk[{h}].unroll[{j}]", per_pos[j], "chunk") for j in range(4)]
    for i, conv in enumerate(convs):
        p = problem_of(conv)
        for lv in TEMPORAL_LEVELS:
            params += [Param(f"layer[{i}].order.{lv}[{j}]", tuple(range(7 - j)), "mapping")
                       for j in range(7)]
        for lv in TILE_LEVELS:
            params += [Param(f"layer[{i}].{lv}.{d}", pow2_upto(p.bound(d)), "mapping")
                       for d in DIMS]
    return IndexSpace(net, max_pes, tuple(params))


def space_size_table(space: IndexSpace) -> str:
    """Joint-space size by part, as paper Table 2 reports it (powers of ten)."""
    rows = [("accelerator hardware (style, chunks, NoC, PE unroll)",
             space.log10_size("global") + space.log10_size("chunk")),
            ("mapping (loop orders, tile sizes per layer)", space.log10_size("mapping")),
            ("joint accelerator space", space.log10_size())]
    width = max(len(r[0]) for r in rows)
    lines = [f"{name:<{width}}  {_sci(lg)}" for name, lg in rows]
    return "\n".join(lines + ["(index vectors: one choice per parameter, unused chunk "
                               "slots included)"])


def _sci(log10: float) -> str:
    """10**log10 written as 9.85E+20."""
    exp = math.floor(log10)
    return f"{10 ** (log10 - exp):.2f}E+{exp:02d}"
