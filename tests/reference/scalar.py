"""Scalar twin of the vectorised model for one layer on its own chunk, in plain Python.

For single evaluations (no torch dispatch overhead) and as the per-point baseline of
benchmarks/cost_model.py. tests/test_cost_scalar.py checks it equals dna/cost/model.py.
Buffers and banks are those of a chunk that runs only this layer. Kept plain but not
wasteful (30 us a layer against 51 us before issue #16, benchmarks/cost_model.py): one
pass over the loops finds every tensor's visits, and the energy tables' logarithms are
taken once per table (`_log_table`).
"""
from __future__ import annotations

import bisect
import functools
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
_REL_K = (_REL[0] | {_K}, _REL[1], _REL[2])  # depthwise: inputs indexed by K
_TENSORS_OF = tuple(tuple(t for t in range(3) if d in _REL[t]) for d in range(7))  # by dim
_TENSORS_OF_K = tuple(tuple(t for t in range(3) if d in _REL_K[t]) for d in range(7))
_IDX = {d: i for i, d in enumerate(DIMS)}


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
    """Contiguous DRAM runs of a GB tile (model._dram_runs)."""
    n, k, c, y, x, r, s = ext
    _, _, bc, _, bx, br, bs = bounds
    rows = window_rows(y, r, stride)
    runs_i = n * (k if follow_k else c) * rows * (x if not window_band(x, s, stride) else 1)
    runs_w = (k * c * r if s != bs else k * c if r != br else k if c != bc else 1)
    runs_o = n * k * (1 if x == bx else y)
    return runs_i, runs_w, runs_o


def _xfer(words: int, width: int, runs: int, bpc: float) -> float:
    """Cycles of one GB tile transfer: whole bursts, at least a cycle per run."""
    return max((words * width / 8 + runs * (DRAM_BURST_BYTES - width / 8)) / bpc, runs)


def _dram_timing(f_g, f_r, compute, distinct_g, gb_tile, rf_tile, runs, target: Target,
                 bits: int, rep: int) -> tuple[float, float]:
    """(steady DRAM cycles over all `rep` runs, fill + drain cycles) (model.dram_timing).

    Per tensor: i inputs, w weights, o outputs."""
    bpc = target.dram_bytes_per_cycle
    lat = dram_latency_cycles(target.clock_mhz)
    fg_i, fg_w, fg_o = f_g
    ft_i, ft_w, ft_o = rf_tile  # RF-tile fill (or drain) cycles
    t_i = _xfer(gb_tile[0], bits, runs[0], bpc)
    t_w = _xfer(gb_tile[1], bits, runs[1], bpc)
    t_fin = _xfer(gb_tile[2], bits, runs[2], bpc)
    t_ps = _xfer(gb_tile[2], acc_bits(bits), runs[2], bpc)
    n_i, n_w = fg_i * rep, fg_w * rep  # visits over all runs
    distinct = distinct_g * rep
    revisits = (fg_o - distinct_g) * rep
    bus = ((n_i - 1) * t_i + (n_w - 1) * t_w + ((distinct - 1) * t_fin + revisits * t_ps)
           + revisits * t_ps)
    vc_i, vc_w, vc_o = compute / fg_i, compute / fg_w, compute / fg_o  # compute per visit
    rel_i = max(vc_i - 2 * compute / f_r[0] + ft_i, 0.0)  # released, after the visit starts
    rel_w = max(vc_w - 2 * compute / f_r[1] + ft_w, 0.0)
    ready_i, ready_w = rel_i + lat + t_i, rel_w + lat + t_w  # data in, after it starts
    if fg_i == fg_w:  # changing visit together: the later waits for the earlier's data
        if rel_w <= rel_i:
            ready_i = lat + max(rel_i, rel_w + t_w) + t_i
        else:
            ready_w = lat + max(rel_w, rel_i + t_i) + t_w
    visit_i = (n_i - 1) * max(vc_i, (ready_i + ft_i) / 2)
    visit_w = (n_w - 1) * max(vc_w, (ready_w + ft_w) / 2)
    outs = (revisits * max(vc_o, (vc_o + 2 * ft_o + 2 * t_ps + 2 * lat) / 2)
            + (distinct - 1) * max(vc_o, (vc_o + ft_o + t_fin) / 2))
    steady = max(bus, visit_i, visit_w, outs)
    comp = compute * rep
    if bus >= comp:  # saturated bus: a transfer past the cushion stalls the MACs
        cushion_i = min(vc_w if fg_w > fg_i else math.inf, vc_o if fg_o > fg_i else math.inf)
        cushion_w = min(vc_i if fg_i > fg_w else math.inf, vc_o if fg_o > fg_w else math.inf)
        steady = max(steady, comp + (n_i - 1) * max(t_i - cushion_i, 0.0),
                     comp + (n_w - 1) * max(t_w - cushion_w, 0.0))
    fill = lat + t_i + t_w + max(ft_i, ft_w)
    return steady, fill + ft_o + t_fin + lat


@functools.lru_cache(maxsize=8192)
def _dim_indices(order: str) -> tuple[int, ...]:
    """Dim indices of a loop order such as "NKCYXRS", outer -> inner."""
    return tuple(_IDX[d] for d in order)


def _visits(f_dram: tuple[int, ...], f_gb: tuple[int, ...], order: tuple[str, str, str],
            rel: tuple[tuple[int, ...], ...]) -> tuple[list[int], list[int]]:
    """(GB, array) tile visits per tensor: the product of the loop bounds, outer -> inner,
    down to the innermost loop with bound > 1 relevant to the tensor (1 if none), over the
    dram loops and over the dram then gb loops. `rel[d]`: the tensors dim d is relevant to."""
    count, last = 1, [1, 1, 1]
    for d in _dim_indices(order[0]):
        count *= f_dram[d]
        if f_dram[d] > 1:
            for t in rel[d]:
                last[t] = count
    at_gb = last[:]
    for d in _dim_indices(order[1]):
        count *= f_gb[d]
        if f_gb[d] > 1:
            for t in rel[d]:
                last[t] = count
    return at_gb, last


_LOG_TABLES: dict[int, tuple] = {}  # id(table) -> (table, xs, log xs, log ys)


def _log_table(table: tuple[tuple[float, float], ...]) -> tuple[list[float], ...]:
    """(x, log x, log y) of the points of a per-access energy table (computed once per
    table object: hashing the table on every call would cost more than the logs)."""
    hit = _LOG_TABLES.get(id(table))
    if hit is None or hit[0] is not table:
        hit = _LOG_TABLES[id(table)] = (table, [x for x, _ in table],
                                        [math.log(x) for x, _ in table],
                                        [math.log(y) for _, y in table])
    return hit[1:]


def _interp_loglog(table: tuple[tuple[float, float], ...], x: float) -> float:
    """dna.cost.target._interp_loglog with the table's logarithms taken once: clamped
    below the first point, the segment that holds x, the last one above the last point."""
    xs, lxs, lys = _log_table(table)
    x = max(x, 1.0)
    if x <= xs[0]:
        return table[0][1]
    i = min(bisect.bisect_left(xs, x), len(xs) - 1)  # segment (i - 1, i)
    t = (math.log(x) - lxs[i - 1]) / (lxs[i] - lxs[i - 1])
    return math.exp(lys[i - 1] + t * (lys[i] - lys[i - 1]))


def _sram_pj(target: Target, size_bytes: float, bits: int) -> float:
    """Target.sram_pj."""
    return _interp_loglog(target.sram_pj_table, size_bytes) * bits / 16


def layer_cost(p: Problem, factors: tuple[tuple[int, ...], ...], spatial: tuple[int, ...],
               order: tuple[str, str, str], target: Target, bits: int) -> LayerCost:
    """Latency and energy of layer `p` under one mapping (docs/cost_model.md)."""
    f_dram, f_gb, f_rf = factors
    rel = _TENSORS_OF_K if p.inputs_follow_k else _TENSORS_OF
    (fg_i, fg_w, fg_o), (fr_i, fr_w, fr_o) = _visits(f_dram, f_gb, order, rel)
    arr_ext = [a * b for a, b in zip(spatial, f_rf)]
    gb_ext = [a * b for a, b in zip(f_gb, arr_ext)]
    gb_tile = tile_words(gb_ext, p)
    at_i, at_w, at_o = tile_words(arr_ext, p)
    rf_tile = rt_i, rt_w, rt_o = tile_words(f_rf, p)
    n, k, _, y, x, _, _ = f_dram
    distinct_g = n * k * y * x  # distinct output tiles (N, K, Y, X loops above the buffer)
    distinct_r = distinct_g * f_gb[0] * f_gb[1] * f_gb[3] * f_gb[4]
    pes = math.prod(spatial)
    abits = acc_bits(bits)

    dram_rd = [fg_i * gb_tile[0], fg_w * gb_tile[1], (fg_o - distinct_g) * gb_tile[2]]
    dram_wr = fg_o * gb_tile[2]
    final = distinct_g * gb_tile[2]
    gb_rd = [fr_i * at_i, fr_w * at_w, (fr_o - distinct_r) * at_o]  # GB -> array
    gb_wr = fr_o * at_o
    rf_fill = [fr_i * rt_i * pes, fr_w * rt_w * pes, (fr_o - distinct_r) * rt_o * pes]
    rf_drain = fr_o * rt_o * pes
    compute = math.prod(f_dram) * math.prod(f_gb) * math.prod(f_rf)

    dram_bits = (dram_rd[0] * bits + dram_rd[1] * bits + dram_rd[2] * abits + final * bits
                 + (dram_wr - final) * abits)
    dram_cycles, overhead = _dram_timing(
        (fg_i, fg_w, fg_o), (fr_i, fr_w), compute, distinct_g, gb_tile, rf_tile,
        _runs(gb_ext, p.bounds, p.stride, p.inputs_follow_k), target, bits, p.repeat)
    array_words = (gb_rd[0], gb_rd[1], gb_rd[2] + gb_wr)
    b_i, b_w, b_o = tile_words(spatial, p)  # words the array takes per cycle
    gb_cycles = max(array_words[0] / _banks(b_i, array_words[0], compute),
                    array_words[1] / _banks(b_w, array_words[1], compute),
                    array_words[2] / _banks(b_o, array_words[2], compute))

    rf_bytes = (rt_i * bits + rt_w * bits + rt_o * abits) / 8
    rf_in = _interp_loglog(target.rf_pj_table, rf_bytes) * bits / 16  # Target.rf_pj
    rf_acc = rf_in * abits / bits
    e_mac = compute * pes * target.mac_pj[bits]
    e_rf = (compute * pes * 2 * (rf_in + rf_acc) + (rf_fill[0] + rf_fill[1]) * rf_in
            + (rf_fill[2] + rf_drain) * rf_acc)
    e_gb = (0 + (gb_rd[0] + dram_rd[0]) * _sram_pj(target, gb_tile[0] * bits / 8, bits)
            + (gb_rd[1] + dram_rd[1]) * _sram_pj(target, gb_tile[1] * bits / 8, bits)
            + (gb_rd[2] + gb_wr + dram_rd[2] + dram_wr)
            * _sram_pj(target, gb_tile[2] * abits / 8, abits))
    e_dram = dram_bits * target.dram_pj_per_bit
    rep = p.repeat
    latency = max(compute * rep, dram_cycles, gb_cycles * rep) + overhead
    return LayerCost(compute * rep, dram_cycles, gb_cycles * rep, latency,
                     dram_bits / 8 * rep, (e_mac + e_rf + e_gb + e_dram) * rep)


def _banks(words_per_cycle: int, words: int, compute: int) -> float:
    """GB banks of one buffer: enough to stream `words` in `compute` cycles, never more
    than the array takes in a cycle, at least 1 (model.gb_banks)."""
    return max(1.0, min(float(words_per_cycle), math.ceil(words / compute)))
