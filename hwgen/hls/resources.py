"""Resource estimate of an emitted HLS project, counted from what was emitted, next to the
cost model's figures for the same design and the target's budget.

Counted from project.json (written by the emitter from the context it rendered):
* DSP: each chunk's PE array (its unrolled MACs x the target's DSPs per MAC at the
  precision), plus its engine's one shared requantiser and the operand multipliers of its
  residual adds.
* BRAM18K: each partitioned GB buffer (banks x blocks per bank, the same block rule as the
  cost model, `dna.cost.resources.bram18k`), the parameter ROMs and the stream FIFOs; memories
  of at most `lutram_max_bits` per bank go to LUTRAM instead. The emitted GB buffers are
  single-buffered (the cost model assumes double-buffered ones).
* LUT, in the style of FINN's res_estimation: the target's shell (`lut_base`), a control
  constant per engine, per conv loop nest and per node pass (FINN's c0 = 300), the target's
  LUTs per PE (FINN's c1 * (adder tree + accumulator)), and LUTRAM and register-file bits at
  64 bits per LUT (UG474 SLICEM 64x1 RAM).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from dna.cost.report import report
from dna.cost.resources import bram18k
from dna.cost.target import DSP_PER_REQUANTIZER, Target, load_target
from dna.design import design_from_dict
from hwgen.hls.csim import load_project

LUT_PER_CONTROLLER = 300  # FINN MatrixVectorActivation.lut_estimation c0, per controller
DSP_PER_PASS = {"add_requant": 2}  # a * m_a + b * m_b before the shared requantiser
LUTRAM_BITS_PER_LUT = 64  # UG474: a SLICEM LUT6 is a 64x1 RAM


@dataclass(frozen=True)
class Usage:
    """DSP, BRAM18K and LUT of one part of the design."""

    name: str
    dsp: float
    bram18k: float
    lut: float
    chunk: int | None = None  # the chunk it belongs to, if any


@dataclass(frozen=True)
class ResourceReport:
    """Estimate from the emitted engines, the cost model's figures, and the budget."""

    project: str
    target: str
    part: str
    precision: int
    parts: tuple[Usage, ...]  # per chunk, then the stream FIFOs and the shell
    emitted: Usage  # totals
    model: Usage  # dna.cost.report for the same design
    model_chunks: tuple[Usage, ...]
    budget: Usage

    @property
    def within_budget(self) -> bool:
        e, b = self.emitted, self.budget
        return e.dsp <= b.dsp and e.bram18k <= b.bram18k and e.lut <= b.lut


def _memory(words: int, bits: int, banks: int, target: Target) -> tuple[float, float]:
    """(BRAM18K, LUTRAM bits) of a memory of `words` `bits`-wide words in `banks` banks."""
    blocks = float(bram18k(torch.tensor(float(words)), torch.tensor(float(banks)),
                           torch.tensor(float(bits)), target.lutram_max_bits))
    return blocks, (words * bits if blocks == 0 else 0.0)


def _chunk_usage(c: dict, bits: int, acc_bits: int, rom: list[tuple[int, int]],
                 target: Target) -> Usage:
    dsp = math.ceil(c["pes"] * target.dsp_per_mac[bits])
    dsp += DSP_PER_REQUANTIZER + sum(DSP_PER_PASS.get(p, 0) for p in c["passes"])
    brams = lutram = rf_bits = 0.0
    for b in c["buffers"]:
        if b["kind"] == "rf":
            rf_bits += b["words"] * b["bits"]
            continue
        blocks, lr = _memory(b["words"], b["bits"], b["banks"], target)
        brams, lutram = brams + blocks, lutram + lr
    for words, width in rom:
        blocks, lr = _memory(words, width, 1, target)
        brams, lutram = brams + blocks, lutram + lr
    controllers = 1 + c["conv_nests"] + len(c["passes"])
    lut = (LUT_PER_CONTROLLER * controllers + c["pes"] * target.lut_per_pe[bits]
           + (lutram + rf_bits) / LUTRAM_BITS_PER_LUT)
    return Usage(f"chunk {c['index']} ({c['noc']} {c['unroll']})", dsp, brams, lut,
                 c["index"])


def estimate(project: Path) -> ResourceReport:
    """Estimate the resources of the HLS project in `project` (see module docstring)."""
    project = Path(project)
    m = load_project(project)
    target = load_target(m["target"])
    design = design_from_dict(json.loads((project / "design.json").read_text()),
                              str(project / "design.json"))
    bits, acc_bits = m["precision"], m["acc_bits"]
    convs = {c.name: c for c in design.network.convs}
    parts = []
    for c in m["chunks"]:
        rom = [(convs[name].k, acc_bits + 15 + 6) for name in c["layers"] if name in convs]
        parts.append(_chunk_usage(c, bits, acc_bits, rom, target))
    fifo_bram = fifo_lutram = 0.0
    for s in m["streams"]:
        blocks, lr = _memory(s["depth"], s["bits"], 1, target)
        fifo_bram, fifo_lutram = fifo_bram + blocks, fifo_lutram + lr
    parts.append(Usage(f"stream FIFOs ({len(m['streams'])})", 0.0, fifo_bram,
                       fifo_lutram / LUTRAM_BITS_PER_LUT))
    parts.append(Usage("shell (AXI, DMA, control)", 0.0, 0.0, float(target.lut_base)))
    total = Usage("emitted", sum(p.dsp for p in parts), sum(p.bram18k for p in parts),
                  sum(p.lut for p in parts))
    r = report(design.network, design.accelerator, target, bits)
    chunk_rows = {}
    for row in r.layers:
        chunk_rows[row.chunk] = Usage(f"chunk {row.chunk}", row.chunk_dsp, row.chunk_bram18k,
                                      0.0, row.chunk)
    return ResourceReport(
        project=str(project), target=target.name, part=m["part"], precision=bits,
        parts=tuple(parts), emitted=total, model=Usage("cost model", r.dsp, r.bram18k, r.lut),
        model_chunks=tuple(chunk_rows[i] for i in sorted(chunk_rows)),
        budget=Usage("budget", float(target.dsp), float(target.bram18k), float(target.lut)))


def format_resources(r: ResourceReport) -> str:
    """The report as a table."""
    e, mo, b = r.emitted, r.model, r.budget
    lines = [f"{r.project}: {r.precision}-bit, {r.target} ({r.part})",
             f"{'resource':<10}{'emitted':>12}{'cost model':>12}{'budget':>10}{'used':>8}"]
    for name, key in (("DSP", "dsp"), ("BRAM18K", "bram18k"), ("LUT", "lut")):
        got, mod, cap = getattr(e, key), getattr(mo, key), getattr(b, key)
        lines.append(f"{name:<10}{got:>12,.0f}{mod:>12,.0f}{cap:>10,.0f}{got / cap:>8.1%}")
    head = f"{'part':<34}{'DSP':>8}{'BRAM18K':>9}{'LUT':>10}{'model DSP':>11}{'model BRAM':>11}"
    lines += ["", head]
    model = {u.chunk: u for u in r.model_chunks}
    for p in r.parts:
        mc = model.get(p.chunk) if p.chunk is not None else None
        extra = f"{mc.dsp:>11,.0f}{mc.bram18k:>11,.0f}" if mc else ""
        lines.append(f"{p.name:<34}{p.dsp:>8,.0f}{p.bram18k:>9,.0f}{p.lut:>10,.0f}{extra}")
    over = [n for n, k in (("DSP", "dsp"), ("BRAM18K", "bram18k"), ("LUT", "lut"))
            if getattr(e, k) > getattr(b, k)]
    verdict = "within the budget" if not over else "OVER the budget: " + ", ".join(over)
    lines += ["", f"{r.target}: {verdict}"]
    return "\n".join(lines)
