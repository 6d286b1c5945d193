"""FPGA and ASIC resources of accelerator points, the cost model's formulas
(docs/cost_model.md): DSPs per MAC, GB banks in BRAM18K or LUTRAM, LUTs; ASIC area."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from dna.cost.target import BRAM18K_BITS, DSP_PER_REQUANTIZER, Target
from dna.quant.contract import acc_bits
from dna.space.gads.batch import F64, MappingBatch


def bram18k(words: torch.Tensor, banks: torch.Tensor, bits: torch.Tensor,
            lutram_max_bits: float) -> torch.Tensor:
    """BRAM18K for a buffer of `words`, split into `banks`, each word `bits` wide.

    A bank takes the narrowest BRAM18K aspect ratio (x9, x18, x36) that holds a word and
    as many blocks as its depth needs; banks of at most `lutram_max_bits` go to LUTRAM.
    """
    depth = torch.ceil(words / banks)
    width = torch.where(bits <= 9, 9.0, torch.where(bits <= 18, 18.0, 36.0)).to(F64)
    per_bank = torch.ceil(bits / width) * torch.ceil(depth / (BRAM18K_BITS // width))
    return (per_bank * banks).mul_(depth * bits > lutram_max_bits)


@dataclass(frozen=True)
class Resources:
    """FPGA or ASIC resources of B accelerator points (zeros for the other kind)."""

    chunk_dsp: torch.Tensor  # (B, H)
    chunk_bram18k: torch.Tensor  # (B, H)
    dsp: torch.Tensor  # (B,)
    bram18k: torch.Tensor  # (B,)
    lut: torch.Tensor  # (B,)
    area_mm2: torch.Tensor  # (B,)
    within_budget: torch.Tensor  # (B,) bool: DSP, BRAM and LUT, or area, within the target's


def chunk_resources(m: MappingBatch, target: Target, bits: int, banks: torch.Tensor,
                    gb_words: torch.Tensor, rf_words: torch.Tensor,
                    plane_bytes: torch.Tensor | None = None) -> Resources:
    """Resources of the chunks' PE arrays and buffers; `banks`, `gb_words`, `rf_words` are
    (B, H, 3), `plane_bytes` (B, H) each engine's plane buffer (both slots; pooling and
    shuffle, dna.cost.nodes). FPGA: DSPs per MAC, double-buffered GB banks in BRAM18K or
    LUTRAM, LUTs. ASIC: PE, RF, double-buffered SRAM and plane-buffer SRAM area."""
    bits_t = torch.tensor([bits, bits, acc_bits(bits)], dtype=F64,  # word width per tensor
                          device=gb_words.device)
    used = m.chunk_pes > 0
    if target.kind == "fpga":
        chunk_dsp = (torch.ceil(m.chunk_pes * target.dsp_per_mac[bits])
                     + DSP_PER_REQUANTIZER) * used
        bram_words = 2 * gb_words  # double-buffered
        brams = bram18k(bram_words, banks, bits_t, target.lutram_max_bits)
        chunk_bram = brams.sum(-1) * used
        dsp, bram = chunk_dsp.sum(-1), chunk_bram.sum(-1)
        lutram_bits = (bram_words * bits_t).mul_(brams == 0).sum(-1)
        rf_bits = (rf_words * bits_t).sum(-1) * m.chunk_pes
        lut = target.lut_base + ((m.chunk_pes * target.lut_per_pe[bits]
                                  + (lutram_bits + rf_bits) / 64) * used).sum(-1)
        return Resources(chunk_dsp, chunk_bram, dsp, bram, lut, torch.zeros_like(dsp),
                          (dsp <= target.dsp) & (bram <= target.bram18k) & (lut <= target.lut))
    zero = torch.zeros(m.batch, dtype=F64, device=gb_words.device)
    gb_bytes = gb_words * bits_t / 8  # (B, H, 3): one buffer per tensor
    rf_bytes = (rf_words * bits_t / 8).sum(-1)  # (B, H): one RF per PE
    sram_bytes = 2 * gb_bytes.sum(-1) + (0 if plane_bytes is None else plane_bytes)
    area_um2 = (m.chunk_pes * (target.pe_area_um2[bits]
                               + rf_bytes * target.rf_area_um2_per_byte)
                + sram_bytes / 1024 * target.sram_area_um2_per_kib) * used
    area = area_um2.sum(-1) / 1e6
    return Resources(torch.zeros_like(m.chunk_pes), torch.zeros_like(m.chunk_pes), zero,
                      zero, zero, area, area <= target.area_mm2)
