"""The scalar single-layer twin equals the vectorised cost model."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dna.cost.model import evaluate
from dna.cost.target import load_target
from dna.space.gads.batch import layer_set
from dna.space.gads.typed import Problem
from tests.reference.scalar import layer_cost
from tests.reference.walker import DIMS
from tests.test_cost_walker import _batch, layer_and_mapping

TARGETS = {name: load_target(name) for name in ("zc706", "asic45")}


@settings(max_examples=150, deadline=None)
@given(layer_and_mapping(), st.sampled_from(sorted(TARGETS)), st.sampled_from([8, 16]))
def test_scalar_equals_vectorised(case, target_name, bits):
    prob, factors, spatial, order = case
    target = TARGETS[target_name]
    v = evaluate(layer_set([prob]), _batch(*case), target, bits)
    s = layer_cost(prob, tuple(tuple(factors[lv][d] for d in DIMS)
                               for lv in ("dram", "gb", "rf")),
                   tuple(spatial[d] for d in DIMS),
                   tuple(order[lv] for lv in ("dram", "gb", "rf")), target, bits)
    assert s.compute_cycles == v.compute_cycles[0, 0].item()
    assert s.dram_bytes == v.dram_bytes[0, 0].item()
    assert s.dram_cycles == pytest.approx(v.dram_cycles[0, 0].item(), rel=1e-12)
    assert s.gb_cycles == pytest.approx(v.gb_cycles[0, 0].item(), rel=1e-12)
    assert s.latency_cycles == pytest.approx(v.latency_cycles[0, 0].item(), rel=1e-12)
    assert s.energy_pj == pytest.approx(v.energy_pj[0, 0].sum().item(), rel=1e-9)


def _pointwise(repeat: int):
    """1x1 conv, C=16 -> K=8 per group, 4x4 map, the whole nest in one GB tile, K on 8 PEs."""
    prob = Problem("pw", (1, 8, 16, 4, 4, 1, 1), 1, False, repeat)
    factors = ((1,) * 7, (1, 1, 16, 4, 4, 1, 1), (1,) * 7)  # dram, gb, rf (NKCYXRS)
    spatial = (1, 8, 1, 1, 1, 1, 1)
    order = ("NKYXRSC",) * 3  # C innermost: outputs stay in the array over C
    return layer_cost(prob, factors, spatial, order, TARGETS["asic45"], 8)


def test_single_tile_layer_is_fill_compute_drain():
    """One GB tile: no steady DRAM traffic; latency = fill + compute + drain by hand
    (asic45: 64 B/cycle, 100 ns = 20 cycles; 8 bit; bursts of 64 B)."""
    t_in = max((256 + 64 * 63) / 64, 64)  # 16 channels x 4 rows, 4 bytes each
    t_w = max((128 + 63) / 64, 1)  # the tile holds all of (K, C): one run
    t_out = (128 + 8 * 63) / 64  # 8 output planes of 16 bytes
    fill, drain = 20 + t_in + t_w + 1, 1 + t_out + 20
    c = _pointwise(1)
    assert c.compute_cycles == 256 and c.dram_cycles == 0 and c.gb_cycles <= 256
    assert c.latency_cycles == pytest.approx(256 + fill + drain, rel=1e-12)
    # Two groups: the second group's tiles are requested when the first group's are
    # released (their last RF tile filled, 256 - 2 + 1 = 255 cycles in) and land 20 + t_w
    # + t_in later, well inside two visits of compute: the DRAM allows one visit of 256
    # after the first, the latency hides, and all transfers fit the bus.
    c2 = _pointwise(2)
    assert t_in + t_w + t_out < 256
    assert c2.dram_cycles == pytest.approx(256, rel=1e-12)
    assert c2.latency_cycles == pytest.approx(512 + fill + drain, rel=1e-12)


def test_exposed_latency_is_half_the_release_to_first_mac_loop():
    """Input visits of 16 cycles: the read of visit v + 2, requested when v is released,
    lands too late, and two visits take release + latency + transfer + RF fill (by hand,
    asic45: 64 B/cycle, 20 cycles latency; docs/cost_model.md section 3)."""
    prob = Problem("pw", (1, 8, 16, 4, 4, 1, 1), 1, False, 1)
    factors = ((1, 1, 1, 4, 4, 1, 1), (1, 1, 16, 1, 1, 1, 1), (1,) * 7)  # pixels in DRAM
    c = layer_cost(prob, factors, (1, 8, 1, 1, 1, 1, 1), ("NKYXRSC",) * 3,
                   TARGETS["asic45"], 8)
    t_in = max((16 + 16 * 63) / 64, 16)  # one pixel of 16 channels: 16 one-byte runs
    t_w = max((128 + 63) / 64, 1)  # all weights, one run, loaded once
    t_out = max((8 + 8 * 63) / 64, 8)  # one pixel of 8 channels
    # 16 input tiles of 1 cycle per visit: released 16 - 2 + 1 = 15 cycles in, data in
    # 20 + t_in later, first RF tile filled 1 cycle after that.
    period = (15 + 20 + t_in + 1) / 2
    assert period > 16 and 15 * (t_in + t_out) < 15 * period
    assert c.compute_cycles == 256 and c.gb_cycles <= 15 * period
    assert c.dram_cycles == pytest.approx(15 * period, rel=1e-12)
    fill, drain = 20 + t_in + t_w + 1, 1 + t_out + 20
    assert c.latency_cycles == pytest.approx(15 * period + fill + drain, rel=1e-12)
