"""The one quantisation contract shared by training, the PyTorch integer reference
(`hwgen/golden.py`), the HLS backend and the RTL backend. Spelled out in
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

import io
import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from dna.fileio import write_atomic
from dna.workload import INPUT, Act, Add, Conv, GlobalAvgPool, Network, Node, Pool, Shuffle

BITS: tuple[int, ...] = (8, 16)  # supported weight/activation widths
ROUNDING = "half_up"  # round_shift(v, s) = (v + 2^(s-1)) >> s, i.e. floor(v / 2^s + 1/2)
MULTIPLIER_BITS = 15  # M is unsigned 15-bit: fits a signed 16-bit (or 18-bit DSP) port
MULTIPLIER_MAX = (1 << MULTIPLIER_BITS) - 1
SHIFT_MAX = 63  # shift in [0, 63]
SCHEMA = "dna-quant/1"  # version tag of the .npz layout


class QuantError(ValueError):
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


# ---------------------------------------------------------------- float model and helpers

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


def _consumers(net: Network) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {INPUT: [], **{n.name: [] for n in net.nodes}}
    for n in net.nodes:
        for src in n.inputs:
            out[src].append(n.name)
    return out


def _fuse_acts(net: Network, params: dict[str, QuantParams]) -> dict[str, QuantParams]:
    """A Conv or Add whose only consumer is an Act takes the Act's clamp as its own (the Act
    stays: clamping twice to the same range changes nothing, so backends may drop it)."""
    cons = _consumers(net)
    for node in net.nodes:
        src = node.inputs[0]
        if isinstance(node, Act) and cons[src] == [node.name] and src in params \
                and isinstance(params[src], (ConvQ, AddQ)):
            act = params[node.name]
            params[src] = replace(params[src], act_min=act.act_min, act_max=act.act_max)
    return params


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
    cons = _consumers(net)
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
                            _fuse_acts(net, params), scale)


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
    return QuantizedNetwork(net, bits, 1.0, _fuse_acts(net, params), scales)


# ---------------------------------------------------------------- .npz files

def save_npz(qnet: QuantizedNetwork, path: Union[str, Path]) -> None:
    """Write `qnet` as .npz (keys "<node>/<field>", plus schema, network, bits, input_scale,
    "<node>/kind" and "<node>/scale"), atomically (dna.fileio.write_atomic)."""
    arrays = {"schema": np.array(SCHEMA), "network": np.array(qnet.network.name),
              "bits": np.array(qnet.bits), "input_scale": np.array(qnet.input_scale)}
    for node in qnet.network.nodes:
        arrays[f"{node.name}/kind"] = np.array(node.kind)
        arrays[f"{node.name}/scale"] = np.array(qnet.scales[node.name])
        q = qnet.nodes.get(node.name)
        for f in fields(q) if q is not None else ():
            arrays[f"{node.name}/{f.name}"] = np.asarray(getattr(q, f.name))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_atomic(path, buf.getvalue())


def load_npz(path: Union[str, Path], net: Network) -> QuantizedNetwork:
    """Read a file written by `save_npz` for `net`; QuantError names the file and the
    missing or bad key, or lists every contract violation."""
    try:
        data = dict(np.load(path, allow_pickle=False))
    except Exception as e:  # not a file, not a zip, truncated, pickled
        raise QuantError(f"{path}: not a readable .npz file ({type(e).__name__}: {e})") from e

    def get(key: str) -> np.ndarray:
        if key not in data:
            raise QuantError(f"{path}: missing key {key!r}")
        return data[key]

    if str(get("schema")) != SCHEMA:
        raise QuantError(f"{path}: key 'schema' is {str(get('schema'))!r}, expected {SCHEMA!r}")
    if str(get("network")) != net.name:
        raise QuantError(f"{path}: key 'network' is {str(get('network'))!r}, expected {net.name!r}")
    params: dict[str, QuantParams] = {}
    for node in net.nodes:
        if str(get(f"{node.name}/kind")) != node.kind:
            raise QuantError(f"{path}: key '{node.name}/kind' is {str(get(f'{node.name}/kind'))!r},"
                             f" expected {node.kind!r}")
        cls = params_type(node)
        if cls is not None:
            try:
                params[node.name] = cls(**{f.name: get(f"{node.name}/{f.name}")
                                           for f in fields(cls)})
            except QuantError as e:
                raise QuantError(f"{path}: node {node.name!r}: {e}") from e
    scales = {n.name: float(get(f"{n.name}/scale")) for n in net.nodes}
    try:
        return QuantizedNetwork(net, int(get("bits")), float(get("input_scale")), params, scales)
    except QuantError as e:
        raise QuantError(f"{path}: {e}") from e
