"""Building quantised networks: the float model, post-training calibration and random
integer parameters for tests (dna.quant.contract defines what they must satisfy)."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from dna.quant.contract import (MULTIPLIER_MAX, SHIFT_MAX, ActQ, AddQ, ConvQ, PoolQ, QuantError,
                                QuantizedNetwork, QuantParams, acc_bits, acc_max, channel_shuffle,
                                consumers, fuse_act_clamps, params_type, qmax, qmin, window_size)
from dna.workload.ir import INPUT, Act, Add, Conv, Network, Pool, Shuffle


def float_forward(net: Network, float_weights: dict[str, tuple], x: torch.Tensor
                  ) -> dict[str, torch.Tensor]:
    """Run the float model in float64; returns every node's output (and "input")."""
    outs = {INPUT: x.to(torch.float64)}
    for node in net.nodes:
        a = outs[node.inputs[0]]
        if isinstance(node, Conv):
            if node.name not in float_weights:
                raise QuantError(f"float_weights has no entry for conv {node.name!r}")
            w, b = float_weights[node.name]
            w = torch.as_tensor(np.asarray(w), dtype=torch.float64)
            b = None if b is None else torch.as_tensor(np.asarray(b), dtype=torch.float64)
            y = F.conv2d(a, w, b, node.stride, node.padding, groups=node.groups)
        elif isinstance(node, Act):
            y = a.clamp(0, 6) if node.fn == "relu6" else a.clamp(min=0)
        elif isinstance(node, Add):
            y = a + outs[node.inputs[1]]
        elif isinstance(node, Shuffle):
            y = channel_shuffle(a, node.groups)
        elif isinstance(node, Pool) and node.fn == "max":
            y = F.max_pool2d(a, node.size, node.stride, node.padding)
        elif isinstance(node, Pool):
            y = F.avg_pool2d(a, node.size, node.stride, node.padding, count_include_pad=True)
        else:
            y = a.mean(dim=(2, 3), keepdim=True)
        outs[node.name] = y
    return outs


def _round_half_up(x):
    """Host-side float rounding, the same rule as round_shift: floor(x + 1/2)."""
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5)


def quantize_input(x: torch.Tensor, scale: float, bits: int) -> torch.Tensor:
    """Host-side float -> int: clamp(floor(x / scale + 1/2), qmin, qmax) as int64."""
    return torch.floor(x.to(torch.float64) / scale + 0.5).clamp(qmin(bits), qmax(bits)).long()


def dequantize(qnet: QuantizedNetwork, name: str, q: torch.Tensor) -> torch.Tensor:
    """Real value of node `name`'s integer output (or of "input")."""
    scale = qnet.input_scale if name == INPUT else qnet.scales[name]
    return q.to(torch.float64) * scale


def shared_multipliers(reals: Sequence[float]) -> tuple[list[int], int]:
    """Integers M_i and one shift with M_i / 2^shift ~ reals[i]: the largest shift (at most
    SHIFT_MAX) keeping every M_i <= MULTIPLIER_MAX, M_i = floor(r * 2^shift + 1/2)."""
    for shift in range(SHIFT_MAX, -1, -1):
        ms = [math.floor(max(r, 0.0) * 2.0 ** shift + 0.5) for r in reals]
        if max(ms) <= MULTIPLIER_MAX:
            return ms, shift
    return [min(m, MULTIPLIER_MAX) for m in ms], 0  # ratio >= 2^15: saturate the multiplier


def _act_params(node: Act, scale: float, bits: int) -> ActQ:
    if node.fn == "relu6":
        return ActQ(0, int(min(qmax(bits), max(1, _round_half_up(6.0 / scale)))))
    return ActQ(0, qmax(bits))


# ---------------------------------------------------------------- building quantised networks

def quantize_network(net: Network, float_weights: dict[str, tuple], calib_inputs: torch.Tensor,
                     bits: int, *, per_channel: bool = False) -> QuantizedNetwork:
    """Post-training quantisation: symmetric max-abs scales from `calib_inputs` (BN already
    folded into float_weights[name] = (w (K,C,R,S), b (K,) or None)). A Conv/Add feeding only
    an Act is calibrated on the Act's output, so ReLU does not waste half the range."""
    acc_bits(bits)  # validates bits
    lo, hi = qmin(bits), qmax(bits)
    outs = float_forward(net, float_weights, calib_inputs)
    amax = {name: float(t.abs().max()) for name, t in outs.items()}
    cons = consumers(net)
    for node in net.nodes:
        if isinstance(node, Act) and cons[node.inputs[0]] == [node.name]:
            amax[node.inputs[0]] = amax[node.name]
    scale = {INPUT: max(amax[INPUT], 1e-8) / hi}
    params: dict[str, QuantParams] = {}
    for node in net.nodes:
        s_in = scale[node.inputs[0]]
        keeps = isinstance(node, (Act, Shuffle)) or (isinstance(node, Pool) and node.fn == "max")
        s = scale[node.name] = s_in if keeps else max(amax[node.name], 1e-8) / hi
        if isinstance(node, Conv):
            w, b = float_weights[node.name]
            w = np.asarray(w, dtype=np.float64)
            b = np.zeros(node.k) if b is None else np.asarray(b, dtype=np.float64)
            wmax = np.abs(w).reshape(node.k, -1).max(axis=1)
            wmax = wmax if per_channel else np.full(node.k, wmax.max())
            s_w = np.where(wmax > 0, wmax / hi, 1.0)  # (K,)
            wq = np.clip(_round_half_up(w / s_w[:, None, None, None]), lo, hi)
            bq = np.clip(_round_half_up(b / (s_in * s_w)), -acc_max(bits), acc_max(bits))
            reals = s_in * s_w / s if per_channel else [s_in * s_w[0] / s]
            ms = [shared_multipliers([r]) for r in reals]
            params[node.name] = ConvQ(wq.astype(np.int64), bq.astype(np.int64),
                                      [m[0][0] for m in ms], [m[1] for m in ms], lo, hi)
        elif isinstance(node, Act):
            params[node.name] = _act_params(node, s, bits)
        elif isinstance(node, Add):
            (m_a, m_b), shift = shared_multipliers([s_in / s, scale[node.inputs[1]] / s])
            params[node.name] = AddQ(m_a, m_b, shift, lo, hi)
        elif params_type(node) is PoolQ:
            (m,), shift = shared_multipliers([s_in / (s * window_size(node))])
            params[node.name] = PoolQ(m, shift)
    scale.pop(INPUT)
    return QuantizedNetwork(net, bits, max(amax[INPUT], 1e-8) / hi,
                            fuse_act_clamps(net, params), scale)


def random_quantized_network(net: Network, bits: int, seed: int, *,
                             per_channel: bool = False) -> QuantizedNetwork:
    """Random full-range integer weights with requantisation chosen from each accumulator's
    expected spread (RMS tracked node by node from a uniform full-range input), so that
    outputs have RMS ~ qmax/4: neither all saturated nor all zero. For hardware tests;
    scales are nominal 1.0."""
    acc_bits(bits)
    rng = np.random.default_rng(seed)
    lo, hi = qmin(bits), qmax(bits)
    target = hi / 4.0
    rms = {INPUT: hi / math.sqrt(3.0)}  # RMS of a uniform full-range integer
    params: dict[str, QuantParams] = {}
    for node in net.nodes:
        r_in = max(rms[node.inputs[0]], 1.0)
        rms[node.name] = r_in
        if isinstance(node, Conv):
            w = rng.integers(lo, hi + 1, size=(node.k, node.c, node.r, node.s))
            r_acc = math.sqrt(node.c * node.r * node.s) * (hi / math.sqrt(3.0)) * r_in
            b = rng.integers(-int(r_acc / 2), int(r_acc / 2) + 1, size=node.k)
            gain = rng.uniform(0.5, 2.0, size=node.k if per_channel else 1)
            ms = [shared_multipliers([target / r_acc * g]) for g in gain]
            params[node.name] = ConvQ(w, b, [m[0][0] for m in ms], [m[1] for m in ms], lo, hi)
            rms[node.name] = target
        elif isinstance(node, Act):
            top = int(min(hi, max(1, 2 * r_in))) if node.fn == "relu6" else hi
            params[node.name] = ActQ(0, top)  # a ReLU6 rail that some values do reach
            rms[node.name] = r_in / math.sqrt(2.0)
        elif isinstance(node, Add):
            r_b = max(rms[node.inputs[1]], 1.0)
            reals = [target / (math.sqrt(2.0) * r) * rng.uniform(0.7, 1.4) for r in (r_in, r_b)]
            (m_a, m_b), shift = shared_multipliers(reals)
            params[node.name] = AddQ(m_a, m_b, shift, lo, hi)
            rms[node.name] = target
        elif params_type(node) is PoolQ:
            (m,), shift = shared_multipliers([1.0 / window_size(node)])
            params[node.name] = PoolQ(m, shift)
    scales = {n.name: 1.0 for n in net.nodes}
    return QuantizedNetwork(net, bits, 1.0, fuse_act_clamps(net, params), scales)


