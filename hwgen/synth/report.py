"""The synthesis report: what Yosys built, counted the 7-series way (DSP48E1, RAMB18 with a
RAMB36 as two, LUT, FF) or as 45 nm area (generic gates x cited cell areas + SRAM macros
from the target's table), next to the cost model's figures for the same design."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from hwgen.synth.cells import (
    NANGATE45,
    NOT_CELLS,
    XC7_FFS,
    XC7_LUTRAM_LUTS,
    XC7_LUTS,
    XC7_SRL_LUTS,
)
from hwgen.synth.parse import Memory, Stat
from hwgen.synth.scripts import Flow

PE_MODULE = "dna_pe"  # the processing element: one multiplier each


@dataclass(frozen=True)
class Xc7Counts:
    """synth_xilinx -family xc7 results, whole hierarchy."""

    dsp48e1: int
    ramb18e1: int
    ramb36e1: int
    lut_logic: int  # LUT1..LUT6
    lut_ram: int  # LUTs in distributed-RAM primitives (cells.XC7_LUTRAM_LUTS per cell)
    lut_srl: int  # LUTs as shift registers (SRL16E, SRLC32E)
    ff: int  # FDRE + FDSE + FDCE + FDPE
    carry4: int
    pes: int  # dna_pe instances
    pe_dsp48e1: int  # DSP48E1 inside them

    @property
    def bram18k(self) -> int:
        """RAMB18 equivalents: a RAMB36E1 counts as two."""
        return self.ramb18e1 + 2 * self.ramb36e1

    @property
    def lut(self) -> int:
        """Slice LUTs, as Vivado counts them: logic + memory (LUTRAM, SRL)."""
        return self.lut_logic + self.lut_ram + self.lut_srl


@dataclass(frozen=True)
class AsicArea:
    """Generic-gate mapping x Nangate 45 nm cell areas, plus SRAM macros."""

    comb_um2: float  # combinational gates
    seq_um2: float  # flip-flops and latches
    ff: int  # flip-flops and latches
    macro_bits: int  # memory bits built as SRAM macros
    sram_um2_per_kib: float  # the target's SRAM area figure
    unknown_cells: dict[str, int]  # cell types without an area (counted as 0)

    @property
    def logic_mm2(self) -> float:
        return (self.comb_um2 + self.seq_um2) / 1e6

    @property
    def macro_mm2(self) -> float:
        return self.macro_bits / 8 / 1024 * self.sram_um2_per_kib / 1e6

    @property
    def total_mm2(self) -> float:
        return self.logic_mm2 + self.macro_mm2


@dataclass(frozen=True)
class Row:
    """One resource: the cost model's figure (None: the model has none) and Yosys's."""

    name: str
    model: float | None
    synth: float

    @property
    def ratio(self) -> float | None:
        """synth / model."""
        return self.synth / self.model if self.model else None


@dataclass(frozen=True)
class SynthReport:
    """One `dna-hwgen synth` run."""

    design_dir: str
    flow: Flow
    yosys: str  # Yosys version line
    top: str
    network: str
    target: str  # the target the RTL was emitted for
    model_target: str  # the target the model figures are for
    wall_s: float  # Yosys wall time
    cells: dict[str, int]  # every synthesised cell type, whole hierarchy
    rows: tuple[Row, ...]  # model vs synthesised
    memories: tuple[Memory, ...]  # asic flow: every memory and how it was built
    xc7: Xc7Counts | None = None
    asic: AsicArea | None = None


def xc7_counts(stat: Stat, top: str) -> Xc7Counts:
    """Count a synth_xilinx `stat` (DSPs inside dna_pe modules counted per instance)."""
    c = stat.design
    inst = stat.instances(top)
    pe_mods = [m for m in inst if m.split("\\")[-1] == PE_MODULE]
    return Xc7Counts(
        dsp48e1=c.get("DSP48E1", 0), ramb18e1=c.get("RAMB18E1", 0),
        ramb36e1=c.get("RAMB36E1", 0), lut_logic=sum(c.get(t, 0) for t in XC7_LUTS),
        lut_ram=sum(n * c.get(t, 0) for t, n in XC7_LUTRAM_LUTS.items()),
        lut_srl=sum(n * c.get(t, 0) for t, n in XC7_SRL_LUTS.items()),
        ff=sum(c.get(t, 0) for t in XC7_FFS), carry4=c.get("CARRY4", 0),
        pes=sum(inst[m] for m in pe_mods),
        pe_dsp48e1=sum(inst[m] * stat.modules[m].get("DSP48E1", 0) for m in pe_mods))


def asic_area(cells: dict[str, int], memories: tuple[Memory, ...],
              sram_um2_per_kib: float, macro_types: tuple[str, ...]) -> AsicArea:
    """Area of a generic-gate netlist: each gate at its Nangate cell's area, the macro
    memories' bits at `sram_um2_per_kib`; `macro_types` are the black-box cell types."""
    comb = seq = 0.0
    ff, unknown = 0, {}
    for typ, n in sorted(cells.items()):
        gate = NANGATE45.get(typ)
        if gate is None:
            if typ not in NOT_CELLS and not any(p in typ for p in macro_types):
                unknown[typ] = n
        elif gate.sequential:
            seq += n * gate.area_um2
            ff += n
        else:
            comb += n * gate.area_um2
    macro_bits = sum(m.bits for m in memories if m.kind == "macro")
    return AsicArea(comb, seq, ff, macro_bits, sram_um2_per_kib, unknown)


def report_to_dict(r: SynthReport) -> dict[str, Any]:
    """JSON-ready dict; derived figures (BRAM18K, LUT, mm^2, ratios) included."""
    d = dataclasses.asdict(r)
    d["rows"] = [dataclasses.asdict(x) | {"ratio": x.ratio} for x in r.rows]
    d["memories"] = [dataclasses.asdict(m) | {"bits": m.bits} for m in r.memories]
    if r.xc7 is not None:
        d["xc7"] |= {"bram18k": r.xc7.bram18k, "lut": r.xc7.lut}
    if r.asic is not None:
        d["asic"] |= {"logic_mm2": r.asic.logic_mm2, "macro_mm2": r.asic.macro_mm2,
                      "total_mm2": r.asic.total_mm2}
    return {"schema": "dna-synth/1"} | d


def report_from_dict(d: dict[str, Any]) -> SynthReport:
    """Inverse of report_to_dict (derived figures recomputed, not read)."""
    def fields(cls: type, data: dict) -> dict:
        return {f.name: data[f.name] for f in dataclasses.fields(cls)}
    kw = fields(SynthReport, d)
    kw["rows"] = tuple(Row(**fields(Row, x)) for x in d["rows"])
    kw["memories"] = tuple(Memory(**fields(Memory, x)) for x in d["memories"])
    kw["xc7"] = Xc7Counts(**fields(Xc7Counts, d["xc7"])) if d["xc7"] else None
    kw["asic"] = AsicArea(**fields(AsicArea, d["asic"])) if d["asic"] else None
    return SynthReport(**kw)


def _num(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:.4g}"


def format_report(r: SynthReport) -> str:
    """The model-vs-synthesis table and the notes under it."""
    head = {"xc7": "synth_xilinx -family xc7", "asic": "generic gates x Nangate 45 nm areas "
            "+ SRAM macros"}[r.flow]
    lines = [(f"{r.flow} flow ({head}) of {r.design_dir}: {r.network}, RTL for "
              f"{r.target}; model figures for {r.model_target}"),
             f"{r.yosys.split(' (')[0]}, {r.wall_s:.0f} s",
             f"{'resource':<22}{'model':>12}{'synth':>12}{'synth/model':>13}"]
    for row in r.rows:
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else "-"
        lines.append(f"{row.name:<22}{_num(row.model):>12}{_num(row.synth):>12}{ratio:>13}")
    lines += _xc7_notes(r.xc7) if r.xc7 else []
    lines += _asic_notes(r.asic, r.memories) if r.asic else []
    return "\n".join(lines)


def _xc7_notes(x: Xc7Counts) -> list[str]:
    per_pe = f" ({x.pe_dsp48e1 / x.pes:g} per PE)" if x.pes else ""
    return [(f"DSP48E1: {x.pe_dsp48e1} in {x.pes} dna_pe instance(s){per_pe}, "
             f"{x.dsp48e1 - x.pe_dsp48e1} elsewhere (requantisers, element-wise unit, "
             f"address arithmetic)"),
            (f"LUT = {x.lut_logic:,} logic + {x.lut_ram:,} LUTRAM + {x.lut_srl:,} SRL; "
             f"BRAM18K = {x.ramb18e1} RAMB18E1 + 2 x {x.ramb36e1} RAMB36E1; "
             f"{x.carry4:,} CARRY4")]


def _asic_notes(a: AsicArea, mems: tuple[Memory, ...]) -> list[str]:
    def part(kind: str) -> str:
        ms = [m for m in mems if m.kind == kind]
        return f"{sum(m.bits for m in ms):,} bits in {len(ms)}"
    lines = [(f"logic {a.logic_mm2:.4f} mm^2 = {a.comb_um2:,.0f} um^2 gates + "
              f"{a.seq_um2:,.0f} um^2 in {a.ff:,} flip-flops; SRAM macros "
              f"{a.macro_mm2:.4f} mm^2 ({a.macro_bits:,} bits at {a.sram_um2_per_kib:g} "
              f"um^2/KiB)"),
             (f"memories: {part('macro')} SRAM macro(s); {part('flops')} built as "
              f"flip-flops; {part('rom')} ROM(s) built as logic")]
    if a.unknown_cells:
        lines.append(f"warning: cells without an area (counted as 0): {a.unknown_cells}")
    return lines
