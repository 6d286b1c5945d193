"""Design file round trip and validation; `dna evaluate` output and its error paths."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from dna.api import load_accelerator
from dna.cli.main import main
from dna.cost.report import report
from dna.cost.target import load_target
from dna.design import (
    DesignError,
    design_to_dict,
    load_design,
    make_design,
    save_design,
)
from dna.workload.zoo import get_network

ROOT = Path(__file__).resolve().parents[1]
VGG_ACC = ROOT / "examples/accelerators/vgg16_zc706.yaml"
TINY_NET = ROOT / "examples/networks/tiny.yaml"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def vgg_design():
    net, target = get_network("vgg16"), load_target("zc706")
    acc = load_accelerator(VGG_ACC, net, target, 16)
    return make_design(net, acc, target, 16, provenance={"seed": 0})


def test_evaluate_vgg16_under_dsp_roofline():
    res = run("evaluate", "--network", "vgg16", "--accelerator", str(VGG_ACC),
              "--target", "zc706")
    assert res.exit_code == 0, res.output
    gops = float(re.search(r"([\d,.]+) GOP/s \(", res.output).group(1).replace(",", ""))
    frac = float(re.search(r"reaches ([\d.]+)% of it", res.output).group(1))
    assert 0 < gops <= 360.0
    assert frac == pytest.approx(gops / 360.0 * 100, abs=0.06)
    assert "features.28" in res.output and "DSP 898 of 900" in res.output


def test_evaluate_json_matches_report(vgg_design):
    res = run("evaluate", "--network", "vgg16", "--accelerator", str(VGG_ACC),
              "--target", "zc706", "--json")
    assert res.exit_code == 0
    data = json.loads(res.output)
    direct = report(vgg_design.network, vgg_design.accelerator, load_target("zc706"), 16)
    assert data["frame_cycles"] == direct.frame_cycles
    assert len(data["layers"]) == 16 and data["feasible"] is True


def test_design_round_trip(tmp_path, vgg_design):
    path = tmp_path / "d.json"
    save_design(vgg_design, path)
    back = load_design(path)
    assert back.network == vgg_design.network
    assert back.accelerator == vgg_design.accelerator
    assert design_to_dict(back) == json.loads(path.read_text())
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"]  # no temp file left
    res = run("evaluate", "--design", str(path))
    assert res.exit_code == 0 and "GOP/s" in res.output


def _bad_design(tmp_path, vgg_design, mutate) -> str:
    data = copy.deepcopy(design_to_dict(vgg_design))
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DesignError) as e:
        load_design(path)
    return str(e.value)


def test_design_errors_name_fields(tmp_path, vgg_design):
    def uncovered(d):
        d["accelerator"]["mappings"][3]["factors"]["dram"]["K"] = 1
    msg = _bad_design(tmp_path, vgg_design, uncovered)
    assert "bad.json" in msg and "accelerator.mappings[3].factors.*.K" in msg
    assert "does not cover K = 128 of layer features.7" in msg

    def several(d):
        d["schema"] = "dna-design/0"
        d["precision"] = 12
        d["accelerator"]["chunks"][0]["noc"] = "XYZ"
        del d["predicted"]
    msg = _bad_design(tmp_path, vgg_design, several)
    for part in ("schema", "precision = 12", "accelerator.chunks[0].noc = 'XYZ'",
                 "predicted: missing"):
        assert part in msg

    def too_many_pes(d):
        d["accelerator"]["chunks"][0]["unroll"] = [64, 7, 4]
    msg = _bad_design(tmp_path, vgg_design, too_many_pes)
    assert "1792 PEs need 1794 DSP slices (2 per engine requantiser) at 16 bit but zc706 has 900" in msg

    def small_buffer(d):
        d["accelerator"]["chunks"][0]["rf_words"]["weights"] = 8
    msg = _bad_design(tmp_path, vgg_design, small_buffer)
    assert "rf tile of weights needs 288 words" in msg


def _one_line_error(res) -> str:
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    return lines[0]


def test_cli_errors_one_line_exit_2(tmp_path):
    bad_yaml = tmp_path / "acc.yaml"
    bad_yaml.write_text("style: multicycle\nchunks: [noc: KYX\n")
    line = _one_line_error(run("evaluate", "--network", "vgg16", "--accelerator",
                               str(bad_yaml), "--target", "zc706"))
    assert "acc.yaml: malformed YAML" in line

    line = _one_line_error(run("evaluate", "--network", "vgg16", "--accelerator",
                               str(VGG_ACC), "--target", "zc7045"))
    assert "unknown target 'zc7045'" in line and "zc706" in line

    big = tmp_path / "big.yaml"
    big.write_text(VGG_ACC.read_text().replace("unroll: [64, 7, 2]", "unroll: [64, 8, 2]"))
    line = _one_line_error(run("evaluate", "--network", "vgg16", "--accelerator", str(big),
                               "--target", "zc706"))
    assert "big.yaml: accelerator.chunks[*].unroll: 1024 PEs need 1026 DSP" in line

    noc = tmp_path / "noc.yaml"
    noc.write_text(VGG_ACC.read_text().replace("noc: KYX", "noc: KXY"))
    line = _one_line_error(run("evaluate", "--network", "vgg16", "--accelerator", str(noc),
                               "--target", "zc706"))
    assert "noc.yaml: accelerator.chunks[0].noc = 'KXY'" in line

    bad_json = tmp_path / "d.json"
    bad_json.write_text("{\"schema\": ")
    line = _one_line_error(run("evaluate", "--design", str(bad_json)))
    assert "d.json: malformed JSON" in line

    line = _one_line_error(run("evaluate", "--network", "vgg16"))
    assert "missing --accelerator, --target" in line

    line = _one_line_error(run("evaluate", "--network", "vgg17", "--accelerator",
                               str(VGG_ACC), "--target", "zc706"))
    assert "unknown network 'vgg17'" in line


def test_unknown_layer_override_and_precision(tmp_path):
    acc = tmp_path / "acc.yaml"
    acc.write_text(VGG_ACC.read_text().replace("features.0:", "features.99:"))
    line = _one_line_error(run("evaluate", "--network", "vgg16", "--accelerator", str(acc),
                               "--target", "zc706"))
    assert "accelerator.layers.features.99: no conv layer of that name" in line
    line = _one_line_error(run("evaluate", "--network", "vgg16", "--accelerator",
                               str(VGG_ACC), "--target", "zc706", "--precision", "4"))
    assert "precision 4" in line


def test_yaml_network_on_asic(tmp_path):
    acc = tmp_path / "acc.yaml"
    acc.write_text("style: multicycle\nchunks: [{noc: KCRS, unroll: [4, 4, 3, 3]}]\n"
                   "mapping: {gb: {K: 4, Y: 4, X: 4}}\n")
    res = run("evaluate", "--network", str(TINY_NET), "--accelerator", str(acc),
              "--target", "asic45", "--precision", "8")
    assert res.exit_code == 0, res.output
    assert "mm^2" in res.output and "feasible       yes" in res.output


def test_save_then_evaluate_design(tmp_path):
    out = tmp_path / "sub" / "d.json"
    res = run("evaluate", "--network", str(TINY_NET), "--accelerator", str(VGG_ACC),
              "--target", "zc706", "--save", str(out))
    # VGG16's per-layer override names a layer tiny.yaml does not have.
    assert res.exit_code == 2 and not out.exists()
    acc = tmp_path / "acc.yaml"
    acc.write_text("style: multicycle\nchunks: [{noc: KYX, unroll: [8, 4, 4]}]\n")
    res = run("evaluate", "--network", str(TINY_NET), "--accelerator", str(acc),
              "--target", "zc706", "--save", str(out))
    assert res.exit_code == 0, res.output
    again = run("evaluate", "--design", str(out))
    assert again.exit_code == 0
    assert again.output.splitlines()[-6:] == res.output.splitlines()[-7:-1]


def test_space_size_command():
    res = run("space", "--network", "vgg16", "--target", "zc706")
    assert res.exit_code == 0
    assert "16 conv layers" in res.output and "joint accelerator space" in res.output


def test_fixed_architecture_target(tmp_path):
    ok = tmp_path / "eyeriss.yaml"
    ok.write_text("style: multicycle\nchunks: [{noc: KRX, unroll: [4, 3, 14]}]\n"
                  "mapping: {rf: {S: 3}}\n")
    res = run("evaluate", "--network", "alexnet", "--accelerator", str(ok),
              "--target", "eyeriss45")
    assert res.exit_code == 0, res.output
    assert "168 PEs" in res.output
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("style: multicycle\nchunks: [{noc: KYX, unroll: [4, 3, 14]}]\n")
    line = _one_line_error(run("evaluate", "--network", "alexnet", "--accelerator",
                               str(wrong), "--target", "eyeriss45"))
    assert "target eyeriss45 fixes one multicycle engine, noc KRX with unroll [4, 3, 14]" in line
    big = tmp_path / "big.yaml"
    big.write_text("style: multicycle\nchunks: [{noc: KRX, unroll: [4, 3, 14]}]\n"
                   "mapping: {rf: {C: 64, R: 3, S: 3}}\n")
    line = _one_line_error(run("evaluate", "--network", "alexnet", "--accelerator", str(big),
                               "--target", "eyeriss45"))
    assert "rf tile of weights needs" in line and "rf_words.weights = 224" in line


def test_python_dash_m_entry_point_and_file_mode(tmp_path):
    """`python -m dna.cli` works (no circular import); saved files get the umask mode."""
    import os
    import subprocess
    import sys
    res = subprocess.run([sys.executable, "-m", "dna.cli", "--help"], capture_output=True,
                         text=True)
    assert res.returncode == 0 and "das" in res.stdout and "search" in res.stdout, res.stderr
    from dna.fileio import write_atomic
    mask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "f.json", "{}")
    finally:
        os.umask(mask)
    assert (tmp_path / "f.json").stat().st_mode & 0o777 == 0o644
