"""The scalar single-layer twin equals the vectorised cost model."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dna.cost.batch import layer_set
from dna.cost.model import evaluate
from dna.cost.scalar import layer_cost
from dna.cost.target import load_target
from tests.test_cost_walker import _batch, layer_and_mapping
from tests.walker import DIMS

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
