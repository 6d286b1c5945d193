"""The PyTorch integer reference: runs a `QuantizedNetwork` node by node in int64 and
produces the test vectors that the generated HLS and RTL must match bit for bit.

Convolution is done as int64 gather (one strided slice per kernel tap) + int64 einsum, not
with float conv2d: int64 is exact by construction, with no argument about float rounding.
No int64 value can overflow: the accumulator bound checked by `dna.quant` keeps
|acc| <= 2^47 - 1, |acc * M| < 2^62 and the rounding offset is at most 2^62.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from dna.quant.calibrate import float_forward
from dna.quant.contract import (
    ConvQ,
    PoolQ,
    QuantError,
    QuantizedNetwork,
    channel_shuffle,
    qmax,
    qmin,
    requantize,
)
from dna.workload.ir import INPUT, Act, Add, Conv, GlobalAvgPool, Network, Node, Shuffle


def _taps(x: torch.Tensor, r: int, s: int, stride: int, padding: int, pad_value: int,
          y: int, x_out: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, R*S, Y, X): the input under each kernel tap (r major)."""
    xp = F.pad(x, (padding,) * 4, value=pad_value)
    rows, cols = stride * (y - 1) + 1, stride * (x_out - 1) + 1
    return torch.stack([xp[:, :, i:i + rows:stride, j:j + cols:stride]
                        for i in range(r) for j in range(s)], dim=2)


def conv_int(node: Conv, q: ConvQ, x: torch.Tensor, bits: int) -> torch.Tensor:
    """acc = bias + sum_{c,r,s} w * x (zero padding, grouped), then requantize per channel."""
    n, g = x.shape[0], node.groups
    cols = _taps(x, node.r, node.s, node.stride, node.padding, 0, node.y, node.x)
    cols = cols.reshape(n, g, node.c * node.r * node.s, node.y * node.x)  # (N, G, C*R*S, Y*X)
    w = torch.from_numpy(q.weight.copy()).reshape(g, node.k // g, -1)   # (G, K/G, C*R*S)
    acc = torch.einsum("gkj,ngjp->ngkp", w, cols).reshape(n, node.k, node.y, node.x)
    acc = acc + torch.from_numpy(q.bias.copy()).view(1, -1, 1, 1)
    m = torch.from_numpy(q.multiplier.copy()).view(1, -1, 1, 1)
    sh = torch.from_numpy(q.shift.copy()).view(1, -1, 1, 1)
    return requantize(acc, m, sh, q.act_min, q.act_max)  # (N, K, Y, X)


def pool_int(node: Node, q: Optional[PoolQ], x: torch.Tensor, bits: int) -> torch.Tensor:
    """Max pool (padding = qmin, never wins), or average / global average pool:
    sat(round_shift(window_sum * M, shift)) with zero padding counted in the window."""
    if isinstance(node, GlobalAvgPool):
        total = x.sum(dim=(2, 3), keepdim=True)
    else:
        out = node.out_shape
        pad = qmin(bits) if node.fn == "max" else 0
        taps = _taps(x, node.size, node.size, node.stride, node.padding, pad, out.h, out.w)
        if node.fn == "max":
            return taps.max(dim=2).values
        total = taps.sum(dim=2)
    return requantize(total, q.multiplier, q.shift, qmin(bits), qmax(bits))


def _run_node(node: Node, q, ins: list[torch.Tensor], bits: int) -> torch.Tensor:
    if isinstance(node, Conv):
        return conv_int(node, q, ins[0], bits)
    if isinstance(node, Act):
        return ins[0].clamp(q.act_min, q.act_max)
    if isinstance(node, Add):
        return requantize(ins[0] * q.m_a + ins[1] * q.m_b, 1, q.shift, q.act_min, q.act_max)
    if isinstance(node, Shuffle):
        return channel_shuffle(ins[0], node.groups)
    return pool_int(node, q, ins[0], bits)


def run_integer(qnet: QuantizedNetwork, x_int: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every node's integer output (NCHW int64, values within `bits`) for input `x_int`
    (N, C, H, W integers in [qmin, qmax]; any batch size N)."""
    net, bits = qnet.network, qnet.bits
    want = (net.input_shape.c, net.input_shape.h, net.input_shape.w)  # (C, H, W)
    if x_int.dtype.is_floating_point or x_int.dtype == torch.bool:
        raise QuantError(f"x_int must be an integer tensor, got {x_int.dtype}")
    if x_int.dim() != 4 or tuple(x_int.shape[1:]) != want:
        raise QuantError(f"x_int shape {tuple(x_int.shape)} is not (N, C, H, W) "
                         f"with (C, H, W) = {want}")
    x = x_int.to(torch.int64)
    if x.numel() and (x.min() < qmin(bits) or x.max() > qmax(bits)):
        raise QuantError(f"x_int holds values outside [{qmin(bits)}, {qmax(bits)}]")
    outs = {INPUT: x}
    for node in net.nodes:
        outs[node.name] = _run_node(node, qnet.nodes.get(node.name),
                                    [outs[s] for s in node.inputs], bits)
    del outs[INPUT]
    return outs


def float_reference(net: Network, float_weights: dict[str, tuple], x: torch.Tensor
                    ) -> dict[str, torch.Tensor]:
    """The float model (float64) for accuracy comparison: every node's output."""
    outs = float_forward(net, float_weights, x)
    del outs[INPUT]
    return outs


def make_test_vectors(qnet: QuantizedNetwork, seed: int, *, batch: int = 1
                      ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """A uniform random full-range integer input (rails included) and every node's output."""
    s = qnet.network.input_shape
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(qmin(qnet.bits), qmax(qnet.bits) + 1, (batch, s.c, s.h, s.w),
                      generator=gen, dtype=torch.int64)
    return x, run_integer(qnet, x)
