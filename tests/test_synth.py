"""`dna-hwgen synth`: the parsers on captured Yosys output, the area arithmetic, the JSON
round trip and the CLI's errors (fast); both flows on a small emitted design (sim)."""
from __future__ import annotations

import json
import os
import time
from importlib import resources
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from dna.cost.target import load_target, target_from_dict
from hwgen import api
from hwgen.cli.main import main
from hwgen.synth.cells import NANGATE45
from hwgen.synth.parse import Memory, parse_macro_list, parse_memories, parse_stat
from hwgen.synth.report import (
    Row,
    SynthReport,
    asic_area,
    format_report,
    report_from_dict,
    report_to_dict,
    xc7_counts,
)
from hwgen.synth.scripts import MIN_MACRO_WORDS, asic_script, xc7_script
from hwgen.synth.yosys import PhaseWatch
from sim.points import chunk, emit_design, random_design, single_conv

B32 = "{:032b}".format  # Yosys JSON writes integer parameters as 32-bit binary strings

# `stat -json` of synth_xilinx on a top with two PEs (trimmed: Yosys 0.70's layout).
STAT_XC7 = {
    "creator": "Yosys 0.70 (git sha1 28ba3cb92, Release)",
    "modules": {
        "\\dna_top": {"num_cells_by_type": {"LUT6": 10, "FDRE": 5, "\\dna_engine_c0": 1}},
        "\\dna_engine_c0": {"num_cells_by_type": {
            "LUT2": 3, "RAM32M": 2, "SRLC32E": 1, "DSP48E1": 4, "RAMB36E1": 1,
            "RAMB18E1": 1, "CARRY4": 7, "FDCE": 2, "$paramod$ab12\\dna_pe": 2}},
        "$paramod$ab12\\dna_pe": {"num_cells_by_type": {"DSP48E1": 1, "LUT3": 4}},
    },
    "design": {"num_cells_by_type": {
        "\\dna_engine_c0": 1, "LUT6": 10, "LUT2": 3, "LUT3": 8, "FDRE": 5, "FDCE": 2, "RAM32M": 2, "SRLC32E": 1,
        "DSP48E1": 6, "RAMB36E1": 1, "RAMB18E1": 1, "CARRY4": 7}},
}
# `write_json -selected` of the memories (trimmed to the parameters we read).
MEMS = {"modules": {"top": {"cells": {
    "gen[0].u_a.mem": {"type": "$mem_v2", "parameters": {
        "RD_CLK_ENABLE": "0", "RD_PORTS": B32(1), "SIZE": B32(16), "WIDTH": B32(8),
        "WR_PORTS": B32(1)}},
    "u_s.mem": {"type": "$mem_v2", "parameters": {
        "RD_CLK_ENABLE": "1", "RD_PORTS": B32(1), "SIZE": B32(64), "WIDTH": B32(16),
        "WR_PORTS": B32(1)}},
    "u_rom.mem": {"type": "$mem_v2", "parameters": {
        "RD_CLK_ENABLE": "1", "RD_PORTS": B32(1), "SIZE": B32(32), "WIDTH": B32(4),
        "WR_PORTS": B32(0)}},
    "u_b": {"type": "dna_bank", "parameters": {"W": B32(32), "D": B32(1024)}},
}}}}


def test_stat_counts_dsp_per_pe_instance_and_luts_the_vivado_way():
    s = parse_stat(STAT_XC7)
    assert s.instances("dna_top") == {"dna_top": 1, "dna_engine_c0": 1,
                                      "$paramod$ab12\\dna_pe": 2}
    assert "dna_engine_c0" not in s.design  # instances are expanded, not cells
    x = xc7_counts(s, "dna_top")
    assert (x.dsp48e1, x.pes, x.pe_dsp48e1) == (6, 2, 2)
    assert x.bram18k == 1 + 2 * 1  # a RAMB36E1 counts as two RAMB18
    assert (x.lut_logic, x.lut_ram, x.lut_srl, x.lut) == (21, 8, 1, 30)  # RAM32M = 4 LUTs
    assert (x.ff, x.carry4) == (7, 7)


def test_memories_are_classified_by_the_macro_list_and_ports():
    macros = parse_macro_list("top/u_s.mem\n")
    assert macros == {"u_s.mem"}
    mems = {m.name: m for m in parse_memories(MEMS, macros)}
    assert {n: m.kind for n, m in mems.items()} == {
        "gen[0].u_a.mem": "flops", "u_s.mem": "macro", "u_rom.mem": "rom", "u_b": "macro"}
    assert mems["u_b"].bits == 32 * 1024 and mems["u_s.mem"].sync_read
    assert not mems["gen[0].u_a.mem"].sync_read


def test_asic_area_is_gates_times_cell_areas_plus_macro_bits_at_the_sram_figure():
    cells = {"$_NAND_": 10, "$_MUX_": 2, "$_DFF_P_": 3, "$_DFF_PN0_": 1,
             "$__dna_sram": 1, "dna_bank": 1, "$scopeinfo": 4, "$_WEIRD_": 2}
    mems = (Memory("m", "macro", 16, 64, 1, 1, True), Memory("f", "flops", 8, 16, 1, 1, False))
    a = asic_area(cells, mems, 3467.0, ("$__dna_sram", "dna_bank"))
    assert a.comb_um2 == pytest.approx(10 * 0.798 + 2 * 1.862)
    assert a.seq_um2 == pytest.approx(3 * 4.522 + 5.32) and a.ff == 4
    assert a.macro_bits == 1024  # only the macro's bits: 1/8 KiB
    assert a.macro_mm2 == pytest.approx(1024 / 8 / 1024 * 3467 / 1e6)
    assert a.total_mm2 == pytest.approx(a.logic_mm2 + a.macro_mm2)
    assert a.unknown_cells == {"$_WEIRD_": 2}


def test_every_gate_area_is_a_nangate_cell_width_times_the_row_height():
    for g in NANGATE45.values():  # LEF SIZE w BY 1.4, w on the 0.19 um placement grid
        w = g.area_um2 / 1.4
        assert round(w / 0.19, 6).is_integer(), g


def _report() -> SynthReport:
    return SynthReport(
        design_dir="d", flow="asic", yosys="Yosys 0.70", top="dna_top", network="n",
        target="asic45", model_target="asic45", wall_s=1.5, cells={"$_NAND_": 3},
        rows=(Row("total mm^2", 0.5, 0.25), Row("logic mm^2", None, 0.2)),
        memories=(Memory("m", "macro", 16, 64, 1, 1, True),),
        asic=asic_area({"$_NAND_": 3}, (Memory("m", "macro", 16, 64, 1, 1, True),), 3467.0,
                       ("$__dna_sram",)))


def test_report_json_round_trip_and_table():
    r = _report()
    d = json.loads(json.dumps(report_to_dict(r)))
    assert d["schema"] == "dna-synth/1" and d["rows"][0]["ratio"] == 0.5
    assert d["asic"]["total_mm2"] == pytest.approx(r.asic.total_mm2)
    assert report_from_dict(d) == r
    text = format_report(r)
    assert "total mm^2" in text and "0.50" in text and "1,024 bits in 1 SRAM macro" in text


def test_scripts_use_relative_paths_and_the_macro_rule():
    srcs = ["rtl/a.v", "rtl/dna_top.v"]
    for text in (xc7_script(srcs, "dna_top"), asic_script(srcs, "dna_top")):
        assert "/tmp" not in text and " /" not in text
        assert "read_verilog -DSYNTHESIS -Irtl rtl/a.v rtl/dna_top.v" in text
    assert "synth_xilinx -family xc7 -top dna_top" in xc7_script(srcs, "dna_top")
    a = asic_script(srcs, "dna_top")
    assert f"r:SIZE>={MIN_MACRO_WORDS}" in a and "r:RD_CLK_ENABLE=1'1" in a
    assert a.index("write_json") < a.index("chtype") < a.index("memory_map")


def test_progress_notes_each_command_and_throttles_passes():
    notes: list[str] = []
    w = PhaseWatch(time.perf_counter(), notes.append)
    for line in ["1. Executing Verilog-2005 frontend: rtl/a.v", "junk",
                 "3. Executing SYNTH_XILINX pass.", "3.1. Executing HIERARCHY pass (x).",
                 "3.2. Executing PROC pass.", "3.2.1. Executing PROC_CLEAN pass.",
                 "4. Executing STAT pass."]:
        w.feed(line)
    # every command; its passes only PROGRESS_EVERY_S after the last note (none here)
    assert [n.split(" s  ")[1] for n in notes] == ["verilog-2005", "synth_xilinx", "stat"]
    w.last_note -= 10
    w.feed("4.1. Executing OPT pass.")
    assert notes[-1].endswith("s  stat: opt")


def test_cli_synth_on_a_directory_without_rtl_is_one_line_exit_2(tmp_path):
    res = CliRunner().invoke(main, ["synth", str(tmp_path)])
    assert res.exit_code == 2 and res.output.count("\n") == 1
    assert "manifest.json" in res.output and "Traceback" not in res.output


def test_cli_synth_names_the_manifest_field_at_fault(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"schema": "dna-rtl/1", "top": "dna_top", "sources": ["rtl/missing.v"]}))
    res = CliRunner().invoke(main, ["synth", str(tmp_path), "--flow", "asic"])
    assert res.exit_code == 2 and res.output.count("\n") == 1
    assert "manifest.json: sources: rtl/missing.v not found" in res.output


# ---------------------------------------------------------------- Yosys runs (sim)

def _narrow_target():
    """asic45 with a 1.6 GB/s DRAM: the RTL gets the narrowest (64-bit) AXI bus, so the
    per-lane requantisers and element-wise units are 8 lanes, not 64 (a fast synthesis)."""
    data = yaml.safe_load(resources.files("dna.cost.targets").joinpath("asic45.yaml")
                          .read_text())
    return target_from_dict(data | {"name": "asic45_narrow", "dram_bandwidth_gbps": 1.6},
                            "asic45_narrow")


def small_design_dir(out: Path, bits: int = 8) -> Path:
    """The smallest RTL: one 3x3 conv on a 2-PE KYX engine, emitted for the narrow bus."""
    asic45 = load_target("asic45")
    net = single_conv("c", 4, 4, 4, 3)
    d = random_design(net, chunk("KYX", (2, 1, 1), (64, 64, 32), (8, 8, 4)), asic45, bits,
                      seed=1)
    return emit_design(d, _narrow_target(), out)


# The whole 2-PE design synthesises in 3-10 min per flow on 2 shared cores (the requantisers
# and element-wise unit are one 64-bit lane per bus byte), so the full-design runs are opt-in.
full_design = pytest.mark.skipif(
    not os.environ.get("DNA_SYNTH_FULL"),
    reason="synthesises a whole generated design: 3-10 min per flow on 2 cores; set "
           "DNA_SYNTH_FULL=1 to run it")


def _check_json(r: SynthReport, path: Path) -> None:
    assert report_from_dict(json.loads(path.read_text())) == r


@pytest.mark.sim
@full_design
def test_xc7_flow_one_dsp48e1_per_pe_multiplier(tmp_path):
    d = small_design_dir(tmp_path / "rtl")
    notes: list[str] = []
    t0 = time.perf_counter()
    r = api.synth(d, flow="xc7", progress=notes.append, timeout_s=900)
    print(f"xc7 flow: {time.perf_counter() - t0:.0f} s")
    x = r.xc7
    assert x is not None and r.model_target == "zc706"
    assert x.pes == 2 and x.pe_dsp48e1 == x.pes  # each PE's product is one DSP48E1
    assert x.dsp48e1 >= x.pe_dsp48e1 and x.lut > 0 and x.ff > 0
    assert [row.name for row in r.rows] == ["DSP48E1", "BRAM18K (RAMB36 = 2)", "LUT", "FF"]
    assert any("synth_xilinx" in n for n in notes)
    assert (d / "synth" / "yosys.log").stat().st_size > 0
    _check_json(r, d / "synth" / "report.json")


@pytest.mark.sim
@full_design
def test_asic_flow_area_and_memory_accounting(tmp_path):
    d = small_design_dir(tmp_path / "rtl")
    t0 = time.perf_counter()
    r = api.synth(d, timeout_s=900, json_path=tmp_path / "r.json")  # asic: the RTL's kind
    print(f"asic flow: {time.perf_counter() - t0:.0f} s")
    a = r.asic
    assert a is not None and r.flow == "asic" and r.model_target == "asic45"
    assert a.unknown_cells == {} and a.ff > 0 and a.comb_um2 > 0
    assert r.rows[-1].synth == pytest.approx(a.logic_mm2 + a.macro_mm2)
    for m in r.memories:  # a macro is exactly what the script's rule selects
        fits = (m.write_ports == 1 and m.read_ports == 1 and m.sync_read
                and m.depth_words >= MIN_MACRO_WORDS)
        assert (m.kind == "macro") == fits, m
    assert a.macro_bits == sum(m.bits for m in r.memories if m.kind == "macro")
    _check_json(r, tmp_path / "r.json")


BANK_RTL = """
module dna_bank #(parameter integer W = 8, parameter integer D = 16) (
    input wire clk, input wire we, input wire [$clog2(D)-1:0] wa, ra,
    input wire [W-1:0] wd, output reg [W-1:0] rd);
    reg [W-1:0] mem [0:D-1];
    always @(posedge clk) begin if (we) mem[wa] <= wd; rd <= mem[ra]; end
endmodule
module dna_top (input wire clk, input wire we, input wire [7:0] wa, ra,
                input wire [15:0] wd, output wire [31:0] rd);
    dna_bank #(.W(16), .D(256)) u_b0 (clk, we, wa, ra, wd, rd[15:0]);
    dna_bank #(.W(16), .D(256)) u_b1 (clk, we, ra, wa, ~wd, rd[31:16]);
endmodule
"""


@pytest.mark.sim
def test_sram_banks_are_macros_for_asic_and_block_ram_for_xc7(tmp_path):
    """The coming RTL's `dna_bank` (W bits x D words, one write, one synchronous read)."""
    d = small_design_dir(tmp_path / "rtl")
    (d / "rtl" / "bank_top.v").write_text(BANK_RTL)
    man = json.loads((d / "manifest.json").read_text()) | {"sources": ["rtl/bank_top.v"]}
    (d / "manifest.json").write_text(json.dumps(man))
    r = api.synth(d, flow="asic", timeout_s=300)
    assert [(m.name, m.kind, m.bits) for m in r.memories] == [
        ("u_b0", "macro", 16 * 256), ("u_b1", "macro", 16 * 256)]
    assert r.asic.macro_bits == 2 * 16 * 256 and r.asic.ff == 0
    x = api.synth(d, flow="xc7", timeout_s=300).xc7
    assert x.bram18k == 2 and x.ff == 0  # one RAMB18E1 per 4 Kib bank, its own registers


@pytest.mark.sim
def test_cli_timeout_is_one_line_exit_2(tmp_path):
    d = small_design_dir(tmp_path / "rtl")
    res = CliRunner().invoke(main, ["synth", str(d), "--timeout", "1"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    err = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "did not finish within 1 s" in err[0], res.output
