"""From a design and its quantised network to the engine programs: the ops each chunk's
engine runs, in order, with their config words, and the DRAM memory map.

Conv layers run on the chunk their mapping names. A residual add or an activation that
its producer could not absorb runs as an elementwise op, a pooling, global average
pooling or channel shuffle as a plane op, on the engine of its chunk
(`hwgen.graph.node_chunks`: the chunk of its latest input, as in the HLS backend). Fused
activations (`dna.quant.contract.fused_acts`) cost nothing: their producer already clamps.
"""
from __future__ import annotations

from dataclasses import dataclass

from dna.cost.target import Target, bus_bytes_for
from dna.design import Design
from dna.quant.contract import AddQ, QuantizedNetwork, fused_acts
from dna.space.gads.typed import ChunkHW, problem_of
from dna.workload.ir import Act, Add, Conv, GlobalAvgPool, Node, Pool, Shuffle
from hwgen.errors import HwgenError
from hwgen.graph import node_chunks
from hwgen.nest import Nest, lanes_of, make_nest
from hwgen.rtl.config_word import OP_ADD, OP_CLAMP, OP_PLANE, ConfigError, pack
from hwgen.rtl.conv_fields import ConvAddrs, conv_fields
from hwgen.rtl.memory import MemoryMap, plan_memory, psum_bytes


@dataclass(frozen=True)
class Op:
    """One line of an engine's config ROM."""

    node: str  # network node it computes
    kind: str  # "conv", "add", "clamp", "plane"
    chunk: int  # engine that runs it
    fields: dict  # config field values (hwgen.rtl.config_word.SCHEMA)
    nest: Nest | None = None  # conv only


@dataclass(frozen=True)
class Program:
    """Everything the templates and the testbench need about the engines' work."""

    ops: tuple[Op, ...]
    memory: MemoryMap
    bus_bytes: int  # AXI data bus width in bytes

    def words(self, chunk: int) -> list[int]:
        """Config words of one engine's ROM, in order (the last one flagged)."""
        ops = [o for o in self.ops if o.chunk == chunk]
        out = []
        for i, o in enumerate(ops):
            try:
                out.append(pack(o.fields | {"op_last": int(i == len(ops) - 1)}))
            except ConfigError as e:
                raise HwgenError(f"node {o.node}: {e}") from None
        return out


def check_supported(design: Design) -> None:
    """HwgenError naming every node the RTL engine cannot run (batch above 1)."""
    bad = [f"node {n.name}: batch {n.in_shape.n}" for n in design.network.nodes
           if n.in_shape.n != 1]
    if bad:
        raise HwgenError("the RTL backend runs batch 1: " + "; ".join(bad))


def plane_fields(node: Node, src: int, dst: int, ebytes: int, q) -> dict:
    """Config fields of a plane op (templates/rtl/static/dna_plane.v): pooling, global
    average pooling or channel shuffle of the NCHW tensor at `src` into `dst`."""
    s = node.in_shape
    groups, win_r, win_s, stride, pad = 1, 1, 1, 1, 0
    if isinstance(node, Pool):
        win_r = win_s = node.size
        stride, pad = node.stride, node.padding
    elif isinstance(node, GlobalAvgPool):
        win_r, win_s = s.h, s.w
    elif isinstance(node, Shuffle):
        groups = node.groups
    out = node.out_shape
    plane = s.h * s.w * ebytes
    cpg = s.c // groups
    f = {"op_kind": OP_PLANE, "ew_a": src, "ew_o": dst, "pl_avg": int(q is not None),
         "pl_ch": s.c, "pl_groups": groups, "pl_plane": plane,
         "pl_gstep": cpg * plane, "pl_h": s.h, "pl_w": s.w, "pl_oh": out.h, "pl_ow": out.w,
         "pl_wr": win_r, "pl_ws": win_s, "pl_stride": stride, "pl_pad": pad,
         "pl_row": s.w * ebytes, "pl_sx": stride * ebytes, "pl_sy": stride * s.w * ebytes,
         "pl_org": -(pad * s.w + pad) * ebytes}
    if q is not None:
        f |= {"ew_ma": q.multiplier, "ew_shift": q.shift}
    return f


def _ew_fields(kind: str, a: int, b: int, o: int, nbytes: int, bus: int, q) -> dict:
    beats = -(-nbytes // bus)
    f = {"op_kind": OP_ADD if kind == "add" else OP_CLAMP, "ew_a": a, "ew_b": b, "ew_o": o,
         "ew_beats": beats, "ew_tail": nbytes - (beats - 1) * bus,
         "act_min": q.act_min, "act_max": q.act_max}
    if isinstance(q, AddQ):
        f |= {"ew_ma": q.m_a, "ew_mb": q.m_b, "ew_shift": q.shift}
    return f


def build_program(design: Design, qnet: QuantizedNetwork, target: Target) -> Program:
    """The ops of every engine and the memory map (HwgenError for unsupported designs)."""
    check_supported(design)
    net, acc, bits = design.network, design.accelerator, design.precision
    if qnet.bits != bits:
        raise HwgenError(f"quantised weights are {qnet.bits}-bit but the design is {bits}-bit")
    nests = {}
    for conv, m in zip(net.convs, acc.mappings):
        nests[conv.name] = make_nest(conv, problem_of(conv), m, acc.chunks[m.chunk])
    mem = plan_memory(qnet, {n for n, nest in nests.items() if nest.psums_leave_gb()},
                      copies=len(acc.chunks) if acc.style == "pipeline" else 1)
    bus = bus_bytes_for(target)
    ebytes = bits // 8
    where = node_chunks(net, acc)
    fused = fused_acts(qnet)
    ops = []
    for node in net.nodes:
        if isinstance(node, Conv):
            q = qnet.nodes[node.name]
            ps = mem.regions.get(f"ps:{node.name}")
            addrs = ConvAddrs(mem.tensor(node.inputs[0]).addr,
                              mem.regions[f"w:{node.name}"].addr, mem.tensor(node.name).addr,
                              ps.addr if ps else 0, mem.regions[f"p:{node.name}"].addr,
                              ebytes, psum_bytes(bits))
            ops.append(Op(node.name, "conv", where[node.name],
                          conv_fields(nests[node.name], addrs, q.act_min, q.act_max),
                          nests[node.name]))
        elif isinstance(node, (Add, Act)) and node.name not in fused:
            kind = "add" if isinstance(node, Add) else "clamp"
            srcs = [mem.tensor(s).addr for s in node.inputs] + [0]
            nbytes = node.out_shape.elements * ebytes
            ops.append(Op(node.name, kind, where[node.name],
                          _ew_fields(kind, srcs[0], srcs[1], mem.tensor(node.name).addr,
                                     nbytes, bus, qnet.nodes[node.name])))
        elif isinstance(node, (Pool, GlobalAvgPool, Shuffle)):
            ops.append(Op(node.name, "plane", where[node.name],
                          plane_fields(node, mem.tensor(node.inputs[0]).addr,
                                       mem.tensor(node.name).addr, ebytes,
                                       qnet.nodes.get(node.name))))
    return Program(tuple(ops), mem, bus)


def hw_lanes(chunk: ChunkHW) -> tuple[dict, dict]:
    """(lane coordinates, lane of each PE) per tensor for one chunk."""
    lanes, pe_lane = {}, {}
    for t in "iwo":
        lanes[t], pe_lane[t] = lanes_of(chunk, t)
    return lanes, pe_lane
