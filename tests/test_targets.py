"""Built-in targets load with their cited numbers; bad target files fail naming the field."""
from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dna.cost.target import (
    Target,
    TargetError,
    load_target,
    target_from_dict,
    target_names,
)
from dna.space.gads.typed import NOCS

BUILTINS = ["asic32", "asic45", "eyeriss45", "zc706", "zcu102"]


def raw(name: str) -> dict[str, Any]:
    """The parsed YAML of a built-in target, as a fresh dict to mutate."""
    text = resources.files("dna.cost.targets").joinpath(f"{name}.yaml").read_text()
    return yaml.safe_load(text)


def write(tmp_path: Path, data: Any, name: str = "t.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


# ---------------------------------------------------------------- built-ins


def test_builtin_names():
    assert target_names() == BUILTINS


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_loads_and_cites(name):
    t = load_target(name)
    assert isinstance(t, Target)
    assert t.name == name
    fpga_fields = (t.dsp, t.bram18k, t.lut, t.dsp_per_mac, t.lut_per_pe, t.lut_base,
                   t.lutram_max_bits)
    asic_fields = (t.area_mm2, t.pe_area_um2, t.rf_area_um2_per_byte, t.sram_area_um2_per_kib)
    present, absent = (fpga_fields, asic_fields) if t.kind == "fpga" else (asic_fields,
                                                                           fpga_fields)
    assert all(v is not None for v in present) and all(v is None for v in absent)
    sources = raw(name)["sources"]
    assert isinstance(sources, list) and sources and all(isinstance(s, str) for s in sources)


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_table_points_are_hit_exactly(name):
    t = load_target(name)
    for size, pj in t.sram_pj_table:
        assert t.sram_pj(size, 16) == pytest.approx(pj, rel=1e-12)
    for size, pj in t.rf_pj_table:
        assert t.rf_pj(size, 16) == pytest.approx(pj, rel=1e-12)


def test_zc706_datasheet_numbers():
    t = load_target("zc706")
    assert t.kind == "fpga"
    assert (t.dsp, t.bram18k, t.lut) == (900, 1090, 218600)  # DS190
    assert t.dram_bandwidth_gbps == pytest.approx(12.8)  # 64 bit x 1600 MT/s (UG954)
    assert t.clock_mhz == pytest.approx(200.0)
    assert t.dram_bytes_per_cycle == pytest.approx(64.0)
    assert t.dsp_per_mac == {16: 1.0, 8: 0.5}  # DSP48E1 25x18; WP486 INT8 packing


def test_zcu102_datasheet_numbers():
    t = load_target("zcu102")
    assert (t.dsp, t.bram18k, t.lut) == (2520, 1824, 274080)  # DS891
    assert t.dram_bandwidth_gbps == pytest.approx(64 * 2133e6 / 8 / 1e9, rel=1e-3)
    assert t.dsp_per_mac == {16: 1.0, 8: 0.5}


def test_asic45_accelergy_numbers():
    t = load_target("asic45")
    assert t.kind == "asic"
    assert t.mac_pj == {16: pytest.approx(2.20), 8: pytest.approx(0.561)}  # Aladdin, 5 ns
    assert t.dram_pj_per_bit == pytest.approx(8.0)  # LPDDR4, Accelergy CACTI plug-in
    # CACTI-class 128 KiB SRAM, REFERENCES.md quotes ~18.8 pJ per 16-bit word
    assert 15.0 < t.sram_pj(128 * 1024, 16) < 22.0
    assert t.dram_bandwidth_gbps == pytest.approx(12.8)  # LPDDR4-3200 x32


def test_asic32_is_asic45_scaled_down():
    a45, a32 = load_target("asic45"), load_target("asic32")
    for bits in (8, 16):
        assert a32.mac_pj[bits] < a45.mac_pj[bits]
        assert a32.pe_area_um2[bits] < a45.pe_area_um2[bits]
        assert a32.mac_pj[bits] == pytest.approx(a45.mac_pj[bits] * 0.633, rel=0.01)
    for size in (1024, 8192, 131072, 1 << 20):
        assert a32.sram_pj(size, 16) < a45.sram_pj(size, 16)
        assert a32.rf_pj(size / 64, 16) < a45.rf_pj(size / 64, 16)
    assert a32.sram_area_um2_per_kib < a45.sram_area_um2_per_kib
    assert a32.rf_area_um2_per_byte < a45.rf_area_um2_per_byte


def test_eyeriss45_fixes_an_eyeriss_like_array():
    t, a45 = load_target("eyeriss45"), load_target("asic45")
    fa = t.fixed_arch
    assert fa is not None and fa.noc in NOCS
    assert len(fa.unroll) == len(NOCS[fa.noc])
    assert math.prod(fa.unroll) == 168 == t.max_pes  # 14 x 12 PEs
    assert fa.rf_words == (12, 224, 24)  # Eyeriss JSSC 2017 spads
    gb_bytes = fa.gb_words[0] * 2 + fa.gb_words[1] * 2 + fa.gb_words[2] * 6  # int16, acc 48
    assert gb_bytes <= 108 * 1024 and gb_bytes > 0.99 * 108 * 1024
    # same technology figures as asic45
    assert t.mac_pj == a45.mac_pj and t.sram_pj_table == a45.sram_pj_table
    assert t.rf_pj_table == a45.rf_pj_table and t.pe_area_um2 == a45.pe_area_um2


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_architecture_point_is_within_its_budgets(name):
    t = load_target(name)
    if t.kind == "fpga":
        # the DSP budget, not max_pes, caps 16-bit designs
        assert t.max_pes * t.dsp_per_mac[8] <= t.dsp
        assert t.lutram_max_bits < 18 * 1024
    else:
        pe = t.pe_area_um2[16] + 64 * t.rf_area_um2_per_byte
        assert t.max_pes * pe / 1e6 < t.area_mm2  # the PE budget fits with small RFs


# ---------------------------------------------------------------- interpolation


sizes = st.floats(min_value=0.5, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(BUILTINS), a=sizes, b=sizes)
def test_builtin_energies_monotone_in_size(name, a, b):
    t = load_target(name)
    lo, hi = min(a, b), max(a, b)
    assert t.sram_pj(lo, 16) <= t.sram_pj(hi, 16) * (1 + 1e-12)
    assert t.rf_pj(lo, 16) <= t.rf_pj(hi, 16) * (1 + 1e-12)


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(BUILTINS), size=sizes)
def test_energy_scales_with_bits(name, size):
    t = load_target(name)
    assert t.sram_pj(size, 8) == pytest.approx(t.sram_pj(size, 16) / 2)
    assert t.sram_pj(size, 48) == pytest.approx(t.sram_pj(size, 16) * 3)
    assert t.rf_pj(size, 32) == pytest.approx(t.rf_pj(size, 16) * 2)


@st.composite
def monotone_tables(draw):
    """>= 2 points, strictly increasing bytes, non-decreasing positive pJ, with log-log
    slopes in [0, 2] (memory energy grows at most quadratically with size)."""
    n = draw(st.integers(min_value=2, max_value=8))
    steps = draw(st.lists(st.floats(min_value=1.01, max_value=64.0), min_size=n - 1,
                          max_size=n - 1))
    slopes = draw(st.lists(st.floats(min_value=0.0, max_value=2.0), min_size=n - 1,
                           max_size=n - 1))
    x, y = draw(st.floats(min_value=1.0, max_value=4096.0)), draw(
        st.floats(min_value=1e-3, max_value=10.0))
    table = [[x, y]]
    for s, k in zip(steps, slopes):
        x, y = x * s, y * s ** k
        table.append([x, y])
    return table


@settings(max_examples=200, deadline=None)
@given(table=monotone_tables(), a=sizes, b=sizes)
def test_loglog_interpolation_monotone_for_any_monotone_table(table, a, b):
    data = raw("asic45")
    data["sram_pj_table"] = table
    t = target_from_dict(data, "generated")
    lo, hi = min(a, b), max(a, b)
    assert t.sram_pj(lo, 16) <= t.sram_pj(hi, 16) * (1 + 1e-9)
    # clamped below the first point
    assert t.sram_pj(table[0][0] / 2, 16) == pytest.approx(table[0][1])


# ---------------------------------------------------------------- errors


def test_unknown_target_lists_valid_names():
    with pytest.raises(TargetError) as e:
        load_target("zc7o6")
    msg = str(e.value)
    assert "zc7o6" in msg
    assert all(n in msg for n in BUILTINS)


def test_missing_file(tmp_path):
    with pytest.raises(TargetError, match="not found"):
        load_target(str(tmp_path / "nope.yaml"))


def test_malformed_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: zc706\nkind: [fpga\n")
    with pytest.raises(TargetError) as e:
        load_target(str(path))
    assert "malformed YAML" in str(e.value) and "bad.yaml" in str(e.value)


def test_top_level_not_a_mapping(tmp_path):
    with pytest.raises(TargetError, match="mapping"):
        load_target(write(tmp_path, ["a", "b"]))


def mutated(name: str, **changes: Any) -> dict[str, Any]:
    data = raw(name)
    for k, v in changes.items():
        if v is DELETE:
            del data[k]
        else:
            data[k] = v
    return data


DELETE = object()

BAD_FIELDS = [
    # (base target, changes, words the message must hold)
    ("zc706", {"clock_mhz": DELETE}, ["clock_mhz", "expected float"]),
    ("asic45", {"area_mm2": DELETE}, ["area_mm2"]),
    ("zc706", {"dram_pj_per_bit": -20.0}, ["dram_pj_per_bit", "> 0"]),
    ("zc706", {"dsp": 0}, ["dsp = 0", "> 0"]),
    ("asic45", {"clock_mhz": float("nan")}, ["clock_mhz", "> 0"]),
    ("zc706", {"lut": "many"}, ["lut: expected int", "'many'"]),
    ("zc706", {"lut": 2.5}, ["lut: expected int"]),
    ("zc706", {"max_pes": True}, ["max_pes: expected int"]),
    ("zc706", {"description": 3}, ["description: expected str"]),
    ("zc706", {"colour": "red"}, ["colour: unknown field"]),
    ("asic45", {"dsp": 900}, ["dsp: unknown field"]),  # an FPGA field on an ASIC
    ("zc706", {"kind": "gpu"}, ["kind = 'gpu'", "fpga or asic"]),
    ("asic45", {"mac_pj": {16: 2.2}}, ["mac_pj", "8 and 16"]),
    ("asic45", {"mac_pj": {16: 2.2, 8: -0.5}}, ["mac_pj"]),
    ("asic45", {"mac_pj": {"a": 1.0, 16: 2.2}}, ["mac_pj"]),
    ("zc706", {"dsp_per_mac": [1.0, 0.5]}, ["dsp_per_mac: expected dict"]),
    ("asic45", {"sram_pj_table": [[1024, 1.0]]}, ["sram_pj_table", ">= 2"]),
    ("asic45", {"sram_pj_table": [[2048, 1.0], [1024, 2.0]]}, ["sram_pj_table", "increasing"]),
    ("asic45", {"sram_pj_table": [[1024, 1.0], [1024, 2.0]]}, ["sram_pj_table"]),
    ("asic45", {"rf_pj_table": [[2, -0.1], [64, 0.3]]}, ["rf_pj_table", "positive"]),
    ("asic45", {"rf_pj_table": [[2, "x"], [64, 0.3]]}, ["rf_pj_table"]),
    ("asic45", {"rf_pj_table": [[2, 0.1, 9], [64, 0.3]]}, ["rf_pj_table"]),
    ("asic45", {"rf_pj_table": [2, 64]}, ["rf_pj_table"]),
    ("asic45", {"rf_pj_table": "flat"}, ["rf_pj_table: expected list"]),
    ("eyeriss45", {"fixed_arch": {"noc": "KRX", "unroll": [4, 3, 14],
                                  "gb_words": [1, 2, 3], "rf_words": [12, 224]}},
     ["fixed_arch"]),
    ("eyeriss45", {"fixed_arch": {"noc": "KRX", "unroll": [4, 3, 14]}}, ["fixed_arch"]),
]


@pytest.mark.parametrize("base,changes,words", BAD_FIELDS,
                         ids=[f"{b}-{','.join(c)}-{i}" for i, (b, c, _) in enumerate(BAD_FIELDS)])
def test_bad_field_names_the_field(tmp_path, base, changes, words):
    path = write(tmp_path, mutated(base, **changes))
    with pytest.raises(TargetError) as e:
        load_target(path)
    msg = str(e.value)
    assert path in msg
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"


def test_every_problem_is_reported_at_once(tmp_path):
    data = mutated("zc706", clock_mhz=DELETE, lut=-1, extra=1,
                   rf_pj_table=[[1, 1.0]])
    with pytest.raises(TargetError) as e:
        load_target(write(tmp_path, data))
    msg = str(e.value)
    for field in ("clock_mhz", "lut", "extra", "rf_pj_table"):
        assert field in msg


def test_a_valid_copy_loads_from_a_path(tmp_path):
    for name in BUILTINS:
        t = load_target(write(tmp_path, raw(name), f"{name}_copy.yml"))
        assert t == load_target(name)


def test_every_fixed_arch_problem_names_its_field(tmp_path):
    data = mutated("eyeriss45", fixed_arch={"noc": 3, "unroll": [4, "x"], "gb_words": [1, 2],
                                            "rf_words": [1, 2, 0], "pes": 168},
                   clock_mhz=DELETE)
    with pytest.raises(TargetError) as e:
        load_target(write(tmp_path, data))
    msg = str(e.value)
    for part in ("clock_mhz", "fixed_arch.noc", "fixed_arch.unroll", "fixed_arch.gb_words",
                 "fixed_arch.rf_words", "fixed_arch.pes: unknown field"):
        assert part in msg, msg
