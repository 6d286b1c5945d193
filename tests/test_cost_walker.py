"""The analytical cost model equals the brute-force loop-nest walker exactly."""
from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dna.cost.model import layer_accesses
from dna.space.gads.batch import F64, MappingBatch, layer_set
from dna.space.gads.typed import NOCS, Problem
from tests.reference.walker import DIMS, TENSORS, walk


@st.composite
def layer_and_mapping(draw):
    """A small layer, a NoC with its unroll, tile factors that cover every dim, orders."""
    depthwise = draw(st.booleans())
    b = {"N": draw(st.integers(1, 2)), "K": draw(st.integers(1, 6)),
         "C": 1 if depthwise else draw(st.integers(1, 5)), "Y": draw(st.integers(1, 5)),
         "X": draw(st.integers(1, 4)), "R": draw(st.integers(1, 3)),
         "S": draw(st.integers(1, 3))}
    stride = draw(st.integers(1, 3))
    noc = draw(st.sampled_from(sorted(NOCS)))
    spatial = {d: 1 for d in DIMS}
    for d in NOCS[noc]:
        spatial[d] = draw(st.integers(1, 3))
    factors = {"dram": {}, "gb": {}, "rf": {}}
    for d in DIMS:
        rf = draw(st.integers(1, b[d]))
        gb = draw(st.integers(1, max(1, -(-b[d] // (rf * spatial[d])))))
        factors["rf"][d], factors["gb"][d] = rf, gb
        factors["dram"][d] = -(-b[d] // (rf * spatial[d] * gb))
    order = {lv: "".join(draw(st.permutations(DIMS))) for lv in ("dram", "gb", "rf")}
    prob = Problem("l", tuple(b[d] for d in DIMS), stride, depthwise, 1)
    return prob, factors, spatial, order


def _batch(prob, factors, spatial, order) -> MappingBatch:
    fac = [[[factors[lv][d] for d in DIMS] for lv in ("dram", "gb", "rf")]]
    ordr = [[[DIMS.index(d) for d in order[lv]] for lv in ("dram", "gb", "rf")]]
    pes = math.prod(spatial.values())
    return MappingBatch(
        factors=torch.tensor([fac], dtype=F64),
        spatial=torch.tensor([[[spatial[d] for d in DIMS]]], dtype=F64),
        order=torch.tensor([ordr]), chunk=torch.zeros(1, 1, dtype=torch.int64),
        chunk_pes=torch.tensor([[pes]], dtype=F64), pipeline=torch.tensor([False]))


@settings(max_examples=150, deadline=None)
@given(layer_and_mapping())
def test_model_equals_walker(case):
    prob, factors, spatial, order = case
    truth = walk(prob.stride, prob.inputs_follow_k, factors, spatial, order)
    a = layer_accesses(layer_set([prob]), _batch(*case))
    got = {k: v[0, 0].tolist() for k, v in vars(a).items()}
    assert got["compute_cycles"] == truth.compute_cycles
    for i, t in enumerate(TENSORS):
        assert got["dram_read"][i] == truth.dram_read[t], ("dram_read", t)
        assert got["gb_read"][i] == truth.gb_read[t], ("gb_read", t)
        assert got["rf_fill"][i] == truth.rf_fill[t], ("rf_fill", t)
    assert got["dram_write"] == [0, 0, truth.dram_write_outputs]
    assert got["dram_final_write"] == truth.dram_final_write
    assert got["gb_write"] == [0, 0, truth.gb_write_outputs]
    assert got["rf_drain"] == truth.rf_drain


@settings(max_examples=150, deadline=None)
@given(layer_and_mapping())
def test_invariants(case):
    prob, factors, spatial, order = case
    a = layer_accesses(layer_set([prob]), _batch(*case))
    pes = math.prod(spatial.values())
    macs = math.prod(prob.bounds)
    # Cycles can never beat perfect use of every PE; padding only adds cycles.
    assert a.compute_cycles.item() * pes >= macs
    # DRAM traffic covers every tensor at least once.
    n, k, c, y, x, r, s = prob.bounds
    rows = min(y * r, (y - 1) * prob.stride + r)
    cols = min(x * s, (x - 1) * prob.stride + s)
    need = [n * (k if prob.inputs_follow_k else c) * rows * cols, k * c * r * s, n * k * y * x]
    assert a.dram_read[0, 0, 0].item() >= need[0]
    assert a.dram_read[0, 0, 1].item() >= need[1]
    assert a.dram_final_write[0, 0].item() >= need[2]
    # Each level moves at least what the level above hands it.
    assert (a.gb_read[0, 0, :2] >= a.dram_read[0, 0, :2]).all()
    assert (a.rf_fill[0, 0, :2] >= a.gb_read[0, 0, :2]).all()
