"""Costs of the nodes that are not conv layers, as the generated RTL engines run them
(docs/cost_model.md section 8).

* Pooling, global average pooling and channel shuffle run on the plane unit
  (templates/rtl/static/dna_plane.v): one channel plane at a time, the next plane's DRAM
  read overlapping this plane's window taps, one tap per cycle.
* Residual adds and the activations no producer absorbs run on the elementwise unit
  (templates/rtl/static/dna_ew.v): chunks of 16 bus beats, each read (both operands),
  clamped or added and written back before the next chunk is requested.

Pure functions of the node, the target and the precision: a node's cost does not depend
on the mapping, only on which chunk runs it (`node_chunks`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from dna.cost.target import Target, bus_bytes_for
from dna.workload.ir import (
    INPUT,
    Act,
    Add,
    Conv,
    GlobalAvgPool,
    Network,
    Node,
    Pool,
    Shuffle,
)

# Cycles of the plane unit's control around its DRAM traffic (dna_plane.v): from the
# op's start to the first read request (start, then the loader's decision) plus the
# cycle the loaded plane becomes visible; after the last tap, the tap/data/result
# pipeline, the write of the last beat and the B response's arrival and the engine's
# op end, on top of the DRAM latency.
PLANE_LOAD_CYCLES = 3
PLANE_TAIL_CYCLES = 8
# The elementwise unit (dna_ew.v) requests at most 16 beats per operand at a time, and
# after its last chunk waits for the last write response; 5 cycles of control around it
# (measured: tests/test_rtl_sim.py, every chunk count and size to 2 cycles).
EW_CHUNK_BEATS = 16
EW_TAIL_CYCLES = 5


def window(node: Node) -> tuple[int, int, int, int]:
    """(window rows, window cols, stride, padding) of a plane node: a pool's window, the
    whole plane for global average pooling, 1x1 for shuffle."""
    if isinstance(node, Pool):
        return node.size, node.size, node.stride, node.padding
    if isinstance(node, GlobalAvgPool):
        return node.in_shape.h, node.in_shape.w, 1, 0
    return 1, 1, 1, 0


def plane_sources(node: Node) -> list[int]:
    """Input plane of each output plane: the channel shuffle's permutation, else j."""
    c = node.in_shape.c
    g = node.groups if isinstance(node, Shuffle) else 1
    return [(j % g) * (c // g) + j // g for j in range(c)]


@dataclass(frozen=True)
class NodeCost:
    """What one non-conv op costs on the RTL engine."""

    cycles: float  # from the op's start to its end
    dram_bytes: float  # bus beats read (whole beats) plus bytes written
    energy_pj: float  # DRAM traffic and on-chip buffer accesses
    buffer_bytes: float = 0.0  # plane buffer the op needs (both slots); 0 for elementwise


def node_cost(node: Node, target: Target, bits: int) -> NodeCost:
    """The cost of a plane op (`plane_cost`) or an elementwise op (`ew_cost`)."""
    return plane_cost(node, target, bits) if is_plane(node) else ew_cost(node, target, bits)


def ew_cost(node: Node, target: Target, bits: int) -> NodeCost:
    """Cycles, DRAM traffic and energy of a residual add or a standalone clamp.

    Per chunk of up to 16 beats: the read requests, the DRAM latency, then the chunk's
    read beats (two operands for an add) and its write beats through the shared DRAM
    bandwidth; after the last chunk the last write's response (the latency) and
    EW_TAIL_CYCLES of control."""
    from dna.cost.model import dram_latency_cycles
    bus = bus_bytes_for(target)
    beats = math.ceil(node.out_shape.elements * (bits // 8) / bus)
    chunks = math.ceil(beats / EW_CHUNK_BEATS)
    lat = dram_latency_cycles(target.clock_mhz)
    beats_per_cycle = min(1.0, target.dram_bytes_per_cycle / bus)
    moved = beats * (len(node.inputs) + 1)  # read every operand, write the result
    dram_bytes = moved * bus
    return NodeCost(chunks * lat + moved / beats_per_cycle + lat + EW_TAIL_CYCLES, dram_bytes,
                    dram_bytes * 8 * target.dram_pj_per_bit)


def plane_cost(node: Node, target: Target, bits: int) -> NodeCost:
    """Cycles, DRAM traffic and energy of one plane op.

    Per output plane j: the loader reads the bus beats holding input plane src(j) (its
    first byte `lead` bytes into a beat, as the 4 KiB aligned tensor puts it) in
    LOAD + latency + beats / (beats per cycle); the window unit takes one cycle to start
    and one per tap. Two buffer slots: plane j+1 loads while plane j computes, and a load
    waits for the slot of plane j-1 to be released. Energy: DRAM bits, one bus-wide
    buffer write per beat read and one buffer read per tap."""
    from dna.cost.model import dram_latency_cycles
    bus, e = bus_bytes_for(target), bits // 8
    s, out = node.in_shape, node.out_shape
    win_r, win_s, _, _ = window(node)
    plane = s.h * s.w * e
    lat = dram_latency_cycles(target.clock_mhz)
    beats_per_cycle = min(1.0, target.dram_bytes_per_cycle / bus)
    taps = out.h * out.w * win_r * win_s
    ld_end: list[float] = []
    cp_end: list[float] = []
    total_beats = 0
    for j, src in enumerate(plane_sources(node)):
        beats = math.ceil((src * plane % bus + plane) / bus)
        total_beats += beats
        start = 0.0 if j == 0 else max(ld_end[j - 1], cp_end[j - 2] if j >= 2 else 0.0)
        ld_end.append(start + PLANE_LOAD_CYCLES + lat + beats / beats_per_cycle)
        cp_end.append(max(cp_end[-1] if cp_end else 0.0, ld_end[j]) + taps + 1)
    dram_bytes = total_beats * bus + out.elements * e
    slot_bytes = plane_slot_beats(plane, bus) * bus
    buf_pj = target.sram_pj(2 * slot_bytes, 8 * bus)
    energy = dram_bytes * 8 * target.dram_pj_per_bit + (total_beats + taps * s.c) * buf_pj
    return NodeCost(cp_end[-1] + PLANE_TAIL_CYCLES + lat, dram_bytes, energy, 2 * slot_bytes)


def plane_slot_beats(plane_bytes: int, bus_bytes: int) -> int:
    """Bus beats of one plane-buffer slot: enough for a plane starting at any byte of a
    beat, rounded up to a power of two (at least 2), as the RTL builds it."""
    need = -(-(plane_bytes + bus_bytes - 1) // bus_bytes)
    return max(2, 1 << (need - 1).bit_length())


def is_plane(node: Node) -> bool:
    """Whether the plane unit runs `node`."""
    return isinstance(node, (Pool, GlobalAvgPool, Shuffle))


def op_nodes(net: Network) -> list[Node]:
    """The non-conv nodes that run as ops: plane nodes, residual adds and every activation
    but one that is the only consumer of a conv or an add (the producer clamps to its range:
    dna.quant.contract.fuse_act_clamps, read by the backends as `fused_acts`)."""
    kind = {n.name: type(n) for n in net.nodes}
    readers: dict[str, int] = {}
    for n in net.nodes:
        for src in n.inputs:
            readers[src] = readers.get(src, 0) + 1
    return [n for n in net.nodes
            if is_plane(n) or isinstance(n, Add)
            or (isinstance(n, Act) and not (kind.get(n.inputs[0]) in (Conv, Add)
                                            and readers[n.inputs[0]] == 1))]


def conv_frontier(net: Network) -> dict[str, tuple[int, ...]]:
    """Per node, the conv layers (indices into `net.convs`) whose outputs reach it through
    non-conv nodes only: a conv itself, else the union over its inputs (none from the
    network input)."""
    index = {c.name: i for i, c in enumerate(net.convs)}
    out: dict[str, tuple[int, ...]] = {INPUT: ()}
    for n in net.nodes:
        out[n.name] = ((index[n.name],) if isinstance(n, Conv) else
                       tuple(sorted({i for s in n.inputs for i in out[s]})))
    return out


def node_chunks(net: Network, conv_chunk: dict[str, int]) -> dict[str, int]:
    """Chunk of every node and of the network input ("input" -> 0): a conv runs on its
    mapping's chunk (`conv_chunk`); any other node on the chunk of its latest input, i.e.
    the last chunk among its `conv_frontier` (0 if empty). The cost model, the HLS and the
    RTL backends all place nodes by this rule."""
    front = conv_frontier(net)
    chunk_of = [conv_chunk[c.name] for c in net.convs]
    return {name: max([chunk_of[i] for i in idx], default=0) for name, idx in front.items()}
