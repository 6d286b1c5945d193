"""The HLS project under the vendor types: built as run_hls.tcl's csim_design builds it
(DNA_VENDOR_HLS, Xilinx's ap_int.h / hls_stream.h from the hls4ml wheel), bit-exact against
the PyTorch integer reference, and identical to the compatibility-header build.

The sim tests skip, saying why, where the vendor headers are not installed
(`pip install --no-deps hls4ml`); CI installs them.
"""
from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dna.design import save_design
from hwgen import api
from hwgen.cli.main import main as hwgen_main
from hwgen.hls import vendor
from hwgen.hls.csim import BUILD_DIRS
from tests.test_hls import design_of, emit_to, random_gads, small_networks, tiny_design

needs_vendor = pytest.mark.skipif(
    shutil.which("g++") is None or not vendor.vendor_headers_available(),
    reason="g++ or the vendor HLS headers are missing (pip install --no-deps hls4ml)")


def both_header_sets_agree(project: Path) -> None:
    """compat and vendor builds of `project` both pass, on the same values: both match the
    reference on every node output and the output stream, so they are identical."""
    compat = api.csim(project)
    vend = api.csim(project, headers="vendor")
    for r in (compat, vend):
        assert r.passed, f"{r.headers}: " + "\n".join(map(str, r.mismatches)) + r.log[-2000:]
    assert vend.headers == "vendor" and compat.headers == "compat"
    assert (vend.values_checked, vend.tensors_checked) == \
        (compat.values_checked, compat.tensors_checked)
    assert vend.values_checked > 0


@needs_vendor
@pytest.mark.sim
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=small_networks(), bits=st.sampled_from([8, 16]), seed=st.integers(0, 2**16))
def test_random_networks_on_random_gads_points_agree_under_vendor_types(net, bits, seed):
    acc = random_gads(net, random.Random(seed))
    with tempfile.TemporaryDirectory() as tmp:
        both_header_sets_agree(emit_to(design_of(net, acc, bits), Path(tmp) / "prj", seed))


@needs_vendor
@pytest.mark.sim
@pytest.mark.parametrize("bits", [8, 16])
def test_tiny_pipeline_vendor_csim_cli(tmp_path, bits):
    """`dna-hwgen csim --vendor-types` builds with run_hls.tcl's cflags and the vendor
    headers, in its own build folder beside the compat one."""
    save_design(tiny_design(bits=bits), tmp_path / "d.json")
    runner = CliRunner()
    prj = tmp_path / "prj"
    r = runner.invoke(hwgen_main, ["emit", "--design", str(tmp_path / "d.json"),
                                   "--out", str(prj)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(hwgen_main, ["csim", "--vendor-types", str(prj)])
    assert r.exit_code == 0 and r.output.startswith("PASS"), r.output
    assert "0 mismatches" in r.output and "vendor ap_int.h" in r.output
    cmd = (prj / BUILD_DIRS["vendor"] / "compile.log").read_text().splitlines()[0]
    assert "-DDNA_VENDOR_HLS" in cmd and str(vendor.vendor_include_dir()) in cmd
    assert '-cflags "-std=c++14 -DDNA_VENDOR_HLS"' in (prj / "run_hls.tcl").read_text()


def _one_line_error(args: list[str]) -> str:
    r = CliRunner().invoke(hwgen_main, args)
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.output
    return lines[0]


def test_missing_vendor_headers_say_how_to_install(tmp_path, monkeypatch):
    prj = emit_to(tiny_design(), tmp_path / "prj")
    monkeypatch.delenv(vendor.INCLUDE_ENV, raising=False)
    monkeypatch.setattr(vendor.importlib.util, "find_spec", lambda name: None)
    line = _one_line_error(["csim", "--vendor-types", str(prj)])
    assert "pip install --no-deps hls4ml" in line
    monkeypatch.setenv(vendor.INCLUDE_ENV, str(tmp_path))
    line = _one_line_error(["csim", "--vendor-types", str(prj)])
    assert "lacks ap_int.h, hls_stream.h" in line and vendor.INCLUDE_ENV in line


@needs_vendor
def test_headers_are_found_without_importing_hls4ml():
    import sys
    folder = vendor.vendor_include_dir()
    assert (folder / "ap_int.h").is_file() and (folder / "hls_stream.h").is_file()
    assert "Apache License" in (folder / "ap_int.h").read_text()[:1000]
    assert "hls4ml" not in sys.modules
