"""One conv layer's loop nest as the RTL engine sees it: positions, tile extents, buffer
layouts and the affine-odometer arithmetic shared by every address generator.

The nest has NP = 15 positions, outer -> inner: the group loop (bound = groups of a grouped
conv, else 1), the 7 dram loops and the 7 gb loops in the mapping's orders; the rf loops run
inside (docs/cost_model.md section 1). A unit that only walks the tiles of one tensor uses
the positions down to that tensor's innermost live relevant loop (`last_pos`), with every
other position acting as bound 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from dna.space.gads.typed import (
    RELEVANT,
    TENSORS,
    ChunkHW,
    LayerMapping,
    Problem,
    relevant_dims,
)
from dna.workload.ir import DIMS, Conv

NP = 15  # nest positions: 0 = group loop, 1..7 = dram loops, 8..14 = gb loops (outer->inner)
# Dims each tensor's tile depends on, by short name ("G", the group loop, matters to all).
REL = {t[0]: frozenset(RELEVANT[t]) for t in TENSORS}
_TENSOR = {t[0]: t for t in TENSORS}


def relevant(t: str, dim: str, depthwise: bool) -> bool:
    """Does tensor t ('i', 'w', 'o') change with `dim`? Depthwise inputs follow K."""
    return dim == "G" or dim in relevant_dims(_TENSOR[t], depthwise)


def eff_incs(bounds: list[int], strides: list[list[int]]) -> list[list[int]]:
    """Odometer increments: when position i advances (all inner ones wrap to 0) every value
    changes by stride_i - sum_{j>i} stride_j * (bound_j - 1)."""
    out = []
    for i in range(len(bounds)):
        row = []
        for o in range(len(strides[i])):
            wrap = sum(strides[j][o] * (bounds[j] - 1) for j in range(i + 1, len(bounds)))
            row.append(strides[i][o] - wrap)
        out.append(row)
    return out


def mask(bits: list[bool]) -> int:
    """Bit i of the result is bits[i]."""
    return sum(1 << i for i, b in enumerate(bits) if b)


def window(y: int, r: int, stride: int) -> tuple[int, bool]:
    """(rows touched by y windows of r rows, band?) - band: overlapping or abutting windows
    stored as one contiguous band (row = y*stride + r), else y*r separate rows (y*r + r)."""
    band = (y - 1) * stride + r <= y * r
    return (min(y * r, (y - 1) * stride + r), band)


@dataclass(frozen=True)
class Nest:
    """The loop nest of one conv layer on its chunk, with every tile extent."""

    conv: Conv
    prob: Problem
    dims: tuple[str, ...]  # dim at each of the NP positions ("G" at 0)
    bounds: tuple[int, ...]  # loop bound at each position
    rf_order: str  # rf loops, outer -> inner
    f_rf: dict[str, int]
    f_gb: dict[str, int]
    f_dram: dict[str, int]
    spatial: dict[str, int]  # PEs per dim
    noc_dims: tuple[str, ...]  # the chunk's NoC dims, in unroll order

    @property
    def depthwise(self) -> bool:
        """Inputs indexed by K (depthwise conv)."""
        return self.prob.inputs_follow_k

    @property
    def stride(self) -> int:
        """Conv stride."""
        return self.prob.stride

    def ext(self, level: str, d: str) -> int:
        """Tile extent of dim d at level 'rf', 'arr' (all PEs) or 'gb'."""
        e = self.f_rf[d]
        if level in ("arr", "gb"):
            e *= self.spatial[d]
        if level == "gb":
            e *= self.f_gb[d]
        return e

    def last_pos(self, t: str, upto: int = NP) -> int:
        """Innermost position < upto whose loop has bound > 1 and is relevant to t (-1: none)."""
        live = [i for i in range(upto) if self.bounds[i] > 1
                and relevant(t, self.dims[i], self.depthwise)]
        return max(live, default=-1)

    def level_of(self, pos: int) -> str:
        """Level of nest position `pos`: group loop, DRAM level or GB level."""
        return "g" if pos == 0 else ("dram" if pos <= 7 else "gb")


def make_nest(conv: Conv, prob: Problem, m: LayerMapping, chunk: ChunkHW) -> Nest:
    """The `Nest` of `conv` under mapping `m` on `chunk`."""
    f = [dict(zip(DIMS, lv)) for lv in m.factors]
    dims = ("G",) + tuple(m.order[0]) + tuple(m.order[1])
    bounds = (prob.repeat,) + tuple(f[0][d] for d in m.order[0]) + tuple(f[1][d]
                                                                        for d in m.order[1])
    from dna.space.gads.typed import NOCS
    return Nest(conv, prob, dims, bounds, m.order[2], f[2], f[1], f[0],
                dict(zip(DIMS, chunk.spatial())), NOCS[chunk.noc])


@dataclass(frozen=True)
class InputLayout:
    """Layout of an input tile [n][ch][row][col] with the given extents at one level."""

    n: int
    ch: int
    rows: int
    cols: int
    band_row: bool  # rows stored as one band (row = y*stride + r), else y*R + r
    band_col: bool
    y: int  # extents the tile was built from
    r: int
    x: int
    s: int

    @property
    def words(self) -> int:
        """Words the tile occupies."""
        return self.n * self.ch * self.rows * self.cols

    def row_step(self, stride: int) -> int:
        """Stored rows between consecutive y (same r)."""
        return stride if self.band_row else self.r

    def col_step(self, stride: int) -> int:
        """Stored columns between consecutive x (same s)."""
        return stride if self.band_col else self.s

    def coef(self, d: str, depthwise: bool, stride: int) -> int:
        """Word offset per unit of dim d (local index) in this layout."""
        plane = self.rows * self.cols
        return {"N": self.ch * plane, "C": 0 if depthwise else plane,
                "K": plane if depthwise else 0, "Y": self.row_step(stride) * self.cols,
                "R": self.cols, "X": self.col_step(stride), "S": 1}[d]


def input_layout(nest: Nest, level: str) -> InputLayout:
    """Input tile layout at 'rf' or 'gb' level."""
    e = {d: nest.ext(level, d) for d in DIMS}
    rows, band_r = window(e["Y"], e["R"], nest.stride)
    cols, band_c = window(e["X"], e["S"], nest.stride)
    ch = e["K"] if nest.depthwise else e["C"]
    return InputLayout(e["N"], ch, rows, cols, band_r, band_c, e["Y"], e["R"], e["X"], e["S"])


def weight_coef(nest: Nest, level: str, d: str) -> int:
    """Word offset per unit of dim d in a weight tile [k][c][r][s] at `level`."""
    e = {x: nest.ext(level, x) for x in DIMS}
    return {"K": e["C"] * e["R"] * e["S"], "C": e["R"] * e["S"], "R": e["S"],
            "S": 1}.get(d, 0)


def output_coef(nest: Nest, level: str, d: str) -> int:
    """Word offset per unit of dim d in an output tile [n][k][y][x] at `level`."""
    e = {x: nest.ext(level, x) for x in DIMS}
    return {"N": e["K"] * e["Y"] * e["X"], "K": e["Y"] * e["X"], "Y": e["X"],
            "X": 1}.get(d, 0)


def coef(nest: Nest, t: str, level: str, d: str) -> int:
    """Word offset per unit of dim d in tensor t's tile at `level` ('rf' or 'gb')."""
    if t == "i":
        return input_layout(nest, level).coef(d, nest.depthwise, nest.stride)
    return weight_coef(nest, level, d) if t == "w" else output_coef(nest, level, d)


def fill_walker(nest: Nest, t: str) -> tuple[list[int], list[int]]:
    """Loops (bounds, GB strides) enumerating one PE's RF tile of t in RF order (NFW = 6)."""
    if t == "i":
        rf, gb = input_layout(nest, "rf"), input_layout(nest, "gb")
        st = nest.stride
        rows = [(1, 0), (rf.rows, gb.cols)] if rf.band_row else \
            [(rf.y, gb.row_step(st) * gb.cols), (rf.r, gb.cols)]
        cols = [(1, 0), (rf.cols, 1)] if rf.band_col else [(rf.x, gb.col_step(st)), (rf.s, 1)]
        loops = [(rf.n, gb.ch * gb.rows * gb.cols), (rf.ch, gb.rows * gb.cols)] + rows + cols
    else:
        dims = "KCRS" if t == "w" else "NKYX"
        loops = [(nest.f_rf[d], coef(nest, t, "gb", d)) for d in dims] + [(1, 0), (1, 0)]
    return [b for b, _ in loops], [s for _, s in loops]


def rf_strides(nest: Nest, t: str) -> dict[str, int]:
    """RF word offset per unit of each rf-level dim for tensor t (compute addressing)."""
    return {d: coef(nest, t, "rf", d) for d in DIMS}


def pe_coords(chunk: ChunkHW) -> list[tuple[int, ...]]:
    """Coordinates of every PE along the NoC dims, PE 0 first (last dim fastest)."""
    coords = [()]
    for u in chunk.unroll:
        coords = [c + (i,) for c in coords for i in range(u)]
    return coords


def lane_dims(noc_dims: tuple[str, ...], t: str) -> tuple[bool, ...]:
    """Which NoC dims distinguish the lanes of tensor t. Inputs use every NoC dim (K too:
    depthwise inputs follow K), weights K/C/R/S, outputs N/K/Y/X (the rest are reduced)."""
    return tuple(t == "i" or d in REL[t] for d in noc_dims)


def lanes_of(chunk: ChunkHW, t: str) -> tuple[list[tuple[int, ...]], list[int]]:
    """(lane coordinates, lane of each PE) for tensor t: PEs that differ only in dims
    irrelevant to t share a lane (multicast of inputs/weights, reduction of outputs)."""
    from dna.space.gads.typed import NOCS
    use = lane_dims(NOCS[chunk.noc], t)
    lanes: list[tuple[int, ...]] = []
    of_pe = []
    for c in pe_coords(chunk):
        key = tuple(v if u else 0 for v, u in zip(c, use))
        if key not in lanes:
            lanes.append(key)
        of_pe.append(lanes.index(key))
    return lanes, of_pe


def n_tiles(nest: Nest, t: str) -> int:
    """Tiles of t the array walks through (product of bounds down to its last position)."""
    return math.prod(nest.bounds[:nest.last_pos(t) + 1])
