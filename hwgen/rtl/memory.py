"""The DRAM side of the generated engine: memory map, ops in program order, and the images
of constant data (weights, per-channel requantisation parameters).

Layout (all little-endian two's complement, every region 4 KiB aligned so that tensors of
the same shape have the same 4 KiB phase and AXI bursts split identically):

* activations: NCHW, `bits / 8` bytes per element (the network input and every node's
  output but fused activations);
* weights of a conv: (K, C/groups, R, S) as in `ConvQ.weight`, `bits / 8` bytes each;
* params of a conv: 16 bytes per output channel: bias (int64), multiplier (uint16),
  shift (uint8), 5 zero bytes;
* partial sums of a conv whose output tiles leave the global buffer before they are
  complete: (N, K, Y, X), `psum_bytes` each (4 for int8, 8 for int16).

Constants and partial sums come first; the activations (input included) follow as one
span of `act_span` bytes, repeated `copies` times: frame n lives in copy n mod copies, so
in a pipeline design (one copy per chunk) chunk h works on frame n + 1 while chunk h + 1
works on frame n, a residual tensor crossing chunks included (templates/rtl/dna_top.v.j2).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dna.quant.contract import ConvQ, QuantizedNetwork, acc_bits, fused_acts
from dna.workload.ir import INPUT
from hwgen.codec import decode, encode  # noqa: F401  (decode: re-exported for tests/test_rtl.py)

ALIGN = 4096  # region alignment in bytes (the AXI 4 KiB boundary)
PARAM_BYTES = 16  # bytes per output channel in a params region


def psum_bytes(bits: int) -> int:
    """Bytes per partial sum in DRAM: the accumulator rounded up to a power of two bytes."""
    return 4 if acc_bits(bits) <= 32 else 8


@dataclass(frozen=True)
class Region:
    """One contiguous DRAM region."""

    name: str  # "t:<node>" activations, "w:<conv>", "p:<conv>", "ps:<conv>"
    addr: int  # byte address
    nbytes: int


@dataclass
class MemoryMap:
    """Every region, and the region holding each node's output tensor."""

    regions: dict[str, Region] = field(default_factory=dict)
    tensor_of: dict[str, str] = field(default_factory=dict)  # node (or "input") -> region
    top: int = 0  # first free byte
    act_span: int = 0  # bytes of one copy of the activations (a multiple of ALIGN)
    copies: int = 1  # copies of the activations, one per frame in flight

    def add(self, name: str, nbytes: int) -> Region:
        """Allocate `nbytes` (aligned) for region `name`."""
        reg = Region(name, self.top, nbytes)
        self.regions[name] = reg
        self.top += -(-max(nbytes, 1) // ALIGN) * ALIGN
        return reg

    def tensor(self, node: str) -> Region:
        """The region of a node's output (or of "input")."""
        return self.regions[self.tensor_of[node]]


def params_image(q: ConvQ, k: int) -> bytes:
    """The params region of a conv with `k` output channels."""
    m = np.broadcast_to(q.multiplier, (k,))
    s = np.broadcast_to(q.shift, (k,))
    out = bytearray()
    for ch in range(k):
        out += int(q.bias[ch]).to_bytes(8, "little", signed=True)
        out += int(m[ch]).to_bytes(2, "little") + int(s[ch]).to_bytes(1, "little")
        out += bytes(5)
    return bytes(out)


def constant_images(qnet: QuantizedNetwork, mem: MemoryMap) -> dict[str, bytes]:
    """Bytes of every constant region (weights and params), keyed by region name."""
    ebytes = qnet.bits // 8
    out = {}
    for node in qnet.network.convs:
        q = qnet.nodes[node.name]
        out[f"w:{node.name}"] = encode(q.weight, ebytes)
        out[f"p:{node.name}"] = params_image(q, node.k)
    return out


def plan_memory(qnet: QuantizedNetwork, psum_convs: set[str], copies: int = 1) -> MemoryMap:
    """Regions for every conv's constants, the input and every materialised tensor (the
    regions of copy 0; `copies` copies of the activations). Fused activations share their
    producer's region."""
    net, ebytes = qnet.network, qnet.bits // 8
    mem = MemoryMap(copies=copies)
    for node in net.convs:
        mem.add(f"w:{node.name}", node.weight_count * ebytes)
        mem.add(f"p:{node.name}", node.k * PARAM_BYTES)
        if node.name in psum_convs:
            mem.add(f"ps:{node.name}", node.out_shape.elements * psum_bytes(qnet.bits))
    act_base = mem.top
    mem.add("t:input", net.input_shape.elements * ebytes)
    mem.tensor_of[INPUT] = "t:input"
    fused = fused_acts(qnet)
    for node in net.nodes:
        if node.name in fused:
            mem.tensor_of[node.name] = mem.tensor_of[fused[node.name]]
        else:
            mem.add(f"t:{node.name}", node.out_shape.elements * ebytes)
            mem.tensor_of[node.name] = f"t:{node.name}"
    mem.act_span = mem.top - act_base
    mem.top += (copies - 1) * mem.act_span
    return mem
