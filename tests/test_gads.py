"""GADS: typed form, index form, dict round trips, space size."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dna.space.gads.index import index_space, pow2_upto, space_size_table
from dna.space.gads.io import accelerator_from_dict, accelerator_to_dict
from dna.space.gads.typed import (
    SpaceError,
    check_accelerator,
    problem_of,
    tile_extents,
    tile_words,
)
from dna.workload.io import network_from_yaml
from dna.workload.zoo import get_network

TINY = network_from_yaml(Path(__file__).resolve().parents[1] / "examples/networks/tiny.yaml")
SPACE = index_space(TINY, max_pes=64)


@st.composite
def index_vectors(draw, space=SPACE):
    return [draw(st.integers(0, n - 1)) for n in space.sizes]


@settings(max_examples=60, deadline=None)
@given(index_vectors())
def test_every_index_vector_decodes_to_a_legal_accelerator(idx):
    acc = SPACE.decode(idx)
    assert check_accelerator(acc, TINY) == []
    # Depthwise layers never share a chunk with other layers in pipeline style.
    if acc.style == "pipeline":
        for m, conv in zip(acc.mappings, TINY.convs):
            mates = [c for mm, c in zip(acc.mappings, TINY.convs) if mm.chunk == m.chunk]
            assert all(c.is_depthwise == conv.is_depthwise for c in mates)
    # Buffers hold exactly the largest tile the chunk runs.
    for h, chunk in enumerate(acc.chunks):
        need = [max(tile_words(tile_extents(m, chunk)["gb"], problem_of(c))[t]
                    for m, c in zip(acc.mappings, TINY.convs) if m.chunk == h)
                for t in range(3)]
        assert list(chunk.gb_words) == need


@settings(max_examples=40, deadline=None)
@given(index_vectors())
def test_dict_round_trip(idx):
    acc = SPACE.decode(idx)
    assert accelerator_from_dict(accelerator_to_dict(acc), TINY) == acc


def test_decode_follows_picks_without_replacement():
    idx = [0] * len(SPACE.params)
    # Pick the last remaining dim at every position: the order reverses.
    for j in range(7):
        idx[SPACE.index(f"layer[0].order.dram[{j}]")] = 6 - j
    acc = SPACE.decode(idx)
    assert acc.mappings[0].order[0] == "SRXYCKN"
    assert acc.mappings[0].order[1] == "NKCYXRS"


def test_problem_of_grouped_and_depthwise():
    convs = {c.name: c for c in TINY.convs}
    kinds = {name: (c.groups, c.is_depthwise) for name, c in convs.items()}
    grouped = next(c for c in TINY.convs if c.groups > 1 and not c.is_depthwise)
    dw = next(c for c in TINY.convs if c.is_depthwise)
    pg, pd = problem_of(grouped), problem_of(dw)
    assert pg.repeat == grouped.groups and pg.macs == grouped.macs, kinds
    assert pd.repeat == 1 and pd.inputs_follow_k and pd.bound("C") == 1
    assert pd.macs == dw.macs


def test_pow2_upto():
    assert pow2_upto(1) == (1,)
    assert pow2_upto(8) == (1, 2, 4, 8)
    assert pow2_upto(12) == (1, 2, 4, 8, 12)


def test_space_size_vgg16():
    net = get_network("vgg16")
    space = index_space(net, max_pes=900)
    manual = sum(math.log10(len(p.choices)) for p in space.params)
    assert space.log10_size() == pytest.approx(manual)
    # Loop orders: 3 levels x 7! per layer.
    orders = sum(math.log10(len(p.choices)) for p in space.params if ".order." in p.name)
    assert orders == pytest.approx(16 * 3 * math.log10(math.factorial(7)))
    table = space_size_table(space)
    assert "joint accelerator space" in table and "E+" in table


def test_mapping_errors_collect_every_field():
    acc = SPACE.decode([0] * len(SPACE.params))
    d = accelerator_to_dict(acc)
    d["mappings"][0]["order"]["gb"] = "NKCYXR"
    d["mappings"][1]["factors"]["rf"]["Q"] = 2
    del d["mappings"][1]["factors"]["rf"]["K"]
    d["chunks"][0]["unroll"] = [2, 0, 1]
    with pytest.raises(SpaceError) as e:
        accelerator_from_dict(d, TINY)
    msg = str(e.value)
    assert "accelerator.mappings[0].order.gb = 'NKCYXR'" in msg
    assert "accelerator.mappings[1].factors.rf.K: missing" in msg
    assert "accelerator.chunks[0].unroll" in msg
