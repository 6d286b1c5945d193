"""RTL backend without a simulator: the op program (interpreted exactly as the engine reads
it) against the PyTorch integer reference, config packing, deterministic output, and the
user-error paths. The Verilator/Icarus tests are in tests/test_rtl_sim.py (marked sim)."""
from __future__ import annotations

import json
import random
import typing
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from dna.cost.target import load_target
from dna.design import make_design, save_design
from dna.quant.calibrate import random_quantized_network
from dna.quant.reference import make_test_vectors
from dna.space.gads.typed import Accelerator
from dna.workload.ir import Shape
from dna.workload.zoo import NetBuilder
from hwgen import api
from hwgen.cli.main import main
from hwgen.errors import HwgenError
from hwgen.rtl.banks import banks_for, slot_depth
from hwgen.rtl.config_word import CFG_BITS, SCHEMA, pack, unpack
from hwgen.rtl.memory import constant_images, decode, encode, psum_bytes
from hwgen.rtl.program import build_program, hw_lanes
from sim.interp import HwView, run_program
from sim.points import chunk, emit_design, fbnet_net, random_design, random_mapping
from sim.simulators import SimError, Verilator, get_simulator, register_simulator

TARGET = load_target("asic45")
NOCS = {"KYX": (2, 2, 2), "KCRS": (2, 2, 2, 1), "KRX": (2, 3, 2)}
KINDS = ("conv", "pointwise", "depthwise", "strided", "grouped")


def layer_net(kind: str, rng: random.Random):
    """One small random layer of the given kind (with a ReLU after it)."""
    c, h, w = rng.choice([2, 3, 4, 6]), rng.randint(4, 9), rng.randint(4, 9)
    b = NetBuilder(Shape(1, c, h, w))
    if kind == "conv":
        b.conv("l", rng.randint(1, 8), rng.choice([2, 3]), padding=rng.choice([0, 1]))
    elif kind == "pointwise":
        b.conv("l", rng.randint(1, 8), 1)
    elif kind == "depthwise":
        b.conv("l", c, 3, stride=rng.choice([1, 2]), padding=1, groups=c)
    elif kind == "strided":
        b.conv("l", rng.randint(1, 6), rng.choice([1, 3]), stride=rng.choice([2, 3]), padding=1)
    else:
        b.conv("l", 2 * rng.randint(1, 3), rng.choice([1, 3]), padding=1, groups=2 if c % 2 == 0
               else 1)
    b.act("l_relu", rng.choice(["relu", "relu6"]))
    return b.build(f"t_{kind}")


def interpret(design, qnet, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Run the op program in the functional model; (got, expected) per node."""
    prog = build_program(design, qnet, TARGET)
    mem, e = prog.memory, design.precision // 8
    dram = bytearray(mem.top)
    for name, data in constant_images(qnet, mem).items():
        a = mem.regions[name].addr
        dram[a:a + len(data)] = data
    x, gold = make_test_vectors(qnet, seed)
    xb = encode(x.numpy(), e)
    a0 = mem.regions["t:input"].addr
    dram[a0:a0 + len(xb)] = xb
    out = {}
    for h, ch in enumerate(design.accelerator.chunks):
        lanes, pe_lane = hw_lanes(ch)
        words = [unpack(w) for w in prog.words(h)]
        run_program(words, dram, HwView(design.precision, psum_bytes(design.precision),
                                        lanes, pe_lane), prog.bus_bytes)
    for node in design.network.nodes:
        r = mem.tensor(node.name)
        n = node.out_shape.elements
        out[node.name] = (decode(bytes(dram[r.addr:r.addr + n * e]), e),
                          gold[node.name].reshape(-1).numpy())
    return out


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), kind=st.sampled_from(KINDS),
       noc=st.sampled_from(sorted(NOCS)), bits=st.sampled_from([8, 16]))
def test_program_matches_reference(seed, kind, noc, bits):
    """Every layer kind x NoC x random loop orders and tiles x precision: bit-exact."""
    rng = random.Random(seed)
    net = layer_net(kind, rng)
    ch = chunk(noc, NOCS[noc], (2048, 1024, 1024), (32, 32, 16))
    design = random_design(net, ch, TARGET, bits, seed)
    q = random_quantized_network(net, bits, seed)
    for node, (got, exp) in interpret(design, q, seed).items():
        assert np.array_equal(got, exp), (node, design.accelerator.mappings)


def test_runs_longer_than_their_config_field_are_split():
    """A 1x1 conv whose weight tile is the whole 320x256 tensor: 81,920 contiguous words,
    more than the 16-bit run length of the config word (as in MobileNetV2's last layers
    under DAS). The weight DMA walks runs of one output channel's 320 weights instead, and
    the program is still bit-exact."""
    from dna.space.gads.typed import LayerMapping
    b = NetBuilder(Shape(1, 320, 2, 2))
    b.conv("wide", 256, 1)
    net = b.build("wide")
    ch = chunk("KYX", (4, 1, 1), (640, 81920, 512), (1, 1, 1))
    m = LayerMapping("wide", 0, ("NKCYXRS",) * 3,
                     ((1, 1, 1, 2, 1, 1, 1), (1, 64, 320, 1, 2, 1, 1), (1,) * 7))
    design = make_design(net, Accelerator("multicycle", (ch,), (m,)), TARGET, 8,
                         provenance={})
    q = random_quantized_network(net, 8, 0)
    assert build_program(design, q, TARGET).ops[0].fields["dma_w_runlen"] == 320
    for node, (got, exp) in interpret(design, q, 0).items():
        assert np.array_equal(got, exp), node


def test_network_with_residual_matches_reference():
    net = fbnet_net(8, 16)
    ch = chunk("KCRS", (2, 2, 1, 1), (4096, 2048, 2048), (32, 32, 16))
    design = random_design(net, ch, TARGET, 16, seed=3)
    q = random_quantized_network(net, 16, 3)
    for node, (got, exp) in interpret(design, q, 7).items():
        assert np.array_equal(got, exp), node


def test_config_pack_round_trip():
    rng = random.Random(0)
    vals = {}
    for f in SCHEMA:
        lo, hi = ((-(1 << (f.width - 1)), (1 << (f.width - 1)) - 1) if f.signed
                  else (0, (1 << f.width) - 1))
        vals[f.name] = [rng.randint(lo, hi) for _ in range(f.count)]
    word = pack(vals)
    assert word.bit_length() <= CFG_BITS
    assert unpack(word) == vals


@pytest.fixture(scope="module")
def small_design():
    net = fbnet_net(4, 8)
    ch = chunk("KYX", (2, 2, 1), (1024, 512, 512), (16, 16, 8))
    return random_design(net, ch, TARGET, 8, seed=1)


def test_emit_is_deterministic(tmp_path, small_design):
    a = emit_design(small_design, TARGET, tmp_path / "a", seed=1)
    b = emit_design(small_design, TARGET, tmp_path / "b", seed=1)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    top = (a / "rtl" / "dna_top.v").read_text()
    man = json.loads((a / "manifest.json").read_text())
    assert man["design_hash"] in top and "dna-hwgen" in top
    assert (a / "README.md").exists() and (a / "filelist.f").read_text().count(".v") > 15
    assert [o["kind"] for o in man["ops"]] == ["conv", "conv", "conv", "conv", "add", "conv"]


def _pooled_net(batch: int = 1):
    b = NetBuilder(Shape(batch, 4, 8, 8))
    b.conv("c1", 4, 3, padding=1)
    b.pool("pool1", 2, 2)
    b.shuffle("sh", 2)
    b.conv("c2", 4, 1)
    b.gap("gap")
    return b.build("pooled")


def _design_of(net):
    ch = chunk("KYX", (2, 2, 1), (1024, 512, 512), (16, 16, 8))
    rng = random.Random(0)
    acc = Accelerator("multicycle", (ch,), tuple(random_mapping(c, ch, rng)
                                                 for c in net.convs))
    return make_design(net, acc, TARGET, 8, provenance={})


def test_plane_nodes_become_plane_ops_with_their_geometry():
    net = _pooled_net()
    prog = build_program(_design_of(net), random_quantized_network(net, 8, 0), TARGET)
    assert [(o.node, o.kind) for o in prog.ops] == [
        ("c1", "conv"), ("pool1", "plane"), ("sh", "plane"), ("c2", "conv"), ("gap", "plane")]
    pool, sh, gap = (o.fields for o in prog.ops if o.kind == "plane")
    assert (pool["pl_wr"], pool["pl_stride"], pool["pl_oh"], pool["pl_avg"]) == (2, 2, 4, 0)
    assert sh["pl_groups"] == 2 and sh["pl_gstep"] == 2 * 4 * 4  # 2 planes of 4x4 int8
    assert (gap["pl_wr"], gap["pl_ws"], gap["pl_oh"], gap["pl_avg"]) == (4, 4, 1, 1)
    assert pool["ew_o"] == sh["ew_a"] == prog.memory.tensor("pool1").addr


def test_batch_above_one_is_one_line_exit_2_naming_every_node(tmp_path):
    net = _pooled_net(batch=2)
    design = _design_of(net)
    with pytest.raises(HwgenError, match="pool1"):
        build_program(design, random_quantized_network(net, 8, 0), TARGET)
    save_design(design, tmp_path / "d.json")
    res = CliRunner().invoke(main, ["emit", "--design", str(tmp_path / "d.json"),
                                    "--target", "asic45", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and all(n.name in lines[0] for n in net.nodes), lines
    assert "batch 1" in lines[0]
    assert not (tmp_path / "o").exists()


def test_sim_on_a_non_rtl_directory_is_one_line_exit_2(tmp_path):
    res = CliRunner().invoke(main, ["sim", str(tmp_path)])
    assert res.exit_code == 2
    assert res.output.strip().startswith("error:") and "manifest.json" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_cli_emit_writes_the_rtl_project(tmp_path, small_design):
    save_design(small_design, tmp_path / "d.json")
    res = CliRunner().invoke(main, ["emit", "--design", str(tmp_path / "d.json"),
                                    "--target", "asic45", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "rtl backend for asic target asic45" in res.output
    assert (tmp_path / "o" / "rtl" / "dna_top.v").exists()
    assert Path(tmp_path / "o" / "rtl" / "dna_cfg_c0.hex").read_text().count("\n") == 6


def test_cli_emit_defaults_to_the_designs_target(tmp_path, small_design):
    """No --target: the design's own (asic45); another one is built with a note."""
    save_design(small_design, tmp_path / "d.json")
    res = CliRunner().invoke(main, ["emit", "--design", str(tmp_path / "d.json"),
                                    "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "rtl backend for asic target" in res.output and "note:" not in res.output
    res = CliRunner().invoke(main, ["emit", "--design", str(tmp_path / "d.json"),
                                    "--target", "zc706", "--out", str(tmp_path / "f")])
    assert res.exit_code == 0, res.output
    assert "note: design was searched for asic45; building for zc706" in res.output
    assert "hls backend for fpga target" in res.output and (tmp_path / "f" / "project.json").exists()


def test_cli_emit_backend_rtl_builds_verilog_for_an_fpga_target(tmp_path, small_design):
    """--backend rtl on an FPGA target writes the RTL project for it (manifest names the
    target); --backend hls on an ASIC target is one line naming both, exit 2."""
    save_design(small_design, tmp_path / "d.json")
    res = CliRunner().invoke(main, ["emit", "--design", str(tmp_path / "d.json"), "--target",
                                    "zc706", "--backend", "rtl", "--out", str(tmp_path / "f")])
    assert res.exit_code == 0, res.output
    assert "rtl backend for fpga target zc706" in res.output
    man = json.loads((tmp_path / "f" / "manifest.json").read_text())
    assert man["target"] == "zc706" and (tmp_path / "f" / "rtl" / "dna_top.v").exists()
    res = CliRunner().invoke(main, ["emit", "--design", str(tmp_path / "d.json"), "--backend",
                                    "hls", "--out", str(tmp_path / "g")])
    assert res.exit_code == 2
    assert res.output.strip().splitlines()[-1] == (
        "error: backend 'hls' builds for fpga targets, not for asic target asic45")
    assert not (tmp_path / "g").exists()


def test_simulator_registry_lists_the_valid_names(tmp_path, small_design):
    """A miss names every registered simulator (API and CLI: one line, exit 2); a name is
    registered once; the API's Literal lists the registry."""
    with pytest.raises(SimError, match="unknown simulator 'ghdl': expected one of "
                                       "icarus, verilator"):
        get_simulator("ghdl")
    with pytest.raises(ValueError, match="already registered"):
        register_simulator(Verilator("verilator", (), "dump.vcd"))
    assert sorted(typing.get_args(api.SimulatorName)) == ["icarus", "verilator"]
    ddir = emit_design(small_design, TARGET, tmp_path / "d", seed=1)
    res = CliRunner().invoke(main, ["sim", str(ddir), "--simulator", "ghdl"])
    assert res.exit_code == 2
    assert res.output.strip() == ("error: unknown simulator 'ghdl': expected one of icarus, "
                                  "verilator")


def test_fast_testbench_refuses_what_only_cocotb_has(tmp_path, small_design):
    """--fast with back-pressure, waves, stalls or Icarus: one line naming them all, exit 2,
    before anything is built."""
    ddir = emit_design(small_design, TARGET, tmp_path / "d", seed=1)
    res = CliRunner().invoke(main, ["sim", str(ddir), "--fast", "--backpressure", "1",
                                    "--stalls", "--simulator", "icarus"])
    assert res.exit_code == 2
    assert res.output.strip() == ("error: the fast testbench (Verilator + C++) has no "
                                  "back-pressure, stalls, simulator icarus: run without "
                                  "fast (cocotb) for those")
    assert not (ddir / "sim_build").exists()


def test_dram_model_takes_x_only_in_unstrobed_lanes():
    """Icarus is 4-state: a write beat may carry X where WSTRB is off, never where it is on."""
    from cocotb.types import LogicArray

    from sim.dram import beat_bytes
    assert beat_bytes(LogicArray("XXXXXXXX00000001"), 0b01, 2) == b"\x01\x00"
    assert beat_bytes(LogicArray("0000001000000001"), 0b11, 2) == b"\x01\x02"
    with pytest.raises(ValueError):
        beat_bytes(LogicArray("XXXXXXXX00000001"), 0b11, 2)


def _bank(a: int, nb: int, skew: int) -> int:
    """Skewed storage, written out: row a // nb is rotated by skew * row banks."""
    return (a % nb + skew * (a // nb)) % nb


def _lanes_conflict(offs: set[int], nb: int, skew: int, space: int) -> bool:
    """Some base address puts two of the lanes' distinct words in one bank, addresses
    wrapping at `space` words as the hardware's do (brute force over every base)."""
    a = (np.arange(space)[:, None] + np.array(sorted(offs))[None, :]) % space
    b = np.sort((a % nb + skew * (a // nb)) % nb, axis=1)
    return bool((b[:, 1:] == b[:, :-1]).any())


@settings(max_examples=100, deadline=None)
@given(sets=st.lists(st.sets(st.integers(0, 255), min_size=1, max_size=16), min_size=1,
                     max_size=3),
       beat=st.sampled_from([1, 2, 4, 8, 16]), words=st.integers(1, 256),
       slots=st.sampled_from([1, 2]))
def test_gb_banks_are_the_fewest_at_which_no_lanes_conflict(sets, beat, words, slots):
    """hwgen/rtl/banks.py against brute force: from every base address, with addresses
    wrapping at the buffer's end, the lanes' distinct words fall in distinct banks; the
    skew repeats at the wrap; every smaller such skew, and with half as many banks (still
    one per beat word) every such skew, puts two of them in one bank."""
    def repeating(nb: int) -> tuple[int, list[int]]:
        space = slots * slot_depth(words, nb)
        return space, [k for k in range(nb - beat + 1) if k * (space // nb) % nb == 0]
    nb, skew = banks_for(sets, beat, words, slots)
    assert nb & (nb - 1) == 0 and nb >= beat and 0 <= skew <= nb - beat
    space, skews = repeating(nb)
    assert skew in skews
    assert not any(_lanes_conflict(offs, nb, skew, space) for offs in sets)
    assert all(any(_lanes_conflict(offs, nb, k, space) for offs in sets)
               for k in skews if k < skew)
    half = nb // 2
    if half >= beat and half >= max(len(offs) for offs in sets):
        space, skews = repeating(half)
        assert all(any(_lanes_conflict(offs, half, k, space) for offs in sets)
                   for k in skews)


@settings(max_examples=200, deadline=None)
@given(ba=st.integers(0, 7), data=st.data())
def test_skewed_banks_take_any_dma_beat_in_one_cycle(ba, data):
    """A beat of L consecutive words from any address falls in L distinct banks exactly
    when the skew is at most NB - L (hwgen/rtl/banks.py): brute force over the start."""
    nb = 1 << ba
    beat = data.draw(st.integers(1, nb), label="beat")
    skew = data.draw(st.integers(0, nb - 1), label="skew")
    def clash(start: int) -> bool:
        return len({_bank(start + j, nb, skew) for j in range(beat)}) < beat
    assert any(clash(s) for s in range(nb * nb)) == (skew > nb - beat)
