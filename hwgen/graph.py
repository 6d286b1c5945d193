"""The chunk-pipeline dataflow graph of a design: what the hardware backends build.

Nodes are the chunks (`c0`, `c1`, ...) plus the two ends `input` and `output`. A chunk runs
its layers in network order: its conv layers (from the accelerator's mappings) and every
non-conv node fused into it. A non-conv node (and the network input) belongs to the chunk
of its latest input, so every edge points forward; a multi-cycle design is one chunk.

Edges are streams: one per tensor that a chunk produces and a later chunk reads, with the
element width (the activation precision) and a FIFO depth. Engines move whole frames: a
chunk reads all its input tensors, computes, then writes its outputs. A tensor that skips
over chunks (a residual branch) waits in its FIFO while the long branch works, so its depth
holds one frame of the tensor per chunk on the longest other path: the producer can run as
many frames ahead as the long branch holds, and the branches cannot deadlock whatever order
the consumer reads its inputs in (tests/test_hls.py simulates both). Edges with no other
path get `HANDSHAKE_DEPTH`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from dna.cost import nodes
from dna.design import Design
from dna.errors import ProblemsError
from dna.space.gads.typed import TEMPORAL_LEVELS, TENSORS, Accelerator
from dna.workload.ir import DIMS, INPUT, Network

INPUT_NODE = "input"  # graph node feeding the network input into chunk 0
OUTPUT_NODE = "output"  # graph node taking the network output
HANDSHAKE_DEPTH = 2  # FIFO depth of a stream with no other path between its ends


class GraphError(ProblemsError):
    """A dataflow graph breaks a rule; `problems` lists every one."""


@dataclass(frozen=True)
class Stream:
    """One tensor carried between two graph nodes, a whole frame at a time."""

    tensor: str  # node name whose output it carries ("input": the network input)
    elements: int  # values per frame (the tensor's N*C*H*W)
    width_bits: int  # element width: the activation precision
    depth: int  # FIFO depth in elements


def chunk_id(index: int) -> str:
    """Graph node name of chunk `index`."""
    return f"c{index}"


def node_chunks(net: Network, acc: Accelerator) -> dict[str, int]:
    """Chunk of every node and of the network input (`dna.cost.nodes.node_chunks`)."""
    return nodes.node_chunks(net, {m.layer: m.chunk for m in acc.mappings})


def _mapping_attrs(acc: Accelerator, chunk: int) -> dict[str, dict]:
    return {m.layer: {"order": dict(zip(TEMPORAL_LEVELS, m.order)),
                      "factors": {lv: dict(zip(DIMS, f))
                                  for lv, f in zip(TEMPORAL_LEVELS, m.factors)}}
            for m in acc.mappings if m.chunk == chunk}


def build_graph(design: Design) -> nx.DiGraph:
    """The validated chunk graph of `design` (GraphError if it breaks a rule)."""
    net, acc, bits = design.network, design.accelerator, design.precision
    where = node_chunks(net, acc)
    g = nx.DiGraph(network=net.name, style=acc.style, precision=bits)
    g.add_node(INPUT_NODE, kind="io", shape=net.input_shape)
    for i, ch in enumerate(acc.chunks):
        g.add_node(chunk_id(i), kind="chunk", index=i,
                   layers=tuple(n.name for n in net.nodes if where[n.name] == i),
                   convs=tuple(m.layer for m in acc.mappings if m.chunk == i),
                   noc=ch.noc, unroll=ch.unroll, pes=ch.pes,
                   gb_words=dict(zip(TENSORS, ch.gb_words)),
                   rf_words=dict(zip(TENSORS, ch.rf_words)),
                   mappings=_mapping_attrs(acc, i))
    g.add_node(OUTPUT_NODE, kind="io", shape=net.output.out_shape)
    tensors: dict[tuple[str, str], list[str]] = {}
    for n in net.nodes:
        for src in n.inputs:
            a, b = chunk_id(where[src]), chunk_id(where[n.name])
            if a != b and src not in tensors.setdefault((a, b), []):
                tensors[(a, b)].append(src)
    size = {INPUT: net.input_shape.elements} | {n.name: n.out_shape.elements for n in net.nodes}
    g.add_edge(INPUT_NODE, chunk_id(0),
               streams=(Stream(INPUT, size[INPUT], bits, HANDSHAKE_DEPTH),))
    for (a, b) in sorted(tensors, key=lambda e: (int(e[0][1:]), int(e[1][1:]))):
        g.add_edge(a, b)
    for (a, b), names in tensors.items():
        frames = _frames_in_flight(g, a, b)
        g.edges[a, b]["streams"] = tuple(
            Stream(t, size[t], bits, max(HANDSHAKE_DEPTH, frames * size[t])) for t in names)
    out = net.output.name
    g.add_edge(chunk_id(where[out]), OUTPUT_NODE,
               streams=(Stream(out, size[out], bits, HANDSHAKE_DEPTH),))
    problems = check_graph(g, design)
    if problems:
        raise GraphError(problems)
    return g


def _frames_in_flight(g: nx.DiGraph, a: str, b: str) -> int:
    """Chunks on the longest path from `a` to `b` other than the edge a -> b itself (0 when
    there is none): the frames the skip stream a -> b must hold while they work."""
    longest = {a: 0}  # chunks strictly between a and the key, on the longest path
    best = 0
    order = [n for n in nx.topological_sort(g) if g.nodes[n]["kind"] == "chunk"]
    for n in order[order.index(a) + 1:]:
        preds = [p for p in g.predecessors(n) if p in longest and not (p == a and n == b)]
        if not preds:
            continue
        hops = max(longest[p] + (p != a) for p in preds)
        if n == b:
            best = hops
        else:
            longest[n] = hops
    return best


def check_graph(g: nx.DiGraph, design: Design) -> list[str]:
    """Every rule `g` breaks for `design`: acyclic, each node in exactly one chunk (convs
    where their mapping puts them), each cross-chunk tensor on a stream between the right
    chunks, stream widths equal to the precision, skip FIFOs deep enough."""
    net, acc, bits = design.network, design.accelerator, design.precision
    p: list[str] = []
    if not nx.is_directed_acyclic_graph(g):
        p.append(f"graph has a cycle: {nx.find_cycle(g)}")
        return p
    chunks = sorted((n for n, d in g.nodes(data=True) if d.get("kind") == "chunk"),
                    key=lambda n: g.nodes[n]["index"])
    if acc.style == "multicycle" and len(chunks) != 1:
        p.append(f"a multicycle design is one chunk, the graph has {len(chunks)}")
    owner: dict[str, str] = {}
    for c in chunks:
        for name in g.nodes[c]["layers"]:
            if name in owner:
                p.append(f"layer {name} is in both {owner[name]} and {c}")
            owner[name] = c
    p += [f"layer {n.name} is in no chunk" for n in net.nodes if n.name not in owner]
    for m in acc.mappings:
        if owner.get(m.layer) not in (None, chunk_id(m.chunk)):
            p.append(f"conv {m.layer} is in {owner[m.layer]} but mapped to chunk {m.chunk}")
    owner[INPUT] = chunk_id(0)
    carried: dict[tuple[str, str], dict[str, Stream]] = {
        (a, b): {s.tensor: s for s in d.get("streams", ())} for a, b, d in g.edges(data=True)}
    for n in net.nodes:
        for src in n.inputs:
            a, b = owner.get(src), owner.get(n.name)
            if a and b and a != b and src not in carried.get((a, b), {}):
                p.append(f"{n.name} in {b} reads {src} from {a} but no stream {a} -> {b} "
                         f"carries it")
    for (a, b), streams in carried.items():
        if not streams:
            p.append(f"edge {a} -> {b} carries no stream")
        for s in streams.values():
            if s.width_bits != bits:
                p.append(f"stream {a} -> {b} ({s.tensor}) is {s.width_bits} bits wide, the "
                         f"design's activations are {bits}")
            if a != INPUT_NODE and owner.get(s.tensor) != a:
                p.append(f"stream {a} -> {b} carries {s.tensor}, which {a} does not produce")
            if g.nodes[a]["kind"] == "chunk" and g.nodes[b]["kind"] == "chunk":
                need = max(HANDSHAKE_DEPTH, _frames_in_flight(g, a, b) * s.elements)
                if s.depth < need:
                    p.append(f"stream {a} -> {b} ({s.tensor}) has FIFO depth {s.depth} < "
                             f"{need}: its skip branch could deadlock")
    return p


# ---------------------------------------------------------------- export

def _chunk_label(d: dict) -> str:
    unroll = "x".join(str(u) for u in d["unroll"])
    return (f"chunk {d['index']}: {d['noc']} {unroll} ({d['pes']} PEs)\\n"
            + ", ".join(d["layers"]) + "\\n"
            + "GB " + "/".join(str(v) for v in d["gb_words"].values())
            + " RF " + "/".join(str(v) for v in d["rf_words"].values()) + " words (in/w/out)")


def _stream_label(streams: tuple[Stream, ...]) -> str:
    return "\\n".join(f"{s.tensor}: {s.elements} x {s.width_bits}b, depth {s.depth}"
                      for s in streams)


def to_dot(g: nx.DiGraph) -> str:
    """Graphviz DOT text of the graph (deterministic)."""
    lines = [f'digraph "{g.graph["network"]}" {{', "  rankdir=LR;",
             '  node [shape=box, fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    for n, d in g.nodes(data=True):
        if d["kind"] == "io":
            s = d["shape"]
            lines.append(f'  "{n}" [shape=ellipse, label="{n}\\n{s.n}x{s.c}x{s.h}x{s.w}"];')
        else:
            lines.append(f'  "{n}" [label="{_chunk_label(d)}"];')
    for a, b, d in g.edges(data=True):
        lines.append(f'  "{a}" -> "{b}" [label="{_stream_label(d["streams"])}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(g: nx.DiGraph, path: str | Path) -> None:
    """Draw the graph with matplotlib (PNG, SVG or PDF by the suffix of `path`): nodes top
    to bottom in pipeline order, streams between neighbours straight down, skip streams as
    arcs on the right."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = list(nx.topological_sort(g))
    step, bulge = 2.0, 5.0  # node spacing; sideways reach of a skip arc's control point
    pos = {n: (0.0, -step * i) for i, n in enumerate(order)}
    fig, ax = plt.subplots(figsize=(9.0, 1.0 + 1.05 * len(order)))
    for a, b, d in g.edges(data=True):
        span = order.index(b) - order.index(a)
        ax.annotate("", xy=pos[b], xytext=pos[a], arrowprops={
            "arrowstyle": "-|>", "color": "0.3", "shrinkA": 24, "shrinkB": 24,
            "connectionstyle": f"arc3,rad={-bulge * (span - 1) / (step * span):.3f}"})
        label = _stream_label(d["streams"]).replace("\\n", "\n")
        y = (pos[a][1] + pos[b][1]) / 2
        x = 0.15 if span == 1 else bulge / 2 + 0.15
        ax.text(x, y, label, ha="left", va="center", fontsize=6.5, color="0.25")
    for n, d in g.nodes(data=True):
        text = n if d["kind"] == "io" else _chunk_label(d).replace("\\n", "\n")
        ax.text(*pos[n], text, ha="center", va="center", fontsize=7,
                bbox={"boxstyle": "round,pad=0.4", "ec": "0.3",
                      "fc": "#dde8f5" if d["kind"] == "chunk" else "#eeeeee"})
    ax.set_xlim(-3.5, 5.0)
    ax.set_ylim(-step * (len(order) - 1) - 0.8, 0.8)
    ax.set_axis_off()
    ax.set_title(f"{g.graph['network']}: {g.graph['style']}, {g.graph['precision']}-bit",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
