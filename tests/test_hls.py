"""The HLS backend: chunk graph, emitted project, g++ C-simulation against the PyTorch
integer reference, resource report and error paths.

Tests marked `sim` compile generated C++ with g++ (a few seconds each); the others are
fast. Every loop-order position at every level and all three NoCs are exercised by
`test_every_loop_position_csim` (asserted there); hypothesis draws small networks and random
legal GADS points for the rest.
"""
from __future__ import annotations

import json
import random
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dna.cost.target import load_target
from dna.design import Design, make_design, save_design
from dna.space.gads.index import index_space
from dna.space.gads.io import accelerator_from_spec, expand_mapping
from dna.space.gads.typed import (
    NOCS,
    TEMPORAL_LEVELS,
    Accelerator,
    ChunkHW,
    LayerMapping,
    check_accelerator,
    problem_of,
    required_buffers,
)
from dna.workload.io import network_from_yaml
from dna.workload.ir import DIMS, INPUT, Network, Shape
from dna.workload.zoo import NetBuilder, get_network
from hwgen import api
from hwgen.cli.main import main as hwgen_main
from hwgen.graph import (
    HANDSHAKE_DEPTH,
    INPUT_NODE,
    OUTPUT_NODE,
    GraphError,
    Stream,
    build_graph,
    check_graph,
    to_dot,
)

ROOT = Path(__file__).resolve().parents[1]
ZC706 = load_target("zc706")
needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")


# ---------------------------------------------------------------- designs

def design_of(net: Network, acc: Accelerator, bits: int = 8) -> Design:
    """A design for zc706 after checking `acc` is legal for `net`."""
    problems = check_accelerator(acc, net, max_pes=ZC706.max_pes)
    assert not problems, problems
    return make_design(net, acc, ZC706, bits, provenance={"by": "tests/test_hls.py"})


def random_gads(net: Network, rng: random.Random, max_unroll: int = 4) -> Accelerator:
    """A random index vector of GADS decoded to a legal accelerator (unrolls up to
    `max_unroll` PEs per NoC dim)."""
    space = index_space(net, max_pes=max_unroll)
    return space.decode([rng.randrange(n) for n in space.sizes])


def tiny_design(style: str = "pipeline", bits: int = 8) -> Design:
    net = network_from_yaml(ROOT / "examples/networks/tiny.yaml")
    rng = random.Random(3)
    while True:
        acc = random_gads(net, rng)
        if acc.style == style and len(acc.chunks) >= (3 if style == "pipeline" else 1):
            return design_of(net, acc, bits)


def vgg16_design(dataset: str) -> Design:
    """VGG16 on zc706, 8-bit: one KYX engine of 16x8x8 PEs (512 DSPs), output stationary
    (C, R, S in the register files), 4 x 16 output channels and 2 x 8 rows/cols per GB tile."""
    net = get_network("vgg16", dataset=dataset)
    spec = {"style": "multicycle", "chunks": [{"noc": "KYX", "unroll": [16, 8, 8]}],
            "mapping": {"order": {"dram": "NKYXCRS", "gb": "NKYXCRS", "rf": "NKYXCRS"},
                        "gb": {"K": 4, "C": 16, "Y": 2, "X": 2},
                        "rf": {"C": 4, "R": 3, "S": 3}}}
    return design_of(net, accelerator_from_spec(spec, net, max_pes=ZC706.max_pes))


def emit_to(design: Design, out: Path, seed: int = 0) -> Path:
    return api.emit(design, out=out, target=ZC706, weights_seed=seed).out_dir


def csim_passes(design: Design, seed: int = 0) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        r = api.csim(emit_to(design, Path(tmp) / "prj", seed))
        assert r.passed, "\n".join(map(str, r.mismatches)) + "\n" + r.log[-2000:]
        assert r.values_checked > 0


# ---------------------------------------------------------------- small networks

@st.composite
def small_networks(draw) -> Network:
    """Conv, depthwise, grouped + shuffle, residual or FC networks of a few small layers."""
    kind = draw(st.sampled_from(["conv", "depthwise", "grouped_shuffle", "residual", "fc"]))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 4))
    hw = draw(st.integers(3, 7))
    b = NetBuilder(Shape(n, c, hw, hw))
    k = draw(st.integers(1, 6))
    act = draw(st.sampled_from(["relu", "relu6", None]))
    if kind == "conv":
        kern = draw(st.integers(1, 3))
        b.conv("conv", k, (kern, draw(st.integers(1, 3))), stride=draw(st.integers(1, 2)),
               padding=draw(st.integers(0, kern - 1)))
        if act:
            b.act("act", act)
        if min(b.shape().h, b.shape().w) >= 2 and draw(st.booleans()):
            b.pool("pool", 2, draw(st.integers(1, 2)), fn=draw(st.sampled_from(["max", "avg"])),
                   padding=draw(st.integers(0, 1)))
    elif kind == "depthwise":
        ch = draw(st.integers(2, 5))
        b.conv("expand", ch, 1)
        b.act("expand_relu", "relu6")
        b.conv("dw", ch, 3, stride=draw(st.integers(1, 2)), padding=1, groups=ch)
        if act:
            b.act("dw_act", act)
        b.conv("project", k, 1)
    elif kind == "grouped_shuffle":
        g = draw(st.integers(2, 3))
        b.conv("pw1", 2 * g, 1)
        b.conv("gconv", g * draw(st.integers(1, 2)), draw(st.sampled_from([1, 3])), padding=1,
               groups=g)
        b.shuffle("shuffle", g)
        b.conv("pw2", k, 1)
    elif kind == "residual":
        b.conv("stem", k, 3, padding=1)
        x = b.act("stem_relu", "relu")
        b.conv("body", k, 3, padding=1)
        b.add("add", b.last, x)
        if act:
            b.act("out_act", act)
    else:
        b.conv("feat", k, 3, padding=1)
        b.act("feat_relu", "relu")
        if draw(st.booleans()):
            b.gap("gap")
            b.conv("fc", draw(st.integers(2, 10)), 1)
        else:
            b.fc("fc", draw(st.integers(2, 10)))
    return b.build(f"hyp-{kind}")


@needs_gxx
@pytest.mark.sim
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=small_networks(), bits=st.sampled_from([8, 16]), seed=st.integers(0, 2**16))
def test_random_networks_on_random_gads_points_are_bit_exact(net, bits, seed):
    acc = random_gads(net, random.Random(seed))
    csim_passes(design_of(net, acc, bits), seed)


@needs_gxx
@pytest.mark.sim
def test_sanitizers_find_no_out_of_range_access():
    """Address and undefined-behaviour sanitizers on random designs (one-PE chunks and
    int16 included): no out-of-range buffer access, no signed overflow."""
    net = network_from_yaml(ROOT / "examples/networks/tiny.yaml")
    for seed, bits, max_unroll in ((5, 8, 1), (6, 16, 4)):
        d = design_of(net, random_gads(net, random.Random(seed), max_unroll), bits)
        with tempfile.TemporaryDirectory() as tmp:
            r = api.csim(emit_to(d, Path(tmp) / "prj", seed),
                         extra_flags=("-fsanitize=address,undefined",
                                      "-fno-sanitize-recover=all"))
            assert r.passed, r.log[-3000:]


# ---------------------------------------------------------------- loop orders x NoCs

def _rotation(i: int) -> str:
    return "".join(DIMS[(j + i) % 7] for j in range(7))


def coverage_design(noc: str) -> Design:
    """Seven convs on the network input; conv i uses the i-th rotation of NKCYXRS at every
    level, and every dim has a factor >= 2 at every level, so each dim sits at each
    position of each level's order in a real loop. Unroll 2 on every NoC dim."""
    par = set(NOCS[noc])
    size = {d: 9 if d in par else 5 for d in DIMS}  # > gb 2 x spatial x rf 2
    r, s = size["R"], size["S"]
    in_h, in_w = size["Y"] + r - 1, size["X"] + s - 1
    b = NetBuilder(Shape(size["N"], size["C"], in_h, in_w))
    for i in range(7):
        b.conv(f"conv{i}", size["K"], (r, s), padding=0, src=INPUT)
    net = b.build(f"cover-{noc}")
    chunk = ChunkHW(noc, tuple(2 for _ in NOCS[noc]), (1, 1, 1), (1, 1, 1))
    tiles = {d: 2 for d in DIMS}
    maps = []
    for i, conv in enumerate(net.convs):
        order = (_rotation(i),) * 3
        maps.append(LayerMapping(conv.name, 0, order, expand_mapping(
            problem_of(conv), chunk, order, tiles, tiles)))
    acc = Accelerator("multicycle", (chunk,), tuple(maps))
    (gb, rf), = required_buffers(acc, net)
    acc = Accelerator("multicycle", (ChunkHW(noc, chunk.unroll, gb, rf),), acc.mappings)
    return design_of(net, acc)


@pytest.mark.parametrize("noc", sorted(NOCS))
def test_coverage_design_puts_every_dim_at_every_position(noc):
    d = coverage_design(noc)
    seen = set()
    for m in d.accelerator.mappings:
        for lv, order in zip(TEMPORAL_LEVELS, m.order):
            seen |= {(lv, pos, dim) for pos, dim in enumerate(order) if m.factor(lv, dim) > 1}
    assert seen == {(lv, p, dim) for lv in TEMPORAL_LEVELS for p in range(7) for dim in DIMS}


@needs_gxx
@pytest.mark.sim
@pytest.mark.parametrize("noc", sorted(NOCS))
def test_every_loop_position_csim(noc):
    csim_passes(coverage_design(noc))


# ---------------------------------------------------------------- the dataflow graph

def residual_pipeline() -> Design:
    """stem | body1 | body2 + add(stem): the skip tensor passes over one chunk."""
    b = NetBuilder(Shape(1, 3, 6, 6))
    b.conv("stem", 4, 3, padding=1)
    x = b.act("stem_relu")
    b.conv("body1", 4, 3, padding=1)
    b.act("body1_relu")
    b.conv("body2", 4, 3, padding=1)
    b.add("add", b.last, x)
    net = b.build("residual")
    chunks = [{"noc": n, "unroll": [2] * len(NOCS[n]), "layers": [c]}
              for n, c in zip(("KYX", "KCRS", "KRX"), ("stem", "body1", "body2"))]
    spec = {"style": "pipeline", "chunks": chunks}
    return design_of(net, accelerator_from_spec(spec, net))


def test_graph_of_a_residual_pipeline():
    d = residual_pipeline()
    g = build_graph(d)
    assert [n for n in g.nodes] == [INPUT_NODE, "c0", "c1", "c2", OUTPUT_NODE]
    assert g.nodes["c2"]["layers"] == ("body2", "add")
    assert g.nodes["c0"]["layers"] == ("stem", "stem_relu")
    assert g.nodes["c1"]["mappings"]["body1"]["order"]["gb"] == "NKCYXRS"  # the default
    skip, = g.edges["c0", "c2"]["streams"]
    direct, = g.edges["c0", "c1"]["streams"]
    assert skip.tensor == direct.tensor == "stem_relu"
    assert skip.depth == 1 * skip.elements  # one frame per chunk on the long branch (c1)
    assert direct.depth == HANDSHAKE_DEPTH
    assert all(s.width_bits == 8 for _, _, e in g.edges(data=True) for s in e["streams"])
    assert check_graph(g, d) == []


def run_dataflow(g, frames: int, depths: dict | None = None, reversed_reads=()) -> bool:
    """Element-level model of the emitted top: per frame every engine reads its input
    streams one tensor after another (producer order, or reversed for the chunks in
    `reversed_reads`), then writes each output tensor element by element to all the
    streams that carry it; FIFOs hold their depth. True if every frame gets through."""
    depths = depths or {}
    level, cap = {}, {}
    for a, b, d in g.edges(data=True):
        for s in d["streams"]:
            level[a, b, s.tensor], cap[a, b, s.tensor] = 0, depths.get((a, b), s.depth)
    order = list(g.nodes)

    def engine(n):
        ins = [((a, n, s.tensor), s.elements) for a, _, d in
               sorted(g.in_edges(n, data=True), key=lambda e: order.index(e[0]))
               for s in d["streams"]]
        ins = ins[::-1] if n in reversed_reads else ins
        outs: dict[str, tuple[int, list]] = {}
        for _, b, d in sorted(g.out_edges(n, data=True), key=lambda e: order.index(e[1])):
            for s in d["streams"]:
                outs.setdefault(s.tensor, (s.elements, []))[1].append((n, b, s.tensor))
        for _ in range(frames):
            for key, elements in ins:
                for _ in range(elements):
                    yield "read", key
            for elements, keys in outs.values():
                for _ in range(elements):
                    for key in keys:
                        yield "write", key

    procs = {n: engine(n) for n in g.nodes}
    pending = {n: next(p, None) for n, p in procs.items()}
    while any(op is not None for op in pending.values()):
        moved = False
        for n, proc in procs.items():
            while (op := pending[n]) is not None:
                kind, key = op
                if (kind == "read" and level[key] == 0) or \
                        (kind == "write" and level[key] == cap[key]):
                    break
                level[key] += 1 if kind == "write" else -1
                pending[n], moved = next(proc, None), True
        if not moved:
            return False  # deadlock: every unfinished engine waits on a FIFO
    return True


def test_skip_fifo_depth_prevents_deadlock():
    g = build_graph(residual_pipeline())
    assert run_dataflow(g, frames=3)
    assert run_dataflow(g, frames=3, reversed_reads={"c2"})  # any read order
    shallow = {("c0", "c2"): HANDSHAKE_DEPTH}
    assert run_dataflow(g, frames=3, depths=shallow)  # the emitted order gets by ...
    assert not run_dataflow(g, frames=3, depths=shallow, reversed_reads={"c2"})  # ... barely


def test_graph_of_a_multicycle_design_is_one_chunk():
    g = build_graph(tiny_design("multicycle"))
    assert [n for n, a in g.nodes(data=True) if a["kind"] == "chunk"] == ["c0"]
    assert len(g.nodes["c0"]["layers"]) == 12


def test_graph_validation_finds_every_broken_rule():
    d = residual_pipeline()
    g = build_graph(d)
    g.edges["c0", "c2"]["streams"] = (Stream("stem_relu", 144, 8, 2),)
    g.edges["c0", "c1"]["streams"] = (Stream("stem_relu", 144, 16, 2),)
    g.nodes["c2"]["layers"] = ("body2",)
    g.nodes["c1"]["layers"] = ("body1", "body1_relu", "stem")
    problems = "\n".join(check_graph(g, d))
    assert "depth 2 < 144" in problems
    assert "16 bits wide" in problems
    assert "layer add is in no chunk" in problems
    assert "layer stem is in both c0 and c1" in problems
    g.add_edge("c2", "c0", streams=(Stream("add", 144, 8, 2),))
    assert "cycle" in check_graph(g, d)[0]
    with pytest.raises(GraphError):
        raise GraphError(check_graph(g, d))


def test_dot_and_png_export(tmp_path):
    d = residual_pipeline()
    dot = to_dot(build_graph(d))
    assert dot == to_dot(build_graph(d))
    assert '"c0" -> "c2"' in dot and "depth 144" in dot
    save_design(d, tmp_path / "d.json")
    runner = CliRunner()
    for name in ("g.png", "g.dot"):
        r = runner.invoke(hwgen_main, ["graph", str(tmp_path / "d.json"), "--out",
                                       str(tmp_path / name)])
        assert r.exit_code == 0, r.output
        assert "3 chunk(s), 5 stream(s)" in r.output
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "g.dot").read_text() == dot


# ---------------------------------------------------------------- the emitted project

def test_emit_is_deterministic(tmp_path):
    d = tiny_design()
    a, b = emit_to(d, tmp_path / "a"), emit_to(d, tmp_path / "b")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_emitted_code_follows_the_design(tmp_path):
    d = tiny_design()
    out = emit_to(d, tmp_path / "p")
    top = (out / "src/dna_top.cpp").read_text()
    manifest = json.loads((out / "project.json").read_text())
    assert manifest["design_hash"] in top.splitlines()[0]
    assert "dna-hwgen" in top.splitlines()[0]
    assert "DNA_PRAGMA(HLS DATAFLOW)" in top and "DNA_PRAGMA(HLS PIPELINE II=1)" in top
    assert "ARRAY_PARTITION variable=o_rf complete dim=1" in top  # one RF per PE
    for m in d.accelerator.mappings:  # loops appear in the mapping's order, level by level
        body = top.split(f"static void {m.layer}_run(")[1].split("\n}\n")[0]
        labels = [ln.strip()[:-1] for ln in body.splitlines() if ln.strip().endswith(":")]
        want = [f"{lv.upper()}_{dim}" for lv, order in zip(TEMPORAL_LEVELS, m.order)
                for dim in order if m.factor(lv, dim) > 1]
        assert [x for x in labels if x != "GROUP"] == want
    for c in manifest["chunks"]:
        assert f"static const int PES = {c['pes']}" in (out / "src/dna_params.h").read_text()
    tcl = (out / "run_hls.tcl").read_text()
    for step in ("csim_design", "csynth_design", "cosim_design", "export_design",
                 "set_part {xc7z045ffg900-2}", "create_clock -period 5 "):
        assert step in tcl
    assert "vivado_hls -f run_hls.tcl" in (out / "README.md").read_text()


def test_zcu102_part_and_clock(tmp_path):
    d = tiny_design()
    zcu = load_target("zcu102")
    api.emit(d, out=tmp_path, target=zcu)
    tcl = (tmp_path / "run_hls.tcl").read_text()
    assert "set_part {xczu9eg-ffvb1156-2-e}" in tcl
    assert f"create_clock -period {1000 / zcu.clock_mhz:g} " in tcl


@needs_gxx
@pytest.mark.sim
def test_tiny_int16_pipeline_csim_and_cli(tmp_path):
    d = tiny_design(bits=16)
    save_design(d, tmp_path / "d.json")
    runner = CliRunner()
    r = runner.invoke(hwgen_main, ["emit", "--design", str(tmp_path / "d.json"), "--target",
                                   "zc706", "--out", str(tmp_path / "prj")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(hwgen_main, ["csim", str(tmp_path / "prj")])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("PASS") and "0 mismatches" in r.output and "g++ compile" in r.output
    # a wrong reference value is found and located
    exp = tmp_path / "prj/data/expected.bin"
    raw = bytearray(exp.read_bytes())
    raw[4] ^= 0x01
    exp.write_bytes(bytes(raw))
    r = runner.invoke(hwgen_main, ["csim", str(tmp_path / "prj")])
    assert r.exit_code == 1 and r.output.startswith("FAIL")
    assert "mismatch stem[2] (n=0, c=0, y=0, x=2)" in r.output


# ---------------------------------------------------------------- VGG16 on zc706

@pytest.fixture(scope="module")
def vgg16_project(tmp_path_factory) -> Path:
    return emit_to(vgg16_design("cifar"), tmp_path_factory.mktemp("vgg") / "zc706")


def test_vgg16_resources_within_zc706_budget(vgg16_project):
    r = api.report(vgg16_project)
    assert r.within_budget
    assert r.emitted.dsp == 512 + 2  # 1024 8-bit MACs, 2 per DSP, and one requantiser
    assert r.emitted.dsp == r.model.dsp  # the model charges the requantiser too
    out = CliRunner().invoke(hwgen_main, ["report", str(vgg16_project)])
    assert out.exit_code == 0 and "zc706: within the budget" in out.output, out.output
    assert out.output.splitlines()[2].split()[:4] == ["DSP", "514", "514", "900"]
    full = vgg16_design("imagenet")  # the full-size design: cost model within budget too
    assert make_design(full.network, full.accelerator, ZC706, 8, provenance={}
                       ).predicted["feasible"]


@needs_gxx
@pytest.mark.sim
def test_vgg16_cifar_csim(vgg16_project):
    r = api.csim(vgg16_project)
    assert r.passed and r.tensors_checked == 32, r.log[-2000:]


# ---------------------------------------------------------------- errors: one line, exit 2

def _invoke(args: list[str], tmp: Path):
    r = CliRunner().invoke(hwgen_main, args)
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.output
    assert not (tmp / "out").exists()
    assert not [p for p in tmp.iterdir() if p.name.startswith(".out")]
    return lines[0]


def test_design_with_missing_fields(tmp_path):
    data = {"schema": "dna-design/1", "target": "zc706", "precision": 8, "predicted": {}}
    (tmp_path / "bad.json").write_text(json.dumps(data))
    line = _invoke(["emit", "--design", str(tmp_path / "bad.json"), "--target", "zc706",
                    "--out", str(tmp_path / "out")], tmp_path)
    assert "network: missing" in line and "accelerator: missing" in line


def test_unknown_target(tmp_path):
    save_design(tiny_design(), tmp_path / "d.json")
    line = _invoke(["emit", "--design", str(tmp_path / "d.json"), "--target", "zc999",
                    "--out", str(tmp_path / "out")], tmp_path)
    assert "unknown target 'zc999'" in line


def test_layer_the_backend_cannot_build(tmp_path):
    b = NetBuilder(Shape(1, 1024, 64, 64))
    b.conv("wide", 16, 3, padding=1)
    net = b.build("wide")
    spec = {"style": "multicycle", "chunks": [{"noc": "KYX", "unroll": [1, 1, 1]}],
            "mapping": {"gb": {"C": 1024, "Y": 64, "X": 64}}}  # all its inputs in the GB
    save_design(design_of(net, accelerator_from_spec(spec, net)), tmp_path / "d.json")
    line = _invoke(["emit", "--design", str(tmp_path / "d.json"), "--target", "zc706",
                    "--out", str(tmp_path / "out")], tmp_path)
    assert "layer wide: its GB tile of inputs is 4194304 words" in line
    assert "more than all the block RAM of zc706" in line


def test_graph_needs_a_known_file_type(tmp_path):
    save_design(tiny_design(), tmp_path / "d.json")
    line = _invoke(["graph", str(tmp_path / "d.json"), "--out", str(tmp_path / "g.txt")],
                   tmp_path)
    assert "expected a .dot, .png, .svg or .pdf file name" in line


def test_csim_and_report_of_a_bad_directory(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    for cmd in ("csim", "report"):
        line = _invoke([cmd, str(tmp_path / "nothing")], tmp_path)
        assert "no such directory" in line
        line = _invoke([cmd, str(tmp_path / "empty")], tmp_path)
        assert "no project.json" in line
    out = emit_to(tiny_design(), tmp_path / "prj")
    monkeypatch.setenv("CXX", "no-such-compiler-dna")
    line = _invoke(["csim", str(out)], tmp_path)
    assert "'no-such-compiler-dna' is not on PATH" in line


@pytest.mark.sim
def test_csim_accepts_a_relative_project_path(tmp_path, monkeypatch):
    """`dna-hwgen csim build/x` from the project's parent (a relative path) builds and passes."""
    net = network_from_yaml(ROOT / "examples/networks/tiny.yaml")
    space = index_space(net, max_pes=64)
    design = make_design(net, space.decode([0] * len(space.params)), load_target("zc706"), 8,
                         provenance={})
    save_design(design, tmp_path / "d.json")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(hwgen_main, ["emit", "--design", "d.json", "--target", "zc706",
                                      "--out", "build/x"]).exit_code == 0
    res = runner.invoke(hwgen_main, ["csim", "build/x"])
    assert res.exit_code == 0 and "PASS" in res.output, res.output
