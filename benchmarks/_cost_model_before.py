"""FROZEN copy of dna/cost/model.py as it was before issue #16 (cost-model speed).

Used only by benchmarks/cost_model.py (it times this path against the current model in
the same run) and tests/test_cost_speed.py (every `Costs` field bit-identical, torch.equal).
Not part of the package; do not edit it. `tile_words_batch` (then in dna/space/gads/batch.py) is
frozen here too; `chunk_resources` is the package's current one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from dna.cost.resources import chunk_resources
from dna.cost.target import Target
from dna.quant.contract import acc_bits
from dna.space.gads.batch import F64, LayerSet, MappingBatch
from dna.space.gads.typed import RELEVANT, TENSORS, window_band, window_rows
from dna.workload.ir import DIMS

# Relevance of each dim (N K C Y X R S) to inputs, weights, outputs.
REL = torch.tensor([[d in RELEVANT[t] for d in DIMS] for t in TENSORS], dtype=torch.bool)
K_DIM = DIMS.index("K")

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


def fetches(bounds: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
    """Times a tile is (re)fetched under loops `bounds` (..., T), outer -> inner.

    A tile changes whenever a relevant loop with bound > 1 advances, so the count is the
    product of all bounds down to the innermost such loop (1 if there is none). The
    hardware lowering places its tile loads by the same rule (hwgen.nest `Nest.reload_pos`).
    """
    live = relevant & (bounds > 1)
    pos = torch.arange(1, bounds.shape[-1] + 1, device=bounds.device)
    last = (live * pos).amax(-1, keepdim=True)  # 0 when no relevant loop
    cp = torch.cat([torch.ones_like(bounds[..., :1]), bounds.cumprod(-1)], -1)
    return cp.gather(-1, last).squeeze(-1)


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


def dram_runs(ext: torch.Tensor, bounds: torch.Tensor, stride: torch.Tensor,
              follow_k: torch.Tensor) -> torch.Tensor:
    """Contiguous DRAM runs of a GB tile with extents `ext` (..., 7) -> (..., 3).

    Layouts: activations NCHW, weights (K, C, R, S). Inputs: one run per stored row (per
    window when stride > S leaves column gaps). Weights: one run per (k, c, r) row, inner
    dims the tile covers exactly merge into longer runs. Outputs: one run per (n, k, y)
    row, or per (n, k) plane when the tile spans whole rows.
    """
    n, k, c, y, x, r, s = ext.unbind(-1)
    bc, bx, br, bs = (bounds[..., i] for i in (2, 4, 5, 6))
    rows = window_rows(y, r, stride, torch.minimum)
    gapped = ~window_band(x, s, stride)
    runs_i = n * torch.where(follow_k, k, c) * rows * torch.where(gapped, x, 1.0)
    runs_w = torch.where(s == bs, torch.where(r == br, torch.where(c == bc, 1.0, k), k * c),
                         k * c * r)
    runs_o = n * k * torch.where(x == bx, 1.0, y)
    return torch.stack([runs_i, runs_w, runs_o], -1)


def layer_accesses(layers: LayerSet, m: MappingBatch) -> LayerAccesses:
    """Per-level access counts of every layer under every mapping (docs/cost_model.md §2)."""
    stride, fk = layers.stride, layers.follow_k  # (L,)
    rel = REL.expand(len(layers), 3, 7).clone()  # (L, 3, 7)
    rel[:, 0, K_DIM] = fk
    f_dram, f_gb, f_rf = m.factors.unbind(-2)  # (B, L, 7) each
    o_dram, o_gb = m.order[..., 0, :], m.order[..., 1, :]  # (B, L, 7)

    def ordered(x: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
        return x.gather(-1, order)

    rel_b = rel.unsqueeze(0).expand(m.batch, -1, -1, -1)  # (B, L, 3, 7)
    rel_dram = rel_b.gather(-1, o_dram.unsqueeze(-2).expand(-1, -1, 3, -1))
    rel_gb = rel_b.gather(-1, o_gb.unsqueeze(-2).expand(-1, -1, 3, -1))
    b_dram = ordered(f_dram, o_dram).unsqueeze(-2)  # (B, L, 1, 7)
    b_gb = ordered(f_gb, o_gb).unsqueeze(-2)
    fetch_gb = fetches(b_dram.expand_as(rel_dram), rel_dram)  # (B, L, 3)
    both = torch.cat([b_dram, b_gb], -1)  # (B, L, 1, 14)
    fetch_rf = fetches(both.expand(-1, -1, 3, -1), torch.cat([rel_dram, rel_gb], -1))

    out_rel = REL[2]
    distinct_gb = f_dram[..., out_rel].prod(-1)  # (B, L) distinct output GB tiles
    distinct_rf = (f_dram * f_gb)[..., out_rel].prod(-1)

    array_ext = m.spatial * f_rf
    gb_tile = tile_words_batch(f_gb * array_ext, stride, fk)  # (B, L, 3)
    array_tile = tile_words_batch(array_ext, stride, fk)
    rf_tile = tile_words_batch(f_rf, stride, fk)
    pes = m.spatial.prod(-1)  # (B, L)

    zero = torch.zeros_like(fetch_gb[..., 0])
    psum_gb = (fetch_gb[..., 2] - distinct_gb) * gb_tile[..., 2]
    psum_rf = (fetch_rf[..., 2] - distinct_rf) * array_tile[..., 2]
    in_w = slice(0, 2)
    return LayerAccesses(
        compute_cycles=m.factors.prod(-2).prod(-1),
        dram_read=torch.cat([fetch_gb[..., in_w] * gb_tile[..., in_w], psum_gb[..., None]], -1),
        dram_write=torch.stack([zero, zero, fetch_gb[..., 2] * gb_tile[..., 2]], -1),
        dram_final_write=distinct_gb * gb_tile[..., 2],
        gb_read=torch.cat([fetch_rf[..., in_w] * array_tile[..., in_w], psum_rf[..., None]], -1),
        gb_write=torch.stack([zero, zero, fetch_rf[..., 2] * array_tile[..., 2]], -1),
        rf_fill=torch.cat([fetch_rf[..., in_w] * rf_tile[..., in_w],
                           ((fetch_rf[..., 2] - distinct_rf) * rf_tile[..., 2])[..., None]],
                          -1) * pes[..., None],
        rf_drain=fetch_rf[..., 2] * rf_tile[..., 2] * pes,
        gb_tile=gb_tile,
        rf_tile=rf_tile,
        banks=tile_words_batch(m.spatial, stride, fk),
        fetch_gb=fetch_gb,
        fetch_rf=fetch_rf,
        distinct_gb=distinct_gb,
        gb_runs=dram_runs(f_gb * array_ext, layers.bounds, stride, fk),
    )


def dram_timing(a: LayerAccesses, target: Target, bits: int, rep: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """(steady DRAM cycles over all `rep` runs of the nest, fill + drain cycles), (B, L).

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
    bpc = target.dram_bytes_per_cycle
    lat = dram_latency_cycles(target.clock_mhz)

    def xfer(words: torch.Tensor, width_bits: float, t: int) -> torch.Tensor:
        # bursts touched: runs start at element-aligned offsets, uniformly over a burst
        runs = a.gb_runs[..., t]
        burst_bytes = words * width_bits / 8 + runs * (DRAM_BURST_BYTES - width_bits / 8)
        return torch.maximum(burst_bytes / bpc, runs)

    t_in = [xfer(a.gb_tile[..., t], bits, t) for t in (0, 1)]
    t_fin = xfer(a.gb_tile[..., 2], bits, 2)
    t_ps = xfer(a.gb_tile[..., 2], acc_bits(bits), 2)
    f_in = [a.fetch_gb[..., t] * rep for t in (0, 1)]  # visits over all runs
    distinct = a.distinct_gb * rep
    revisits = (a.fetch_gb[..., 2] - a.distinct_gb) * rep
    evict = (distinct - 1) * t_fin + revisits * t_ps  # the last write-back is in the drain
    bus = (f_in[0] - 1) * t_in[0] + (f_in[1] - 1) * t_in[1] + evict + revisits * t_ps
    visit_c = a.compute_cycles[..., None] / a.fetch_gb  # (B, L, 3) compute per GB visit
    tile_c = a.compute_cycles[..., None] / a.fetch_rf  # compute per array tile
    f = a.rf_tile  # RF-tile fill (or drain) cycles
    rel = torch.clamp(visit_c - 2 * tile_c + f, min=0.0)  # release after the visit starts
    r_i, r_w = rel[..., 0], rel[..., 1]
    ready_i, ready_w = r_i + lat + t_in[0], r_w + lat + t_in[1]  # after the visit starts
    # Changing visit together, the later request waits for the earlier one's data.
    together = a.fetch_gb[..., 0] == a.fetch_gb[..., 1]
    w_first = r_w <= r_i
    ready_i = torch.where(together & w_first,
                          lat + torch.maximum(r_i, r_w + t_in[1]) + t_in[0], ready_i)
    ready_w = torch.where(together & ~w_first,
                          lat + torch.maximum(r_w, r_i + t_in[0]) + t_in[1], ready_w)
    ready = (ready_i, ready_w)
    visit = [(f_in[t] - 1) * torch.maximum(visit_c[..., t], (ready[t] + f[..., t]) / 2)
             for t in (0, 1)]
    t_o, f_o = visit_c[..., 2], f[..., 2]
    outs = (revisits * torch.maximum(t_o, (t_o + 2 * f_o + 2 * t_ps + 2 * lat) / 2)
            + (distinct - 1) * torch.maximum(t_o, (t_o + f_o + t_fin) / 2))
    # A saturated bus serves reads in request order: a visit transfer longer than the
    # one-visit cushion of a tensor that changes visit more often stalls the MACs.
    comp = a.compute_cycles * rep
    burst = []
    for t, o in ((0, 1), (1, 0)):
        cushion = torch.minimum(*(torch.where(a.fetch_gb[..., u] > a.fetch_gb[..., t],
                                              visit_c[..., u], math.inf) for u in (o, 2)))
        excess = torch.clamp(t_in[t] - cushion, min=0.0)
        burst.append(torch.where(bus >= comp, comp + (f_in[t] - 1) * excess, 0.0))
    steady = torch.stack([bus, visit[0], visit[1], outs, *burst], -1).amax(-1)
    fill = lat + t_in[0] + t_in[1] + torch.maximum(a.rf_tile[..., 0], a.rf_tile[..., 1])
    drain = a.rf_tile[..., 2] + t_fin + lat
    return steady, fill + drain


def _interp_loglog(table: tuple[tuple[float, float], ...], x: torch.Tensor) -> torch.Tensor:
    """Torch twin of target._interp_loglog (clamped below, extrapolated above)."""
    xs = torch.tensor([math.log(a) for a, _ in table], dtype=F64)
    ys = torch.tensor([math.log(b) for _, b in table], dtype=F64)
    lx = x.clamp(min=1.0).log().clamp(min=xs[0].item())
    i = torch.searchsorted(xs, lx.contiguous()).clamp(1, len(table) - 1)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return torch.exp(y0 + (lx - x0) / (x1 - x0) * (y1 - y0))


def _per_chunk_max(per_layer: torch.Tensor, chunk: torch.Tensor, n_chunks: int) -> torch.Tensor:
    """(B, L, 3) -> (B, H, 3): max over the layers each chunk runs."""
    out = torch.ones(per_layer.shape[0], n_chunks, 3, dtype=F64)
    idx = chunk.unsqueeze(-1).expand_as(per_layer)
    return out.scatter_reduce(1, idx, per_layer, "amax", include_self=True)


def gb_banks(a: LayerAccesses, chunk: torch.Tensor, n_chunks: int) -> torch.Tensor:
    """(B, H, 3) banks per GB buffer of each chunk: enough for the chunk's most demanding
    layer to stream its words in its compute time, never more than the array takes in one
    cycle, at least 1. `chunk` (B, L) is each layer's chunk. The HLS backend builds these."""
    demand = torch.ceil((a.gb_read + a.gb_write) / a.compute_cycles[..., None])
    return _per_chunk_max(torch.minimum(demand, a.banks).clamp(min=1), chunk, n_chunks)


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


def _energy(a: LayerAccesses, m: MappingBatch, target: Target, bits: int,
            gb_words: torch.Tensor, rf_words: torch.Tensor, dram_bits: torch.Tensor
            ) -> torch.Tensor:
    """(B, L, 4) energy of one run of each layer's nest: MACs, RF, GB and DRAM accesses
    (ENERGY_PARTS), per-access energies from the buffer sizes; `dram_bits` (B, L)."""
    bits_t = torch.tensor([bits, bits, acc_bits(bits)], dtype=F64)  # word width per tensor
    abits = float(acc_bits(bits))
    gb_bytes = gb_words * bits_t / 8  # (B, H, 3): one buffer per tensor
    rf_bytes = (rf_words * bits_t / 8).sum(-1)  # (B, H): one RF per PE
    gather_h = m.chunk.unsqueeze(-1).expand(-1, -1, 3)
    gb_pj_word = (_interp_loglog(target.sram_pj_table, gb_bytes) * bits_t / 16).gather(1,
                                                                                      gather_h)
    rf_l = rf_bytes.gather(1, m.chunk)  # (B, L)
    rf_pj_in = _interp_loglog(target.rf_pj_table, rf_l) * bits / 16
    rf_pj_acc = rf_pj_in * abits / bits

    pe_cycles = a.compute_cycles * m.spatial.prod(-1)
    e_mac = pe_cycles * target.mac_pj[bits]
    e_rf = (pe_cycles * 2 * (rf_pj_in + rf_pj_acc)
            + (a.rf_fill[..., :2].sum(-1)) * rf_pj_in
            + (a.rf_fill[..., 2] + a.rf_drain) * rf_pj_acc)
    e_gb = ((a.gb_read + a.gb_write + a.dram_read + a.dram_write) * gb_pj_word).sum(-1)
    e_dram = dram_bits * target.dram_pj_per_bit
    return torch.stack([e_mac, e_rf, e_gb, e_dram], -1)


def evaluate(layers: LayerSet, m: MappingBatch, target: Target, bits: int) -> Costs:
    """Evaluate B accelerator points on L layers at `bits` precision (docs/cost_model.md)."""
    a = layer_accesses(layers, m)
    rep = layers.repeat  # (L,)
    n_chunks = m.chunk_pes.shape[1]
    bits_t = torch.tensor([bits, bits, acc_bits(bits)], dtype=F64)  # word width per tensor
    abits = float(acc_bits(bits))

    pes = m.spatial.prod(-1)  # (B, L)
    compute = a.compute_cycles * rep
    dram_bits = ((a.dram_read * bits_t).sum(-1) + a.dram_final_write * bits
                 + (a.dram_write[..., 2] - a.dram_final_write) * abits) * rep
    dram_bytes = dram_bits / 8
    dram_cycles, overhead = dram_timing(a, target, bits, rep)

    banks = gb_banks(a, m.chunk, n_chunks)
    banks_l = banks.gather(1, m.chunk.unsqueeze(-1).expand(-1, -1, 3))  # (B, L, 3)
    gb_cycles = ((a.gb_read + a.gb_write) / banks_l).amax(-1) * rep
    stack = torch.stack([compute, dram_cycles, gb_cycles], -1)
    steady, bound = stack.max(-1)
    latency = steady + overhead

    gb_words = m.gb_words if m.gb_words is not None else _per_chunk_max(a.gb_tile, m.chunk,
                                                                          n_chunks)
    rf_words = m.rf_words if m.rf_words is not None else _per_chunk_max(a.rf_tile, m.chunk,
                                                                          n_chunks)
    energy = _energy(a, m, target, bits, gb_words, rf_words, dram_bits / rep) * rep[..., None]

    chunk_cycles = torch.zeros(m.batch, n_chunks, dtype=F64).scatter_add(1, m.chunk, latency)
    total_latency = latency.sum(-1)
    shared_dram = dram_bytes.sum(-1) / target.dram_bytes_per_cycle
    frame = torch.where(m.pipeline, torch.maximum(chunk_cycles.amax(-1), shared_dram),
                        total_latency)
    clock_hz = target.clock_mhz * 1e6
    fps = clock_hz / frame
    energy_frame = energy.sum((-1, -2))

    r = chunk_resources(m, target, bits, banks, gb_words, rf_words)
    gather_h = m.chunk.unsqueeze(-1).expand(-1, -1, 3)
    fits = ((a.gb_tile <= gb_words.gather(1, gather_h)).all(-1)
            & (a.rf_tile <= rf_words.gather(1, gather_h)).all(-1)).all(-1)
    feasible = r.within_budget & fits & (m.chunk_pes.sum(-1) <= target.max_pes)

    return Costs(
        compute_cycles=compute, dram_cycles=dram_cycles, gb_cycles=gb_cycles,
        latency_cycles=latency, overhead_cycles=overhead, bound=bound,
        utilisation=layers.macs / (compute * pes), dram_bytes=dram_bytes, energy_pj=energy,
        chunk_cycles=chunk_cycles, chunk_dsp=r.chunk_dsp, chunk_bram18k=r.chunk_bram18k,
        dsp=r.dsp, bram18k=r.bram18k, lut=r.lut, area_mm2=r.area_mm2,
        frame_cycles=frame, frame_latency_cycles=total_latency, fps=fps,
        gops=2 * layers.macs.sum() * fps / 1e9, energy_per_frame_pj=energy_frame,
        edp_pj_s=energy_frame * total_latency / clock_hz, feasible=feasible,
    )


def tile_words_batch(ext: torch.Tensor, stride: torch.Tensor, follow_k: torch.Tensor) -> torch.Tensor:
    """Words of (inputs, weights, outputs) in tiles of per-dim extents `ext` (..., 7) -> (..., 3).

    Input tiles hold the rows (and columns) the windows touch (`window_rows`).
    """
    n, k, c, y, x, r, s = ext.unbind(-1)
    h = window_rows(y, r, stride, torch.minimum)
    w = window_rows(x, s, stride, torch.minimum)
    ch = torch.where(follow_k, k, c)
    return torch.stack([n * ch * h * w, k * c * r * s, n * k * y * x], -1)
