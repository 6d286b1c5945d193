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

    @property
    def n_params(self) -> int:
        return len(self.space.params)

    @property
    def max_choices(self) -> int:
        return self.values.shape[1]

    def decode(self, idx: torch.Tensor) -> MappingBatch:
        """(B, P) int64 choice indices -> the `MappingBatch` of the decoded accelerators."""
        return decode(self, idx)


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
    return TensorSpace(
        space=space, layers=network_layers(space.network),
        sizes=torch.tensor(space.sizes, dtype=torch.int64), values=values,
        i_style=names["style"],
        i_new=(torch.tensor([names[f"layer[{i}].new_chunk"] for i in range(1, n_layers)])
               if has_new else None),
        forced_new=torch.tensor([convs[i].is_depthwise != convs[i - 1].is_depthwise
                                 for i in range(1, n_layers)], dtype=torch.bool),
        i_noc=torch.tensor([names[f"chunk[{h}].noc"] for h in range(n_chunks)]),
        i_unroll=torch.tensor([[names[f"chunk[{h}].unroll[{j}]"] for j in range(4)]
                               for h in range(n_chunks)]),
        i_order=torch.tensor([[[names[f"layer[{i}].order.{lv}[{j}]"] for j in range(7)]
                               for lv in TEMPORAL_LEVELS] for i in range(n_layers)]),
        i_tile=torch.tensor([[[names[f"layer[{i}].{lv}.{d}"] for d in DIMS]
                              for lv in TILE_LEVELS] for i in range(n_layers)]),
        noc_dims=noc_dims,
    )


def _ceil_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return -torch.div(-a, b, rounding_mode="floor")


def decode(ts: TensorSpace, idx: torch.Tensor) -> MappingBatch:
    """(B, P) choice indices -> MappingBatch, equal to encoding `IndexSpace.decode` per row."""
    batch, n_layers = idx.shape[0], len(ts.layers)
    v = ts.values[torch.arange(ts.n_params), idx]  # (B, P) chosen values
    pipeline = v[:, ts.i_style] == 1.0  # (B,)
    chunk = torch.zeros(batch, n_layers, dtype=torch.int64)
    if ts.i_new is not None:
        new = ((v[:, ts.i_new] != 0) | ts.forced_new) & pipeline[:, None]  # (B, L-1)
        chunk[:, 1:] = new.long().cumsum(-1)
    n_slots = ts.i_noc.shape[0]

    noc = v[:, ts.i_noc].long()  # (B, H)
    unroll = v[:, ts.i_unroll]  # (B, H, 4)
    sp_h = torch.ones(batch, n_slots, UNUSED + 1, dtype=F64)
    sp_h.scatter_(-1, ts.noc_dims[noc], unroll)
    sp_h = sp_h[..., :UNUSED]  # (B, H, 7) PEs along each dim per chunk
    last = chunk[:, -1]  # (B,) index of the last used chunk
    used = torch.arange(n_slots) <= last[:, None]  # (B, H)
    chunk_pes = sp_h.prod(-1) * used

    spatial = sp_h.gather(1, chunk[..., None].expand(-1, -1, 7))  # (B, L, 7)
    picks = v[:, ts.i_order].long()  # (B, L, 3, 7)
    order = PERMS[(picks * LEHMER_RADIX).sum(-1)]  # (B, L, 3, 7)

    bound = ts.layers.bounds.long()  # (L, 7)
    sp = spatial.long()
    req = v[:, ts.i_tile].long()  # (B, L, 2, 7) requested gb, rf factors
    f_rf = torch.minimum(req[:, :, 1], bound)
    f_gb = torch.minimum(req[:, :, 0], _ceil_div(bound, sp * f_rf))
    f_dram = _ceil_div(bound, f_gb * sp * f_rf)
    factors = torch.stack([f_dram, f_gb, f_rf], -2).to(F64)  # (B, L, 3, 7)

    stride, fk = ts.layers.stride, ts.layers.follow_k
    gb_tile = tile_words_batch((f_gb * sp * f_rf).to(F64), stride, fk)  # (B, L, 3)
    rf_tile = tile_words_batch(f_rf.to(F64), stride, fk)
    at = chunk[..., None].expand(-1, -1, 3)
    ones = torch.ones(batch, n_slots, 3, dtype=F64)
    gb_words = ones.scatter_reduce(1, at, gb_tile, "amax", include_self=True)
    rf_words = ones.scatter_reduce(1, at, rf_tile, "amax", include_self=True)

    h = int(last.max()) + 1 if batch else 1  # encode pads to the batch's most chunks
    return MappingBatch(factors=factors, spatial=spatial, order=order, chunk=chunk,
                        chunk_pes=chunk_pes[:, :h], pipeline=pipeline,
                        gb_words=gb_words[:, :h], rf_words=rf_words[:, :h])
