"""The synthesisability check `dna-hwgen emit` runs on the generated kernel
(hwgen.hls.synthcheck): the kernels of random designs pass, and each rule fires, naming its
file and loop or array, on a kernel broken on purpose."""
from __future__ import annotations

import random
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dna.design import save_design
from hwgen.cli.main import main as hwgen_main
from hwgen.hls import cscan, emit
from hwgen.hls.synthcheck import (
    MAX_COMPLETE,
    check_context,
    check_sources,
    kernel_sources,
)
from tests.test_hls import design_of, emit_to, random_gads, small_networks, tiny_design


def project_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(net=small_networks(), bits=st.sampled_from([8, 16]), seed=st.integers(0, 2**16))
def test_kernels_of_random_designs_pass(tmp_path_factory, net, bits, seed):
    out = emit_to(design_of(net, random_gads(net, random.Random(seed)), bits),
                  tmp_path_factory.mktemp("prj") / "p", seed)  # emit runs the check ...
    src = kernel_sources(project_files(out))
    assert "src/dna_hls_compat.h" not in src and "src/dna_top.cpp" in src
    assert check_sources(src) == []  # ... and finds nothing
    code = cscan.code_view(src["src/dna_top.cpp"])
    fns = cscan.functions(code)
    loops = [lp for f in fns for lp in cscan.loops(cscan.blank_comments(src["src/dna_top.cpp"]),
                                                     code, f)]
    assert any(lp.label == "PE" and lp.pragmas == ("UNROLL",) for lp in loops)
    assert all(lp.bound for lp in loops)  # every loop read as `var < bound`


BROKEN = """
struct k_cfg {
  static const int N = 8, WIDE = %(wide)d;
};
static const acc_t bias[k_cfg::N] = {1, 2};
int countdown(int n) { return n ? countdown(n - 1) : 0; }
void pong(int n);
void ping(int n) { if (n) pong(n - 1); }
void pong(int n) { if (n) ping(n - 1); }
template <class L, long SIZE>
void kernel(act_t* fmap, int n) {
  int* scratch = new int[4];  // "new" in a comment is fine
  std::vector<int> queue;
  act_t window[n];
  static act_t big[k_cfg::WIDE];
  DNA_PRAGMA(HLS ARRAY_PARTITION variable=big complete dim=1)
  DNA_PRAGMA(HLS ARRAY_PARTITION variable=missing complete dim=1)
  static act_t small[k_cfg::N][L::N];
  DNA_PRAGMA(HLS ARRAY_PARTITION variable=small cyclic factor=16 dim=1)
  DNA_PRAGMA(HLS ARRAY_PARTITION variable=small complete dim=3)
VAR_BOUND:
  for (int i = 0; i < n; ++i) {
    fmap[i] = 0;
  }
EARLY_EXIT:
  for (int i = 0; i < k_cfg::N; ++i) {
    if (fmap[i] == 0) break;
  }
COUNTED_EXIT:
  for (int i = 0; i < L::N; ++i) {
    DNA_PRAGMA(HLS LOOP_TRIPCOUNT max=8)
    if (fmap[i] == 0) break;
  }
WIDE_UNROLL:
  for (int i = 0; i < k_cfg::WIDE; ++i) {
    DNA_PRAGMA(HLS UNROLL)
    fmap[i] = SIZE;
  }
  free(scratch);
}
void piped(act_t* fmap) {
OUTER:
  for (int i = 0; i < 2; ++i) {
    DNA_PRAGMA(HLS PIPELINE II=1)
  INNER:
    for (int j = 0; j < k_cfg::WIDE; ++j) fmap[i + j] = 0;
  }
}
"""


def test_each_rule_fires_on_a_broken_kernel():
    found = check_sources({"src/bad.cpp": BROKEN % {"wide": MAX_COMPLETE + 1}})
    text = "\n".join(map(str, found))
    expected = [
        "src/bad.cpp:12: function kernel: dynamic allocation (new)",
        "src/bad.cpp:13: function kernel: a standard container: `std::vector`",
        "function kernel: dynamic allocation: `free(`",
        "function kernel, array window: not of fixed size: dim 1: n is not a compile-time",
        f"src/bad.cpp:16: function kernel, array big: complete partition into "
        f"{MAX_COMPLETE + 1} elements",
        "function kernel, array missing: ARRAY_PARTITION of an array not declared",
        "function kernel, array small: partition factor 16 > the 8 elements of dim 1",
        "function kernel, array small: ARRAY_PARTITION dim=3 of a 2-dim array",
        "src/bad.cpp:22: function kernel, loop VAR_BOUND: bound not a compile-time constant",
        "function kernel, loop EARLY_EXIT: exits early (break) without a LOOP_TRIPCOUNT",
        f"function kernel, loop WIDE_UNROLL: unrolls {MAX_COMPLETE + 1} iterations",
        f"function piped, loop INNER: unrolls {MAX_COMPLETE + 1} iterations",  # pipelined
        "src/bad.cpp:6: function countdown: recursion (countdown -> countdown)",
        "function ping: recursion (ping -> pong -> ping)",
    ]
    for want in expected:
        assert want in text, f"{want!r} not in:\n{text}"
    assert len(found) == len(expected), text
    assert "COUNTED_EXIT" not in text  # an early exit with a trip count is fine
    fine = check_sources({"src/ok.cpp": BROKEN % {"wide": MAX_COMPLETE}})
    assert "unrolls" not in "\n".join(map(str, fine))


def test_struct_members_must_exist():
    src = ("struct c_cfg { static const int A = 4; };\n"
           "void f(act_t* x) {\nL1:\n  for (int i = 0; i < c_cfg::B; ++i) x[i] = 0;\n}\n")
    (v,) = check_sources({"src/t.cpp": src})
    assert str(v) == ("src/t.cpp:4: function f, loop L1: bound not a compile-time constant: "
                      "c_cfg::B is not a static const member of c_cfg")


def test_context_rules():
    chunk = {"id": "c0", "pes": MAX_COMPLETE + 1, "gb": {"i": 8, "w": 0, "o": 8},
             "rf": {"i": 2, "w": 2, "o": 2},
             "ops": [{"kind": "conv", "fn": "l_run",
                      "nest": {"loops": [{"label": "GB_K", "bound": 0}]}}],
             "buffers": [{"name": "in_gb", "banks": 16}, {"name": "w_gb", "banks": 1},
                         {"name": "out_gb", "banks": 2}, {"name": "in_rf", "banks": 0},
                         {"name": "w_rf", "banks": 0}, {"name": "o_rf", "banks": 0}]}
    text = "\n".join(map(str, check_context({"chunks": [chunk]})))
    assert "function l_run, loop GB_K: bound 0 is not a positive integer" in text
    assert "function engine_c0, array in_gb: 16 banks > 8 words" in text
    assert "function engine_c0, array w_gb: size 0 is not a positive integer" in text
    assert f"array o_rf: complete partition over {MAX_COMPLETE + 1} PEs" in text


def test_emit_refuses_a_kernel_that_breaks_a_rule(tmp_path, monkeypatch):
    render = emit._render

    def broken(ctx):
        files = render(ctx)
        top = files["src/dna_top.cpp"].decode()
        files["src/dna_top.cpp"] = (top + "\nvoid extra(act_t* x, int n) {\nEXTRA:\n"
                                    "  for (int i = 0; i < n; ++i) x[i] = 0;\n}\n").encode()
        return files

    monkeypatch.setattr(emit, "_render", broken)
    save_design(tiny_design(), tmp_path / "d.json")
    r = CliRunner().invoke(hwgen_main, ["emit", "--design", str(tmp_path / "d.json"),
                                        "--out", str(tmp_path / "out")])
    assert r.exit_code == 2, r.output
    (line,) = r.output.strip().splitlines()
    assert line.startswith("error: the generated HLS kernel is not synthesisable: "
                           "src/dna_top.cpp:")
    assert "function extra, loop EXTRA: bound not a compile-time constant: n is not" in line
    assert not (tmp_path / "out").exists()
