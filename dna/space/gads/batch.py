"""Tensor form of layers and accelerator points, the input of the vectorised cost model.

`LayerSet` holds the L conv layers of a network; `MappingBatch` holds B accelerator
points for those layers. Dims follow `dna.workload.DIMS` = N, K, C, Y, X, R, S.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from dna.space.gads.typed import (
    TEMPORAL_LEVELS,
    Accelerator,
    Problem,
    problem_of,
    window_rows,
)
from dna.workload.ir import DIMS, Network, Node

F64 = torch.float64


@dataclass(frozen=True)
class LayerSet:
    """The hardware loop nests of L conv layers."""

    names: tuple[str, ...]
    bounds: torch.Tensor  # (L, 7) loop bounds
    stride: torch.Tensor  # (L,)
    follow_k: torch.Tensor  # (L,) bool: depthwise, inputs indexed by K
    repeat: torch.Tensor  # (L,) times the nest runs (groups)
    depthwise: tuple[bool, ...]
    # the non-conv ops (dna.cost.nodes.op_nodes: pooling, shuffle, adds, standalone
    # clamps), each with the conv layers whose chunks place it (conv_frontier); empty for
    # a bare list of layers
    ops: tuple[tuple[Node, tuple[int, ...]], ...] = ()

    @property
    def macs(self) -> torch.Tensor:
        """(L,) true MACs (no padding)."""
        return self.bounds.prod(-1) * self.repeat

    def __len__(self) -> int:
        return len(self.names)


def layer_set(problems: list[Problem]) -> LayerSet:
    """Stack problems into a `LayerSet`."""
    return LayerSet(
        names=tuple(p.name for p in problems),
        bounds=torch.tensor([p.bounds for p in problems], dtype=F64).reshape(-1, 7),
        stride=torch.tensor([p.stride for p in problems], dtype=F64),
        follow_k=torch.tensor([p.inputs_follow_k for p in problems], dtype=torch.bool),
        repeat=torch.tensor([p.repeat for p in problems], dtype=F64),
        depthwise=tuple(p.inputs_follow_k for p in problems),
    )


def network_layers(net: Network) -> LayerSet:
    """The `LayerSet` of every conv layer of `net`, with its non-conv ops."""
    from dna.cost.nodes import conv_frontier, op_nodes
    front = conv_frontier(net)
    ops = tuple((n, front[n.name]) for n in op_nodes(net))
    return replace(layer_set([problem_of(c) for c in net.convs]), ops=ops)


@dataclass(frozen=True)
class MappingBatch:
    """B accelerator points over L layers and up to H chunks."""

    factors: torch.Tensor  # (B, L, 3, 7) temporal loop bounds at dram, gb, rf
    spatial: torch.Tensor  # (B, L, 7) PEs along each dim for the layer's chunk
    order: torch.Tensor  # (B, L, 3, 7) int64: dim index at each position, outer -> inner
    chunk: torch.Tensor  # (B, L) int64 chunk index of each layer
    chunk_pes: torch.Tensor  # (B, H) PEs of each chunk (0 = unused chunk slot)
    pipeline: torch.Tensor  # (B,) bool: chunk pipeline (else multi-cycle)
    gb_words: torch.Tensor | None = None  # (B, H, 3) declared GB sizes; None = derived
    rf_words: torch.Tensor | None = None  # (B, H, 3) declared RF sizes; None = derived

    @property
    def batch(self) -> int:
        return self.factors.shape[0]


def encode(accs: list[Accelerator]) -> MappingBatch:
    """Stack typed accelerators (all for the same network) into a `MappingBatch`."""
    n_chunks = max(len(a.chunks) for a in accs)
    fac, sp, order, chunk, pes, gb, rf = [], [], [], [], [], [], []
    for a in accs:
        fac.append([list(m.factors) for m in a.mappings])
        sp.append([a.chunks[m.chunk].spatial() for m in a.mappings])
        order.append([[[DIMS.index(d) for d in m.order[i]] for i in range(3)]
                      for m in a.mappings])
        chunk.append([m.chunk for m in a.mappings])
        pad = n_chunks - len(a.chunks)
        pes.append([c.pes for c in a.chunks] + [0] * pad)
        gb.append([list(c.gb_words) for c in a.chunks] + [[1, 1, 1]] * pad)
        rf.append([list(c.rf_words) for c in a.chunks] + [[1, 1, 1]] * pad)
    assert len(TEMPORAL_LEVELS) == 3
    return MappingBatch(
        factors=torch.tensor(fac, dtype=F64),
        spatial=torch.tensor(sp, dtype=F64),
        order=torch.tensor(order, dtype=torch.int64),
        chunk=torch.tensor(chunk, dtype=torch.int64),
        chunk_pes=torch.tensor(pes, dtype=F64),
        pipeline=torch.tensor([a.style == "pipeline" for a in accs]),
        gb_words=torch.tensor(gb, dtype=F64),
        rf_words=torch.tensor(rf, dtype=F64),
    )


def tile_words_batch(ext: torch.Tensor, stride: torch.Tensor,
                     follow_k: torch.Tensor | None, dim: int = -1) -> torch.Tensor:
    """Words of (inputs, weights, outputs) in tiles of per-dim extents `ext`: the 7 dims
    along `dim` become the 3 tensors, e.g. (..., 7) -> (..., 3). `follow_k` (L,) bool:
    inputs indexed by K (depthwise); None when no layer's are.

    Input tiles hold the rows (and columns) the windows touch (`window_rows`).
    """
    n, k, c, y, x, r, s = ext.unbind(dim)
    h = window_rows(y, r, stride, torch.minimum)
    w = window_rows(x, s, stride, torch.minimum)
    ch = c if follow_k is None else torch.where(follow_k, k, c)
    return torch.stack([n * ch * h * w, k * c * r * s, n * k * y * x], dim)
