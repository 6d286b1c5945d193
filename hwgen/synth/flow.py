"""`dna-hwgen synth`: run one flow's Yosys script in an RTL directory, count what it built,
and put the cost model's figures for the same design beside it.

Stages: check the directory (manifest sources, design.json), pick the flow and the model's
target, write synth/<flow>.ys, run Yosys (hwgen.synth.yosys), parse (hwgen.synth.parse),
count (hwgen.synth.report), write synth/report.json.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from dna.cost.report import Report, report
from dna.cost.target import Target, TargetError, load_target
from dna.design import load_design
from dna.fileio import write_atomic
from hwgen.errors import HwgenError
from hwgen.synth.parse import (
    Stat,
    load_json,
    parse_macro_list,
    parse_memories,
    parse_stat,
)
from hwgen.synth.report import (
    Row,
    SynthReport,
    asic_area,
    report_to_dict,
    xc7_counts,
)
from hwgen.synth.scripts import (
    BANK_PATTERN,
    FLOWS,
    MACRO_TYPE,
    MACROS_TXT,
    MEMORIES_JSON,
    OUT_DIR,
    STAT_JSON,
    Flow,
    script_for,
)
from hwgen.synth.yosys import run_yosys

DEFAULT_MODEL_TARGET = {"xc7": "zc706", "asic": "asic45"}  # when the RTL's target is the
# other kind (or not a built-in): the 7-series board, the 45 nm node
DEFAULT_TIMEOUT_S = 3600.0
LOG = f"{OUT_DIR}/yosys.log"
REPORT_JSON = f"{OUT_DIR}/report.json"


def sources_of(rtl_dir: Path, man: dict) -> tuple[list[str], str]:
    """The manifest's Verilog sources (checked to exist, relative to `rtl_dir`) and top."""
    where = rtl_dir / "manifest.json"
    srcs, top = man.get("sources"), man.get("top")
    if not isinstance(srcs, list) or not srcs or not all(isinstance(s, str) for s in srcs):
        raise HwgenError(f"{where}: sources: expected a list of Verilog file paths")
    if not isinstance(top, str) or not top.isidentifier():
        raise HwgenError(f"{where}: top: expected a module name, got {top!r}")
    bad = [s for s in srcs if Path(s).is_absolute() or ".." in Path(s).parts]
    missing = [s for s in srcs if not (rtl_dir / s).is_file()]
    if bad or missing:
        raise HwgenError(f"{where}: sources: {', '.join(bad + missing)} "
                         f"{'not under the directory' if bad else 'not found'}")
    return srcs, top


def pick(man: dict, flow: Flow | None, model_target: str | Target | None,
         note: Callable[[str], None]) -> tuple[Flow, Target]:
    """The flow (default: from the RTL target's kind) and the target of the model
    figures (default: the RTL's own when its kind fits the flow, else DEFAULT_MODEL_TARGET)."""
    if flow is not None and flow not in FLOWS:
        raise HwgenError(f"unknown flow {flow!r}: expected one of {', '.join(FLOWS)}")
    if isinstance(model_target, Target):
        tgt: Target | None = model_target
    else:
        try:
            tgt = load_target(model_target or man.get("target", ""))
        except TargetError:
            if model_target:
                raise
            tgt = None
    flow = flow or ("xc7" if tgt is not None and tgt.kind == "fpga" else "asic")
    if tgt is None or tgt.kind != ("fpga" if flow == "xc7" else "asic"):
        if model_target:
            raise HwgenError(f"model target {tgt.name} is an {tgt.kind} target; the {flow} "
                             f"flow needs {'an fpga' if flow == 'xc7' else 'an asic'} one")
        tgt = load_target(DEFAULT_MODEL_TARGET[flow])
        note(f"model figures for {tgt.name} (the RTL was emitted for {man.get('target')})")
    return flow, tgt


def model_report(rtl_dir: Path, target: Target) -> Report:
    """The cost model's report of the directory's design.json on `target`."""
    path = rtl_dir / "design.json"
    if not path.is_file():
        raise HwgenError(f"{path}: not found (dna-hwgen emit writes it beside the RTL)")
    d = load_design(path)
    return report(d.network, d.accelerator, target, d.precision)


def run_synth(rtl_dir: Path, man: dict, *, flow: Flow | None = None,
              model_target: str | Target | None = None,
              timeout_s: float = DEFAULT_TIMEOUT_S, json_path: Path | None = None,
              note: Callable[[str], None] | None = None) -> SynthReport:
    """Synthesise the RTL in `rtl_dir` (manifest `man`) with `flow`; write the report to
    `json_path` (default rtl_dir/synth/report.json) and return it."""
    note = note or (lambda _line: None)
    sources, top = sources_of(rtl_dir, man)
    flow, tgt = pick(man, flow, model_target, note)
    model = model_report(rtl_dir, tgt)
    (rtl_dir / OUT_DIR).mkdir(exist_ok=True)
    script = f"{OUT_DIR}/{flow}.ys"
    write_atomic(rtl_dir / script, script_for(flow, sources, top))
    for stale in (STAT_JSON[flow], MEMORIES_JSON, MACROS_TXT):
        (rtl_dir / stale).unlink(missing_ok=True)
    note(f"{flow} flow: yosys -s {script} in {rtl_dir} (log {LOG})")
    run = run_yosys(rtl_dir, script, log=rtl_dir / LOG, timeout_s=timeout_s, note=note)
    stat = parse_stat(load_json(rtl_dir / STAT_JSON[flow], "stat -json report"),
                      str(rtl_dir / STAT_JSON[flow]))
    common = {"design_dir": str(rtl_dir), "flow": flow, "yosys": stat.creator, "top": top,
              "network": str(man.get("network", "")), "target": str(man.get("target", "")),
              "model_target": tgt.name, "wall_s": run.wall_s, "cells": stat.design}
    rep = (_xc7_report(common, stat, top, model) if flow == "xc7"
           else _asic_report(common, rtl_dir, stat, model, tgt))
    write_atomic(json_path or rtl_dir / REPORT_JSON,
                 json.dumps(report_to_dict(rep), indent=1) + "\n")
    return rep


def _xc7_report(common: dict, stat: Stat, top: str, model: Report) -> SynthReport:
    x = xc7_counts(stat, top)
    rows = (Row("DSP48E1", model.dsp, x.dsp48e1),
            Row("BRAM18K (RAMB36 = 2)", model.bram18k, x.bram18k),
            Row("LUT", model.lut, x.lut), Row("FF", None, x.ff))
    return SynthReport(**common, rows=rows, memories=(), xc7=x)


def _asic_report(common: dict, rtl_dir: Path, stat: Stat, model: Report,
                 tgt: Target) -> SynthReport:
    bank = BANK_PATTERN.rstrip("*")
    mems = parse_memories(load_json(rtl_dir / MEMORIES_JSON, "memory list"),
                          parse_macro_list((rtl_dir / MACROS_TXT).read_text()), bank,
                          str(rtl_dir / MEMORIES_JSON))
    a = asic_area(stat.design, mems, tgt.sram_area_um2_per_kib, (MACRO_TYPE, bank))
    rows = (Row("logic mm^2", None, a.logic_mm2),
            Row("SRAM macros mm^2", None, a.macro_mm2),
            Row("total mm^2", model.area_mm2, a.total_mm2))
    return SynthReport(**common, rows=rows, memories=mems, asic=a)
