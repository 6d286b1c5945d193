"""The non-conv ops (pooling, global average pooling, channel shuffle, residual adds,
standalone clamps) in the cost model: the shuffle permutation against the quantisation
contract's, the ops against the backends' fusion rule, the chunk each node runs on
against a brute-force walk of the graph, and the network totals charging exactly their
cycles, DRAM bytes and energy on those chunks. Their cycles against the RTL are checked
in tests/test_rtl_sim.py (simulation)."""
from __future__ import annotations

import dataclasses
import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dna.cost.model import evaluate
from dna.cost.nodes import (
    conv_frontier,
    node_chunks,
    node_cost,
    op_nodes,
    plane_cost,
    plane_sources,
)
from dna.cost.target import load_target
from dna.quant.calibrate import random_quantized_network
from dna.quant.contract import channel_shuffle, fused_acts
from dna.space.gads.batch import encode, network_layers
from dna.space.gads.typed import Accelerator
from dna.workload.ir import INPUT, Conv, Shape, Shuffle
from dna.workload.zoo import NetBuilder, get_network
from sim.points import chunk, random_mapping

ASIC = load_target("asic45")


@given(c_per_group=st.integers(1, 9), groups=st.integers(1, 6))
def test_shuffle_sources_are_the_contracts_permutation(c_per_group, groups):
    c = c_per_group * groups
    node = Shuffle("sh", ("x",), Shape(1, c, 1, 1), groups=groups)
    x = torch.arange(c).view(1, c, 1, 1)
    assert plane_sources(node) == channel_shuffle(x, groups).flatten().tolist()


def _latest_input_chunk(net, conv_chunk) -> dict[str, int]:
    """Brute force: a node's chunk is its conv's, else the largest chunk of its inputs,
    found by walking back from each node separately."""
    by_name = {n.name: n for n in net.nodes}

    def chunk_of(name: str) -> int:
        if name == INPUT:
            return 0
        n = by_name[name]
        return conv_chunk[name] if isinstance(n, Conv) else max(map(chunk_of, n.inputs))

    return {name: chunk_of(name) for name in [INPUT, *by_name]}


@pytest.mark.parametrize("name", ["resnet18", "mobilenetv2", "vgg16"])
def test_node_chunks_follow_the_latest_input(name):
    net = get_network(name, dataset="cifar")
    rng = random.Random(0)
    for _ in range(5):
        conv_chunk = {c.name: rng.randint(0, 3) for c in net.convs}
        assert node_chunks(net, conv_chunk) == _latest_input_chunk(net, conv_chunk)
    front = conv_frontier(net)
    assert all(front[c.name] == (i,) for i, c in enumerate(net.convs))


def _planes_net():
    b = NetBuilder(Shape(1, 4, 12, 12))
    b.conv("c0", 8, 3, padding=1)
    b.pool("mp", 2, 2)
    b.shuffle("sh", 2)
    b.conv("c1", 8, 1)
    b.pool("ap", 3, 1, padding=1, fn="avg")
    b.gap("gap")
    b.act("gap_relu")  # a standalone clamp: its producer is not a conv or an add
    b.conv("fc", 10, 1)
    b.add("sum", "fc", "fc")
    b.act("sum_relu")  # fused into the add
    return b.build("planes")


@pytest.mark.parametrize("name", ["resnet18", "mobilenetv2", "planes"])
def test_ops_are_the_nodes_the_backends_run(name):
    """Every non-conv node but the activations `fused_acts` drops (weights calibrated
    or random, either way the producer takes the activation's clamp)."""
    net = _planes_net() if name == "planes" else get_network(name, dataset="cifar")
    qnet = random_quantized_network(net, 8, 0)
    fused = fused_acts(qnet)
    want = [n.name for n in net.nodes if not isinstance(n, Conv) and n.name not in fused]
    assert [n.name for n in op_nodes(net)] == want


@pytest.mark.parametrize("style", ["multicycle", "pipeline"])
def test_network_totals_charge_every_plane_node_on_its_chunk(style):
    net = _planes_net()
    rng = random.Random(1)
    n_chunks = 3 if style == "pipeline" else 1
    chunks = tuple(chunk("KYX", (2, 2, 2), (4096, 2048, 2048), (32, 32, 16))
                   for _ in range(n_chunks))
    assign = [0, 2, 1] if style == "pipeline" else [0, 0, 0]
    maps = tuple(random_mapping(c, chunks[h], rng, chunk_index=h)
                 for c, h in zip(net.convs, assign))
    acc = Accelerator(style, chunks, maps)
    layers = network_layers(net)
    assert [n.name for n, _ in layers.ops] == ["mp", "sh", "ap", "gap", "gap_relu", "sum"]
    with_planes = evaluate(layers, encode([acc]), ASIC, 8)
    convs_only = evaluate(dataclasses.replace(layers, ops=()), encode([acc]), ASIC, 8)
    where = node_chunks(net, {m.layer: m.chunk for m in maps})
    extra = torch.zeros(n_chunks, dtype=torch.float64)
    costs = {n.name: node_cost(n, ASIC, 8) for n in op_nodes(net)}
    for name, c in costs.items():
        extra[where[name]] += c.cycles
    # the layers' own cycles on each chunk, plus the ops' (in a pipeline the ops also
    # lengthen the frame the other chunks' DRAM queueing is spread over: another test)
    layer_cycles = torch.zeros(n_chunks, dtype=torch.float64).scatter_add(
        0, torch.tensor(assign), with_planes.latency_cycles[0])
    assert torch.allclose(with_planes.chunk_cycles[0], layer_cycles + extra, rtol=1e-15)
    if style == "multicycle":
        assert torch.equal(with_planes.latency_cycles, convs_only.latency_cycles)
    total = sum(c.cycles for c in costs.values())
    assert with_planes.frame_latency_cycles[0].item() == pytest.approx(
        with_planes.latency_cycles[0].sum().item() + total, rel=1e-15)
    energy = sum(c.energy_pj for c in costs.values())
    assert with_planes.energy_per_frame_pj[0].item() == pytest.approx(
        convs_only.energy_per_frame_pj[0].item() + energy, rel=1e-12)
    if style == "pipeline":
        # sh runs where mp does (after c0, chunk 0); ap and gap after c1 (chunk 2), the
        # add after fc (chunk 1)
        assert [where[n] for n in ("mp", "sh", "ap", "gap", "sum")] == [0, 0, 2, 2, 1]
    else:
        assert with_planes.frame_cycles[0] == with_planes.frame_latency_cycles[0]


@settings(max_examples=40, deadline=None)
@given(c=st.integers(1, 16), hw=st.integers(1, 20), size=st.integers(1, 3),
       stride=st.integers(1, 3), bits=st.sampled_from([8, 16]))
def test_plane_cycles_cover_every_tap_and_the_first_load(c, hw, size, stride, bits):
    """Compute-bound lower bound: every tap plus a start cycle per plane, after the first
    plane's load and before the last write's response."""
    b = NetBuilder(Shape(1, c, hw, hw))
    b.pool("p", size, stride, padding=size // 2)
    node = b.build("p").nodes[0]
    out = node.out_shape
    cost = plane_cost(node, ASIC, bits)
    assert cost.cycles >= c * (out.h * out.w * size * size + 1) + 2 * 20
    assert cost.dram_bytes >= c * hw * hw * bits // 8 + out.elements * bits // 8


def test_pipeline_chunks_queue_behind_each_others_transfers():
    """A pipeline point's layers see the DRAM latency plus the Pollaczek-Khinchine wait for
    the other chunks' transfers (dna.cost.model._queue_wait), recomputed here by hand from
    the multi-cycle evaluation of the same chunks; a multi-cycle point has no wait."""
    import dna.cost.model as model
    net = _planes_net()
    rng = random.Random(3)
    chunks = tuple(chunk("KYX", (2, 2, 2), (4096, 2048, 2048), (32, 32, 16)) for _ in range(3))
    assign = [0, 1, 2]
    maps = tuple(random_mapping(c, chunks[h], rng, chunk_index=h)
                 for c, h in zip(net.convs, assign))
    layers = network_layers(net)
    pipe = evaluate(layers, encode([Accelerator("pipeline", chunks, maps)]), ASIC, 8)
    alone = evaluate(layers, encode([Accelerator("multicycle", chunks, maps)]), ASIC, 8)
    assert (pipe.latency_cycles >= alone.latency_cycles).all()
    assert (pipe.latency_cycles > alone.latency_cycles).any()
    # by hand: T from the chunks without contention, rho from DRAM bytes, sum n t^2 per chunk
    m = encode([Accelerator("pipeline", chunks, maps)])
    _, _, sq = model.dram_timing(model._counts(layers, m), ASIC, 8, layers.repeat)
    where = node_chunks(net, {mp.layer: mp.chunk for mp in maps})
    per_chunk = [0.0, 0.0, 0.0]
    for i, h in enumerate(assign):
        per_chunk[h] += alone.latency_cycles[0, i].item()
    for n in op_nodes(net):
        per_chunk[where[n.name]] += node_cost(n, ASIC, 8).cycles
    frame = max(per_chunk)
    idle = max(0.05, 1 - alone.dram_bytes[0].sum().item() / ASIC.dram_bytes_per_cycle / frame)
    load = [sum(sq[0, i].item() for i, h in enumerate(assign) if h == g) / (2 * frame * idle)
            for g in range(3)]
    wait = torch.tensor([[sum(load) - load[h] for h in assign]], dtype=torch.float64)
    steady, overhead, _ = model.dram_timing(model._counts(layers, m), ASIC, 8, layers.repeat,
                                            wait)
    want = torch.maximum(torch.maximum(pipe.compute_cycles, steady), pipe.gb_cycles) + overhead
    assert torch.allclose(pipe.latency_cycles, want, rtol=1e-12)
    assert torch.equal(pipe.dram_cycles, steady)
