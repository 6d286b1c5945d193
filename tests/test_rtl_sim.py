"""Generated Verilog, simulated (cocotb + Verilator, and Icarus on a tiny design) and
linted (Verilator -Wall, Icarus).

Every simulation checks every node output bit-exactly against the PyTorch integer
reference. Builds are cached by Verilog content in a shared temp directory, so designs
that differ only in their op programs (mappings, weights) reuse one build.
"""
from __future__ import annotations

import json
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from dna.cost.target import load_target
from dna.design import make_design
from dna.space.gads.typed import Accelerator
from dna.workload.ir import Shape
from dna.workload.zoo import NetBuilder
from hwgen import api
from hwgen.cli.main import main
from sim.points import (
    chunk,
    emit_design,
    fbnet_net,
    random_design,
    random_mapping,
    single_conv,
)
from sim.simulators import verilator_env

pytestmark = pytest.mark.sim
TARGET = load_target("asic45")
CACHE = Path(tempfile.gettempdir()) / "dna_rtl_build_cache"
HW = {"KYX": ((2, 2, 2)), "KCRS": ((2, 2, 2, 1)), "KRX": ((2, 3, 2))}
GB, RF = (2048, 1024, 1024), (32, 32, 16)


def zoo_net():
    """conv 3x3, pointwise, depthwise, strided conv, grouped pointwise (fused ReLU/ReLU6),
    then a standalone ReLU (clamp op) and a residual add."""
    b = NetBuilder(Shape(1, 4, 8, 8))
    b.conv("conv", 6, 3, padding=1)
    b.act("conv_relu")
    b.conv("pw", 8, 1)
    b.act("pw_relu6", "relu6")
    b.conv("dw", 8, 3, padding=1, groups=8)
    b.conv("strided", 6, 3, stride=2, padding=1)
    b.act("strided_relu")
    b.conv("grouped", 4, 1, groups=2)
    b.act("grouped_relu")  # not fused: "grouped" also feeds the add -> a clamp op
    b.add("sum", "grouped", "grouped_relu")
    return b.build("zoo")


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("noc", sorted(HW))
def test_layer_zoo_bit_exact(tmp_path, noc, bits):
    """5 layer kinds x random loop orders and tiles (2 draws) x random back-pressure."""
    ch = chunk(noc, HW[noc], GB, RF)
    for seed in (1, 2):
        design = random_design(zoo_net(), ch, TARGET, bits, seed=seed + 10 * bits)
        ddir = emit_design(design, TARGET, tmp_path / f"d{seed}", seed=seed)
        res = api.sim(ddir, seeds=(seed,), backpressure_seed=seed, cache_root=CACHE,
                      max_cycles=500_000)
        assert res.status == "PASS", f"{res.detail} (mappings {design.accelerator.mappings})"
        assert res.runs[-1]["ops_done"] == len(design.network.convs) + 2


def test_fbnet_network_end_to_end(tmp_path):
    """A 5-conv FBNet-style network with a residual add, two inputs, bit-exact."""
    ch = chunk("KYX", (4, 2, 1), (4096, 2048, 2048), (32, 32, 16))
    design = random_design(fbnet_net(8, 16), ch, TARGET, 8, seed=5)
    ddir = emit_design(design, TARGET, tmp_path / "fbnet", seed=5)
    res = api.sim(ddir, seeds=(0, 1), cache_root=CACHE, max_cycles=1_000_000)
    assert res.status == "PASS", res.detail
    assert len(res.runs) == 2 and res.runs[-1]["ops_done"] == 6


def test_fast_testbench_agrees_with_cocotb(tmp_path):
    """The fast path (Verilator + C++ DRAM model) on the FBNet-style network, two inputs:
    bit-exact, every op's cycles within 1% (or 4 cycles) of the cocotb testbench's (the
    same DRAM bandwidth and latency; they differ in a cycle or two of handshake timing);
    and a corrupted weight is caught at the layer it corrupts."""
    ch = chunk("KYX", (4, 2, 1), (4096, 2048, 2048), (32, 32, 16))
    design = random_design(fbnet_net(8, 16), ch, TARGET, 8, seed=5)
    ddir = emit_design(design, TARGET, tmp_path / "fbnet", seed=5)
    slow = api.sim(ddir, seeds=(0, 1), cache_root=CACHE, max_cycles=1_000_000)
    fast = api.sim(ddir, seeds=(0, 1), cache_root=CACHE, max_cycles=1_000_000, fast=True)
    assert slow.status == fast.status == "PASS", (slow.detail, fast.detail)
    assert fast.build.simulator == "verilator-cxx" and len(fast.runs) == 2
    for s, f in zip(slow.runs[-1]["ops"], fast.runs[-1]["ops"]):
        assert abs(f["cycles"] - s["cycles"]) <= max(4, 0.01 * s["cycles"]), (s, f)
    blob = bytearray((ddir / "constants.bin").read_bytes())
    blob[0] ^= 0x55  # the first weight of the first conv
    (ddir / "constants.bin").write_bytes(bytes(blob))
    bad = api.sim(ddir, seeds=(0,), cache_root=CACHE, max_cycles=1_000_000, fast=True)
    assert bad.status == "FAIL" and bad.detail.startswith("layer stem: index"), bad.detail


def test_fpga_rtl_packs_two_8bit_pes_per_multiplier_bit_exact(tmp_path):
    """--backend rtl for zc706: at 8 bit, PEs that share a weight lane share one multiplier
    two by two (dna_pe2, one DSP48E1: w * (a1 * 2^16 + a0)); the zoo network (every conv
    kind, random weights and inputs of both signs) is bit-exact on the fast testbench.
    At 16 bit every PE keeps its own multiplier."""
    zc706 = load_target("zc706")
    ch = chunk("KYX", (2, 2, 2), GB, RF)  # 2 weight lanes (K) of 4 PEs (Y x X) each
    for bits, pairs in ((8, 4), (16, 0)):
        design = random_design(zoo_net(), ch, zc706, bits, seed=3)
        ddir = emit_design(design, zc706, tmp_path / str(bits), seed=3, backend="rtl")
        array = (ddir / "rtl" / "dna_array_c0.v").read_text()
        assert array.count("dna_pe2 #") == pairs and array.count("dna_pe #") == 8 - 2 * pairs
        res = api.sim(ddir, seeds=(0, 1), cache_root=CACHE, fast=True)
        assert res.status == "PASS", (bits, res.detail)


def test_searched_fbnet_network_simulates_bit_exact(tmp_path):
    """A reduced `dna search` (tests.test_cosearch.TINY: digits at 8x8) derives an FBNet
    network (pooling, global average pool and FC head included); DAS's multi-cycle and
    pipeline picks for it on asic45 within 16 PEs emit and simulate bit-exactly on the
    fast testbench, two frames back to back; the multi-cycle frame within 5% of the model
    (its single ops, a few hundred cycles each after a short search, are not all)."""
    from dna import api as dna_api
    from sim.report import frame_timing
    from tests.test_cosearch import TINY
    found = dna_api.search(config=TINY, out_dir=tmp_path / "s", plots=False)
    for style in ("multicycle", "pipeline"):
        out = dna_api.das(network=str(found.design_path), target="asic45", precision=8,
                          style=style, seed=0, steps=150,
                          limits=dna_api.Constraints(max_pes=16))
        ddir = emit_design(out.design, TARGET, tmp_path / style, seed=0)
        res = api.sim(ddir, seeds=(0,), cache_root=CACHE, frames=2, fast=True)
        assert res.status == "PASS", (style, res.detail)
        man = json.loads((ddir / "manifest.json").read_text())
        assert {o["kind"] for o in man["ops"]} >= {"conv", "plane"}
        if style == "multicycle":  # one op at a time: the frame is the sum of the ops
            t = frame_timing(man, res.runs[0]["frame_done_cycles"])
            assert abs(t.latency_cycles / t.predicted_latency - 1) <= 0.05, t


def test_pipeline_of_engines_overlaps_frames_bit_exact(tmp_path):
    """Three chunks (two NoCs, depthwise alone), one engine each, four frames back to
    back under random DRAM back-pressure: engines work on different frames at once (a
    residual add reads a tensor two frames' copies apart from the one being written), and
    every frame's every node output is bit-exact."""
    net = fbnet_net(8, 16)
    chs = (chunk("KYX", (2, 2, 2), GB, RF), chunk("KYX", (4, 2, 1), GB, RF),
           chunk("KCRS", (2, 2, 1, 1), GB, RF))
    where = {"stem": 0, "b1.pw": 0, "b1.dw": 1, "b1.pwl": 2, "head": 2}
    rng = random.Random(4)
    maps = tuple(random_mapping(c, chs[where[c.name]], rng, chunk_index=where[c.name])
                 for c in net.convs)
    design = make_design(net, Accelerator("pipeline", chs, maps), TARGET, 16, provenance={})
    ddir = emit_design(design, TARGET, tmp_path / "pipe", seed=4)
    res = api.sim(ddir, seeds=(3,), backpressure_seed=3, cache_root=CACHE,
                  max_cycles=2_000_000, frames=4)
    assert res.status == "PASS", res.detail
    done = res.runs[0]["frame_done_cycles"]
    assert len(done) == 4 and res.runs[0]["ops_done"] == 4 * len(res.runs[0]["ops"])
    # overlapped: four frames take well under four single-frame latencies
    assert done[-1] < 3.2 * done[0], done


@pytest.mark.parametrize("noc", sorted(HW))
def test_lint_clean_and_icarus_compiles(tmp_path, noc):
    """verilator --lint-only -Wall: no warnings (waivers in the RTL carry reasons);
    iverilog -g2005 compiles the same files."""
    design = random_design(fbnet_net(4, 8), chunk(noc, HW[noc], GB, RF), TARGET, 16, seed=2)
    ddir = emit_design(design, TARGET, tmp_path / "lint", seed=2)
    srcs = [l for l in (ddir / "filelist.f").read_text().split() if not l.startswith("+")]
    with verilator_env():
        lint = subprocess.run(["verilator", "--lint-only", "-Wall", "-Irtl", "--top-module",
                               "dna_top", *srcs], cwd=ddir, capture_output=True, text=True)
    assert lint.returncode == 0 and "%Warning" not in lint.stderr, lint.stderr[-3000:]
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not installed")
    iv = subprocess.run(["iverilog", "-g2005", "-Wall", "-Irtl", "-s", "dna_top", "-o",
                         str(tmp_path / "a.vvp"), *srcs], cwd=ddir, capture_output=True,
                        text=True)
    assert iv.returncode == 0 and not iv.stderr.strip(), iv.stderr[-3000:]


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory):
    design = random_design(fbnet_net(4, 8), chunk("KRX", HW["KRX"], GB, RF), TARGET, 8, seed=9)
    return emit_design(design, TARGET, tmp_path_factory.mktemp("cli") / "d", seed=9)


def test_cli_sim_prints_pass_and_cycle_table(sim_dir, monkeypatch):
    monkeypatch.setenv("DNA_SIM_CACHE", str(CACHE))
    res = CliRunner().invoke(main, ["sim", str(sim_dir), "--seeds", "2"])
    assert res.exit_code == 0, res.output
    out = res.output
    assert "PASS" in out and "predicted" in out and "measured" in out and "ratio" in out
    assert "cycles/s" in out and "verilator build" in out
    for node in ("stem", "b1.pw", "b1.dw", "b1.pwl", "head", "b1.add"):
        assert node in out


def test_cli_sim_reports_first_mismatch(sim_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("DNA_SIM_CACHE", str(CACHE))
    bad = tmp_path / "bad"
    shutil.copytree(sim_dir, bad, ignore=shutil.ignore_patterns("sim_run", "sim_build"))
    blob = bytearray((bad / "constants.bin").read_bytes())
    blob[0] ^= 0x55  # corrupt the first weight of the first conv
    (bad / "constants.bin").write_bytes(bytes(blob))
    res = CliRunner().invoke(main, ["sim", str(bad)])
    assert res.exit_code == 1
    assert "FAIL: layer stem: index" in res.output and "expected" in res.output


def test_cli_sim_stalls_counts_every_mac_and_traces_counters(sim_dir, tmp_path, monkeypatch):
    """--stalls: MAC cycles per conv op equal the model's temporal iterations exactly; MACs
    plus waits fit in the op's measured cycles; the counter trace is written."""
    import csv

    from dna.cost.model import evaluate
    from dna.design import load_design
    from dna.space.gads.batch import encode, network_layers
    monkeypatch.setenv("DNA_SIM_CACHE", str(CACHE))
    d = tmp_path / "d"
    shutil.copytree(sim_dir, d, ignore=shutil.ignore_patterns("sim_run", "sim_build"))
    res = CliRunner().invoke(main, ["sim", str(d), "--stalls"])
    assert res.exit_code == 0, res.output
    design = load_design(d / "design.json")
    compute = evaluate(network_layers(design.network), encode([design.accelerator]), TARGET,
                       design.precision).compute_cycles[0]
    table = res.output.split("waiting for ...)")[1].split("counter trace")[0]
    rows = {ln.split()[1]: [int(v.replace(",", "")) for v in ln.split()[2:]]
            for ln in table.splitlines()[3:] if ln.strip()}
    cycle_rows = [ln.split() for ln in res.output.splitlines()]
    measured = {r[1]: int(r[5].replace(",", "")) for r in cycle_rows
                if len(r) == 7 and r[2] == "conv"}
    assert sorted(rows) == sorted(c.name for c in design.network.convs)
    for i, conv in enumerate(design.network.convs):
        assert rows[conv.name][0] == compute[i].item()
        assert sum(rows[conv.name]) <= measured[conv.name]
    with open(d / "sim_run" / "trace.csv") as f:
        events = list(csv.DictReader(f))
    assert {"cu.inputs_tile", "dma_i.filled", "afu_w.released"} <= {e["counter"] for e in events}


@pytest.mark.parametrize("noc", ["KYX", "KCRS"])
def test_model_predicts_rtl_cycles_within_5_percent(tmp_path, noc):
    """The cost model's pick among 300 random mappings per layer (what a search on fixed
    hardware returns), at the target's DRAM bandwidth and latency: every op's measured
    cycles (conv layers and the residual add) within 5% of the prediction (the fidelity
    benchmark's hardware)."""
    from sim.points import FIDELITY_HARDWARE, best_design
    from sim.report import op_cycles
    net = fbnet_net(8, 32) if noc == "KYX" else single_conv("conv3x3", 16, 16, 16, 3)
    design = best_design(net, FIDELITY_HARDWARE[noc], TARGET, 8, seed=1)
    ddir = emit_design(design, TARGET, tmp_path / "d", seed=1)
    res = api.sim(ddir, seeds=(0,), cache_root=CACHE)
    assert res.status == "PASS", res.detail
    rows = op_cycles(json.loads((ddir / "manifest.json").read_text()), res)
    assert sum(r.kind == "conv" for r in rows) == len(net.convs)
    assert all(abs(r.ratio - 1) <= 0.05 for r in rows), [(r.node, r.ratio) for r in rows]


def test_icarus_runs_the_testbench_bit_exact(tmp_path):
    """A tiny design on Icarus (4-state, event-driven): bit-exact with the reference, and
    every op takes the cycles it takes on Verilator."""
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not installed")
    ch = chunk("KYX", HW["KYX"], GB, RF)
    design = random_design(single_conv("c", 4, 6, 4, 3), ch, TARGET, 8, seed=1)
    ddir = emit_design(design, TARGET, tmp_path / "d", seed=1)
    icarus = api.sim(ddir, cache_root=CACHE, simulator="icarus", run_dir=tmp_path / "ivl")
    assert icarus.status == "PASS", icarus.detail
    assert icarus.build.simulator == "icarus"
    verilator = api.sim(ddir, cache_root=CACHE, run_dir=tmp_path / "vl")
    assert verilator.status == "PASS", verilator.detail
    assert icarus.runs[0]["ops"] == verilator.runs[0]["ops"]


def plane_net(c: int, size: int, stride: int, pad: int, fn: str, groups: int, k: int):
    """Every non-conv op kind around two convs: shuffle of the 12x12 input (the largest
    plane, so every draw builds the same plane buffer), a pool drawn by hypothesis, a
    conv, a global average pool, a standalone clamp, the FC head (1x1 conv) and a
    residual add."""
    b = NetBuilder(Shape(1, c, 12, 12))
    b.shuffle("sh", groups)
    b.pool("pool", size, stride, padding=pad, fn=fn)
    b.conv("conv", k, 1)
    b.act("conv_relu")
    b.shuffle("sh2", 2)
    b.gap("gap")
    b.act("gap_relu")
    b.conv("fc", 5, 1)
    b.add("sum", "fc", "fc")
    return b.build("planes")


@settings(max_examples=3, deadline=None, derandomize=True)
@given(data=st.data())
@pytest.mark.parametrize("bits", [8, 16])
def test_non_conv_ops_bit_exact_in_the_predicted_cycles(tmp_path_factory, bits, data):
    """Max and average pooling (stride, padding), global average pooling, channel
    shuffle, a clamp and an add, random shapes: bit-exact with the reference (also under
    random DRAM back-pressure), and without back-pressure every non-conv op takes the
    cycles the cost model charges (dna.cost.nodes.node_cost), to 2 cycles."""
    from sim.report import op_cycles
    c = data.draw(st.sampled_from([2, 4, 6]), "channels")
    size = data.draw(st.integers(1, 3), "size")
    stride = data.draw(st.integers(1, 3), "stride")
    pad = data.draw(st.integers(0, (size - 1) // 2), "padding")
    fn = data.draw(st.sampled_from(["max", "avg"]), "fn")
    groups = data.draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]), "groups")
    net = plane_net(c, size, stride, pad, fn, groups, 2 * data.draw(st.integers(1, 3), "k"))
    seed = data.draw(st.integers(0, 1000), "seed")
    design = random_design(net, chunk("KYX", HW["KYX"], GB, RF), TARGET, bits, seed=seed)
    ddir = emit_design(design, TARGET, tmp_path_factory.mktemp("planes"), seed=seed)
    res = api.sim(ddir, seeds=(seed,), cache_root=CACHE, max_cycles=500_000)
    assert res.status == "PASS", res.detail
    rows = op_cycles(json.loads((ddir / "manifest.json").read_text()), res)
    ops = [r for r in rows if r.kind != "conv"]
    assert [r.node for r in ops] == ["sh", "pool", "sh2", "gap", "gap_relu", "sum"]
    assert all(abs(r.measured - r.predicted) <= 2 for r in ops), ops
    res = api.sim(ddir, seeds=(seed + 1,), backpressure_seed=seed, cache_root=CACHE,
                  max_cycles=1_000_000)
    assert res.status == "PASS", res.detail


def test_das_pipeline_frame_interval_and_latency_within_5_percent(tmp_path):
    """Issue #13's design: DAS's pipeline pick for the FBNet-style block (3 chunks, at most
    96 PEs), four frames back to back at the target's DRAM bandwidth and latency: the
    steady-state frame interval within 5% of the model's frame_cycles (the chunks queue
    for the DRAM behind each other: dna.cost.model._queue_wait), the first frame's latency
    within 5% of latency_cycles, every frame bit-exact."""
    from dna import api as dna_api
    from sim.report import frame_timing
    out = dna_api.das(network="examples/networks/fbnet_block.yaml", target="asic45",
                      precision=8, style="pipeline", seed=0,
                      limits=dna_api.Constraints(max_pes=96))
    design = out.design
    assert len(design.accelerator.chunks) == 3
    ddir = emit_design(design, TARGET, tmp_path / "d", seed=0)
    res = api.sim(ddir, seeds=(0,), cache_root=CACHE, frames=4)
    assert res.status == "PASS", res.detail
    t = frame_timing(json.loads((ddir / "manifest.json").read_text()),
                     res.runs[0]["frame_done_cycles"])
    assert abs(t.interval_cycles / t.predicted_interval - 1) <= 0.05, t
    assert abs(t.latency_cycles / t.predicted_latency - 1) <= 0.05, t
    # the fast testbench runs the same frames bit-exactly, frame ends within 2% of cocotb's
    fast = api.sim(ddir, seeds=(0,), cache_root=CACHE, frames=4, fast=True)
    assert fast.status == "PASS", fast.detail
    for s, f in zip(res.runs[0]["frame_done_cycles"], fast.runs[0]["frame_done_cycles"]):
        assert abs(f / s - 1) <= 0.02, (res.runs[0], fast.runs[0])
