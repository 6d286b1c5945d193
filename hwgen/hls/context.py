"""The HLS backend's template context: every decision and number the templates print.

Per chunk: its feature-map memory layout (stream inputs, then every tensor it produces),
its DRAM weight image, its buffers (sizes from the design, GB banks from the cost model's
words-per-cycle rule) and its engine program (read streams, run nodes, write streams).
Per conv layer: a configuration struct and the loop nest (`hwgen.hls.loops` over the
lowering of `hwgen.nest`).
Per non-conv node: a configuration struct for its template in dna_ops.h.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import networkx as nx
import torch

from dna.cost.model import gb_banks, layer_accesses
from dna.cost.target import BRAM18K_BITS, Target
from dna.design import Design
from dna.quant.contract import ConvQ, QuantizedNetwork, acc_bits, fused_acts, qmax, qmin
from dna.space.gads.batch import encode, network_layers
from dna.space.gads.typed import NOCS, TENSORS, problem_of, tile_extents, tile_words
from dna.workload.ir import (
    DIMS,
    INPUT,
    Act,
    Add,
    Conv,
    GlobalAvgPool,
    Pool,
    Shuffle,
)
from hwgen.errors import HwgenError
from hwgen.graph import INPUT_NODE, OUTPUT_NODE, chunk_id, node_chunks
from hwgen.hls.loops import loop_nest
from hwgen.nest import Nest, input_layout, make_nest

FIELDS_PER_LINE = 7  # declarations per line of a generated configuration struct


@dataclass(frozen=True)
class Placement:
    """Where a tensor lives: in chunk `chunk`'s feature-map memory at `offset`."""

    chunk: int
    offset: int  # elements from the start of the chunk's feature-map memory
    elements: int


def c_ident(names: list[str]) -> dict[str, str]:
    """A unique C identifier fragment for every name (dots and dashes become _)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = re.sub(r"\W", "_", name)
        base = base if re.match(r"[A-Za-z]", base) else f"n{base}"
        ident, i = base, 2
        while ident in used:
            ident, i = f"{base}_{i}", i + 1
        used.add(ident)
        out[name] = ident
    return out


def _fields(*groups: tuple[str, list[tuple[str, object]]]) -> list[dict]:
    """Struct fields for the templates, by comment group, up to FIELDS_PER_LINE
    declarations of one C type per line: [{comment, lines: [{ctype, decls}]}]."""
    out = []
    for comment, items in groups:
        lines: list[dict] = []
        for name, value in items:
            ctype = "bool" if isinstance(value, bool) else (
                "long" if name.endswith(("_OFF", "SIZE")) else "int")
            text = f"{name} = {str(value).lower() if isinstance(value, bool) else value}"
            if lines and lines[-1]["ctype"] == ctype and len(lines[-1]["decls"]) < FIELDS_PER_LINE:
                lines[-1]["decls"].append(text)
            else:
                lines.append({"ctype": ctype, "decls": [text]})
        out.append({"comment": comment, "lines": lines})
    return out


def _banks(design: Design) -> list[list[int]]:
    """GB banks per chunk and tensor: the cost model's rule (`dna.cost.model.gb_banks`),
    at most one bank per word of the buffer."""
    acc = design.accelerator
    a = layer_accesses(network_layers(design.network), encode([acc]))
    chunk = torch.tensor([[m.chunk for m in acc.mappings]])
    banks = gb_banks(a, chunk, len(acc.chunks))[0].tolist()  # (H, 3)
    return [[min(int(b), w) for b, w in zip(bk, ch.gb_words)]
            for bk, ch in zip(banks, acc.chunks)]


def _layer_fields(nest: Nest, place: dict[str, Placement], w_off: int,
                  q: ConvQ) -> list[dict]:
    conv, p, st = nest.conv, nest.prob, nest.stride
    g, a, f = ({d: nest.ext(lv, d) for d in DIMS} for lv in ("gb", "arr", "rf"))

    def band(level: str, prefix: str) -> list[tuple[str, int]]:
        lay = input_layout(nest, level)
        row_step, col_step = lay.periods
        return [(f"{prefix}_CH", lay.ch), (f"{prefix}_ROWS", lay.rows),
                (f"{prefix}_COLS", lay.cols), (f"{prefix}_ROW_STEP", row_step),
                (f"{prefix}_COL_STEP", col_step)]

    return _fields(
        ("loop bounds of one group's nest; groups run in turn", [
            *zip(DIMS, p.bounds), ("GROUPS", p.repeat), ("DW", p.inputs_follow_k),
            ("STRIDE", st), ("PAD", conv.padding)]),
        (("input and output tensors (all groups), offsets in the feature-map memory and the "
          "weight image"), [
            ("IN_C", conv.in_shape.c), ("IN_H", conv.in_shape.h), ("IN_W", conv.in_shape.w),
            ("OUT_C", conv.k), ("IN_OFF", place[conv.inputs[0]].offset),
            ("OUT_OFF", place[conv.name].offset), ("W_OFF", w_off),
            ("ACT_MIN", q.act_min), ("ACT_MAX", q.act_max)]),
        ("GB tile: one DRAM step", [(f"G{d}", g[d]) for d in DIMS] + band("gb", "G")),
        ("array tile: one GB step, all PEs", [(f"A{d}", a[d]) for d in DIMS]),
        ("RF tile: one PE", [(f"F{d}", f[d]) for d in DIMS] + band("rf", "F")),
    )


def _chunk_fields(chunk, gb: tuple, rf: tuple) -> list[dict]:
    dims = NOCS[chunk.noc]
    count = dict(zip(dims, chunk.unroll))
    radix, stride = {}, 1
    for d in reversed(dims):
        radix[d], stride = stride, stride * count[d]
    return _fields(
        (f"{chunk.noc} NoC, {'x'.join(map(str, chunk.unroll))} PEs", [("PES", chunk.pes)]),
        ("PEs along each dim", [(f"P_{d}", count.get(d, 1)) for d in DIMS]),
        ("stride of each dim in the PE index (mixed radix over the NoC dims)",
         [(f"Q_{d}", radix.get(d, 1)) for d in DIMS]),
        ("buffer words: GB (one per chunk), RF (one per PE); inputs, weights, outputs",
         [("GB_IN", gb[0]), ("GB_W", gb[1]), ("GB_OUT", gb[2]),
          ("RF_IN", rf[0]), ("RF_W", rf[1]), ("RF_OUT", rf[2])]))


def _node_fields(node, q, place: dict[str, Placement], bits: int) -> tuple[str, list[dict]]:
    """(template function, struct fields) of a non-conv node."""
    s, out = node.in_shape, node.out_shape
    io = [("IN_OFF", place[node.inputs[0]].offset), ("OUT_OFF", place[node.name].offset)]
    rails = [("QMIN", qmin(bits)), ("QMAX", qmax(bits))]
    if isinstance(node, Act):
        return "act_clamp", _fields(("clamp", io + [("SIZE", s.elements), ("LO", q.act_min),
                                                    ("HI", q.act_max)]))
    if isinstance(node, Add):
        return "add_requant", _fields(("a * MA + b * MB, then round_shift and clamp", [
            ("A_OFF", place[node.inputs[0]].offset), ("B_OFF", place[node.inputs[1]].offset),
            ("OUT_OFF", place[node.name].offset), ("SIZE", s.elements), ("MA", q.m_a),
            ("MB", q.m_b), ("SHIFT", q.shift), ("LO", q.act_min), ("HI", q.act_max)]))
    if isinstance(node, Shuffle):
        return "channel_shuffle", _fields(("channel shuffle", io + [
            ("N", s.n), ("C", s.c), ("HW", s.h * s.w), ("G", node.groups)]))
    if isinstance(node, Pool):
        is_max = node.fn == "max"
        return "pool", _fields((f"{node.fn} pool", io + [
            ("N", s.n), ("C", s.c), ("H", s.h), ("W", s.w), ("OH", out.h), ("OW", out.w),
            ("WINDOW", node.size), ("STRIDE", node.stride), ("PAD", node.padding),
            ("MAX", is_max), ("MULT", 0 if is_max else q.multiplier),
            ("SHIFT", 0 if is_max else q.shift)] + rails))
    if isinstance(node, GlobalAvgPool):
        return "global_avg_pool", _fields(("global average pool", io + [
            ("N", s.n), ("C", s.c), ("HW", s.h * s.w), ("MULT", q.multiplier),
            ("SHIFT", q.shift)] + rails))
    raise HwgenError(f"{node.name}: the HLS backend cannot build a {type(node).__name__} node")


def _check_fits(design: Design, target: Target) -> None:
    """Refuse a layer whose GB tile of some tensor needs more bits than all of the target's
    block RAM: no partitioning can build that buffer on this device."""
    net, acc = design.network, design.accelerator
    widths = (design.precision, design.precision, acc_bits(design.precision))
    capacity = target.bram18k * BRAM18K_BITS
    for conv, m in zip(net.convs, acc.mappings):
        ext = tile_extents(m, acc.chunks[m.chunk])
        for t, words, bits in zip(TENSORS, tile_words(ext["gb"], problem_of(conv)), widths):
            if words * bits > capacity:
                raise HwgenError(
                    f"layer {conv.name}: its GB tile of {t} is {words} words x {bits} bits = "
                    f"{words * bits / 2**20:.1f} Mib, more than all the block RAM of "
                    f"{target.name} ({capacity / 2**20:.1f} Mib); lower its gb tile factors")


@dataclass(frozen=True)
class _Whole:
    """What every chunk's context needs to know about the whole design."""

    design: Design
    qnet: QuantizedNetwork
    graph: nx.DiGraph
    where: dict[str, int]  # node (and "input") -> chunk
    fused: dict[str, str]  # Act computed by its producer's clamp -> producer
    ident: dict[str, str]  # node (and "input") -> C identifier fragment
    shapes: dict[str, object]  # node (and "input") -> output Shape, in network order


def build_context(design: Design, target: Target, qnet: QuantizedNetwork,
                  graph: nx.DiGraph) -> dict:
    """Everything the HLS templates need, for `design` on `target` with weights `qnet`."""
    net, acc, bits = design.network, design.accelerator, design.precision
    if qnet.bits != bits:
        raise HwgenError(f"the weights are {qnet.bits}-bit but the design is {bits}-bit")
    _check_fits(design, target)
    whole = _Whole(design, qnet, graph, node_chunks(net, acc), fused_acts(qnet),
                   c_ident([INPUT] + [n.name for n in net.nodes]),
                   {INPUT: net.input_shape} | {n.name: n.out_shape for n in net.nodes})
    place: dict[str, Placement] = {}  # the producer's copy of every tensor
    chunks = []
    for ci, banks in enumerate(_banks(design)):
        chunk, local = _chunk_context(whole, ci, banks)
        chunks.append(chunk)
        place |= {name: pl for name, pl in local.items() if whole.where[name] == ci}
    ident = whole.ident
    streams = [{"var": f"s_{ident[s.tensor]}_{a}_{b}", "depth": s.depth, "tensor": s.tensor,
                "src": a, "dst": b, "elements": s.elements}
               for a, b, d in graph.edges(data=True)
               if INPUT_NODE != a and b != OUTPUT_NODE for s in d["streams"]]
    return {"bits": bits, "acc_bits": acc_bits(bits), "network": net.name,
            "chunks": chunks, "streams": streams, "place": place, "fused": whole.fused,
            "input_size": net.input_shape.elements, "output": net.output.name,
            "output_size": net.output.out_shape.elements}


def _chunk_context(w: _Whole, ci: int, banks: list[int]) -> tuple[dict, dict[str, Placement]]:
    """Chunk `ci`'s context, and where each tensor it holds lies in its feature-map memory:
    first the tensors its input streams bring, then every tensor it makes."""
    net, hw, graph = w.design.network, w.design.accelerator.chunks[ci], w.graph
    cid = chunk_id(ci)
    local: dict[str, Placement] = {}

    def put(name: str) -> None:
        size = sum(pl.elements for pl in set(local.values()))
        local[name] = Placement(ci, size, w.shapes[name].elements)

    ins = []
    for a, _, d in sorted(graph.in_edges(cid, data=True), key=lambda e: _rank(graph, e[0])):
        for s in d["streams"]:
            put(s.tensor)
            ins.append({"var": "in" if a == INPUT_NODE else f"s_{w.ident[s.tensor]}_{a}_{cid}",
                        "offset": local[s.tensor].offset, "size": local[s.tensor].elements})
    ops, w_off, psum_words, params = [], 0, 0, []
    for node in (n for n in net.nodes if w.where[n.name] == ci):
        if node.name in w.fused:
            local[node.name] = local[w.fused[node.name]]
            ops.append({"kind": "fused", "name": node.name, "into": w.fused[node.name]})
            continue
        put(node.name)
        q, name = w.qnet.nodes.get(node.name), w.ident[node.name]
        if isinstance(node, Conv):
            ops.append(_conv_op(w, node, ci, local, w_off))
            psum_words = max(psum_words, node.out_shape.elements if ops[-1]["psum"] else 0)
            params.append(_conv_params(node, q, name, w.design.precision))
            w_off += node.weight_count
        else:
            fn, fields = _node_fields(node, q, local, w.design.precision)
            ops.append({"kind": "node", "name": node.name, "cfg": f"{name}_cfg", "fn": fn,
                        "unit": f"{node.fn}_pool" if isinstance(node, Pool) else fn,
                        "fields": fields, "title": f"{node.name}: {type(node).__name__}"})
    outs = []
    edges = sorted(graph.out_edges(cid, data=True), key=lambda e: _rank(graph, e[1]))
    for t in (t for t in w.shapes if any(s.tensor == t for *_, d in edges for s in d["streams"])):
        outs.append({"tensor": t, "ident": w.ident[t], "offset": local[t].offset,
                     "size": local[t].elements,
                     "vars": ["out" if b == OUTPUT_NODE else f"s_{w.ident[t]}_{cid}_{b}"
                              for _, b, d in edges if t in {s.tensor for s in d["streams"]}]})
    fmap_words = sum(pl.elements for pl in set(local.values()))
    return {
        "id": cid, "index": ci, "cfg": f"{cid}_cfg", "noc": hw.noc,
        "unroll": "x".join(map(str, hw.unroll)), "pes": hw.pes,
        "fields": _chunk_fields(hw, hw.gb_words, hw.rf_words),
        "gb": dict(zip(TENSORS, hw.gb_words)), "rf": dict(zip(TENSORS, hw.rf_words)),
        "banks": dict(zip(TENSORS, banks)), "fmap_words": max(fmap_words, 1),
        "wgt_words": max(w_off, 1), "psum_words": psum_words, "ins": ins, "ops": ops,
        "outs": outs, "params": params,
        "layers": [n.name for n in net.nodes if w.where[n.name] == ci]}, local


def _conv_op(w: _Whole, conv: Conv, ci: int, place: dict[str, Placement], w_off: int) -> dict:
    """The engine-program entry of a conv on chunk `ci`: its loop nest and config struct."""
    m = next(m for m in w.design.accelerator.mappings if m.layer == conv.name)
    nest = make_nest(conv, problem_of(conv), m, w.design.accelerator.chunks[ci])
    name, comment = w.ident[conv.name], _layer_comment(conv, m)
    loops = loop_nest(nest, name, chunk_id(ci))
    return {"kind": "conv", "name": conv.name, "cfg": f"{name}_cfg", "nest": loops,
            "fn": f"{name}_run", "psum": loops["psum"], "comment": comment,
            "title": comment[0],
            "fields": _layer_fields(nest, place, w_off, w.qnet.nodes[conv.name])}


def _rank(graph: nx.DiGraph, node: str) -> int:
    """Pipeline position of a graph node: input first, then the chunks, output last."""
    return {INPUT_NODE: -1, OUTPUT_NODE: len(graph)}.get(node, graph.nodes[node].get("index", 0))


def _conv_params(conv: Conv, q: ConvQ, ident: str, bits: int) -> dict:
    """Bias, multiplier and shift arrays of a conv (per-tensor values repeated per channel)."""
    def per_channel(a) -> list[int]:
        return [int(v) for v in (list(a) * conv.k if len(a) == 1 else a)]
    suffix = "LL" if bits == 16 else ""
    return {"ident": ident, "k": conv.k, "bias": [f"{int(b)}{suffix}" for b in q.bias],
            "mult": per_channel(q.multiplier), "shift": per_channel(q.shift)}


def _layer_comment(conv: Conv, m) -> list[str]:
    p = problem_of(conv)
    bounds = " ".join(f"{d}{b}" for d, b in zip(DIMS, p.bounds))
    lines = [f"{conv.name}: {bounds}, stride {conv.stride}, pad {conv.padding}"
             + (f", {p.repeat} groups in turn" if p.repeat > 1 else "")
             + (", depthwise" if p.inputs_follow_k else "")]
    for lv, order, f in zip(("dram", "gb", "rf"), m.order, m.factors):
        lines.append(f"{lv:<4} order {order}, factors "
                     + " ".join(f"{d}{f[DIMS.index(d)]}" for d in order))
    return lines
