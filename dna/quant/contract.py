"""The one quantisation contract shared by training, the PyTorch integer reference
(`dna/quant/reference.py`), the HLS backend and the RTL backend. Spelled out in
`docs/quantisation.md`; this module is its executable form.

Every tensor is signed `bits`-bit (8 or 16), symmetric (zero point 0). A conv accumulates
`acc = bias + sum(w * x)` exactly in an `acc_bits(bits)`-bit register, then requantises:

    out = clamp(round_shift(acc * M, shift), act_min, act_max)

with M an unsigned 15-bit multiplier, shift in [0, 63], `round_shift` = round half up
(add 2^(shift-1), arithmetic shift right) and [act_min, act_max] inside the `bits` range
(saturation and ReLU/ReLU6 are one clamp). Add, average pool and global average pool use
the same `round_shift` and clamp; max pool, shuffle and Act need no multiplier.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Optional, Union

import numpy as np
import torch

from dna.errors import DnaError
from dna.workload.ir import INPUT, Act, Add, Conv, GlobalAvgPool, Network, Node, Pool

BITS: tuple[int, ...] = (8, 16)  # supported weight/activation widths
ROUNDING = "half_up"  # round_shift(v, s) = (v + 2^(s-1)) >> s, i.e. floor(v / 2^s + 1/2)
MULTIPLIER_BITS = 15  # M is unsigned 15-bit: fits a signed 16-bit (or 18-bit DSP) port
MULTIPLIER_MAX = (1 << MULTIPLIER_BITS) - 1
SHIFT_MAX = 63  # shift in [0, 63]


class QuantError(DnaError):
    """Quantised parameters break the contract; the message names the node and field."""


def qmin(bits: int) -> int:
    """Lowest representable activation/weight value, -2^(bits-1)."""
    return -(1 << (bits - 1))


def qmax(bits: int) -> int:
    """Highest representable activation/weight value, 2^(bits-1) - 1."""
    return (1 << (bits - 1)) - 1


def acc_bits(bits: int) -> int:
    """Accumulator width: 32 bits for int8, 48 bits for int16 (int16 x int16 sums can
    pass 2^31 with only C*R*S >= 2, so 32 bits would not do)."""
    if bits not in BITS:
        raise QuantError(f"bits = {bits} is not one of {BITS}")
    return 32 if bits == 8 else 48


def acc_max(bits: int) -> int:
    """Largest accumulator magnitude, 2^(acc_bits-1) - 1 (the range is symmetric on purpose)."""
    return (1 << (acc_bits(bits) - 1)) - 1


# ---------------------------------------------------------------- integer primitives (int64)

def round_shift(v: torch.Tensor, shift: Union[int, torch.Tensor]) -> torch.Tensor:
    """v / 2^shift rounded half up: (v + 2^(shift-1)) >> shift (arithmetic); v when shift = 0.

    Exact halves go towards +inf: 5/2 -> 3, -5/2 -> -2. `shift` broadcasts against `v`."""
    s = torch.as_tensor(shift, dtype=torch.int64)
    offset = torch.where(s > 0, torch.ones_like(s) << (s - 1).clamp(min=0), torch.zeros_like(s))
    return (v.to(torch.int64) + offset) >> s


def requantize(acc: torch.Tensor, multiplier: Union[int, torch.Tensor],
               shift: Union[int, torch.Tensor], lo: int, hi: int) -> torch.Tensor:
    """clamp(round_shift(acc * multiplier, shift), lo, hi) in int64; the clamp is both the
    saturation to the `bits` range and the ReLU/ReLU6 of a fused activation."""
    m = torch.as_tensor(multiplier, dtype=torch.int64)
    return round_shift(acc.to(torch.int64) * m, shift).clamp(lo, hi)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Channel shuffle (any dtype): out[:, c] = x[:, (c % g) * (C // g) + c // g]."""
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


# ---------------------------------------------------------------- per-node parameters

def _ints(value, name: str) -> np.ndarray:
    """A read-only int64 copy of `value` (at least 1-D); refuses non-integer data."""
    arr = np.atleast_1d(np.asarray(value))
    if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise QuantError(f"{name} must hold integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    arr.setflags(write=False)
    return arr


def _int(value, name: str) -> int:
    arr = _ints(value, name)
    if arr.size != 1:
        raise QuantError(f"{name} must be one integer, got {arr.size} values")
    return int(arr[0])


@dataclass(frozen=True, eq=False)
class ConvQ:
    """Integer parameters of one Conv: acc = bias + sum(w*x); out = requantize(acc, ...)."""

    weight: np.ndarray  # (K, C, R, S) int64, each in [qmin, qmax]
    bias: np.ndarray  # (K,) int64, in the accumulator scale s_in * s_w, |b| <= acc_max
    multiplier: np.ndarray  # (1,) per tensor or (K,) per channel, each in [0, MULTIPLIER_MAX]
    shift: np.ndarray  # same shape as multiplier, each in [0, SHIFT_MAX]
    act_min: int  # output clamp low: qmin, or 0 with a fused ReLU/ReLU6
    act_max: int  # output clamp high: qmax, or q6 (the integer for 6.0) with a fused ReLU6

    def __post_init__(self) -> None:
        for f in ("weight", "bias", "multiplier", "shift"):
            object.__setattr__(self, f, _ints(getattr(self, f), f))
        for f in ("act_min", "act_max"):
            object.__setattr__(self, f, _int(getattr(self, f), f))


@dataclass(frozen=True, eq=False)
class ActQ:
    """An Act node: out = clamp(x, act_min, act_max), same scale as its input."""

    act_min: int  # 0 for ReLU and ReLU6
    act_max: int  # qmax for ReLU; q6 = round(6.0 / scale) (at most qmax) for ReLU6

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, _int(getattr(self, f.name), f.name))


@dataclass(frozen=True, eq=False)
class AddQ:
    """Residual add: out = clamp(round_shift(a*m_a + b*m_b, shift), act_min, act_max)."""

    m_a: int  # multiplier of inputs[0], in [0, MULTIPLIER_MAX]; m_a/2^shift ~ s_a/s_out
    m_b: int  # multiplier of inputs[1], in [0, MULTIPLIER_MAX]; m_b/2^shift ~ s_b/s_out
    shift: int  # shared by both operands, in [0, SHIFT_MAX]
    act_min: int  # output clamp low (qmin, or 0 with a fused ReLU)
    act_max: int  # output clamp high (qmax, or q6 with a fused ReLU6)

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, _int(getattr(self, f.name), f.name))


@dataclass(frozen=True, eq=False)
class PoolQ:
    """Average pool / global average pool: out = sat(round_shift(window_sum * M, shift)),
    M / 2^shift ~ s_in / (s_out * window_size); padded positions count as 0."""

    multiplier: int  # in [0, MULTIPLIER_MAX]
    shift: int  # in [0, SHIFT_MAX]

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, _int(getattr(self, f.name), f.name))


GapQ = PoolQ  # global average pooling uses the same parameters
QuantParams = Union[ConvQ, ActQ, AddQ, PoolQ]


def params_type(node: Node) -> Optional[type]:
    """The parameter class a node needs, or None (Shuffle and max Pool need none)."""
    if isinstance(node, Conv):
        return ConvQ
    if isinstance(node, Act):
        return ActQ
    if isinstance(node, Add):
        return AddQ
    if isinstance(node, GlobalAvgPool) or (isinstance(node, Pool) and node.fn == "avg"):
        return PoolQ
    return None


def window_size(node: Node) -> int:
    """How many inputs one average-pool output sums (the divisor, padding included)."""
    if isinstance(node, GlobalAvgPool):
        return node.in_shape.h * node.in_shape.w
    return node.size * node.size


def conv_acc_bound(q: ConvQ, bits: int) -> np.ndarray:
    """Per output channel, the largest |partial sum| any input and any summation order can
    reach: 2^(bits-1) * sum|w_k| + |b_k|. Within acc_max(bits) means no overflow, ever."""
    w = np.abs(q.weight).reshape(q.weight.shape[0], -1).sum(axis=1)
    return (1 << (bits - 1)) * w + np.abs(q.bias)


@dataclass(frozen=True, eq=False)
class QuantizedNetwork:
    """A network with integer parameters for every node that needs them; validated on build."""

    network: Network
    bits: int  # 8 or 16: width of weights and activations
    input_scale: float  # real value of input integer 1 (host-side quantisation only)
    nodes: dict[str, QuantParams]  # params per node name; Shuffle and max Pool have no entry
    scales: dict[str, float]  # real value of output integer 1, per node (metadata only)

    def __post_init__(self) -> None:
        problems = check_quantized(self)
        if problems:
            raise QuantError(f"quantised network {self.network.name!r}: " + "; ".join(problems))


def _check_range(where: str, values, lo: int, hi: int) -> list[str]:
    arr = np.atleast_1d(np.asarray(values))
    if arr.size and (arr.min() < lo or arr.max() > hi):
        return [f"{where} = [{arr.min()}, {arr.max()}] is outside [{lo}, {hi}]"]
    return []


def _check_node(node: Node, q: QuantParams, bits: int) -> list[str]:
    """Every way `q` breaks the contract for `node`."""
    w = node.name
    lo, hi, amax = qmin(bits), qmax(bits), acc_max(bits)
    p: list[str] = []
    if isinstance(q, (ConvQ, ActQ, AddQ)):
        p += _check_range(f"{w}.act_min", q.act_min, lo, hi)
        p += _check_range(f"{w}.act_max", q.act_max, lo, hi)
        if q.act_min > q.act_max:
            p.append(f"{w}: act_min {q.act_min} > act_max {q.act_max}")
    if isinstance(q, (ConvQ, PoolQ)):
        p += _check_range(f"{w}.multiplier", q.multiplier, 0, MULTIPLIER_MAX)
        p += _check_range(f"{w}.shift", q.shift, 0, SHIFT_MAX)
    if isinstance(q, AddQ):
        p += _check_range(f"{w}.m_a", q.m_a, 0, MULTIPLIER_MAX)
        p += _check_range(f"{w}.m_b", q.m_b, 0, MULTIPLIER_MAX)
        p += _check_range(f"{w}.shift", q.shift, 0, SHIFT_MAX)
    if isinstance(q, PoolQ) and window_size(node) * (1 << (bits - 1)) > amax:
        p.append(f"{w}: a window of {window_size(node)} values can overflow the "
                 f"{acc_bits(bits)}-bit accumulator")
    if isinstance(q, ConvQ):
        k, shape = node.k, (node.k, node.c, node.r, node.s)
        if q.weight.shape != shape:
            return p + [f"{w}.weight shape {q.weight.shape} != (K, C, R, S) = {shape}"]
        if q.bias.shape != (k,):
            return p + [f"{w}.bias shape {q.bias.shape} != ({k},)"]
        for f in ("multiplier", "shift"):
            if getattr(q, f).shape not in ((1,), (k,)):
                p.append(f"{w}.{f} shape {getattr(q, f).shape} is neither (1,) nor ({k},)")
        p += _check_range(f"{w}.weight", q.weight, lo, hi)
        p += _check_range(f"{w}.bias", q.bias, -amax, amax)
        bound = conv_acc_bound(q, bits)
        if bound.max() > amax:
            ch = int(bound.argmax())
            p.append(f"{w}: accumulator overflow possible: output channel {ch} can reach "
                     f"|acc| = {int(bound[ch])} > {amax} = 2^{acc_bits(bits) - 1} - 1 "
                     f"({acc_bits(bits)}-bit accumulator); shrink its weights or bias")
    return p


def check_quantized(qnet: QuantizedNetwork) -> list[str]:
    """Every problem of `qnet` against the contract (empty when it is valid)."""
    if qnet.bits not in BITS:
        return [f"bits = {qnet.bits} is not one of {BITS}"]
    p: list[str] = []
    names = {n.name for n in qnet.network.nodes}
    p += [f"params for unknown node {n!r}" for n in qnet.nodes if n not in names]
    for node in qnet.network.nodes:
        want, q = params_type(node), qnet.nodes.get(node.name)
        if want is None and q is not None:
            p.append(f"{node.name}: {type(node).__name__} takes no params, got {type(q).__name__}")
        elif want is not None and not isinstance(q, want):
            p.append(f"{node.name}: needs {want.__name__}, got {type(q).__name__}")
        elif q is not None:
            p += _check_node(node, q, qnet.bits)
        if not qnet.scales.get(node.name, 0) > 0:
            p.append(f"{node.name}: scale missing or not positive")
    return p



def consumers(net: Network) -> dict[str, list[str]]:
    """The nodes that read each tensor (every node's output, and INPUT), in network order."""
    out: dict[str, list[str]] = {INPUT: [], **{n.name: [] for n in net.nodes}}
    for n in net.nodes:
        for src in n.inputs:
            out[src].append(n.name)
    return out


def _act_producers(net: Network, params: dict[str, QuantParams]) -> dict[str, str]:
    """Act -> producer for every Act that is the only consumer of a Conv or Add."""
    cons = consumers(net)
    return {n.name: n.inputs[0] for n in net.nodes
            if isinstance(n, Act) and cons[n.inputs[0]] == [n.name]
            and isinstance(params.get(n.inputs[0]), (ConvQ, AddQ))}


def fuse_act_clamps(net: Network, params: dict[str, QuantParams]) -> dict[str, QuantParams]:
    """A Conv or Add whose only consumer is an Act takes the Act's clamp as its own (the Act
    stays: clamping twice to the same range changes nothing, so backends may drop it)."""
    for act, src in _act_producers(net, params).items():
        q = params[act]
        params[src] = replace(params[src], act_min=q.act_min, act_max=q.act_max)
    return params


def fused_acts(qnet: QuantizedNetwork) -> dict[str, str]:
    """Act nodes the hardware drops (act -> producer): the only consumer of a Conv or Add
    whose clamp range lies inside the Act's, so the producer's output is the Act's. The HLS
    and RTL backends and the simulators read this one rule."""
    out = {}
    for act, src in _act_producers(qnet.network, qnet.nodes).items():
        a, q = qnet.nodes[act], qnet.nodes[src]
        if a.act_min <= q.act_min and q.act_max <= a.act_max:
            out[act] = src
    return out
