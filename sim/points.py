"""Design points for RTL tests and the fidelity benchmark: fixed hardware per NoC, random
legal mappings of a layer onto it, and the cost model's best of many (what a search
converges to), all as ordinary designs (dna.design.make_design)."""
from __future__ import annotations

import random
from pathlib import Path

from dna.cost.model import evaluate
from dna.cost.target import Target
from dna.design import Design, make_design
from dna.quant.contract import QuantizedNetwork
from dna.space.gads.batch import encode, network_layers
from dna.space.gads.io import expand_mapping
from dna.space.gads.typed import (
    Accelerator,
    ChunkHW,
    LayerMapping,
    check_accelerator,
    problem_of,
    tile_extents,
    tile_words,
)
from dna.workload.ir import DIMS, Conv, Network, Shape
from dna.workload.zoo import NetBuilder
from hwgen import api


def chunk(noc: str, unroll: tuple[int, ...], gb: tuple[int, int, int],
          rf: tuple[int, int, int]) -> ChunkHW:
    """A chunk with declared buffer sizes (words per tensor: inputs, weights, outputs)."""
    return ChunkHW(noc, unroll, gb, rf)


# Fixed 64-PE-class hardware per NoC (buffers in words: inputs, weights, outputs), the
# fidelity benchmark's and its test's.
FIDELITY_HARDWARE = {
    "KYX": chunk("KYX", (4, 4, 4), (4096, 4096, 2048), (64, 64, 16)),
    "KCRS": chunk("KCRS", (8, 8, 1, 1), (4096, 4096, 2048), (64, 64, 16)),
    "KRX": chunk("KRX", (4, 3, 4), (4096, 4096, 2048), (64, 64, 16)),
}


def _fits(m: LayerMapping, conv: Conv, ch: ChunkHW) -> bool:
    ext = tile_extents(m, ch)
    p = problem_of(conv)
    return all(w <= c for lv, cap in (("gb", ch.gb_words), ("rf", ch.rf_words))
               for w, c in zip(tile_words(ext[lv], p), cap))


def random_mapping(conv: Conv, ch: ChunkHW, rng: random.Random, *, chunk_index: int = 0,
                   tries: int = 500) -> LayerMapping:
    """A random mapping of `conv` on `ch` whose tiles fit the chunk's buffers."""
    p = problem_of(conv)
    sp = dict(zip(DIMS, ch.spatial()))
    for _ in range(tries):
        rf = {d: rng.randint(1, p.bound(d)) if rng.random() < 0.6 else 1 for d in DIMS}
        gb = {d: rng.randint(1, max(1, -(-p.bound(d) // (sp[d] * rf[d])))) for d in DIMS}
        order = tuple("".join(rng.sample(DIMS, 7)) for _ in range(3))
        m = LayerMapping(conv.name, chunk_index, order, expand_mapping(p, ch, order, gb, rf))
        if _fits(m, conv, ch):
            return m
    raise ValueError(f"no random mapping of {conv.name} fits {ch}")


def random_design(net: Network, ch: ChunkHW, target: Target, bits: int, seed: int) -> Design:
    """Multi-cycle design: every conv of `net` on `ch` with a random mapping."""
    rng = random.Random(seed)
    maps = tuple(random_mapping(c, ch, rng) for c in net.convs)
    acc = Accelerator("multicycle", (ch,), maps)
    problems = check_accelerator(acc, net)
    if problems:
        raise ValueError("; ".join(problems))
    return make_design(net, acc, target, bits, provenance={"seed": seed, "kind": "random"})


def best_design(net: Network, ch: ChunkHW, target: Target, bits: int, seed: int,
                candidates: int = 300) -> Design:
    """Multi-cycle design: for every conv the cost model's fastest of `candidates` random
    mappings (evaluated in one batch), as a search on this fixed hardware would pick."""
    rng = random.Random(seed)
    pool = [[random_mapping(c, ch, rng) for _ in range(candidates)] for c in net.convs]
    accs = [Accelerator("multicycle", (ch,), tuple(col)) for col in zip(*pool)]
    lat = evaluate(network_layers(net), encode(accs), target, bits).latency_cycles  # (B, L)
    best = lat.argmin(0)
    maps = tuple(pool[i][int(best[i])] for i in range(len(net.convs)))
    acc = Accelerator("multicycle", (ch,), maps)
    return make_design(net, acc, target, bits, provenance={"seed": seed, "kind": "best",
                                                            "candidates": candidates})


def single_conv(name: str, c: int, hw: int, k: int, kernel: int, *, stride: int = 1,
                groups: int = 1, act: str | None = "relu") -> Network:
    """A one-conv network (padding keeps the map size at stride 1), optionally with a ReLU."""
    b = NetBuilder(Shape(1, c, hw, hw))
    b.conv(name, k, kernel, stride=stride, padding=kernel // 2, groups=groups)
    if act:
        b.act(f"{name}_{act}", act)
    return b.build(f"layer_{name}")


def fbnet_net(c: int = 8, hw: int = 16) -> Network:
    """A small FBNet-style network: stem, one k3_e2 block with its residual add, a head."""
    b = NetBuilder(Shape(1, 3, hw, hw))
    b.conv("stem", c, 3, stride=2, padding=1)
    b.act("stem_relu")
    b.conv("b1.pw", 2 * c, 1)
    b.act("b1.pw_relu")
    b.conv("b1.dw", 2 * c, 3, padding=1, groups=2 * c)
    b.act("b1.dw_relu", "relu6")
    b.conv("b1.pwl", c, 1)
    b.add("b1.add", "b1.pwl", "stem_relu")
    b.conv("head", 2 * c, 1)
    b.act("head_relu")
    return b.build("fbnet_tiny")


def emit_design(design: Design, target: Target, out: Path, *, seed: int = 0,
                qnet: QuantizedNetwork | None = None, backend: str | None = None) -> Path:
    """Emit `design` for `target` into `out` (replaced), with `qnet` or random quantised
    weights from `seed`; `backend` as `hwgen.api.emit` takes it."""
    return api.emit(design, out=out, target=target, weights=qnet, weights_seed=seed,
                    backend=backend).out_dir
