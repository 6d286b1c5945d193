"""FROZEN copy of tests/reference/scalar.py (the scalar twin) as it was before issue #16.

Used only by benchmarks/cost_model.py, which times it against the current twin in the
same run and checks equal results. Not part of the package or the tests; do not edit it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from dna.cost.model import DRAM_BURST_BYTES, dram_latency_cycles
from dna.cost.target import Target
from dna.quant.contract import acc_bits
from dna.space.gads.typed import (
    RELEVANT,
    TENSORS,
    Problem,
    tile_words,
    window_band,
    window_rows,
)
from dna.workload.ir import DIMS

_REL = tuple(frozenset(DIMS.index(d) for d in RELEVANT[t]) for t in TENSORS)  # dim indices
_K = DIMS.index("K")


@dataclass(frozen=True)
class LayerCost:
    """Cost-model figures of one layer (all group repeats included)."""

    compute_cycles: float
    dram_cycles: float
    gb_cycles: float
    latency_cycles: float
    dram_bytes: float
    energy_pj: float


def _runs(ext, bounds, stride: int, follow_k: bool) -> tuple[float, float, float]:
    """Contiguous DRAM runs of a GB tile (model.dram_runs)."""
    n, k, c, y, x, r, s = ext
    _, _, bc, _, bx, br, bs = bounds
    rows = window_rows(y, r, stride)
    runs_i = n * (k if follow_k else c) * rows * (x if not window_band(x, s, stride) else 1)
    runs_w = (k * c * r if s != bs else k * c if r != br else k if c != bc else 1)
    runs_o = n * k * (1 if x == bx else y)
    return runs_i, runs_w, runs_o


def _dram_timing(f_g, f_r, compute, distinct_g, gb_tile, rf_tile, runs, target: Target,
                 bits: int, rep: int) -> tuple[float, float]:
    """(steady DRAM cycles over all `rep` runs, fill + drain cycles) (model.dram_timing)."""
    bpc = target.dram_bytes_per_cycle
    lat = dram_latency_cycles(target.clock_mhz)

    def xfer(words: float, width: float, t: int) -> float:
        burst_bytes = words * width / 8 + runs[t] * (DRAM_BURST_BYTES - width / 8)
        return max(burst_bytes / bpc, runs[t])

    t_in = [xfer(gb_tile[t], bits, t) for t in (0, 1)]
    t_fin = xfer(gb_tile[2], bits, 2)
    t_ps = xfer(gb_tile[2], acc_bits(bits), 2)
    f_in = [f_g[t] * rep for t in (0, 1)]
    revisits = (f_g[2] - distinct_g) * rep
    evict = (distinct_g * rep - 1) * t_fin + revisits * t_ps
    bus = (f_in[0] - 1) * t_in[0] + (f_in[1] - 1) * t_in[1] + evict + revisits * t_ps
    visit_c = [compute / f for f in f_g]  # compute per GB visit
    rel = [max(visit_c[t] - 2 * compute / f_r[t] + rf_tile[t], 0.0) for t in (0, 1)]
    ready = [rel[t] + lat + t_in[t] for t in (0, 1)]  # data in, after the visit starts
    if f_g[0] == f_g[1]:  # changing visit together: the later waits for the earlier's data
        first, later = (1, 0) if rel[1] <= rel[0] else (0, 1)
        ready[later] = lat + max(rel[later], rel[first] + t_in[first]) + t_in[later]
    visit = [(f_in[t] - 1) * max(visit_c[t], (ready[t] + rf_tile[t]) / 2) for t in (0, 1)]
    t_o, f_o = visit_c[2], rf_tile[2]
    outs = (revisits * max(t_o, (t_o + 2 * f_o + 2 * t_ps + 2 * lat) / 2)
            + (distinct_g * rep - 1) * max(t_o, (t_o + f_o + t_fin) / 2))
    comp, burst = compute * rep, [0.0, 0.0]  # saturated bus: long transfers stall the MACs
    for t, o in ((0, 1), (1, 0)):
        cushion = min((visit_c[u] for u in (o, 2) if f_g[u] > f_g[t]), default=math.inf)
        if bus >= comp:
            burst[t] = comp + (f_in[t] - 1) * max(t_in[t] - cushion, 0.0)
    steady = max(bus, visit[0], visit[1], outs, *burst)
    fill = lat + t_in[0] + t_in[1] + max(rf_tile[0], rf_tile[1])
    return steady, fill + rf_tile[2] + t_fin + lat


def _fetches(loops: list[tuple[int, int]], rel: set[int]) -> int:
    """loops: (dim index, bound) outer -> inner; product down to the innermost relevant."""
    count, last = 1, 1
    for d, b in loops:
        count *= b
        if b > 1 and d in rel:
            last = count
    return last


def layer_cost(p: Problem, factors: tuple[tuple[int, ...], ...], spatial: tuple[int, ...],
               order: tuple[str, str, str], target: Target, bits: int) -> LayerCost:
    """Latency and energy of layer `p` under one mapping (docs/cost_model.md)."""
    f_dram, f_gb, f_rf = factors
    rel = (_REL[0] | {_K}, _REL[1], _REL[2]) if p.inputs_follow_k else _REL
    idx = {d: i for i, d in enumerate(DIMS)}
    dram_loops = [(idx[d], f_dram[idx[d]]) for d in order[0]]
    gb_loops = [(idx[d], f_gb[idx[d]]) for d in order[1]]
    f_g = [_fetches(dram_loops, r) for r in rel]
    f_r = [_fetches(dram_loops + gb_loops, r) for r in rel]
    arr_ext = [a * b for a, b in zip(spatial, f_rf)]
    gb_ext = [a * b for a, b in zip(f_gb, arr_ext)]
    gb_tile = tile_words(gb_ext, p)
    arr_tile = tile_words(arr_ext, p)
    rf_tile = tile_words(f_rf, p)
    distinct_g = math.prod(f_dram[i] for i in _REL[2])
    distinct_r = math.prod(f_dram[i] * f_gb[i] for i in _REL[2])
    pes = math.prod(spatial)
    abits = acc_bits(bits)

    dram_rd = [f_g[0] * gb_tile[0], f_g[1] * gb_tile[1], (f_g[2] - distinct_g) * gb_tile[2]]
    dram_wr = f_g[2] * gb_tile[2]
    final = distinct_g * gb_tile[2]
    gb_rd = [f_r[0] * arr_tile[0], f_r[1] * arr_tile[1], (f_r[2] - distinct_r) * arr_tile[2]]
    gb_wr = f_r[2] * arr_tile[2]
    rf_fill = [f_r[0] * rf_tile[0] * pes, f_r[1] * rf_tile[1] * pes,
               (f_r[2] - distinct_r) * rf_tile[2] * pes]
    rf_drain = f_r[2] * rf_tile[2] * pes
    compute = math.prod(f_dram) * math.prod(f_gb) * math.prod(f_rf)

    widths = (bits, bits, abits)
    dram_bits = (sum(w * n for w, n in zip(widths, dram_rd)) + final * bits
                 + (dram_wr - final) * abits)
    dram_cycles, overhead = _dram_timing(
        f_g, f_r, compute, distinct_g, gb_tile, rf_tile,
        _runs(gb_ext, p.bounds, p.stride, p.inputs_follow_k), target, bits, p.repeat)
    array_words = [gb_rd[0], gb_rd[1], gb_rd[2] + gb_wr]
    banks = [max(1.0, min(float(w), math.ceil(n / compute)))
             for w, n in zip(tile_words(spatial, p), array_words)]
    gb_cycles = max(n / b for n, b in zip(array_words, banks))

    rf_bytes = sum(t * w for t, w in zip(rf_tile, widths)) / 8
    rf_in = target.rf_pj(rf_bytes, bits)
    rf_acc = rf_in * abits / bits
    e_mac = compute * pes * target.mac_pj[bits]
    e_rf = (compute * pes * 2 * (rf_in + rf_acc) + (rf_fill[0] + rf_fill[1]) * rf_in
            + (rf_fill[2] + rf_drain) * rf_acc)
    gb_moves = [gb_rd[0] + dram_rd[0], gb_rd[1] + dram_rd[1],
                gb_rd[2] + gb_wr + dram_rd[2] + dram_wr]
    e_gb = sum(n * target.sram_pj(t * w / 8, w) for n, t, w in zip(gb_moves, gb_tile, widths))
    e_dram = dram_bits * target.dram_pj_per_bit
    rep = p.repeat
    latency = max(compute * rep, dram_cycles, gb_cycles * rep) + overhead
    return LayerCost(compute * rep, dram_cycles, gb_cycles * rep, latency,
                     dram_bits / 8 * rep, (e_mac + e_rf + e_gb + e_dram) * rep)
