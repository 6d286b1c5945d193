"""One conv layer lowered onto its chunk, the one lowering both hardware backends build
from: the loop nest, where each tensor's tiles are (re)loaded, whether partial sums leave
the GB, and the tile layouts. The HLS loop nest (hwgen.hls.loops) prints it as C++ loops;
the RTL engine (hwgen.rtl.conv_fields) compiles it into affine address generators.

The nest has NP = 15 positions, outer -> inner: the group loop (bound = groups of a grouped
conv, else 1), the 7 dram loops and the 7 gb loops in the mapping's orders; the rf loops run
inside (docs/cost_model.md section 1). A tensor's tile changes whenever a loop relevant to it
with bound > 1 advances (`Nest.reload_pos`): the reuse rule of the cost model's `_visits`,
with relevance from `dna.space.gads.typed.RELEVANT` / `relevant_dims`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from dna.space.gads.typed import (
    NOCS,
    RELEVANT,
    TENSORS,
    ChunkHW,
    LayerMapping,
    Problem,
    relevant_dims,
    window_band,
    window_rows,
)
from dna.workload.ir import DIMS, Conv

NP = 15  # nest positions: 0 = group loop, 1..7 = dram loops, 8..14 = gb loops (outer->inner)
GB_POS = 8  # first gb-loop position
# Dims each tensor's tile depends on, by short name ("G", the group loop, matters to all).
REL = {t[0]: frozenset(RELEVANT[t]) for t in TENSORS}
_TENSOR = {t[0]: t for t in TENSORS}
# Storage order of the weight and output tiles: [k][c][r][s] and [n][k][y][x].
LAYOUT_DIMS = {"w": "KCRS", "o": "NKYX"}
Tile = Literal["gb", "rf"]


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
    stored as one contiguous band (row = y*stride + r), else y*r separate rows (y*r + r).
    The rule is `dna.space.gads.typed.window_rows`, the cost model's."""
    return window_rows(y, r, stride), window_band(y, r, stride)


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

    def reload_pos(self, t: str, tile: Tile = "rf") -> int:
        """Position inside which tensor t's `tile` ('gb': the GB tile, under the group and
        DRAM loops; 'rf': the RF tiles, under the group, DRAM and GB loops) is (re)loaded:
        the innermost loop there relevant to t with bound > 1 (-1: loaded once, before
        every loop). The loops further in reuse the tile. The same rule as the cost model's
        `dna.cost.model._visits`, whose counts are the products of the bounds down to here."""
        upto = GB_POS if tile == "gb" else NP
        live = [i for i in range(upto) if self.bounds[i] > 1
                and relevant(t, self.dims[i], self.depthwise)]
        return max(live, default=-1)

    def psum_positions(self) -> list[int]:
        """Loops (bound > 1, irrelevant to outputs: C, R, S at the DRAM level) outside the
        point where the output GB tile is reloaded: each visits that tile again, so its
        partial sums leave the GB for DRAM and come back."""
        last = self.reload_pos("o", "gb")
        return [i for i in range(last + 1)
                if self.bounds[i] > 1 and not relevant("o", self.dims[i], False)]

    def psums_leave_gb(self) -> bool:
        """Do partial sums travel to DRAM and back (an output GB tile visited more than once)?"""
        return bool(self.psum_positions())

    def level_of(self, pos: int) -> str:
        """Level of nest position `pos`: group loop, DRAM level or GB level."""
        return "g" if pos == 0 else ("dram" if pos < GB_POS else "gb")


def make_nest(conv: Conv, prob: Problem, m: LayerMapping, chunk: ChunkHW) -> Nest:
    """The `Nest` of `conv` under mapping `m` on `chunk`."""
    f = [dict(zip(DIMS, lv)) for lv in m.factors]
    dims = ("G",) + tuple(m.order[0]) + tuple(m.order[1])
    bounds = (prob.repeat,) + tuple(f[0][d] for d in m.order[0]) + tuple(f[1][d]
                                                                        for d in m.order[1])
    return Nest(conv, prob, dims, bounds, m.order[2], f[2], f[1], f[0],
                dict(zip(DIMS, chunk.spatial())), NOCS[chunk.noc])


@dataclass(frozen=True)
class InputLayout:
    """Layout of an input tile [n][ch][row][col] at one level, as both backends store it."""

    n: int
    ch: int  # channels: K of a depthwise conv, else C
    rows: int  # window_rows(y, r, stride)
    cols: int  # window_rows(x, s, stride)
    band_row: bool  # rows stored as one band (row = y*stride + r), else y*r + r
    band_col: bool
    y: int  # extents the tile was built from
    r: int
    x: int
    s: int
    stride: int  # the conv's
    depthwise: bool  # channels follow K

    @property
    def words(self) -> int:
        """Words the tile occupies."""
        return self.n * self.ch * self.rows * self.cols

    @property
    def row_step(self) -> int:
        """Stored rows between consecutive y (same r): the stride in a band, else r."""
        return self.stride if self.band_row else self.r

    @property
    def col_step(self) -> int:
        """Stored columns between consecutive x (same s)."""
        return self.stride if self.band_col else self.s

    @property
    def periods(self) -> tuple[int, int]:
        """(rows, columns) per window period, min(stride, r) and min(stride, s): the steps
        the HLS engine's band_delta/band_row take (dna_engine.h). They equal row_step and
        col_step except for a single window (y == 1, x == 1) with stride > r, where no
        index multiplies the step; the RTL prints the stride there, the HLS r."""
        return min(self.stride, self.r), min(self.stride, self.s)

    def coef(self, d: str) -> int:
        """Word offset per unit of dim d (local index) in this layout."""
        plane = self.rows * self.cols
        return {"N": self.ch * plane, "C": 0 if self.depthwise else plane,
                "K": plane if self.depthwise else 0, "Y": self.row_step * self.cols,
                "R": self.cols, "X": self.col_step, "S": 1}[d]


def input_layout(nest: Nest, level: str) -> InputLayout:
    """Input tile layout at level 'rf', 'arr' or 'gb'."""
    e = {d: nest.ext(level, d) for d in DIMS}
    rows, band_r = window(e["Y"], e["R"], nest.stride)
    cols, band_c = window(e["X"], e["S"], nest.stride)
    ch = e["K"] if nest.depthwise else e["C"]
    return InputLayout(e["N"], ch, rows, cols, band_r, band_c, e["Y"], e["R"], e["X"], e["S"],
                       nest.stride, nest.depthwise)


def layout_dims(t: str, depthwise: bool) -> str:
    """Dims of tensor t's tile in storage order, outer -> inner (inputs: n, ch, y, r, x, s
    with row = y*row_step + r, col = x*col_step + s)."""
    return LAYOUT_DIMS.get(t) or "N" + ("K" if depthwise else "C") + "YRXS"


def tile_coefs(nest: Nest, t: str, level: str) -> dict[str, int]:
    """Word offset per unit of each dim in tensor t's tile at `level` ('rf', 'arr', 'gb');
    0 for dims the tensor does not depend on. Weights [k][c][r][s], outputs [n][k][y][x]."""
    if t == "i":
        lay = input_layout(nest, level)
        return {d: lay.coef(d) for d in DIMS}
    e = {x: nest.ext(level, x) for x in DIMS}
    out, step = dict.fromkeys(DIMS, 0), 1
    for d in reversed(LAYOUT_DIMS[t]):
        out[d], step = step, step * e[d]
    return out


def coef(nest: Nest, t: str, level: str, d: str) -> int:
    """Word offset per unit of dim d in tensor t's tile at `level` ('rf' or 'gb')."""
    return tile_coefs(nest, t, level)[d]


def fill_walker(nest: Nest, t: str) -> tuple[list[int], list[int]]:
    """Loops (bounds, GB strides) enumerating one PE's RF tile of t in RF order (NFW = 6)."""
    if t == "i":
        rf, gb = input_layout(nest, "rf"), input_layout(nest, "gb")
        rows = [(1, 0), (rf.rows, gb.cols)] if rf.band_row else \
            [(rf.y, gb.row_step * gb.cols), (rf.r, gb.cols)]
        cols = [(1, 0), (rf.cols, 1)] if rf.band_col else [(rf.x, gb.col_step), (rf.s, 1)]
        loops = [(rf.n, gb.ch * gb.rows * gb.cols), (rf.ch, gb.rows * gb.cols)] + rows + cols
    else:
        gb = tile_coefs(nest, t, "gb")
        loops = [(nest.f_rf[d], gb[d]) for d in LAYOUT_DIMS[t]] + [(1, 0), (1, 0)]
    return [b for b, _ in loops], [s for _, s in loops]


def rf_strides(nest: Nest, t: str) -> dict[str, int]:
    """RF word offset per unit of each rf-level dim for tensor t (compute addressing)."""
    return tile_coefs(nest, t, "rf")


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
    return math.prod(nest.bounds[:nest.reload_pos(t) + 1])
