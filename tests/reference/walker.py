"""Brute-force loop-nest walker: the ground truth the analytical cost model must equal.

It executes the dram and gb temporal loops one iteration at a time in the mapping's loop
order, keeps the coordinates of the tile each buffer holds, counts a fetch whenever they
change, and measures every tile by enumerating the actual elements it covers (per PE and
their union over the array). Partial sums are re-read only for output tiles visited
before. Nothing here shares code with dna/cost.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

DIMS = "NKCYXRS"
REL = {"inputs": "NCYXRS", "weights": "KCRS", "outputs": "NKYX"}
TENSORS = ("inputs", "weights", "outputs")


@dataclass
class WalkCounts:
    """Word counts for one run of a layer's nest, keyed by tensor."""

    compute_cycles: int = 0
    dram_read: dict = field(default_factory=lambda: dict.fromkeys(TENSORS, 0))
    dram_write_outputs: int = 0
    dram_final_write: int = 0
    gb_read: dict = field(default_factory=lambda: dict.fromkeys(TENSORS, 0))
    gb_write_outputs: int = 0
    rf_fill: dict = field(default_factory=lambda: dict.fromkeys(TENSORS, 0))
    rf_drain: int = 0


def _elements(tensor: str, lo: dict, ext: dict, stride: int, follow_k: bool) -> set:
    """Every element index of `tensor` that the iteration box [lo, lo+ext) touches."""
    rng = {d: range(lo[d], lo[d] + ext[d]) for d in DIMS}
    if tensor == "weights":
        return set(itertools.product(rng["K"], rng["C"], rng["R"], rng["S"]))
    if tensor == "outputs":
        return set(itertools.product(rng["N"], rng["K"], rng["Y"], rng["X"]))
    chans = rng["K"] if follow_k else rng["C"]
    rows = {y * stride + r for y in rng["Y"] for r in rng["R"]}
    cols = {x * stride + s for x in rng["X"] for s in rng["S"]}
    return set(itertools.product(rng["N"], chans, rows, cols))


def walk(stride: int, follow_k: bool, factors: dict, spatial: dict, order: dict) -> WalkCounts:
    """Walk the nest. `factors[level][dim]` for level in dram/gb/rf, `spatial[dim]`,
    `order[level]` a string of dims outer -> inner."""
    rel = {t: set(REL[t]) | ({"K"} if t == "inputs" and follow_k else set()) for t in TENSORS}
    rf_ext = {d: factors["rf"][d] for d in DIMS}
    arr_ext = {d: spatial[d] * rf_ext[d] for d in DIMS}
    gb_ext = {d: factors["gb"][d] * arr_ext[d] for d in DIMS}
    loops = [("dram", d) for d in order["dram"]] + [("gb", d) for d in order["gb"]]
    rf_iters = 1
    for d in DIMS:
        rf_iters *= factors["rf"][d]
    pes = list(itertools.product(*(range(spatial[d]) for d in DIMS)))

    out = WalkCounts()
    held_gb: dict = dict.fromkeys(TENSORS)
    held_rf: dict = dict.fromkeys(TENSORS)
    seen_gb, seen_rf = set(), set()

    for idx in itertools.product(*(range(factors[lv][d]) for lv, d in loops)):
        pos = {lv: {} for lv in ("dram", "gb")}
        for (lv, d), i in zip(loops, idx):
            pos[lv][d] = i
        gb_lo = {d: pos["dram"][d] * gb_ext[d] for d in DIMS}
        arr_lo = {d: gb_lo[d] + pos["gb"][d] * arr_ext[d] for d in DIMS}
        for t in TENSORS:
            coord_gb = tuple((d, pos["dram"][d]) for d in DIMS if d in rel[t])
            if coord_gb != held_gb[t]:
                held_gb[t] = coord_gb
                words = len(_elements(t, gb_lo, gb_ext, stride, follow_k))
                if t != "outputs":
                    out.dram_read[t] += words
                else:
                    if coord_gb in seen_gb:
                        out.dram_read[t] += words
                    seen_gb.add(coord_gb)
                    out.dram_write_outputs += words
            coord_rf = coord_gb + tuple((d, pos["gb"][d]) for d in DIMS if d in rel[t])
            if coord_rf != held_rf[t]:
                held_rf[t] = coord_rf
                unique = len(_elements(t, arr_lo, arr_ext, stride, follow_k))
                per_pe = 0
                for pe in pes:
                    lo = {d: arr_lo[d] + pe[i] * rf_ext[d] for i, d in enumerate(DIMS)}
                    per_pe += len(_elements(t, lo, rf_ext, stride, follow_k))
                if t != "outputs":
                    out.gb_read[t] += unique
                    out.rf_fill[t] += per_pe
                else:
                    if coord_rf in seen_rf:
                        out.gb_read[t] += unique
                        out.rf_fill[t] += per_pe
                    seen_rf.add(coord_rf)
                    out.gb_write_outputs += unique
                    out.rf_drain += per_pe
        out.compute_cycles += rf_iters
    # An output GB tile is final on its last visit: count distinct tiles x tile words.
    out.dram_final_write = len(seen_gb) * len(_elements("outputs", {d: 0 for d in DIMS},
                                                        gb_ext, stride, follow_k))
    return out
