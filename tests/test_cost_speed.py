"""The cost model's fast paths (issue #16) give exactly what they replace: the model
before the change (benchmarks/_cost_model_before.py, frozen) on random and DAS-decoded
points, the reference `fetches` rule, and the same batch evaluated whole or in chunks.
No timings here: speed is measured by benchmarks/cost_model.py."""
from __future__ import annotations

import dataclasses
import functools

import pytest
import torch

from benchmarks import _cost_model_before as before
from benchmarks.cost_model import random_points
from dna.cost import model
from dna.cost.model import Costs, _visits, evaluate
from dna.cost.target import load_target
from dna.search.evaluator import ChunkTuner, search_space
from dna.space.gads.batch import MappingBatch, network_layers
from dna.space.gads.tensor import TensorSpace, tensor_space
from dna.space.gads.typed import RELEVANT, TENSORS
from dna.workload.ir import DIMS
from dna.workload.zoo import get_network

TARGETS = {name: load_target(name) for name in ("zc706", "asic45")}
# Relevance of each dim (N K C Y X R S) to inputs, weights, outputs.
REL = torch.tensor([[d in RELEVANT[t] for d in DIMS] for t in TENSORS], dtype=torch.bool)


def fetches(bounds: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
    """Reference form of the visit rule, one tensor at a time: times a tile is (re)fetched
    under loops `bounds` (..., T), outer -> inner: the product of all bounds down to the
    innermost relevant loop with bound > 1 (1 if there is none)."""
    live = relevant & (bounds > 1)
    pos = torch.arange(1, bounds.shape[-1] + 1, device=bounds.device)
    last = (live * pos).amax(-1, keepdim=True)  # 0 when no relevant loop
    cp = torch.cat([torch.ones_like(bounds[..., :1]), bounds.cumprod(-1)], -1)
    return cp.gather(-1, last).squeeze(-1)


def _unequal(a: Costs, b) -> list[str]:
    return [f.name for f in dataclasses.fields(Costs)
            if not torch.equal(getattr(a, f.name), getattr(b, f.name))]


@functools.lru_cache(maxsize=8)
def _space(net_name: str, target_name: str) -> TensorSpace:
    return tensor_space(search_space(get_network(net_name), TARGETS[target_name]))


def _decoded(net_name: str, target_name: str, batch: int, seed: int) -> MappingBatch:
    """`batch` uniform DAS samples (pipeline and multicycle, several chunks)."""
    ts = _space(net_name, target_name)
    gen = torch.Generator().manual_seed(seed)
    idx = (torch.rand(batch, len(ts.sizes), generator=gen, dtype=torch.float64)
           * ts.sizes).long()
    return ts.decode(idx)


@pytest.mark.parametrize("net_name", ["vgg16", "mobilenetv2", "resnet18"])
@pytest.mark.parametrize("target_name", sorted(TARGETS))
def test_bit_identical_to_the_model_before(net_name, target_name):
    # the conv layers only and no chunks at once: the frozen copy predates the non-conv
    # ops' charge (pooling, shuffle, adds) and the pipeline's DRAM queueing, which
    # tests/test_node_cost.py checks
    layers = dataclasses.replace(network_layers(get_network(net_name)), ops=())
    target = TARGETS[target_name]
    for batch, seed, bits in ((1, 0, 16), (5, 1, 8), (64, 2, 16)):
        m = random_points(layers, batch, torch.Generator().manual_seed(seed))
        assert not _unequal(evaluate(layers, m, target, bits),
                            before.evaluate(layers, m, target, bits))
    # uniform DAS samples, some with word counts past 2**53 (float64 rounds there)
    for batch, seed, bits in ((1, 0, 16), (5, 1, 8), (300, 2, 16)):
        d = _decoded(net_name, target_name, batch, seed)
        d = dataclasses.replace(d, pipeline=torch.zeros_like(d.pipeline))
        assert not _unequal(evaluate(layers, d, target, bits),
                            before.evaluate(layers, d, target, bits))


def test_chunked_batch_equals_whole(monkeypatch):
    layers = network_layers(get_network("mobilenetv2"))
    m = _decoded("mobilenetv2", "zc706", 37, 3)
    whole = evaluate(layers, m, TARGETS["zc706"], 16)
    monkeypatch.setattr(model, "CHUNK_PAIRS", 5 * len(layers))  # chunks of 5 points
    assert not _unequal(evaluate(layers, m, TARGETS["zc706"], 16), whole)


def test_chunk_tuner_equals_whole_and_settles():
    layers = network_layers(get_network("mobilenetv2"))
    m = _decoded("mobilenetv2", "zc706", 40, 5)
    whole = evaluate(layers, m, TARGETS["zc706"], 16)
    tuner = ChunkTuner(choices=(3 * len(layers), 7 * len(layers)), trials=2)
    for _ in range(3):  # chunks of 3 and 7 points, timed, then the faster one
        assert not _unequal(tuner.evaluate(layers, m, TARGETS["zc706"], 16), whole)
    assert tuner.chosen in tuner.choices and min(tuner.timed.values()) >= 2
    small = _decoded("mobilenetv2", "zc706", 2, 6)  # fits one chunk: one call
    assert not _unequal(tuner.evaluate(layers, small, TARGETS["zc706"], 16),
                        evaluate(layers, small, TARGETS["zc706"], 16))


@pytest.mark.parametrize("follow_k", [False, True])
def test_visits_equal_the_fetches_rule(follow_k):
    gen = torch.Generator().manual_seed(4)
    batch, n_layers = 64, 3
    factors = torch.randint(1, 4, (batch, n_layers, 3, 7), generator=gen).double()
    factors[factors == 3] = 1  # many bound-1 loops
    order = torch.rand(batch, n_layers, 3, 7, generator=gen).argsort(-1)
    fk = torch.tensor([follow_k, False, follow_k])
    f2 = factors[..., :2, :].permute(2, 3, 0, 1).contiguous()  # (2, 7, B, L) dram, gb
    g, r = _visits(f2, order, fk if follow_k else None)
    rel = REL.expand(n_layers, 3, 7).clone()
    rel[:, 0, 1] = fk
    for lvl, got in ((1, g), (2, r)):
        loops = torch.cat([factors[..., i, :].gather(-1, order[..., i, :]) for i in range(lvl)],
                          -1)  # (B, L, 7 lvl) outer -> inner
        rel_o = torch.cat([rel.expand(batch, -1, -1, -1).gather(
            -1, order[..., i, None, :].expand(-1, -1, 3, -1)) for i in range(lvl)], -1)
        want = fetches(loops[..., None, :].expand(-1, -1, 3, -1), rel_o)  # (B, L, 3)
        assert torch.equal(got, want.permute(2, 0, 1))
