"""Targets: FPGA boards and ASIC technology nodes as cited YAML data files.

Each file in `dna/cost/targets/` is one target. Every number carries its source in the
YAML comments. Energy tables are (size in bytes, pJ per 16-bit word access) points,
interpolated log-log and scaled linearly with word width.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from dna.errors import DnaError

BRAM18K_BITS = 18 * 1024  # Xilinx 7-series / UltraScale+ BRAM18K capacity (UG473)
# Each engine's one shared requantiser: an acc-wide x 15-bit product, two DSP48 25x18
# multipliers (the generated HLS engines have exactly one each).
DSP_PER_REQUANTIZER = 2


MIN_BUS_BYTES = 8  # narrowest AXI data bus the generated engines build (64 bits)
MAX_BUS_BYTES = 128  # widest (1024 bits, the AXI4 maximum)


def bus_bytes_for(target: Target) -> int:
    """AXI data width of the generated RTL engines: the target's DRAM bytes per cycle
    rounded up to a power of two, so a fully streaming bus can carry the target's
    bandwidth."""
    need = max(target.dram_bytes_per_cycle, MIN_BUS_BYTES)
    return min(MAX_BUS_BYTES, 1 << math.ceil(math.log2(need)))


class TargetError(DnaError):
    """A target name or target file is invalid; the message names the field."""


@dataclass(frozen=True)
class FixedArch:
    """An architecture the target fixes (e.g. Eyeriss 14x12): only mappings are searched."""

    noc: str  # one of gads.NOCS
    unroll: tuple[int, ...]  # PEs per NoC dim
    gb_words: tuple[int, int, int]  # (inputs, weights, outputs)
    rf_words: tuple[int, int, int]


@dataclass(frozen=True)
class Target:
    """One FPGA or ASIC target; FPGA-only and ASIC-only fields are None on the other kind."""

    name: str
    kind: Literal["fpga", "asic"]
    description: str
    clock_mhz: float
    dram_bandwidth_gbps: float  # peak DRAM bandwidth, GB/s (1e9 bytes/s)
    dram_pj_per_bit: float
    mac_pj: dict[int, float]  # energy per MAC by precision bits (8, 16)
    sram_pj_table: tuple[tuple[float, float], ...]  # (bytes, pJ per 16-bit word) points
    rf_pj_table: tuple[tuple[float, float], ...]  # (bytes, pJ per 16-bit word) points
    max_pes: int  # PE budget the search may use
    # FPGA
    dsp: int | None = None
    bram18k: int | None = None
    lut: int | None = None
    dsp_per_mac: dict[int, float] | None = None  # DSP slices per MAC by precision
    lut_per_pe: dict[int, float] | None = None  # LUTs per PE by precision (mux + control)
    lut_base: int | None = None  # LUTs of the AXI/DMA/control shell
    lutram_max_bits: int | None = None  # buffers at or below this live in LUTRAM, not BRAM
    # ASIC
    area_mm2: float | None = None  # die area budget
    pe_area_um2: dict[int, float] | None = None  # MAC + pipeline regs by precision
    rf_area_um2_per_byte: float | None = None
    sram_area_um2_per_kib: float | None = None
    fixed_arch: FixedArch | None = None

    @property
    def dram_bytes_per_cycle(self) -> float:
        return self.dram_bandwidth_gbps * 1e9 / (self.clock_mhz * 1e6)

    def sram_pj(self, size_bytes: float, bits: int) -> float:
        """Energy of one `bits`-wide access to an SRAM of `size_bytes`."""
        return _interp_loglog(self.sram_pj_table, size_bytes) * bits / 16

    def rf_pj(self, size_bytes: float, bits: int) -> float:
        """Energy of one `bits`-wide access to a register file of `size_bytes`."""
        return _interp_loglog(self.rf_pj_table, size_bytes) * bits / 16


def _interp_loglog(table: tuple[tuple[float, float], ...], x: float) -> float:
    """Piecewise log-log interpolation, clamped below the first point, extrapolated
    along the last segment above the last one (as the torch twin in model.py)."""
    x = max(x, 1.0)
    if x <= table[0][0]:
        return table[0][1]
    for (x0, y0), (x1, y1) in zip(table, table[1:]):
        if x <= x1:
            t = (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0))
            return math.exp(math.log(y0) + t * (math.log(y1) - math.log(y0)))
    (x0, y0), (x1, y1) = table[-2], table[-1]
    t = (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0))
    return math.exp(math.log(y0) + t * (math.log(y1) - math.log(y0)))


def target_names() -> list[str]:
    """Names of the built-in targets."""
    return sorted(p.name[:-5] for p in resources.files("dna.cost.targets").iterdir()
                  if p.name.endswith(".yaml"))


def load_target(name_or_path: str) -> Target:
    """A built-in target by name, or a target YAML file by path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise TargetError(f"{path}: target file not found")
        text, where = path.read_text(), str(path)
    else:
        if name_or_path not in target_names():
            raise TargetError(f"unknown target {name_or_path!r}: expected one of "
                              f"{', '.join(target_names())} or a path to a target YAML file")
        text = resources.files("dna.cost.targets").joinpath(f"{name_or_path}.yaml").read_text()
        where = f"target {name_or_path}"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise TargetError(f"{where}: malformed YAML: {e}".splitlines()[0]) from None
    return target_from_dict(data, where)


_COMMON = {"name": str, "kind": str, "description": str, "clock_mhz": float,
           "dram_bandwidth_gbps": float, "dram_pj_per_bit": float, "mac_pj": dict,
           "sram_pj_table": list, "rf_pj_table": list, "max_pes": int}
_FPGA = {"dsp": int, "bram18k": int, "lut": int, "dsp_per_mac": dict, "lut_per_pe": dict,
         "lut_base": int, "lutram_max_bits": int}
_ASIC = {"area_mm2": float, "pe_area_um2": dict, "rf_area_um2_per_byte": float,
         "sram_area_um2_per_kib": float}


def target_from_dict(data: Any, where: str) -> Target:
    """Validate a parsed target file and build the `Target`; lists every bad field."""
    if not isinstance(data, dict):
        raise TargetError(f"{where}: expected a mapping at the top level")
    kind = data.get("kind")
    fields = dict(_COMMON)
    if kind == "fpga":
        fields |= _FPGA
    elif kind == "asic":
        fields |= _ASIC
    problems = [] if kind in ("fpga", "asic") else [f"kind = {kind!r}: expected fpga or asic"]
    values: dict[str, Any] = {}
    for key, typ in fields.items():
        v = data.get(key)
        ok = isinstance(v, typ) or (typ is float and isinstance(v, int))
        if v is None or isinstance(v, bool) or not ok:
            problems.append(f"{key}: expected {typ.__name__}, got {v!r}")
            continue
        if typ in (int, float) and not v > 0:  # `not >` also rejects NaN
            problems.append(f"{key} = {v}: expected > 0")
        if typ is dict:
            if set(v) != {8, 16} or any(not isinstance(x, (int, float)) or not x > 0
                                           for x in v.values()):
                problems.append(f"{key}: expected positive numbers for precisions 8 and 16")
                continue
            v = {int(k): float(x) for k, x in v.items()}
        if key.endswith("_table"):
            v = _pj_table(v)
            if v is None:
                problems.append(f"{key}: expected >= 2 [bytes, pJ] pairs, positive, "
                                f"increasing in bytes")
                continue
        values[key] = float(v) if typ is float else v
    unknown = set(data) - set(fields) - {"fixed_arch", "sources"}
    problems += [f"{k}: unknown field" for k in sorted(unknown)]
    fixed = None
    if data.get("fixed_arch") is not None:
        fixed = _fixed_arch(data["fixed_arch"], problems)
    if problems:
        raise TargetError(f"{where}: " + "; ".join(problems))
    return Target(fixed_arch=fixed, **values)


def _pj_table(v: list) -> tuple[tuple[float, float], ...] | None:
    """The (bytes, pJ) points of an energy table, or None unless they are >= 2 positive
    pairs increasing in bytes."""
    try:
        pts = tuple((float(a), float(b)) for a, b in v)
    except (TypeError, ValueError):  # not pairs of numbers
        return None
    if len(pts) < 2 or not all(a > 0 and b > 0 for a, b in pts):
        return None
    if not all(a0 < a1 for (a0, _), (a1, _) in zip(pts, pts[1:])):
        return None
    return pts


def _fixed_arch(fa: Any, problems: list[str]) -> FixedArch | None:
    """The `fixed_arch` block, or None with one problem per bad field in `problems`."""
    expected = "expected a mapping with noc, unroll, gb_words[3], rf_words[3]"
    if not isinstance(fa, dict):
        problems.append(f"fixed_arch: {expected}")
        return None
    before = len(problems)
    if not isinstance(fa.get("noc"), str):
        problems.append(f"fixed_arch.noc: expected a NoC name, got {fa.get('noc')!r}")
    words: dict[str, tuple[int, ...]] = {}
    for key, n in (("unroll", None), ("gb_words", 3), ("rf_words", 3)):
        v = fa.get(key)
        ok = isinstance(v, list) and (len(v) == n if n else len(v) >= 1)
        if not ok or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0
                             for x in v):
            size = f"{n} " if n else ""
            problems.append(f"fixed_arch.{key}: expected a list of {size}positive integers, "
                            f"got {v!r}")
        else:
            words[key] = tuple(v)
    problems += [f"fixed_arch.{k}: unknown field (expected noc, unroll, gb_words, rf_words)"
                 for k in fa if k not in ("noc", "unroll", "gb_words", "rf_words")]
    if len(problems) > before:
        return None
    return FixedArch(fa["noc"], words["unroll"], words["gb_words"], words["rf_words"])


def pe_budget_problems(chunk_pes: list[int], target: Target, bits: int,
                       where: str = "accelerator") -> list[str]:
    """Problems if the chunks' PEs exceed the target's DSP budget (FPGA) or PE budget."""
    total = sum(chunk_pes)
    if target.kind == "fpga":
        dsp = sum(math.ceil(p * target.dsp_per_mac[bits]) + DSP_PER_REQUANTIZER
                  for p in chunk_pes)
        if dsp > target.dsp:
            return [f"{where}.chunks[*].unroll: {total} PEs need {dsp} DSP slices "
                    f"({DSP_PER_REQUANTIZER} per engine requantiser) at {bits} bit but "
                    f"{target.name} has {target.dsp}"]
    if total > target.max_pes:
        return [f"{where}.chunks[*].unroll: {total} PEs exceed {target.name}'s budget of "
                f"{target.max_pes} PEs"]
    return []


def fixed_arch_problems(chunks: list[tuple[str, tuple[int, ...]]], style: str, target: Target,
                        where: str = "accelerator") -> list[str]:
    """Problems if `target` fixes an architecture and (noc, unroll) per chunk differ from it."""
    fa = target.fixed_arch
    if fa is None:
        return []
    if style != "multicycle" or len(chunks) != 1 or chunks[0] != (fa.noc, fa.unroll):
        got = ", ".join(f"{noc} {list(unroll)}" for noc, unroll in chunks)
        return [f"{where}.chunks: target {target.name} fixes one multicycle engine, noc "
                f"{fa.noc} with unroll {list(fa.unroll)}; got {style} with {got}"]
    return []
