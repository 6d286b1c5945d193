"""Brute-force loop-nest walker: the ground truth the analytical cost model must equal.

It executes the dram and gb temporal loops one iteration at a time in the mapping's loop
order, keeps the coordinates of the tile each buffer holds, counts a fetch whenever they
change, and measures every tile by enumerating the actual elements it covers (per PE and
their union over the array). Partial sums are re-read only for output tiles visited
before. DRAM moves only the elements inside the layer's tensors, as the generated RTL's
DMA does: input rows and columns in the padding or past the input, and the parts of
tiles past a layer bound, are zero-filled in the GB (reads) or skipped (writes); the GB,
the array and the RFs still see whole tiles. Nothing here shares code with dna/cost.
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
    # DRAM runs (contiguous stretches of one GB tile) that move any word, over all
    # transfers (inputs, weights: reads; outputs: write-backs), and runs of one GB tile
    dram_runs: dict = field(default_factory=lambda: dict.fromkeys(TENSORS, 0))
    tile_runs: dict = field(default_factory=lambda: dict.fromkeys(TENSORS, 0))
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


def _runs(tensor: str, lo: dict, ext: dict, stride: int, follow_k: bool,
          bounds: dict) -> dict:
    """The GB tile [lo, lo+ext) of `tensor` as DRAM runs: {run key: its elements}.
    Layouts NCHW and (K, C, R, S): inputs one run per stored row, or per window when the
    column windows leave gaps (stride > S extent, more than one window); weights one per
    (k, c, r), dims from S outwards that the tile covers whole merge into the run;
    outputs one per (n, k, y), or per (n, k) when the tile covers whole rows."""
    rng = {d: range(lo[d], lo[d] + ext[d]) for d in DIMS}
    runs: dict = {}
    if tensor == "inputs":
        gaps = ext["X"] > 1 and stride > ext["S"]
        for n, ch, y, r, x, s in itertools.product(
                rng["N"], rng["K"] if follow_k else rng["C"], rng["Y"], rng["R"], rng["X"],
                rng["S"]):
            key = (n, ch, y * stride + r) + ((x,) if gaps else ())
            runs.setdefault(key, set()).add((n, ch, y * stride + r, x * stride + s))
    elif tensor == "weights":
        merged = 0
        while merged < 3 and all(ext[d] == bounds[d] for d in "SRC"[:merged + 1]):
            merged += 1
        for e in itertools.product(rng["K"], rng["C"], rng["R"], rng["S"]):
            runs.setdefault(e[:3 - merged], set()).add(e)
    else:
        whole_rows = ext["X"] == bounds["X"]
        for e in itertools.product(rng["N"], rng["K"], rng["Y"], rng["X"]):
            runs.setdefault(e[:2] if whole_rows else e[:3], set()).add(e)
    return runs


def _inside(tensor: str, e: tuple, follow_k: bool, bounds: dict, padding: int,
            in_hw: tuple[int, int]) -> bool:
    """Is element `e` (as `_elements` writes it; input rows and columns count the padding)
    inside the layer's tensor in DRAM?"""
    if tensor == "weights":
        return all(v < bounds[d] for v, d in zip(e, "KCRS"))
    if tensor == "outputs":
        return all(v < bounds[d] for v, d in zip(e, "NKYX"))
    n, ch, row, col = e
    return (n < bounds["N"] and ch < bounds["K" if follow_k else "C"]
            and 0 <= row - padding < in_hw[0] and 0 <= col - padding < in_hw[1])


def walk(stride: int, follow_k: bool, factors: dict, spatial: dict, order: dict,
         bounds: dict, padding: int = 0, in_hw: tuple[int, int] | None = None) -> WalkCounts:
    """Walk the nest. `factors[level][dim]` for level in dram/gb/rf, `spatial[dim]`,
    `order[level]` a string of dims outer -> inner, `bounds[dim]` the layer's, `padding`
    and `in_hw` (input rows, cols; None: what the windows reach) the input's."""
    if in_hw is None:
        in_hw = ((bounds["Y"] - 1) * stride + bounds["R"] - 2 * padding,
                 (bounds["X"] - 1) * stride + bounds["S"] - 2 * padding)
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
    seen_gb, seen_rf = {}, set()  # seen_gb: output GB tile -> words it writes to DRAM

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
                runs = _runs(t, gb_lo, gb_ext, stride, follow_k, bounds)
                inside = [sum(_inside(t, e, follow_k, bounds, padding, in_hw) for e in run)
                          for run in runs.values()]
                words = sum(inside)
                out.tile_runs[t] = len(runs)
                out.dram_runs[t] += sum(w > 0 for w in inside)
                if t != "outputs":
                    out.dram_read[t] += words
                else:
                    if coord_gb in seen_gb:
                        out.dram_read[t] += words
                    seen_gb[coord_gb] = words
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
    # An output GB tile is final on its last visit: its words, once per distinct tile.
    out.dram_final_write = sum(seen_gb.values())
    return out
