"""Vectorised analytical cost model over (B accelerator points) x (L layers).

Formulas and assumptions are in docs/cost_model.md; `tests/walker.py` is the brute-force
loop-nest walker whose counts this model must equal exactly. All counts are float64
tensors (exact for integers below 2**53); loop positions and 0/1 indicators are int8.

Speed (docs/cost_model.md, "Speed"): inside, the model is dim-major and tensor-major: a
per-dim quantity is (7, B, L) (or (2, 7, B, L) for the dram and gb levels), a per-tensor
one (3, B, L) (inputs, weights, outputs), so every pass is a contiguous elementwise op
over (B, L) planes; selections are 0/1 factors rather than `torch.where`. Results are
bit-identical to the model before (tests/test_cost_speed.py): only counts that stay far
below 2**53 (visits, tile words, compute cycles: at most the padded MAC count) are formed
in a new order; word counts and everything rounded keep the operands and order of the
formulas, since extreme mappings take word counts past 2**53. Large batches run in chunks
of `CHUNK_PAIRS` layer x point pairs (a search tunes its own,
dna.search.evaluator.ChunkTuner).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields

import torch

from dna.cost.nodes import node_cost
from dna.cost.resources import chunk_resources
from dna.cost.target import Target, bus_bytes_for
from dna.quant.contract import acc_bits
from dna.space.gads.batch import F64, LayerSet, MappingBatch
from dna.space.gads.typed import RELEVANT, TENSORS, window_band, window_rows
from dna.workload.ir import DIMS

# `_visits` spells the relevance out by dim: N Y X and C R S (inputs), K C R S, N K Y X.
assert [set(RELEVANT[t]) for t in TENSORS] == [set("NCYXRS"), set("KCRS"), set("NKYX")]
assert tuple(DIMS) == tuple("NKCYXRS")
_POS = torch.arange(1, len(DIMS) + 1, dtype=torch.int8)  # 1-based loop positions
# Stands for "no such cycle count" in a minimum: x + _FAR rounds to _FAR for any count x the
# model forms (far below 1e290), and count - _FAR clamps to 0, as inf would.
_FAR = 1e300

# Layer x point pairs per chunk of a large batch (`evaluate`). Measured on the 2-core
# machine (load 4.2), 4,096 VGG16 points: random points 1.88 M pairs/s in chunks of 8k
# pairs, 1.86 M at 16k, 1.72 M at 32k, 1.67 M unchunked; DAS-decoded points 1.24 M, 1.29 M,
# 1.16 M (MobileNetV2: 1.12 M, 1.15 M, 1.05 M). A search times the choices on its machine
# (dna.search.evaluator.ChunkTuner).
CHUNK_PAIRS = 16384

# DRAM access (docs/cost_model.md section 3). Latency: about 100 ns from a read request to
# its data on an LPDDR4 system (controller and interconnect plus tRCD + tCL), the usual
# "main memory ~100 ns" (Hennessy & Patterson, Computer Architecture, 6th ed., section 2.1).
# Burst: LPDDR4 moves BL16 bursts; a 32-bit package (two 16-bit channels) delivers 64 bytes
# per access (JEDEC JESD209-4), so every contiguous run costs at least one 64-byte access.
DRAM_LATENCY_NS = 100.0
DRAM_BURST_BYTES = 64.0


def dram_latency_cycles(clock_mhz: float) -> int:
    """DRAM_LATENCY_NS in whole cycles at `clock_mhz` (20 at 200 MHz)."""
    return math.ceil(DRAM_LATENCY_NS * clock_mhz / 1000)


def outstanding_bits(clock_mhz: float) -> int:
    """log2 of the read bursts each DMA client of the generated RTL keeps in flight: enough
    to cover the DRAM latency at one request per cycle (Little's law), with margin for the
    R queue (hwgen.rtl.render sizes the engines with it)."""
    return max(4, math.ceil(math.log2(dram_latency_cycles(clock_mhz) + 8)))


# Beats per AXI read burst of the generated RTL's DMA (AXI4 INCR, 16-beat blocks).
BURST_BEATS = 16


def _visits(f2: torch.Tensor, order: torch.Tensor, follow_k: torch.Tensor | None
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """(GB tile visits, array tile visits), each (3, B, L). A tile changes whenever a
    relevant loop with bound > 1 advances, so its visits are the product of all bounds down
    to the innermost such loop (1 if there is none), over the dram loops for GB tiles and
    over the dram then gb loops for array tiles. The hardware lowering places its tile
    loads by the same rule (hwgen.nest `Nest.reload_pos`). `f2` (2, 7, B, L) dram and gb
    bounds, `order` (B, L, 3, 7) as in MappingBatch; `follow_k` (L,) bool, None when no
    layer's inputs follow K.

    Dim by dim rather than along the loop order: that product is every relevant bound
    (advancing ones lie at or above the innermost, the others are 1) times the irrelevant
    bounds whose loops lie above it. All integers, with 0/1 indicators for selections."""
    o2 = order[..., :2, :]  # (B, L, 2, 7)
    # positions and 0/1 indicators are small integers: int8, 8 times less memory traffic
    pos = torch.empty(f2.shape, dtype=torch.int8, device=f2.device)  # (2, 7, B, L)
    pos.permute(2, 3, 0, 1).scatter_(-1, o2, _POS.to(o2.device).expand_as(o2))  # 1-based
    fm1 = f2 - 1
    live = fm1.clamp(max=1.0).to(torch.int8).mul_(pos)  # position of each advancing loop
    n, k, c, y, x, r, s = live.unbind(1)  # (2, B, L) each
    nyx = torch.maximum(torch.maximum(n, y), x)
    crs = torch.maximum(torch.maximum(c, r), s)
    last_i = torch.maximum(nyx, crs)  # innermost advancing relevant loop, 0: none
    if follow_k is not None:
        last_i = torch.maximum(last_i, k * follow_k)
    last_w, last_o = torch.maximum(crs, k), torch.maximum(nyx, k)
    # each dim's bound if its loop lies above the innermost loop of the tensor it is
    # irrelevant to (N: weights, K: inputs, C: outputs, ...), else 1
    irr = torch.stack([last_w, last_i, last_o, last_w, last_w, last_o, last_o], 1)
    above = irr.sub_(pos).clamp_(0, 1)  # (2, 7, B, L)
    if follow_k is not None:  # K is relevant to inputs that follow it
        torch.maximum(above[:, 1], follow_k.to(above.dtype), out=above[:, 1])
    an, ak, ac, ay, ax, ar, as_ = fm1.mul_(above.to(F64)).add_(1.0).unbind(1)
    fn, fk, fc, fy, fx, fr, fs = f2.unbind(1)
    fnyx, fcrs = fn * (fy * fx), fc * (fr * fs)
    v = torch.empty((3,) + fn.shape, dtype=F64, device=fn.device)  # (3, 2, B, L)
    torch.mul(fnyx * fcrs, ak, out=v[0])
    torch.mul(fk * fcrs, an * ay * ax, out=v[1])
    torch.mul(fk * fnyx, ac * ar * as_, out=v[2])
    gb, v_gb = v[:, 0], v[:, 1]
    total = fnyx[0] * fcrs[0] * fk[0]  # (B, L) all dram bounds
    below = torch.stack([last_i[1], last_w[1], last_o[1]]).clamp_(max=1)  # a gb loop counts
    return gb.contiguous(), (total * v_gb).sub_(gb).mul_(below).add_(gb)


def _tiles(ext: torch.Tensor, bounds: torch.Tensor, stride: torch.Tensor,
           follow_k: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Words per tensor of tiles with extents `ext` (7, T, B, L) -> (3, T, B, L)
    (as `tile_words_batch`), and the contiguous DRAM runs of the first kind, the GB tile,
    (3, B, L).

    Layouts: activations NCHW, weights (K, C, R, S). Inputs: one run per stored row (per
    window when stride > S leaves column gaps). Weights: one run per (k, c, r) row, inner
    dims the tile covers exactly merge into longer runs. Outputs: one run per (n, k, y)
    row, or per (n, k) plane when the tile spans whole rows.
    """
    n, k, c, y, x, r, s = ext  # (T, B, L) each
    rows = window_rows(y, r, stride, torch.minimum)
    ch = c if follow_k is None else torch.where(follow_k, k, c)
    words = torch.empty((3,) + n.shape, dtype=F64, device=n.device)
    torch.mul(n * ch * rows, window_rows(x, s, stride, torch.minimum), out=words[0])
    torch.mul(k * c * r, s, out=words[1])
    torch.mul(n * k * y, x, out=words[2])
    n, k, c, y, x, r, s, ch, rows = (t[0] for t in (n, k, c, y, x, r, s, ch, rows))
    bc, bx, br, bs = (bounds[:, i] for i in (2, 4, 5, 6))
    gapped = ~window_band(x, s, stride)  # stride > S leaves gaps: a run per window
    runs = torch.empty((3,) + n.shape, dtype=F64, device=n.device)
    torch.mul(n * ch * rows, (x - 1).mul_(gapped).add_(1.0), out=runs[0])
    kc = k * c
    torch.where(s == bs, torch.where(r == br, torch.where(c == bc, 1.0, k), kc), kc * r,
                out=runs[1])
    torch.mul(n * k, torch.where(x == bx, 1.0, y), out=runs[2])
    return words, runs


@dataclass(frozen=True)
class _Counts:
    """What `LayerAccesses` derives from, tensor-major: (3, B, L) per tensor."""

    compute_cycles: torch.Tensor  # (B, L) temporal iterations
    pes: torch.Tensor  # (B, L) PEs of the layer's array
    fetch_gb: torch.Tensor  # (3, B, L) GB tile visits
    fetch_rf: torch.Tensor  # (3, B, L) array tile visits
    distinct_gb: torch.Tensor  # (B, L) distinct output GB tiles
    distinct_rf: torch.Tensor  # (B, L) distinct output array tiles
    gb_tile: torch.Tensor  # (3, B, L) words of the GB tile
    array_tile: torch.Tensor  # (3, B, L) words of the array tile
    rf_tile: torch.Tensor  # (3, B, L) words of one PE's RF tile
    banks: torch.Tensor  # (3, B, L) distinct words the array takes per cycle
    gb_runs: torch.Tensor  # (3, B, L) contiguous DRAM runs of one GB tile


def _counts(layers: LayerSet, m: MappingBatch) -> _Counts:
    """Visits, tiles and runs of every layer under every mapping (docs/cost_model.md §2)."""
    fk = layers.follow_k if any(layers.depthwise) else None
    f = m.factors.permute(2, 3, 0, 1)  # (3, 7, B, L) dram, gb, rf
    ext = torch.empty((7, 4) + m.chunk.shape, dtype=F64, device=f.device)  # per dim:
    ext[:, 2] = f[2]  # RF tile (one PE)
    ext[:, 3] = m.spatial.permute(2, 0, 1)  # PEs along the dim
    torch.mul(ext[:, 3], ext[:, 2], out=ext[:, 1])  # array tile
    f2 = f[:2].contiguous()  # (2, 7, B, L) dram, gb
    torch.mul(f2[1], ext[:, 1], out=ext[:, 0])  # GB tile
    words, runs = _tiles(ext, layers.bounds, layers.stride, fk)  # (3, 4, B, L), (3, B, L)
    fetch_gb, fetch_rf = _visits(f2, m.order, fk)
    n, k, _, y, x, _, _ = f2[0]
    distinct_gb = n * k * y * x
    gn, gk, _, gy, gx, _, _ = f2[1]
    return _Counts(
        compute_cycles=f2.flatten(0, 1).prod(0) * ext[:, 2].prod(0), pes=ext[:, 3].prod(0),
        fetch_gb=fetch_gb, fetch_rf=fetch_rf, distinct_gb=distinct_gb,
        distinct_rf=distinct_gb * (gn * gk * gy * gx), gb_tile=words[:, 0],
        array_tile=words[:, 1], rf_tile=words[:, 2], banks=words[:, 3], gb_runs=runs)


@dataclass(frozen=True)
class LayerAccesses:
    """Word counts per (B, L, tensor) for one run of each layer's nest (before `repeat`)."""

    compute_cycles: torch.Tensor  # (B, L) temporal iterations
    dram_read: torch.Tensor  # (B, L, 3) words DRAM -> GB (outputs: psum re-reads)
    dram_write: torch.Tensor  # (B, L, 3) words GB -> DRAM (only outputs non-zero)
    dram_final_write: torch.Tensor  # (B, L) output words written complete (the rest are psums)
    gb_read: torch.Tensor  # (B, L, 3) words GB -> array (outputs: psum reads)
    gb_write: torch.Tensor  # (B, L, 3) words array -> GB (only outputs non-zero)
    rf_fill: torch.Tensor  # (B, L, 3) words written into all RFs from the GB
    rf_drain: torch.Tensor  # (B, L) output words read out of all RFs
    gb_tile: torch.Tensor  # (B, L, 3) words of the GB tile
    rf_tile: torch.Tensor  # (B, L, 3) words of one PE's RF tile
    banks: torch.Tensor  # (B, L, 3) distinct words the array takes per cycle
    fetch_gb: torch.Tensor  # (B, L, 3) GB tile visits (fetches) per tensor
    fetch_rf: torch.Tensor  # (B, L, 3) array tile visits per tensor
    distinct_gb: torch.Tensor  # (B, L) distinct output GB tiles
    gb_runs: torch.Tensor  # (B, L, 3) contiguous DRAM runs of one GB tile


def _psums(fetch: torch.Tensor, distinct: torch.Tensor, tile: torch.Tensor) -> torch.Tensor:
    """(3, B, L) words read down a level per tensor: visits x tile, outputs less the first
    visit of each distinct tile (partial sums are read back only on revisits)."""
    out = torch.empty(tile.shape, dtype=F64, device=tile.device)
    torch.mul(fetch[:2], tile[:2], out=out[:2])
    torch.mul(fetch[2] - distinct, tile[2], out=out[2])
    return out


def layer_accesses(layers: LayerSet, m: MappingBatch) -> LayerAccesses:
    """Per-level access counts of every layer under every mapping (docs/cost_model.md §2)."""
    c = _counts(layers, m)
    zero = torch.zeros_like(c.distinct_gb)
    out_gb, out_rf = c.fetch_gb[2] * c.gb_tile[2], c.fetch_rf[2] * c.array_tile[2]

    def bl3(x: torch.Tensor) -> torch.Tensor:  # (3, B, L) -> (B, L, 3)
        return x.permute(1, 2, 0)

    return LayerAccesses(
        compute_cycles=c.compute_cycles,
        dram_read=bl3(_psums(c.fetch_gb, c.distinct_gb, c.gb_tile)),
        dram_write=torch.stack([zero, zero, out_gb], -1),
        dram_final_write=c.distinct_gb * c.gb_tile[2],
        gb_read=bl3(_psums(c.fetch_rf, c.distinct_rf, c.array_tile)),
        gb_write=torch.stack([zero, zero, out_rf], -1),
        rf_fill=bl3(_psums(c.fetch_rf, c.distinct_rf, c.rf_tile) * c.pes),
        rf_drain=c.fetch_rf[2] * c.rf_tile[2] * c.pes,
        gb_tile=bl3(c.gb_tile), rf_tile=bl3(c.rf_tile), banks=bl3(c.banks),
        fetch_gb=bl3(c.fetch_gb), fetch_rf=bl3(c.fetch_rf), distinct_gb=c.distinct_gb,
        gb_runs=bl3(c.gb_runs),
    )


def dram_timing(c: _Counts, target: Target, bits: int, rep: torch.Tensor,
                wait: torch.Tensor | float = 0.0
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(steady DRAM cycles over all `rep` runs of the nest, fill + drain cycles, the
    queueing load its steady transfers put on other chunks (`_queue_wait`)), each (B, L).
    `wait`: cycles each request waits for other chunks' transfers ahead of it, on top of
    the latency.

    A GB tile visit moves whole bursts: a run of b bytes starting at a uniformly random
    element-aligned offset touches (b + burst - element) / burst bursts on average; at
    least one cycle per run (one request per cycle).
    Double-buffered, the read of input or weight visit v + 2 is requested when visit v is
    released: when the last RF tile of v has been filled, which starts as the compute unit
    begins the tile before it, R = T - 2 tau + f after v starts (T compute per visit, tau
    per array tile, f RF-tile fill cycles). Its data lands L + transfer later (behind the
    other tensor's transfer when both change visit together and that one was requested
    first); then the first RF tile fills and v + 2 can start: two visits take at least
    max(2 T, R + L + transfer + f). An output revisit is a serial chain from the end of
    visit v - 2: drain its last RF tile, write it back, wait for the write acknowledgement,
    read v's partial sums back, refill the first RF tile (two latencies, two transfers, two
    RF tiles), which visit v - 1 covers; a first visit only waits for the write-back of
    v - 2. All transfers share the DRAM, which serves reads in request order: when they
    outlast the compute, a visit transfer longer than the one-visit cushion of a tensor
    that changes visit more often stalls the MACs for the excess. The first input and
    weight visits (and their first RF tiles) load before any MAC and the last output tile
    drains and is written back after the last: they are the fill + drain, not the steady
    state (docs/cost_model.md section 3).
    """
    d = _dram_terms(c, target, bits, rep)
    return *_dram_cycles(d, target, wait), _queue_load(d, target)


@dataclass(frozen=True)
class _DramTerms:
    """What `dram_timing` derives without the request latency, (B, L) or (2, B, L) for
    inputs and weights; a pipeline evaluates the latency twice (`_queue_wait`)."""

    t_in: torch.Tensor  # (2, B, L) cycles of an input, weight GB tile transfer
    t_fin: torch.Tensor  # cycles of a final output tile write-back
    t_ps: torch.Tensor  # cycles of a partial-sum tile write-back (or read-back)
    moves_in: torch.Tensor  # (2, B, L) steady input, weight visits (all but the first)
    evicts: torch.Tensor  # steady output write-backs of complete tiles (all but the last)
    revisits: torch.Tensor  # output visits that read partial sums back
    rf: torch.Tensor  # (3, B, L) RF-tile fill (or drain) cycles
    visit_c: torch.Tensor  # (3, B, L) compute cycles per GB visit
    start: torch.Tensor  # (2, B, L) cycles after a visit starts until its next-but-one
    # visit's request goes out (its release, or after the other tensor's transfer)
    chain: torch.Tensor  # an output revisit's chain less its two latencies
    first: torch.Tensor  # steady cycles of the first visits of output tiles
    floor: torch.Tensor  # steady cycles the bus and its stalls allow, whatever the latency


def _dram_terms(c: _Counts, target: Target, bits: int, rep: torch.Tensor) -> _DramTerms:
    """The latency-free part of `dram_timing` (its docstring has the model)."""
    bpc = target.dram_bytes_per_cycle

    def xfer(words: torch.Tensor, width_bits: float, runs: torch.Tensor) -> torch.Tensor:
        # bursts touched: runs start at element-aligned offsets, uniformly over a burst
        burst_bytes = words * width_bits / 8 + runs * (DRAM_BURST_BYTES - width_bits / 8)
        return torch.maximum(burst_bytes / bpc, runs)

    fg, f = c.fetch_gb, c.rf_tile  # (3, B, L); f: RF-tile fill (or drain) cycles
    t3 = xfer(c.gb_tile, bits, c.gb_runs)  # (3, B, L) inputs, weights, final outputs
    t_in, t_fin = t3[:2], t3[2]
    t_ps = xfer(c.gb_tile[2], acc_bits(bits), c.gb_runs[2])
    f_in = fg[:2] * rep  # (2, B, L) visits over all runs
    moves_in = f_in - 1
    evicts = c.distinct_gb * rep - 1  # the last write-back is in the drain
    revisits = (fg[2] - c.distinct_gb) * rep
    ps_moves = revisits * t_ps
    evict = evicts * t_fin + ps_moves
    moved_in = moves_in * t_in  # (2, B, L)
    bus = moved_in[0] + moved_in[1] + evict + ps_moves
    visit_c = c.compute_cycles / fg  # (3, B, L) compute per GB visit
    tile_c = c.compute_cycles / c.fetch_rf[:2]  # compute per array tile
    rel = torch.clamp(visit_c[:2] - 2 * tile_c + f[:2], min=0.0)  # release after start
    r_i, r_w = rel
    # Changing visit together, the later request waits for the earlier one's data.
    together = fg[0] == fg[1]
    w_first = r_w <= r_i
    start = torch.stack([
        torch.where(together & w_first, torch.maximum(r_i, r_w + t_in[1]), r_i),
        torch.where(together & ~w_first, torch.maximum(r_w, r_i + t_in[0]), r_w)])
    t_o = visit_c[2]
    first = evicts * torch.maximum(t_o, (t_o + f[2] + t_fin) / 2)
    stalls = _bus_stalls(c, bus, t_in, moves_in, visit_c, rep)
    return _DramTerms(t_in, t_fin, t_ps, moves_in, evicts, revisits, f, visit_c, start,
                      t_o + 2 * f[2] + 2 * t_ps, first, torch.maximum(bus, stalls))


def _dram_cycles(d: _DramTerms, target: Target, wait: torch.Tensor | float = 0.0
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """(steady DRAM cycles, fill + drain cycles) (B, L) at the DRAM latency plus `wait`."""
    lat = dram_latency_cycles(target.clock_mhz) + wait
    f, t_in = d.rf, d.t_in
    ready = lat + d.start + t_in  # (2, B, L) after the visit starts
    visit = d.moves_in * torch.maximum(d.visit_c[:2], (ready + f[:2]) / 2)  # (2, B, L)
    t_o = d.visit_c[2]
    outs = d.revisits * torch.maximum(t_o, (d.chain + 2 * lat) / 2) + d.first
    steady = torch.maximum(torch.maximum(d.floor, outs), visit.amax(0))
    fill = lat + t_in[0] + t_in[1] + torch.maximum(f[0], f[1])
    drain = f[2] + d.t_fin + lat
    return steady, fill + drain


def _queue_load(d: _DramTerms, target: Target) -> torch.Tensor:
    """(B, L) queueing load of a layer's steady transfers on the other chunks
    (`_queue_wait`): transfer count x cycles x the wait a request arriving meanwhile sees,
    t / 2 on average, but never more than the queue a client keeps ahead (2^QA bursts)
    once a transfer is longer."""
    window = 2.0 * (1 << outstanding_bits(target.clock_mhz)) * BURST_BEATS * \
        bus_bytes_for(target) / target.dram_bytes_per_cycle

    def load(t: torch.Tensor) -> torch.Tensor:
        return t * torch.clamp(t, max=window)

    return (d.moves_in[0] * load(d.t_in[0]) + d.moves_in[1] * load(d.t_in[1])
            + d.evicts * load(d.t_fin) + 2 * d.revisits * load(d.t_ps))


def _bus_stalls(c: _Counts, bus: torch.Tensor, t_in: torch.Tensor, moves_in: torch.Tensor,
                visit_c: torch.Tensor, rep: torch.Tensor) -> torch.Tensor:
    """(B, L) cycles of a saturated bus that serves reads in request order: a visit
    transfer longer than the one-visit cushion of a tensor that changes visit more often
    stalls the MACs (0 where the bus is not saturated; `dram_timing`)."""
    fg = c.fetch_gb
    comp = c.compute_cycles * rep
    stalls = []
    for t, o in ((0, 1), (1, 0)):
        # visit_c[u] where tensor u changes visit more often, else _FAR (no cushion)
        cushion = torch.minimum(*((fg[t] - fg[u] + 1).clamp_(0.0, 1.0).mul_(_FAR)
                                  .add_(visit_c[u]) for u in (o, 2)))
        excess = torch.clamp(t_in[t] - cushion, min=0.0)
        stalls.append(comp + moves_in[t] * excess)
    return torch.maximum(*stalls).mul_(bus >= comp)


@functools.lru_cache(maxsize=32)
def _loglog_table(table: tuple[tuple[float, float], ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """(log x (S,), segments (S - 1, 4)) of a per-access energy table, float64: each
    segment's log x0, log x1 - log x0, log y0, log y1 - log y0."""
    lx = torch.tensor([math.log(a) for a, _ in table], dtype=F64)
    ly = torch.tensor([math.log(b) for _, b in table], dtype=F64)
    return lx, torch.stack([lx[:-1], lx[1:] - lx[:-1], ly[:-1], ly[1:] - ly[:-1]], -1)


def _interp_loglog(table: tuple[tuple[float, float], ...], x: torch.Tensor) -> torch.Tensor:
    """Torch twin of target._interp_loglog (clamped below, extrapolated above)."""
    xs, segments = _loglog_table(table)
    lx = x.clamp(min=1.0).log().clamp_(min=math.log(table[0][0]))
    # the segment that holds lx, the first below and the last above the table: counted
    # over the inner points (searchsorted is ten times slower on a few points)
    i = torch.zeros(lx.shape, dtype=torch.int64, device=lx.device)
    for inner in xs[1:-1].tolist():
        i += lx > inner
    seg = torch.index_select(segments.to(lx.device), 0, i.view(-1)).view(*lx.shape, 4)
    x0, dx, y0, dy = seg.unbind(-1)
    return torch.exp(y0 + (lx - x0) / dx * dy)


def _per_chunk_max(per_layer: torch.Tensor, chunk: torch.Tensor, n_chunks: int) -> torch.Tensor:
    """(3, B, L) -> (B, H, 3): max over the layers each chunk runs (at least 1)."""
    if n_chunks == 1:
        return per_layer.amax(-1).clamp_(min=1.0).T[:, None, :]
    out = torch.ones(3, chunk.shape[0], n_chunks, dtype=F64, device=per_layer.device)
    out = out.scatter_reduce(2, chunk.expand_as(per_layer), per_layer, "amax",
                             include_self=True)
    return out.permute(1, 2, 0)


def _per_layer(per_chunk: torch.Tensor, chunk: torch.Tensor) -> torch.Tensor:
    """(B, H, K) per chunk -> (K, B, L) of each layer's chunk (a view when H = 1)."""
    t = per_chunk.permute(2, 0, 1)  # (K, B, H)
    if t.shape[-1] == 1:
        return t.expand(-1, -1, chunk.shape[1])
    return t.contiguous().gather(2, chunk.expand(t.shape[0], -1, -1))


def _chunk_banks(moves: torch.Tensor, compute: torch.Tensor, banks: torch.Tensor,
                 chunk: torch.Tensor, n_chunks: int) -> torch.Tensor:
    """`gb_banks` from (3, B, L) GB words moved and words per cycle, (B, L) compute."""
    demand = torch.ceil(moves / compute)
    return _per_chunk_max(torch.minimum(demand, banks).clamp_(min=1), chunk, n_chunks)


def gb_banks(a: LayerAccesses, chunk: torch.Tensor, n_chunks: int) -> torch.Tensor:
    """(B, H, 3) banks per GB buffer of each chunk: enough for the chunk's most demanding
    layer to stream its words in its compute time, never more than the array takes in one
    cycle, at least 1. `chunk` (B, L) is each layer's chunk. The HLS backend builds these."""
    return _chunk_banks((a.gb_read + a.gb_write).permute(2, 0, 1), a.compute_cycles,
                        a.banks.permute(2, 0, 1), chunk, n_chunks)


@dataclass(frozen=True)
class Costs:
    """Cost-model results. (B, L) per layer, (B, H) per chunk, (B,) per accelerator."""

    compute_cycles: torch.Tensor  # (B, L) incl. padding and group repeats
    dram_cycles: torch.Tensor  # (B, L) steady-state cycles the DRAM allows (dram_timing)
    gb_cycles: torch.Tensor  # (B, L) busiest GB buffer's words / its banks
    latency_cycles: torch.Tensor  # (B, L) max of the three (double-buffered) + overhead
    overhead_cycles: torch.Tensor  # (B, L) first tiles' load and last tile's write-back
    bound: torch.Tensor  # (B, L) int: 0 compute, 1 dram, 2 gb
    utilisation: torch.Tensor  # (B, L) true MACs / (compute cycles x PEs)
    dram_bytes: torch.Tensor  # (B, L)
    energy_pj: torch.Tensor  # (B, L, 4) mac, rf, gb, dram
    chunk_cycles: torch.Tensor  # (B, H)
    chunk_dsp: torch.Tensor  # (B, H) FPGA DSP slices per chunk (0 on ASIC)
    chunk_bram18k: torch.Tensor  # (B, H)
    dsp: torch.Tensor  # (B,) FPGA DSP slices (0 on ASIC)
    bram18k: torch.Tensor  # (B,)
    lut: torch.Tensor  # (B,)
    area_mm2: torch.Tensor  # (B,) ASIC area (0 on FPGA)
    frame_cycles: torch.Tensor  # (B,) cycles between frames (1 / throughput)
    frame_latency_cycles: torch.Tensor  # (B,) cycles from input to output of one frame
    fps: torch.Tensor  # (B,)
    gops: torch.Tensor  # (B,) 2 x true MACs x FPS / 1e9
    energy_per_frame_pj: torch.Tensor  # (B,)
    edp_pj_s: torch.Tensor  # (B,) energy x frame latency
    feasible: torch.Tensor  # (B,) bool: tiles fit buffers; within DSP, BRAM, LUT or area, PEs


ENERGY_PARTS = ("mac", "rf", "gb", "dram")


def _energy(c: _Counts, m: MappingBatch, target: Target, bits: int, moves: torch.Tensor,
            gb_words: torch.Tensor, rf_words: torch.Tensor, dram_bits: torch.Tensor,
            rep: torch.Tensor) -> torch.Tensor:
    """(B, L, 4) energy of `rep` runs of each layer's nest: MACs, RF, GB and DRAM accesses
    (ENERGY_PARTS), per-access energies from the buffer sizes; `moves` (3, B, L) GB words
    read and written (array and DRAM sides), `dram_bits` (B, L) of one run."""
    bits_t = torch.tensor([bits, bits, acc_bits(bits)], dtype=F64, device=gb_words.device)
    abits = float(acc_bits(bits))
    gb_bytes = gb_words * bits_t / 8  # (B, H, 3): one buffer per tensor
    rf_bytes = (rf_words * bits_t / 8).sum(-1)  # (B, H): one RF per PE
    gb_pj_h = _interp_loglog(target.sram_pj_table, gb_bytes) * bits_t / 16  # (B, H, 3)
    rf_pj_h = _interp_loglog(target.rf_pj_table, rf_bytes) * bits / 16  # (B, H)
    pj = _per_layer(torch.cat([gb_pj_h, rf_pj_h[..., None]], -1), m.chunk)  # (4, B, L)
    rf_pj_in = pj[3]
    rf_pj_acc = rf_pj_in * abits / bits  # (B, L)

    pe_cycles = c.compute_cycles * c.pes
    e_mac = pe_cycles * target.mac_pj[bits]
    fill = _psums(c.fetch_rf, c.distinct_rf, c.rf_tile) * c.pes  # (3, B, L) RF fills
    drain = c.fetch_rf[2] * c.rf_tile[2] * c.pes  # output words out of the RFs
    e_rf = (pe_cycles * 2 * (rf_pj_in + rf_pj_acc) + (fill[0] + fill[1]) * rf_pj_in
            + (fill[2] + drain) * rf_pj_acc)
    e_gb = moves[0] * pj[0] + moves[1] * pj[1] + moves[2] * pj[2]
    e_dram = dram_bits * target.dram_pj_per_bit
    energy = torch.empty(e_mac.shape + (4,), dtype=F64, device=e_mac.device)
    for i, part in enumerate((e_mac, e_rf, e_gb, e_dram)):
        torch.mul(part, rep, out=energy[..., i])
    return energy


def evaluate(layers: LayerSet, m: MappingBatch, target: Target, bits: int, *,
             chunk_pairs: int = 0) -> Costs:
    """Evaluate B accelerator points on L layers at `bits` precision (docs/cost_model.md).

    Batches over `chunk_pairs` (default `CHUNK_PAIRS`) layer x point pairs run chunk by
    chunk: every row depends only on its own point, so the results are the same."""
    per_chunk = max(1, (chunk_pairs or CHUNK_PAIRS) // max(len(layers), 1))
    if m.batch <= per_chunk:
        return _evaluate(layers, m, target, bits)
    return concat([_evaluate(layers, rows(m, slice(i, i + per_chunk)), target, bits)
                   for i in range(0, m.batch, per_chunk)])


def concat(parts: list[Costs]) -> Costs:
    """The `Costs` of consecutive chunks of one batch, as one."""
    return Costs(**{f.name: torch.cat([getattr(p, f.name) for p in parts])
                    for f in fields(Costs)})


def rows(m: MappingBatch, points: slice) -> MappingBatch:
    """Points `points` of `m`."""
    return MappingBatch(**{f.name: None if getattr(m, f.name) is None
                           else getattr(m, f.name)[points] for f in fields(MappingBatch)})


def _evaluate(layers: LayerSet, m: MappingBatch, target: Target, bits: int) -> Costs:
    """`evaluate` on one chunk."""
    c = _counts(layers, m)
    rep = layers.repeat  # (L,)
    n_chunks = m.chunk_pes.shape[1]
    abits = acc_bits(bits)

    compute = c.compute_cycles * rep
    dram_rd = _psums(c.fetch_gb, c.distinct_gb, c.gb_tile)  # (3, B, L) words DRAM -> GB
    dram_wr = c.fetch_gb[2] * c.gb_tile[2]  # output words GB -> DRAM
    final = c.distinct_gb * c.gb_tile[2]  # of which final (the rest are psums)
    dram_bits = ((dram_rd[0] * bits + dram_rd[1] * bits + dram_rd[2] * abits) + final * bits
                 + (dram_wr - final) * abits) * rep
    dram_bytes = dram_bits / 8
    terms = _dram_terms(c, target, bits, rep)
    dram_cycles, overhead = _dram_cycles(terms, target)

    gb_rw = _psums(c.fetch_rf, c.distinct_rf, c.array_tile)  # (3, B, L) GB -> array
    gb_rw[2] += c.fetch_rf[2] * c.array_tile[2]  # + array -> GB (outputs)
    banks = _chunk_banks(gb_rw, c.compute_cycles, c.banks, m.chunk, n_chunks)  # (B, H, 3)
    gb_words = (m.gb_words if m.gb_words is not None
                else _per_chunk_max(c.gb_tile, m.chunk, n_chunks))
    rf_words = (m.rf_words if m.rf_words is not None
                else _per_chunk_max(c.rf_tile, m.chunk, n_chunks))
    per_layer = _per_layer(torch.cat([banks, gb_words, rf_words], -1), m.chunk)  # (9, B, L)
    gb_cycles = (gb_rw / per_layer[:3]).amax(0) * rep
    steady, bound = _bound(compute, dram_cycles, gb_cycles)
    latency = steady + overhead
    ops = _ops(layers, m, target, bits)
    if n_chunks > 1 and bool(m.pipeline.any()):  # chunks at once: queueing for the DRAM
        busy = dram_bytes / target.dram_bytes_per_cycle
        wait = _queue_wait(_queue_load(terms, target), busy, latency, m, ops, n_chunks)
        dram_cycles, overhead = _dram_cycles(terms, target, wait)
        steady, bound = _bound(compute, dram_cycles, gb_cycles)
        latency = steady + overhead

    moves = gb_rw + dram_rd
    moves[2] += dram_wr
    energy = _energy(c, m, target, bits, moves, gb_words, rf_words, dram_bits / rep, rep)
    r = chunk_resources(m, target, bits, banks, gb_words, rf_words,
                        None if ops is None else ops.buffer_bytes)
    fits = ((c.gb_tile <= per_layer[3:6]).all(0) & (c.rf_tile <= per_layer[6:]).all(0)).all(-1)
    feasible = r.within_budget & fits & (m.chunk_pes.sum(-1) <= target.max_pes)
    return _network_costs(layers, m, target, ops, r, feasible, compute=compute,
                          dram_cycles=dram_cycles, gb_cycles=gb_cycles, latency_cycles=latency,
                          overhead_cycles=overhead, bound=bound,
                          utilisation=layers.macs / (compute * c.pes), dram_bytes=dram_bytes,
                          energy_pj=energy)


def _bound(compute: torch.Tensor, dram: torch.Tensor, gb: torch.Tensor
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """(steady cycles, bound) (B, L): the largest of the three and which (0 compute,
    1 dram, 2 gb; the first on a tie)."""
    first = torch.maximum(compute, dram)
    bound = (dram > compute).long().masked_fill_(gb > first, 2)
    return torch.maximum(first, gb), bound


def _queue_wait(sq: torch.Tensor, busy: torch.Tensor, latency: torch.Tensor,
                m: MappingBatch, ops, n_chunks: int) -> torch.Tensor:
    """(B, L) cycles a DRAM request of each layer waits, in a pipeline point, for the
    transfers the other chunks have ahead of it in the DRAM's in-order queue (0 for a
    multi-cycle point): the Pollaczek-Khinchine mean wait of an M/G/1 queue,
    sum_g lambda_g E[S_g^2] / (2 (1 - rho)) = sum_g (sum n t^2)_g / (2 T (1 - rho)), over
    the other chunks g (a chunk's own transfers are in `dram_timing` already), with rho
    the DRAM's busy fraction of the frame interval T; t^2 is t min(t, 2W) for transfers
    longer than the read window W a client keeps ahead. `sq` (B, L): that sum per layer
    (`dram_timing`), `busy` (B, L): its DRAM bytes at the full bandwidth; T and the
    transfers are the pass without contention's (one fixed-point step)."""
    chunk_cycles = torch.zeros(m.batch, n_chunks, dtype=F64, device=latency.device)
    chunk_cycles = chunk_cycles.scatter_add(1, m.chunk, latency)
    if ops is not None:
        chunk_cycles = chunk_cycles.scatter_add(1, ops.chunk, ops.cycles.expand_as(ops.chunk))
    frame = chunk_cycles.amax(-1, keepdim=True)  # (B, 1)
    sq_h = torch.zeros_like(chunk_cycles).scatter_add(1, m.chunk, sq)
    idle = torch.clamp(1 - busy.sum(-1, keepdim=True) / frame, min=0.05)
    load = sq_h / (2 * frame * idle)
    wait = load.sum(-1, keepdim=True) - load  # (B, H): the other chunks'
    return torch.where(m.pipeline[:, None], wait.gather(1, m.chunk), 0.0)


_OP_TABLES: dict = {}  # (id(ops), id(target), bits, L) -> (ops, target, _op_table result)


def _op_table(ops: tuple, target: Target, bits: int, n_layers: int) -> tuple:
    """(cycles, DRAM bytes, energy, plane-buffer bytes) (P,) of the non-conv ops and their
    (P, L) conv frontier (dna.cost.nodes), computed once per network, target and
    precision. Cached by identity (the entry holds `ops` and `target`, so their ids stay
    theirs): hashing the nodes on every call would cost a tenth of a small batch."""
    key = (id(ops), id(target), bits, n_layers)
    hit = _OP_TABLES.get(key)
    if hit is not None and hit[0] is ops and hit[1] is target:
        return hit[2]
    costs = [node_cost(node, target, bits) for node, _ in ops]
    mask = torch.zeros(len(ops), n_layers, dtype=torch.bool)
    for p, (_, front) in enumerate(ops):
        mask[p, list(front)] = True
    table = (*(torch.tensor([getattr(c, f) for c in costs], dtype=F64)
               for f in ("cycles", "dram_bytes", "energy_pj", "buffer_bytes")), mask)
    if len(_OP_TABLES) >= 64:
        _OP_TABLES.clear()
    _OP_TABLES[key] = (ops, target, table)
    return table


@dataclass(frozen=True)
class _Ops:
    """The non-conv ops of B points: (P,) costs, (B, P) chunk of each, (B, H) the largest
    plane buffer each chunk needs."""

    cycles: torch.Tensor
    dram_bytes: torch.Tensor
    energy_pj: torch.Tensor
    chunk: torch.Tensor
    buffer_bytes: torch.Tensor


def _ops(layers: LayerSet, m: MappingBatch, target: Target, bits: int) -> _Ops | None:
    """Where the non-conv ops run (the last chunk among their conv frontier) and their
    costs; None for a bare list of layers."""
    if not layers.ops:
        return None
    dev = m.chunk.device
    cyc, nbytes, pj, buf, front = (t.to(dev) for t in _op_table(
        layers.ops, target, bits, len(layers)))
    where = torch.where(front, m.chunk[:, None, :], 0).amax(-1)  # (B, P)
    per_chunk = torch.zeros(m.batch, m.chunk_pes.shape[1], dtype=F64, device=dev)
    per_chunk = per_chunk.scatter_reduce(1, where, buf.expand_as(where), "amax")
    return _Ops(cyc, nbytes, pj, where, per_chunk)


def _network_costs(layers: LayerSet, m: MappingBatch, target: Target, ops: _Ops | None, r,
                   feasible: torch.Tensor, *, compute: torch.Tensor,
                   **per_layer: torch.Tensor) -> Costs:
    """`Costs` from the per-layer figures and the non-conv ops (each on the chunk of its
    latest input, dna.cost.nodes.node_chunks): chunk and frame cycles, FPS, energy per
    frame."""
    latency, energy = per_layer["latency_cycles"], per_layer["energy_pj"]
    chunk_cycles = torch.zeros(m.batch, m.chunk_pes.shape[1], dtype=F64,
                               device=latency.device).scatter_add(
        1, m.chunk, latency)
    total_latency = latency.sum(-1)
    dram = per_layer["dram_bytes"].sum(-1)
    energy_frame = energy.sum((-1, -2))
    if ops is not None:
        chunk_cycles = chunk_cycles.scatter_add(1, ops.chunk, ops.cycles.expand_as(ops.chunk))
        total_latency = total_latency + ops.cycles.sum()
        dram = dram + ops.dram_bytes.sum()
        energy_frame = energy_frame + ops.energy_pj.sum()
    shared_dram = dram / target.dram_bytes_per_cycle
    frame = torch.where(m.pipeline, torch.maximum(chunk_cycles.amax(-1), shared_dram),
                        total_latency)
    clock_hz = target.clock_mhz * 1e6
    fps = clock_hz / frame
    return Costs(
        compute_cycles=compute, **per_layer, chunk_cycles=chunk_cycles,
        chunk_dsp=r.chunk_dsp, chunk_bram18k=r.chunk_bram18k, dsp=r.dsp, bram18k=r.bram18k,
        lut=r.lut, area_mm2=r.area_mm2, frame_cycles=frame,
        frame_latency_cycles=total_latency, fps=fps,
        gops=2 * layers.macs.sum() * fps / 1e9, energy_per_frame_pj=energy_frame,
        edp_pj_s=energy_frame * total_latency / clock_hz, feasible=feasible,
    )
