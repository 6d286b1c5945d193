"""The quantisation contract (dna/quant.py) and the integer reference (hwgen/golden.py)
against independent pure-Python scalar loops over Python ints (exact, unbounded)."""
from __future__ import annotations

import math
import zipfile
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dna.quant.calibrate import (dequantize, quantize_input, quantize_network,
                                 random_quantized_network, shared_multipliers)
from dna.quant.contract import (MULTIPLIER_MAX, SHIFT_MAX, ActQ, AddQ, ConvQ, PoolQ, QuantError,
                                QuantizedNetwork, acc_bits, acc_max, qmax, qmin, requantize,
                                round_shift)
from dna.quant.npz import load_npz, save_npz
from dna.quant.reference import float_reference, make_test_vectors, run_integer
from dna.workload.ir import (INPUT, Act, Add, Conv, GlobalAvgPool, Network, Pool, Shape, Shuffle)

# ---------------------------------------------------------------- scalar reference (Python ints)

def ref_round_shift(v: int, shift: int) -> int:
    """Round half up, from its definition: floor(v / 2^shift + 1/2)."""
    return math.floor(Fraction(v, 2 ** shift) + Fraction(1, 2))


def ref_requant(acc: int, m: int, shift: int, lo: int, hi: int) -> int:
    return min(max(ref_round_shift(acc * m, shift), lo), hi)


def ref_conv(node: Conv, q: ConvQ, x: list, bits: int) -> list:
    """7-deep loop nest; checks every partial sum stays inside the accumulator."""
    k_, y_, x_ = node.k, node.y, node.x
    kg = node.k // node.groups
    amax = acc_max(bits)
    out = [[[[0] * x_ for _ in range(y_)] for _ in range(k_)] for _ in range(len(x))]
    for n in range(len(x)):
        for k in range(k_):
            g = k // kg
            m = int(q.multiplier[k if q.multiplier.size > 1 else 0])
            sh = int(q.shift[k if q.shift.size > 1 else 0])
            for oy in range(y_):
                for ox in range(x_):
                    acc = int(q.bias[k])
                    for c in range(node.c):
                        for r in range(node.r):
                            for s in range(node.s):
                                iy = oy * node.stride - node.padding + r
                                ix = ox * node.stride - node.padding + s
                                if 0 <= iy < node.in_shape.h and 0 <= ix < node.in_shape.w:
                                    acc += int(q.weight[k, c, r, s]) * x[n][g * node.c + c][iy][ix]
                                    assert -amax <= acc <= amax
                    out[n][k][oy][ox] = ref_requant(acc, m, sh, q.act_min, q.act_max)
    return out


def ref_pool(node, q, x: list, bits: int) -> list:
    """Max (padding never wins) or average (zero padding, divisor = window) pooling."""
    if isinstance(node, GlobalAvgPool):
        size, stride, pad, fn = node.in_shape.h, 1, 0, "avg"
        h_out, w_out, sz_w = 1, 1, node.in_shape.w
    else:
        size, stride, pad, fn = node.size, node.stride, node.padding, node.fn
        h_out, w_out, sz_w = node.out_shape.h, node.out_shape.w, node.size
    out = []
    for img in x:
        out.append([])
        for ch in img:
            rows = []
            for oy in range(h_out):
                row = []
                for ox in range(w_out):
                    vals = [ch[oy * stride - pad + i][ox * stride - pad + j]
                            for i in range(size) for j in range(sz_w)
                            if 0 <= oy * stride - pad + i < len(ch)
                            and 0 <= ox * stride - pad + j < len(ch[0])]
                    if fn == "max":
                        row.append(max(vals))
                    else:
                        row.append(ref_requant(sum(vals), q.multiplier, q.shift,
                                               qmin(bits), qmax(bits)))
                rows.append(row)
            out[-1].append(rows)
    return out


def ref_network(qnet: QuantizedNetwork, x: list) -> dict[str, list]:
    """Scalar interpreter of the whole contract, node by node."""
    bits, outs = qnet.bits, {INPUT: x}

    def elementwise(f, *ts):
        if not isinstance(ts[0], list):
            return f(*ts)
        return [elementwise(f, *parts) for parts in zip(*ts)]

    for node in qnet.network.nodes:
        q, a = qnet.nodes.get(node.name), outs[node.inputs[0]]
        if isinstance(node, Conv):
            y = ref_conv(node, q, a, bits)
        elif isinstance(node, Act):
            y = elementwise(lambda v: min(max(v, q.act_min), q.act_max), a)
        elif isinstance(node, Add):
            y = elementwise(lambda u, v: ref_requant(u * q.m_a + v * q.m_b, 1, q.shift,
                                                     q.act_min, q.act_max),
                            a, outs[node.inputs[1]])
        elif isinstance(node, Shuffle):
            cg = node.in_shape.c // node.groups
            y = [[img[(c % node.groups) * cg + c // node.groups] for c in range(len(img))]
                 for img in a]
        else:
            y = ref_pool(node, q, a, bits)
        outs[node.name] = y
    return outs


def one_conv_net(node: Conv) -> Network:
    return Network("one", node.in_shape, (node,))


# ---------------------------------------------------------------- (a) conv + requant, brute force

@st.composite
def conv_cases(draw):
    bits = draw(st.sampled_from([8, 16]))
    kind = draw(st.sampled_from(["conv", "pointwise", "depthwise", "grouped"]))
    groups = {"conv": 1, "pointwise": 1, "depthwise": draw(st.integers(1, 4)),
              "grouped": draw(st.integers(2, 3))}[kind]
    c_per_g = 1 if kind == "depthwise" else draw(st.integers(1, 3))
    k_per_g = 1 if kind == "depthwise" else draw(st.integers(1, 3))
    r = s = 1 if kind == "pointwise" else draw(st.integers(1, 3))
    stride, padding = draw(st.integers(1, 2)), draw(st.integers(0, 1 if r > 1 else 0))
    h, w = draw(st.integers(r, 5)), draw(st.integers(s, 5))
    node = Conv("conv", (INPUT,), Shape(draw(st.integers(1, 2)), groups * c_per_g, h, w),
                groups * k_per_g, r, s, stride=stride, padding=padding, groups=groups)
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    lo, hi = qmin(bits), qmax(bits)
    weight = rng.integers(lo, hi + 1, size=(node.k, node.c, r, s))
    spread = int(math.sqrt(node.c * r * s)) * hi * hi  # typical |acc|
    bias = rng.integers(-spread, spread + 1, size=node.k)
    n_m = node.k if draw(st.booleans()) else 1  # per channel or per tensor
    mult = rng.integers(0, MULTIPLIER_MAX + 1, size=n_m)
    if draw(st.booleans()):  # shifts near the accumulator's spread: few saturate
        base = (spread * MULTIPLIER_MAX).bit_length() - (bits - 1)
        shift = np.clip(base + rng.integers(-3, 4, size=n_m), 0, SHIFT_MAX)
    else:
        shift = rng.integers(0, SHIFT_MAX + 1, size=n_m)
    act_min, act_max = draw(st.sampled_from([(lo, hi), (0, hi), (0, hi // 5)]))
    q = ConvQ(weight, bias, mult, shift, act_min, act_max)
    x = rng.integers(lo, hi + 1, size=(node.in_shape.n, node.in_shape.c, h, w))
    return QuantizedNetwork(one_conv_net(node), bits, 1.0, {"conv": q}, {"conv": 1.0}), x


@settings(max_examples=150, deadline=None)
@given(conv_cases())
def test_conv_requant_matches_scalar_loop(case):
    qnet, x = case
    got = run_integer(qnet, torch.from_numpy(x))["conv"]
    want = ref_conv(qnet.network.nodes[0], qnet.nodes["conv"], x.tolist(), qnet.bits)
    assert got.dtype == torch.int64
    assert got.tolist() == want


def small_net(n: int = 1) -> Network:
    """Every node kind: conv, ReLU, depthwise, ReLU6, pointwise, add, shuffle, max/avg pool,
    global average pool, FC head."""
    s8 = Shape(n, 8, 6, 6)
    return Network("small", Shape(n, 3, 6, 6), (
        Conv("c1", (INPUT,), Shape(n, 3, 6, 6), 8, 3, 3, padding=1),
        Act("a1", ("c1",), s8, "relu"),
        Conv("dw", ("a1",), s8, 8, 3, 3, padding=1, groups=8),
        Act("a2", ("dw",), s8, "relu6"),
        Conv("pw", ("a2",), s8, 8, 1, 1, groups=2),
        Add("add", ("pw", "a1"), s8),
        Shuffle("sh", ("add",), s8, 2),
        Pool("mp", ("sh",), s8, "max", 2, 2),
        Pool("ap", ("mp",), Shape(n, 8, 3, 3), "avg", 3, 1, 1),
        GlobalAvgPool("gap", ("ap",), Shape(n, 8, 3, 3)),
        Conv("fc", ("gap",), Shape(n, 8, 1, 1), 10, 1, 1),
    ))


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("per_channel", [False, True])
def test_every_node_kind_matches_scalar_interpreter(bits, per_channel):
    qnet = random_quantized_network(small_net(), bits, seed=3, per_channel=per_channel)
    x, outs = make_test_vectors(qnet, seed=4, batch=2)
    want = ref_network(qnet, x.tolist())
    for name, got in outs.items():
        assert got.tolist() == want[name], name


@pytest.mark.parametrize("bits", [8, 16])
def test_padded_pools_clamp_and_odd_shuffle_match_scalar_interpreter(bits):
    s = Shape(2, 6, 5, 5)
    net = Network("pools", s, (
        Act("clamp", (INPUT,), s, "relu"),  # an ActQ is a general clamp
        Shuffle("sh", ("clamp",), s, 3),
        Pool("mp", ("sh",), s, "max", 3, 2, 1),  # padded: padding must never win
        Pool("ap", ("mp",), Shape(2, 6, 3, 3), "avg", 2, 1, 1),
        GlobalAvgPool("gap", ("ap",), Shape(2, 6, 4, 4)),
    ))
    lo, hi = qmin(bits), qmax(bits)
    params = {"clamp": ActQ(lo // 3, hi // 2), "ap": PoolQ(3 << 12, 14), "gap": PoolQ(4095, 16)}
    qnet = QuantizedNetwork(net, bits, 1.0, params, {n.name: 1.0 for n in net.nodes})
    x = torch.randint(lo, 0, (2, 6, 5, 5), generator=torch.Generator().manual_seed(0))
    want = ref_network(qnet, x.tolist())
    for name, got in run_integer(qnet, x).items():
        assert got.tolist() == want[name], name


@pytest.mark.parametrize("bits", [8, 16])
def test_random_network_is_well_conditioned(bits):
    qnet = random_quantized_network(small_net(), bits, seed=0)
    _, outs = make_test_vectors(qnet, seed=1, batch=8)
    for name, y in outs.items():
        rails = ((y == qmin(bits)) | (y == qmax(bits))).double().mean().item()
        zeros = (y == 0).double().mean().item()
        assert rails < 0.2 and zeros < 0.8, (name, rails, zeros)
        assert y.min() >= qmin(bits) and y.max() <= qmax(bits)


# ---------------------------------------------------------------- (b) rounding rule

@pytest.mark.parametrize("v, shift, want", [
    (5, 1, 3), (-5, 1, -2),      # exact halves go up (towards +inf)
    (3, 1, 2), (-3, 1, -1), (1, 1, 1), (-1, 1, 0),
    (6, 2, 2), (-6, 2, -1),      # +-1.5
    (5, 2, 1), (-5, 2, -1),      # +-1.25
    (7, 2, 2), (-7, 2, -2),      # +-1.75
    (7, 0, 7), (-7, 0, -7), (0, 0, 0), (0, 5, 0),  # shift 0 is the identity
    (2 ** 62 - 1, 63, 0), (-(2 ** 62), 63, 0), (-(2 ** 62) - 1, 63, -1),
])
def test_round_shift_edge_cases(v, shift, want):
    assert round_shift(torch.tensor([v]), shift).item() == want == ref_round_shift(v, shift)


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2 ** 62), 2 ** 62 - 1), st.integers(0, SHIFT_MAX))
def test_round_shift_is_round_half_up(v, shift):
    assert round_shift(torch.tensor(v), torch.tensor(shift)).item() == ref_round_shift(v, shift)


@pytest.mark.parametrize("bits", [8, 16])
def test_round_shift_of_any_conv_product_is_zero_past_acc_bits_plus_15(bits):
    """|acc * M| < 2^(acc_bits + 14), so shift >= acc_bits + 15 always gives 0 (the doc
    lets hardware use this to keep the rounding datapath narrow)."""
    v = acc_max(bits) * MULTIPLIER_MAX
    for shift in range(acc_bits(bits) + 15, SHIFT_MAX + 1):
        assert round_shift(torch.tensor([v, -v]), shift).tolist() == [0, 0]


def test_round_shift_broadcasts_per_channel_shifts():
    v = torch.tensor([[-3, 3], [-3, 3]])
    assert round_shift(v, torch.tensor([[0], [1]])).tolist() == [[-3, 3], [-1, 2]]


# ---------------------------------------------------------------- (c) saturation

@pytest.mark.parametrize("bits", [8, 16])
def test_requantize_saturates_at_both_rails(bits):
    lo, hi = qmin(bits), qmax(bits)
    acc = torch.tensor([-(10 ** 9), lo - 1, lo, -1, 0, hi, hi + 1, 10 ** 9])
    assert requantize(acc, 1, 0, lo, hi).tolist() == [lo, lo, lo, -1, 0, hi, hi, hi]


@pytest.mark.parametrize("bits", [8, 16])
def test_conv_and_add_saturate_in_the_network(bits):
    lo, hi = qmin(bits), qmax(bits)
    node = Conv("c", (INPUT,), Shape(1, 1, 1, 4), 1, 1, 1)
    q = ConvQ([[[[hi]]]], [0], [1], [0], lo, hi)  # acc = hi * x: far past both rails
    qnet = QuantizedNetwork(one_conv_net(node), bits, 1.0, {"c": q}, {"c": 1.0})
    x = torch.tensor([[[[lo, -2, 1, hi]]]])
    assert run_integer(qnet, x)["c"].tolist() == [[[[lo, lo, hi, hi]]]]
    s = Shape(1, 1, 1, 2)
    net = Network("add", s, (Add("a", (INPUT, INPUT), s),))
    qnet = QuantizedNetwork(net, bits, 1.0, {"a": AddQ(MULTIPLIER_MAX, MULTIPLIER_MAX, 14, lo, hi)},
                            {"a": 1.0})
    assert run_integer(qnet, torch.tensor([[[[lo, hi]]]]))["a"].tolist() == [[[[lo, hi]]]]


# ---------------------------------------------------------------- (d) post-training quantisation

def float_model(net: Network, seed: int = 0) -> dict[str, tuple]:
    rng = np.random.default_rng(seed)
    return {c.name: (rng.normal(0, math.sqrt(2 / (c.c * c.r * c.s)), (c.k, c.c, c.r, c.s)),
                     rng.normal(0, 0.1, c.k)) for c in net.convs}


# Relative error = max|dequantised int output - float output| / max|float output|.
# On the calibration inputs only rounding is left: int8 ~1.5 %, int16 ~1e-4 (measured).
# On held-out inputs values past the calibrated ranges also clip (~4 % for both widths).
PTQ_TOL = {8: 0.05, 16: 1e-3}  # on calibration inputs
HELDOUT_TOL = 0.10  # on held-out inputs, both widths
ARGMAX_AGREEMENT = 0.95  # on held-out inputs


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("per_channel", [False, True])
def test_quantize_network_tracks_the_float_model(bits, per_channel):
    net, weights = small_net(), float_model(small_net())
    gen = torch.Generator().manual_seed(0)
    calib = torch.rand(512, 3, 6, 6, generator=gen, dtype=torch.float64) * 4 - 2
    heldout = torch.rand(512, 3, 6, 6, generator=gen, dtype=torch.float64) * 4 - 2
    qnet = quantize_network(net, weights, calib, bits, per_channel=per_channel)
    for x, tol in ((calib, PTQ_TOL[bits]), (heldout, HELDOUT_TOL)):
        want = float_reference(net, weights, x)["fc"]
        x_int = quantize_input(x, qnet.input_scale, bits)
        got = dequantize(qnet, "fc", run_integer(qnet, x_int)["fc"])
        assert ((got - want).abs().max() / want.abs().max()).item() <= tol
    agree = (got.argmax(1) == want.argmax(1)).double().mean().item()
    assert agree >= ARGMAX_AGREEMENT


def test_quantize_network_relu6_and_fusion():
    net, weights = small_net(), float_model(small_net())
    calib = torch.rand(64, 3, 6, 6, generator=torch.Generator().manual_seed(1)) * 40 - 20
    qnet = quantize_network(net, weights, calib, 8)
    a2 = qnet.nodes["a2"]
    assert (a2.act_min, a2.act_max) == (0, min(127, math.floor(6 / qnet.scales["a2"] + 0.5)))
    assert (qnet.nodes["dw"].act_min, qnet.nodes["dw"].act_max) == (a2.act_min, a2.act_max)
    assert qnet.nodes["fc"].act_min == -128  # not followed by an Act: full range


# ---------------------------------------------------------------- (e) .npz files

@pytest.mark.parametrize("per_channel", [False, True])
def test_npz_round_trip(tmp_path, per_channel):
    qnet = random_quantized_network(small_net(), 16, seed=5, per_channel=per_channel)
    path = tmp_path / "w.npz"
    save_npz(qnet, path)
    back = load_npz(path, small_net())
    assert (back.bits, back.input_scale, back.scales) == (qnet.bits, qnet.input_scale, qnet.scales)
    assert back.nodes.keys() == qnet.nodes.keys()
    for name, q in qnet.nodes.items():
        for f in vars(q):
            assert np.array_equal(getattr(back.nodes[name], f), getattr(q, f)), (name, f)
    x, outs = make_test_vectors(qnet, seed=0)
    assert all(torch.equal(outs[k], v) for k, v in run_integer(back, x).items())
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]  # no temp file left


def test_npz_bad_files_name_file_and_key(tmp_path):
    net = small_net()
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(QuantError, match="junk.npz.*not a readable"):
        load_npz(junk, net)
    good, cut = tmp_path / "good.npz", tmp_path / "cut.npz"
    save_npz(random_quantized_network(net, 8, seed=0), good)
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(cut, "w") as zout:
        for item in zin.infolist():
            if item.filename != "dw/shift.npy":
                zout.writestr(item, zin.read(item.filename))
    with pytest.raises(QuantError, match=r"cut.npz: missing key 'dw/shift'"):
        load_npz(cut, net)
    other = Network("other", net.input_shape, net.nodes)
    with pytest.raises(QuantError, match="good.npz: key 'network' is 'small'"):
        load_npz(good, other)


# ---------------------------------------------------------------- (f) accumulator bound

def test_acc_bits():
    assert (acc_bits(8), acc_bits(16)) == (32, 48)
    with pytest.raises(QuantError, match="bits = 4"):
        acc_bits(4)


def test_overflowing_layer_is_refused():
    node = Conv("big", (INPUT,), Shape(1, 2, 1, 1), 1, 1, 1)
    q = ConvQ([[[[0]], [[1]]]], [acc_max(8)], [1], [0], -128, 127)  # |bias| + 128 > acc_max
    with pytest.raises(QuantError, match=r"big: accumulator overflow possible: output channel 0 "
                                         r"can reach \|acc\| = 2147483775 > 2147483647"):
        QuantizedNetwork(one_conv_net(node), 8, 1.0, {"big": q}, {"big": 1.0})


@pytest.mark.parametrize("bits, crs, bias", [(8, 65535, 2 ** 30), (16, 65535, 2 ** 46)])
def test_documented_safe_worst_case_runs_exactly(bits, crs, bias):
    """C*R*S <= 65535 with |bias| <= 2^30 (int8) or 2^46 (int16) always fits; run the worst
    case (every weight and input at qmin) with the largest multiplier: still exact in int64."""
    node = Conv("w", (INPUT,), Shape(1, crs, 1, 1), 1, 1, 1)
    lo = qmin(bits)
    q = ConvQ(np.full((1, crs, 1, 1), lo), [bias], [MULTIPLIER_MAX], [40], lo, qmax(bits))
    qnet = QuantizedNetwork(one_conv_net(node), bits, 1.0, {"w": q}, {"w": 1.0})
    acc = crs * lo * lo + bias
    assert acc <= acc_max(bits)
    got = run_integer(qnet, torch.full((1, crs, 1, 1), lo))["w"].item()
    assert got == ref_requant(acc, MULTIPLIER_MAX, 40, lo, qmax(bits))
    assert acc * MULTIPLIER_MAX + 2 ** 62 < 2 ** 63  # the int64 rounding never overflows


# ---------------------------------------------------------------- validation messages

def test_validation_lists_every_problem():
    node = Conv("c", (INPUT,), Shape(1, 1, 1, 1), 2, 1, 1)
    q = ConvQ([[[[200]]], [[[0]]]], [0, 0], [MULTIPLIER_MAX + 1], [SHIFT_MAX + 1], 5, 4)
    with pytest.raises(QuantError) as err:
        QuantizedNetwork(one_conv_net(node), 8, 1.0, {"c": q}, {"c": 1.0})
    msg = str(err.value)
    for part in ("c.weight = [0, 200] is outside [-128, 127]", "c.multiplier", "c.shift",
                 "act_min 5 > act_max 4"):
        assert part in msg
    with pytest.raises(QuantError, match="c: needs ConvQ, got NoneType"):
        QuantizedNetwork(one_conv_net(node), 8, 1.0, {}, {"c": 1.0})
    with pytest.raises(QuantError, match="weight must hold integers"):
        ConvQ(np.zeros((2, 1, 1, 1)), [0, 0], [1], [0], -128, 127)
    with pytest.raises(QuantError, match="outside"):
        run_integer(random_quantized_network(small_net(), 8, 0), torch.full((1, 3, 6, 6), 128))


def test_params_are_immutable():
    q = ConvQ([[[[1]]]], [0], [1], [0], -128, 127)
    with pytest.raises(ValueError):
        q.weight[0, 0, 0, 0] = 2
    assert isinstance(ActQ(0, 127).act_max, int) and isinstance(PoolQ(1, 0).shift, int)


def test_worked_example_of_the_docs():
    """docs/quantisation.md section 7, number for number."""
    assert shared_multipliers([0.0874]) == ([22911], 18)
    node = Conv("c", (INPUT,), Shape(1, 3, 1, 1), 1, 1, 1)
    q = ConvQ([[[[2]], [[-3]], [[1]]]], [1000], [22911], [18], 0, 120)
    qnet = QuantizedNetwork(one_conv_net(node), 8, 1.0, {"c": q}, {"c": 1.0})
    assert run_integer(qnet, torch.tensor([[[[-128]], [[37]], [[100]]]]))["c"].item() == 64
    assert round_shift(torch.tensor([-3, 3]), 1).tolist() == [-1, 2]
    assert shared_multipliers([0.5 / 0.6, 0.4 / 0.6]) == ([27307, 21845], 15)
    assert requantize(torch.tensor(100 * 27307 - 57 * 21845), 1, 15, -128, 127).item() == 45
    assert shared_multipliers([1 / 49]) == ([21400], 20)
