"""Scalar twin of the vectorised model for one layer on its own chunk, in plain Python.

For single evaluations (no torch dispatch overhead) and as the per-point baseline of
benchmarks/cost_model.py. tests/test_cost_scalar.py checks it equals dna/cost/model.py.
Buffers and banks are those of a chunk that runs only this layer. Kept plain but not
wasteful (16 us a layer against 51 us before issue #16, benchmarks/cost_model.py): one
pass over the loops finds every tensor's visits, tile words, runs, transfers and banks are
inlined, and the energy tables' logarithms and segment slopes are taken once per table
(`_segments`).
"""
from __future__ import annotations

import bisect
import functools
import math
from dataclasses import dataclass

from dna.cost.model import DRAM_BURST_BYTES, dram_latency_cycles
from dna.cost.target import Target
from dna.quant.contract import acc_bits
from dna.space.gads.typed import RELEVANT, TENSORS, Problem
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


def _words(n: int, k: int, c: int, y: int, x: int, r: int, s: int, stride: int,
           follow_k: bool) -> tuple[int, int, int]:
    """typed.tile_words of extents (n, ..., s), `window_rows` inlined."""
    h, band_y = y * r, (y - 1) * stride + r
    w, band_x = x * s, (x - 1) * stride + s
    h, w = band_y if band_y < h else h, band_x if band_x < w else w
    return n * (k if follow_k else c) * h * w, k * c * r * s, n * k * y * x


def _dram_timing(f_g, f_r, compute, distinct_g, gb_tile, rf_tile, runs, target: Target,
                 bits: int, rep: int) -> tuple[float, float]:
    """(steady DRAM cycles over all `rep` runs, fill + drain cycles) (model.dram_timing).

    Per tensor: i inputs, w weights, o outputs. A GB tile transfer moves whole bursts, at
    least a cycle per run."""
    bpc = target.dram_bytes_per_cycle
    lat = dram_latency_cycles(target.clock_mhz)
    fg_i, fg_w, fg_o = f_g
    ft_i, ft_w, ft_o = rf_tile  # RF-tile fill (or drain) cycles
    g_i, g_w, g_o = gb_tile
    u_i, u_w, u_o = runs
    abits = acc_bits(bits)
    # `b if b > a else a` is max(a, b) (and `b if b < a else a` min) without a call
    t_i = (g_i * bits / 8 + u_i * (DRAM_BURST_BYTES - bits / 8)) / bpc
    t_i = u_i if u_i > t_i else t_i
    t_w = (g_w * bits / 8 + u_w * (DRAM_BURST_BYTES - bits / 8)) / bpc
    t_w = u_w if u_w > t_w else t_w
    t_fin = (g_o * bits / 8 + u_o * (DRAM_BURST_BYTES - bits / 8)) / bpc
    t_fin = u_o if u_o > t_fin else t_fin
    t_ps = (g_o * abits / 8 + u_o * (DRAM_BURST_BYTES - abits / 8)) / bpc
    t_ps = u_o if u_o > t_ps else t_ps
    n_i, n_w = fg_i * rep, fg_w * rep  # visits over all runs
    distinct = distinct_g * rep
    revisits = (fg_o - distinct_g) * rep
    bus = ((n_i - 1) * t_i + (n_w - 1) * t_w + ((distinct - 1) * t_fin + revisits * t_ps)
           + revisits * t_ps)
    vc_i, vc_w, vc_o = compute / fg_i, compute / fg_w, compute / fg_o  # compute per visit
    rel_i = vc_i - 2 * compute / f_r[0] + ft_i  # released, after the visit starts
    rel_i = 0.0 if 0.0 > rel_i else rel_i
    rel_w = vc_w - 2 * compute / f_r[1] + ft_w
    rel_w = 0.0 if 0.0 > rel_w else rel_w
    ready_i, ready_w = rel_i + lat + t_i, rel_w + lat + t_w  # data in, after it starts
    if fg_i == fg_w:  # changing visit together: the later waits for the earlier's data
        if rel_w <= rel_i:
            ready_i = lat + max(rel_i, rel_w + t_w) + t_i
        else:
            ready_w = lat + max(rel_w, rel_i + t_i) + t_w
    h_i, h_w = (ready_i + ft_i) / 2, (ready_w + ft_w) / 2
    visit_i = (n_i - 1) * (h_i if h_i > vc_i else vc_i)
    visit_w = (n_w - 1) * (h_w if h_w > vc_w else vc_w)
    h_ps, h_fin = (vc_o + 2 * ft_o + 2 * t_ps + 2 * lat) / 2, (vc_o + ft_o + t_fin) / 2
    outs = (revisits * (h_ps if h_ps > vc_o else vc_o)
            + (distinct - 1) * (h_fin if h_fin > vc_o else vc_o))
    steady = max(bus, visit_i, visit_w, outs)
    comp = compute * rep
    if bus >= comp:  # saturated bus: a transfer past the cushion stalls the MACs
        cushion_i = min(vc_w if fg_w > fg_i else math.inf, vc_o if fg_o > fg_i else math.inf)
        cushion_w = min(vc_i if fg_i > fg_w else math.inf, vc_o if fg_o > fg_w else math.inf)
        steady = max(steady, comp + (n_i - 1) * max(t_i - cushion_i, 0.0),
                     comp + (n_w - 1) * max(t_w - cushion_w, 0.0))
    fill = lat + t_i + t_w + (ft_w if ft_w > ft_i else ft_i)
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


_LOG_TABLES: dict[int, tuple] = {}  # id(table) -> (table, segments)


def _segments(table: tuple[tuple[float, float], ...]) -> tuple[list[float], list[tuple]]:
    """(x of each point, (log x0, log x1 - log x0, log y0, log y1 - log y0) of each segment)
    of a per-access energy table, computed once per table object (hashing the table on
    every call would cost more than the logs)."""
    hit = _LOG_TABLES.get(id(table))
    if hit is None or hit[0] is not table:
        lx = [math.log(x) for x, _ in table]
        ly = [math.log(y) for _, y in table]
        hit = _LOG_TABLES[id(table)] = (table, [x for x, _ in table], [
            (lx[i], lx[i + 1] - lx[i], ly[i], ly[i + 1] - ly[i]) for i in range(len(lx) - 1)])
    return hit[1], hit[2]


def _interp_loglog(table: tuple[tuple[float, float], ...], x: float) -> float:
    """dna.cost.target._interp_loglog with the table's logarithms taken once: clamped
    below the first point, the segment that holds x, the last one above the last point."""
    xs, segments = _segments(table)
    x = 1.0 if 1.0 > x else x
    if x <= xs[0]:
        return table[0][1]
    lx0, dlx, ly0, dly = segments[min(bisect.bisect_left(xs, x), len(xs) - 1) - 1]
    return math.exp(ly0 + (math.log(x) - lx0) / dlx * dly)


def layer_cost(p: Problem, factors: tuple[tuple[int, ...], ...], spatial: tuple[int, ...],
               order: tuple[str, str, str], target: Target, bits: int) -> LayerCost:
    """Latency and energy of layer `p` under one mapping (docs/cost_model.md)."""
    f_dram, f_gb, f_rf = factors
    fk, stride = p.inputs_follow_k, p.stride
    (fg_i, fg_w, fg_o), (fr_i, fr_w, fr_o) = _visits(f_dram, f_gb, order,
                                                     _TENSORS_OF_K if fk else _TENSORS_OF)
    sn, sk, sc, sy, sx, sr, ss = spatial
    rn, rk, rc, ry, rx, rr, rs = f_rf
    an, ak, ac, ay, ax, ar, as_ = sn * rn, sk * rk, sc * rc, sy * ry, sx * rx, sr * rr, ss * rs
    gn, gk, gc, gy, gx, gr, gs = f_gb
    en, ek, ec, ey, ex, er, es = gn * an, gk * ak, gc * ac, gy * ay, gx * ax, gr * ar, gs * as_
    gb_tile = _words(en, ek, ec, ey, ex, er, es, stride, fk)  # GB tile extents
    at_i, at_w, at_o = _words(an, ak, ac, ay, ax, ar, as_, stride, fk)  # array tile
    rf_tile = rt_i, rt_w, rt_o = _words(rn, rk, rc, ry, rx, rr, rs, stride, fk)
    dn, dk, _, dy, dx, _, _ = f_dram
    distinct_g = dn * dk * dy * dx  # distinct output tiles (N, K, Y, X loops above the GB)
    distinct_r = distinct_g * gn * gk * gy * gx
    pes = sn * sk * sc * sy * sx * sr * ss
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
    # contiguous DRAM runs of the GB tile (model._tiles)
    runs_i = en * (ek if fk else ec) * min(ey * er, (ey - 1) * stride + er) * (
        1 if (ex - 1) * stride + es <= ex * es else ex)
    _, _, bc, _, bx, br, bs = p.bounds
    runs_w = (ek * ec * er if es != bs else ek * ec if er != br else ek if ec != bc else 1)
    runs_o = en * ek * (1 if ex == bx else ey)
    dram_cycles, overhead = _dram_timing(
        (fg_i, fg_w, fg_o), (fr_i, fr_w), compute, distinct_g, gb_tile, rf_tile,
        (runs_i, runs_w, runs_o), target, bits, p.repeat)
    b_i, b_w, b_o = _words(sn, sk, sc, sy, sx, sr, ss, stride, fk)  # words per cycle
    w_i, w_w, w_o = gb_rd[0], gb_rd[1], gb_rd[2] + gb_wr
    gb_cycles = max(w_i / _banks(b_i, w_i, compute), w_w / _banks(b_w, w_w, compute),
                    w_o / _banks(b_o, w_o, compute))

    sram, rf_table = target.sram_pj_table, target.rf_pj_table
    rf_bytes = (rt_i * bits + rt_w * bits + rt_o * abits) / 8
    rf_in = _interp_loglog(rf_table, rf_bytes) * bits / 16  # Target.rf_pj
    rf_acc = rf_in * abits / bits
    e_mac = compute * pes * target.mac_pj[bits]
    e_rf = (compute * pes * 2 * (rf_in + rf_acc) + (rf_fill[0] + rf_fill[1]) * rf_in
            + (rf_fill[2] + rf_drain) * rf_acc)
    e_gb = (0 + (gb_rd[0] + dram_rd[0]) * (_interp_loglog(sram, gb_tile[0] * bits / 8)
                                           * bits / 16)
            + (gb_rd[1] + dram_rd[1]) * (_interp_loglog(sram, gb_tile[1] * bits / 8)
                                         * bits / 16)
            + (gb_rd[2] + gb_wr + dram_rd[2] + dram_wr)
            * (_interp_loglog(sram, gb_tile[2] * abits / 8) * abits / 16))
    e_dram = dram_bits * target.dram_pj_per_bit
    rep = p.repeat
    latency = max(compute * rep, dram_cycles, gb_cycles * rep) + overhead
    return LayerCost(compute * rep, dram_cycles, gb_cycles * rep, latency,
                     dram_bits / 8 * rep, (e_mac + e_rf + e_gb + e_dram) * rep)


def _banks(words_per_cycle: int, words: int, compute: int) -> float:
    """GB banks of one buffer: enough to stream `words` in `compute` cycles, never more
    than the array takes in a cycle, at least 1 (model.gb_banks)."""
    need = math.ceil(words / compute)
    b = float(words_per_cycle)
    b = need if need < b else b
    return b if b > 1.0 else 1.0
