"""Vectorised decode of GADS index vectors: an index tensor (B, P) straight to a MappingBatch.

`IndexSpace.decode` builds one typed `Accelerator` per index vector (about a millisecond for
VGG16); the search wants thousands per step. `TensorSpace.decode` does the same decoding
with batched torch ops and gives exactly `encode([space.decode(row) for row in idx])`:
same chunk assignment, loop orders, clipped tile factors and buffer sizes (tests/test_das.py
checks equality with hypothesis).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch

from dna.space.gads.batch import (
    F64,
    LayerSet,
    MappingBatch,
    network_layers,
    tile_words_batch,
)
from dna.space.gads.index import TILE_LEVELS, IndexSpace
from dna.space.gads.typed import NOCS, TEMPORAL_LEVELS
from dna.workload.ir import DIMS

UNUSED = len(DIMS)  # scatter slot for NoC positions a dataflow does not have


def _perm_table() -> torch.Tensor:
    """(7!, 7) permutation (as dim indices) of every Lehmer code of 7 sequential picks."""
    rows = []
    for picks in itertools.product(*(range(7 - j) for j in range(7))):
        left = list(range(7))
        rows.append([left.pop(p) for p in picks])
    return torch.tensor(rows, dtype=torch.int64)


PERMS = _perm_table()  # row index = sum_j picks[j] * (6 - j)!
LEHMER_RADIX = torch.tensor([math.factorial(6 - j) for j in range(7)], dtype=torch.int64)


def _value(choice) -> float:
    """Numeric form of a choice: styles as 1.0 for pipeline, NoCs by name index in NOCS."""
    if choice == "pipeline":
        return 1.0
    if choice == "multicycle":
        return 0.0
    if isinstance(choice, str):
        return float(list(NOCS).index(choice))
    return float(choice)


@dataclass(frozen=True)
class TensorSpace:
    """Tensor tables of an `IndexSpace`: choice values and where each parameter sits."""

    space: IndexSpace
    layers: LayerSet
    sizes: torch.Tensor  # (P,) int64 choices per parameter
    values: torch.Tensor  # (P, Cmax) float64 numeric choice values, 0 past sizes[p]
    i_style: int  # parameter index of "style"
    i_new: torch.Tensor | None  # (L-1,) new_chunk parameters (None: no pipeline style)
    forced_new: torch.Tensor  # (L-1,) bool: a depthwise run begins or ends at layer i
    i_noc: torch.Tensor  # (H,) chunk NoC parameters
    i_unroll: torch.Tensor  # (H, 4) chunk unroll parameters
    i_order: torch.Tensor  # (L, 3, 7) loop-order picks per level (dram, gb, rf)
    i_tile: torch.Tensor  # (L, 2, 7) tile factors per level (gb, rf) and dim
    noc_dims: torch.Tensor  # (len(NOCS), 4) dim index of each NoC position (UNUSED if none)
    hw_cols: torch.Tensor  # (1 + L-1 + 5H,) style, new_chunk (if any), then per chunk its
    #                        NoC and 4 unrolls: the columns whose values decode looks up
    map_start: int | None  # first column of the mapping block when every layer's
    #   MAP_COLS mapping parameters (21 loop-order picks, then 14 tile factors gb, rf) are
    #   consecutive columns, layer after layer, to the end, with their unrestricted choices
    #   (pick j: 0..6-j; tile factor c: min(2^c, bound)): `decode` then reads them from the
    #   index batch as views and looks no values up; None: through `values`

    @property
    def n_params(self) -> int:
        return len(self.space.params)

    @property
    def max_choices(self) -> int:
        return self.values.shape[1]

    def decode(self, idx: torch.Tensor) -> MappingBatch:
        """(B, P) int64 choice indices -> the `MappingBatch` of the decoded accelerators."""
        return decode(self, idx)


MAP_COLS = 3 * 7 + len(TILE_LEVELS) * 7  # mapping parameters per layer


def _map_start(values: torch.Tensor, sizes: torch.Tensor, i_order: torch.Tensor,
               i_tile: torch.Tensor, bounds: torch.Tensor) -> int | None:
    """`TensorSpace.map_start` for these tables (see there), or None."""
    n_layers, n_params = i_order.shape[0], values.shape[0]
    start = n_params - n_layers * MAP_COLS
    cols = torch.cat([i_order.flatten(1), i_tile.flatten(1)], 1)  # (L, 35)
    if start < 0 or not torch.equal(cols, start + torch.arange(cols.numel()).view_as(cols)):
        return None
    picks = torch.arange(7).expand(n_layers, 3, 7)  # choices 0..6-j of pick j
    tiles = torch.minimum(2.0 ** torch.arange(values.shape[1], dtype=F64).clamp(max=63),
                          bounds[:, None, :, None])  # (L, 1, 7, Cmax) min(2^c, bound)
    ok = torch.equal(sizes[i_order], 7 - picks)
    for i_par, vals in ((i_order, torch.arange(values.shape[1], dtype=F64)
                         .expand(*i_order.shape, -1)),
                        (i_tile, tiles.expand(*i_tile.shape, -1))):
        real = torch.arange(values.shape[1]) < sizes[i_par][..., None]
        ok = ok and torch.equal(values[i_par] * real, vals * real)
    return start if ok else None


def tensor_space(space: IndexSpace) -> TensorSpace:
    """Precompute the tables `decode` needs for `space`."""
    names = {p.name: i for i, p in enumerate(space.params)}
    convs = space.network.convs
    n_layers = len(convs)
    cmax = max(len(p.choices) for p in space.params)
    values = torch.zeros(len(space.params), cmax, dtype=F64)
    for i, p in enumerate(space.params):
        values[i, :len(p.choices)] = torch.tensor([_value(c) for c in p.choices], dtype=F64)
    n_chunks = sum(1 for n in names if n.endswith(".noc"))
    has_new = n_layers > 1 and "layer[1].new_chunk" in names
    noc_dims = torch.full((len(NOCS), 4), UNUSED, dtype=torch.int64)
    for k, dims in enumerate(NOCS.values()):
        noc_dims[k, :len(dims)] = torch.tensor([DIMS.index(d) for d in dims])
    layers = network_layers(space.network)
    sizes = torch.tensor(space.sizes, dtype=torch.int64)
    i_order = torch.tensor([[[names[f"layer[{i}].order.{lv}[{j}]"] for j in range(7)]
                             for lv in TEMPORAL_LEVELS] for i in range(n_layers)])
    i_tile = torch.tensor([[[names[f"layer[{i}].{lv}.{d}"] for d in DIMS]
                            for lv in TILE_LEVELS] for i in range(n_layers)])
    return TensorSpace(
        space=space, layers=layers, sizes=sizes, values=values,
        i_style=names["style"],
        i_new=(torch.tensor([names[f"layer[{i}].new_chunk"] for i in range(1, n_layers)])
               if has_new else None),
        forced_new=torch.tensor([convs[i].is_depthwise != convs[i - 1].is_depthwise
                                 for i in range(1, n_layers)], dtype=torch.bool),
        i_noc=torch.tensor([names[f"chunk[{h}].noc"] for h in range(n_chunks)]),
        i_unroll=torch.tensor([[names[f"chunk[{h}].unroll[{j}]"] for j in range(4)]
                               for h in range(n_chunks)]),
        i_order=i_order, i_tile=i_tile, noc_dims=noc_dims,
        hw_cols=torch.cat([torch.tensor([names["style"]]),
                           torch.tensor([names[f"layer[{i}].new_chunk"]
                                         for i in range(1, n_layers)] if has_new else [],
                                        dtype=torch.int64),
                           torch.tensor([[names[f"chunk[{h}].noc"]]
                                         + [names[f"chunk[{h}].unroll[{j}]"] for j in range(4)]
                                         for h in range(n_chunks)]).flatten()]),
        map_start=_map_start(values, sizes, i_order, i_tile, layers.bounds),
    )


def decode(ts: TensorSpace, idx: torch.Tensor) -> MappingBatch:
    """(B, P) choice indices -> MappingBatch, equal to encoding `IndexSpace.decode` per row.

    Integer-valued float64 throughout (exact: every count is far below 2^53; a ceiling
    division of such integers is exact in float64)."""
    batch, n_layers = idx.shape[0], len(ts.layers)
    n_slots = ts.i_noc.shape[0]
    n_new = n_layers - 1 if ts.i_new is not None else 0
    hv = ts.values.view(-1).take(idx.index_select(1, ts.hw_cols)
                                  + ts.hw_cols * ts.max_choices)
    pipeline = hv[:, 0] == 1.0  # (B,)
    chunk = torch.zeros(batch, n_layers, dtype=torch.int64)
    if n_new:
        new = ((hv[:, 1:1 + n_new] != 0) | ts.forced_new) & pipeline[:, None]  # (B, L-1)
        torch.cumsum(new, -1, out=chunk[:, 1:])
    per_chunk = hv[:, 1 + n_new:].view(batch, n_slots, 5)  # (B, H, NoC + 4 unrolls)
    noc = per_chunk[..., 0].long()  # (B, H)
    unroll = per_chunk[..., 1:]  # (B, H, 4)
    sp_h = torch.ones(batch, n_slots, UNUSED + 1, dtype=F64)
    sp_h.scatter_(-1, ts.noc_dims[noc], unroll)
    sp_h = sp_h[..., :UNUSED]  # (B, H, 7) PEs along each dim per chunk
    last = chunk[:, -1]  # (B,) index of the last used chunk
    used = torch.arange(n_slots) <= last[:, None]  # (B, H)
    chunk_pes = sp_h.prod(-1) * used
    spatial = sp_h.gather(1, chunk[..., None].expand(-1, -1, 7))  # (B, L, 7)

    bound = ts.layers.bounds  # (L, 7)
    if ts.map_start is None:
        v = ts.values[torch.arange(ts.n_params), idx]  # (B, P) chosen values
        picks = v[:, ts.i_order].long()  # (B, L, 3, 7)
        req = v[:, ts.i_tile]  # (B, L, 2, 7) requested gb, rf factors
    else:
        cols = idx[:, ts.map_start:].view(batch, n_layers, MAP_COLS)  # (B, L, 35)
        picks = cols[..., :21].unflatten(-1, (3, 7))  # (B, L, 3, 7) the index is the pick
        # 2^c: the exponent bits of a float64 (0 <= c <= 1023)
        req = (cols[..., 21:] + 1023).bitwise_left_shift_(52).view(F64).unflatten(-1, (2, 7))
    order = PERMS.index_select(0, _lehmer_code(picks).view(-1)).view(
        batch, n_layers, 3, 7)  # (B, L, 3, 7)

    factors = torch.empty(batch, n_layers, 3, 7, dtype=F64)  # dram, gb, rf
    torch.minimum(req, bound[:, None], out=factors[:, :, 1:])
    f_rf = factors[:, :, 2]
    ext = torch.empty(batch, n_layers, 2, 7, dtype=F64)  # GB tile, RF tile extents
    arr = torch.mul(spatial, f_rf, out=ext[:, :, 1])  # array tile, for now
    f_gb = factors[:, :, 1]
    torch.minimum(f_gb, (bound / arr).ceil_(), out=f_gb)
    gb = torch.mul(f_gb, arr, out=ext[:, :, 0])
    torch.div(bound, gb, out=factors[:, :, 0]).ceil_()
    ext[:, :, 1] = f_rf

    stride, fk = ts.layers.stride[:, None], ts.layers.follow_k[:, None]
    tiles = tile_words_batch(ext, stride, fk).view(batch, n_layers, 6)  # (B, L, 2 x 3)
    words = torch.ones(batch, n_slots, 6, dtype=F64).scatter_reduce_(
        1, chunk[..., None].expand(-1, -1, 6), tiles, "amax")  # (B, H, GB 3 + RF 3)

    h = int(last.max()) + 1 if batch else 1  # encode pads to the batch's most chunks
    return MappingBatch(factors=factors, spatial=spatial, order=order, chunk=chunk,
                        chunk_pes=chunk_pes[:, :h], pipeline=pipeline,
                        gb_words=words[..., :3].contiguous()[:, :h],
                        rf_words=words[..., 3:].contiguous()[:, :h])


def _lehmer_code(picks: torch.Tensor) -> torch.Tensor:
    """(..., 7) sequential picks -> (...) row of PERMS: sum_j picks[j] (6 - j)!, by Horner
    (((p0 x 6 + p1) x 5 + p2) x 4 ...; exact integers)."""
    code = torch.mul(picks[..., 0], 6)
    for j in range(1, 6):
        code.add_(picks[..., j]).mul_(6 - j)
    return code.add_(picks[..., 6])
