"""FBNet space: size, variants, IR expansion, supernet/IR agreement, Gumbel-softmax."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dna.space.fbnet.space import (
    GROUP_CHANNELS,
    OPS,
    PRIMITIVES,
    SpaceConfig,
    arch_to_network,
    fbnet_space,
)
from dna.space.fbnet.supernet import (
    IRGraph,
    Supernet,
    argmax_arch,
    gumbel_softmax,
    network_module,
    one_hot,
    sample_archs,
    temperature,
)
from dna.workload.ir import WorkloadError
from dna.workload.torch_fx import network_from_torch

PROXY = SpaceConfig("cifar", width=0.25, depth=0.25, input_size=16)


def test_space_size_matches_paper_table2():
    for variant in ("imagenet", "cifar"):
        space = fbnet_space(SpaceConfig(variant))
        assert len(space.ops) == 9 and set(space.ops) == set(PRIMITIVES) == set(OPS)
        assert len(space.slots) == 22
        assert space.size == 9 ** 22
        assert f"{space.size:.2E}" == "9.85E+20"
        assert math.isclose(space.log10_size, 22 * math.log10(9))
        groups = [sum(1 for s in space.slots if s.group == g) for g in range(1, 8)]
        assert groups == [1, 4, 4, 4, 4, 4, 1]
        assert sorted({s.out_channels for s in space.slots}) == list(GROUP_CHANNELS)


@pytest.mark.parametrize("variant, size, head, classes, final_map", [
    ("imagenet", 224, 1984, 1000, 7), ("cifar", 32, 1504, 10, 4)])
def test_variants(variant, size, head, classes, final_map):
    space = fbnet_space(SpaceConfig(variant))
    arch = space.arch({s.name: "k3_e6" for s in space.slots})
    net = arch_to_network(arch, variant)
    assert net.input_shape.h == size
    assert net.node("stem.conv").stride == (2 if variant == "imagenet" else 1)
    assert net.node("stem.conv").k == 16
    assert net.node("head.conv").k == head and net.node("fc").k == classes
    assert net.node("head.conv").in_shape.h == final_map
    strides = [s.stride for s in space.slots if s.name.endswith(".b0")]
    assert strides == ([1, 2, 2, 2, 1, 2, 1] if variant == "imagenet" else [1, 1, 2, 2, 1, 2, 1])


def test_block_structure_and_skip():
    space = fbnet_space(PROXY)
    ops = {s.name: "skip" for s in space.slots}
    ops["g1.b0"] = "k5_e1_g2"  # 4 -> 4 channels, stride 1: residual
    net = arch_to_network(space.arch(ops), space)
    names = [n.name for n in net.nodes]
    assert names[2:9] == ["g1.b0.pw", "g1.b0.pw_relu", "g1.b0.shuffle", "g1.b0.dw",
                          "g1.b0.dw_relu", "g1.b0.pwl", "g1.b0.add"]
    assert net.node("g1.b0.dw").r == 5 and net.node("g1.b0.pw").groups == 2
    # skip where channels change: a 1x1 conv (+ReLU); where they do not: nothing
    assert net.node("g2.b0.conv").k == space.slots[1].out_channels
    assert net.node("g3.b0.conv").stride == 2
    ops["g1.b0"] = "skip"  # shape kept: the identity, no nodes at all
    names = [n.name for n in arch_to_network(space.arch(ops), space).nodes]
    assert not any(n.startswith("g1.b0") for n in names)
    assert net.node("g2.b0.conv").inputs == ("g1.b0.add",)


def test_arch_validation_names_problems():
    space = fbnet_space(PROXY)
    with pytest.raises(WorkloadError, match="unknown layer 'g9.b0'.*'g1.b0': op 'k7_e9'"):
        space.arch({**{s.name: "skip" for s in space.slots}, "g9.b0": "skip",
                    "g1.b0": "k7_e9"})
    with pytest.raises(WorkloadError, match="layer 'g2.b0': missing"):
        space.arch({"g1.b0": "skip"})


def _conv_hooks(module: torch.nn.Module, graphs: list[IRGraph]):
    """Record (node name -> output shape) for every conv of the given IR graphs."""
    seen = {}
    handles = []
    for g in graphs:
        for name, mod in g.convs().items():
            conv = mod if isinstance(mod, torch.nn.Conv2d) else mod[0]
            handles.append(conv.register_forward_hook(
                lambda m, i, o, name=name: seen.__setitem__(
                    name, (tuple(o.shape), o[0].numel() * (m.in_channels // m.groups)
                           * m.kernel_size[0] * m.kernel_size[1]))))
    return seen, handles


@settings(max_examples=12, deadline=None)
@given(st.lists(st.integers(0, 8), min_size=7, max_size=7))
def test_supernet_single_path_equals_ir(idx):
    """A one-hot path through the supernet runs exactly arch_to_network's convs: same
    conv output shapes, and MACs counted by forward hooks equal the IR's MACs."""
    space = fbnet_space(PROXY)
    arch = space.arch_from_indices(idx)
    net = arch_to_network(arch, space)
    model = Supernet(space).eval()
    active = [model.stem, model.head] + [model.candidates[li][k]
                                         for li, k in enumerate(space.indices(arch))]
    seen, handles = _conv_hooks(model, active)
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 16, 16), one_hot(space, arch), skip_zero=True)
    for h in handles:
        h.remove()
    assert logits.shape == (1, space.classes)
    convs = {c.name: c for c in net.convs}
    assert set(seen) == set(convs)
    for name, (shape, macs) in seen.items():
        c = convs[name]
        assert shape == (1, c.k, c.y, c.x)
        assert macs == c.macs
    assert sum(m for _, m in seen.values()) == net.macs


def test_derived_module_traces_back_to_the_same_ir():
    space = fbnet_space(PROXY)
    arch = space.arch_from_indices([1, 2, 3, 5, 7, 8, 0])
    net = arch_to_network(arch, space)
    traced = network_from_torch(network_module(net).eval(), (1, 3, 16, 16), "traced")
    assert [type(n) for n in traced.nodes] == [type(n) for n in net.nodes]
    assert [n.out_shape for n in traced.nodes] == [n.out_shape for n in net.nodes]
    assert traced.macs == net.macs and traced.params == net.params


def test_supernet_mixture_is_weighted_sum_of_ops():
    torch.manual_seed(0)
    space = fbnet_space(PROXY)
    model = Supernet(space).eval()
    x = torch.randn(2, 3, 16, 16)
    w = torch.softmax(torch.randn(len(space.slots), 9), -1)
    with torch.no_grad():
        h = model.stem(x)
        ops = model.candidates[0]
        want = sum(w[0, k] * ops[k](h) for k in range(9))
        got = sum(w[0, k] * ops[k](h) for k in range(9) if w[0, k] != 0)
    assert torch.allclose(want, got)
    assert model(x, w).shape == (2, 10)


def test_temperature_schedule():
    assert temperature(0) == 5.0
    for e in (1, 10, 89):
        assert math.isclose(temperature(e), 5.0 * 0.956 ** e)
    assert math.isclose(temperature(3, 2.0, 0.5), 0.25)


def test_gumbel_softmax_properties():
    alpha = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    a = gumbel_softmax(alpha, 1.0, torch.Generator().manual_seed(3))
    b = gumbel_softmax(alpha, 1.0, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and torch.allclose(a.sum(-1), torch.ones(2))
    cold = gumbel_softmax(alpha, 0.01, torch.Generator().manual_seed(4))
    assert torch.allclose(cold.max(-1).values, torch.ones(2), atol=1e-3)
    # Gumbel-max: argmax of the sample follows softmax(alpha)
    gen = torch.Generator().manual_seed(5)
    wins = torch.zeros(3)
    for _ in range(3000):
        wins[gumbel_softmax(alpha[:1], 1.0, gen).argmax()] += 1
    assert torch.allclose(wins / 3000, torch.softmax(alpha[0], 0), atol=0.03)


def test_sampling_and_argmax():
    space = fbnet_space(PROXY)
    alpha = torch.full((7, 9), -10.0)
    alpha[:, 4] = 10.0
    archs = sample_archs(space, alpha, 5, torch.Generator().manual_seed(0))
    assert all(a.key == "/".join(["k5_e1"] * 7) for a in archs)
    assert argmax_arch(space, alpha) == archs[0]
