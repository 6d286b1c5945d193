"""Cycles of the nodes that are not conv layers, as the generated RTL engines run them
(docs/cost_model.md section 8). Pooling, global average pooling and channel shuffle run
on the plane unit (templates/rtl/static/dna_plane.v): one channel plane at a time, the
next plane's DRAM read overlapping this plane's window taps, one tap per cycle.

Pure functions of the node, the target and the precision: a node's cost does not depend
on the mapping, only on which chunk runs it (`node_chunks`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from dna.cost.target import Target, bus_bytes_for
from dna.workload.ir import INPUT, Conv, GlobalAvgPool, Network, Node, Pool, Shuffle

# Cycles of the plane unit's control around its DRAM traffic (dna_plane.v): from the
# op's start to the first read request (start, then the loader's decision) plus the
# cycle the loaded plane becomes visible; after the last tap, the tap/data/result
# pipeline, the write of the last beat and the B response's arrival and the engine's
# op end, on top of the DRAM latency.
PLANE_LOAD_CYCLES = 3
PLANE_TAIL_CYCLES = 8


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
class PlaneCost:
    """What one plane op costs on the RTL engine."""

    cycles: float  # from the op's start to its end
    dram_bytes: float  # bus beats read (whole beats) plus output bytes written
    energy_pj: float  # DRAM traffic and plane-buffer accesses


def plane_cost(node: Node, target: Target, bits: int) -> PlaneCost:
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
    return PlaneCost(cp_end[-1] + PLANE_TAIL_CYCLES + lat, dram_bytes, energy)


def plane_slot_beats(plane_bytes: int, bus_bytes: int) -> int:
    """Bus beats one plane-buffer slot needs: a plane starting at any byte of a beat."""
    return -(-(plane_bytes + bus_bytes - 1) // bus_bytes)


def is_plane(node: Node) -> bool:
    """Whether the plane unit runs `node`."""
    return isinstance(node, (Pool, GlobalAvgPool, Shuffle))


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
