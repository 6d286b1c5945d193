"""The FBNet supernet and the torch modules of IR networks (paper Eq. 1, 2).

`IRGraph` runs a list of IR nodes as a float torch module; `network_module` makes one of
any IR network (what `dna train` trains). `Supernet` holds every candidate op of every
layer of an `FBNetSpace` as an `IRGraph` built from the very same IR nodes as
`arch_to_network`, so a single path computes exactly the network that describes. Layer l
outputs sum_k w[l, k] * O_lk(x) with w a Gumbel-softmax sample of alpha at temperature
tau (`gumbel_softmax`, `temperature`); `sample_archs` and `argmax_arch` turn alpha into
architectures.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dna.quant.contract import channel_shuffle
from dna.space.fbnet.space import Arch, FBNetSpace, block_nodes, head_nodes, stem_nodes
from dna.workload.ir import (INPUT, Act, Add, Conv, GlobalAvgPool, Network, Node, Pool, Shape,
                             Shuffle, WorkloadError)

# ---------------------------------------------------------------- torch modules

class IRGraph(nn.Module):
    """Executes a list of IR nodes as a float torch module.

    Every conv is Conv2d (no bias) + BatchNorm2d, except those in `head_convs` (the FC
    classifier), which have a bias and no BN. `folded_weights` folds BN for quantisation.
    """

    def __init__(self, nodes: Sequence[Node], input_name: str = INPUT, *,
                 head_convs: Sequence[str] = ()) -> None:
        super().__init__()
        self.nodes = tuple(nodes)
        self.input_name = input_name
        self.output_name = nodes[-1].name if nodes else input_name
        self.layers = nn.ModuleList()
        self._conv_at: list[int] = []  # per node: index into self.layers, or -1
        for n in self.nodes:
            if isinstance(n, Conv):
                conv = nn.Conv2d(n.in_shape.c, n.k, (n.r, n.s), n.stride, n.padding,
                                 groups=n.groups, bias=n.name in head_convs)
                mod = conv if n.name in head_convs else nn.Sequential(conv, nn.BatchNorm2d(n.k))
                self._conv_at.append(len(self.layers))
                self.layers.append(mod)
            else:
                self._conv_at.append(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) -> output node
        vals = {self.input_name: x}
        for n, at in zip(self.nodes, self._conv_at):
            a = vals[n.inputs[0]]
            if at >= 0:
                y = self.layers[at](a)
            elif isinstance(n, Act):
                y = F.relu6(a) if n.fn == "relu6" else F.relu(a)
            elif isinstance(n, Add):
                y = a + vals[n.inputs[1]]
            elif isinstance(n, Shuffle):
                y = channel_shuffle(a, n.groups)
            elif isinstance(n, GlobalAvgPool):
                y = a.mean(dim=(2, 3), keepdim=True)
            elif isinstance(n, Pool) and n.fn == "max":
                y = F.max_pool2d(a, n.size, n.stride, n.padding)
            elif isinstance(n, Pool):
                y = F.avg_pool2d(a, n.size, n.stride, n.padding, count_include_pad=True)
            else:
                raise WorkloadError(f"node {n.name!r}: cannot execute {type(n).__name__}")
            vals[n.name] = y
        return vals[self.output_name]

    def convs(self) -> dict[str, nn.Module]:
        """Conv node name -> its Conv2d or Sequential(Conv2d, BatchNorm2d)."""
        return {n.name: self.layers[at] for n, at in zip(self.nodes, self._conv_at) if at >= 0}

    def folded_weights(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """{conv name: (w (K,C,R,S), b (K,))} float64 with BN folded (running statistics)."""
        out = {}
        for name, mod in self.convs().items():
            if isinstance(mod, nn.Conv2d):
                w, b = mod.weight.double(), mod.bias.double()
            else:
                conv, bn = mod
                scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
                w = conv.weight.double() * scale.view(-1, 1, 1, 1)
                b = bn.bias.double() - bn.running_mean.double() * scale
            out[name] = (w.detach().cpu().numpy(), b.detach().cpu().numpy())
        return out


def network_module(net: Network) -> IRGraph:
    """A trainable float module of any IR network; its output conv is the FC (bias, no BN)."""
    head = (net.output.name,) if isinstance(net.output, Conv) else ()
    return IRGraph(net.nodes, head_convs=head)


class Supernet(nn.Module):
    """FBNet supernet: layer l outputs sum_k w[l, k] * O_lk(x), candidates as `IRGraph`s.

    `forward(x, weights)` takes (L, K) op weights: Gumbel-softmax samples of alpha while
    searching, one-hot rows for a single path. With `skip_zero=True` ops whose weight is
    exactly zero are not computed, so a one-hot row runs just that op (off while training
    under DDP, which expects every parameter to take part).
    """

    def __init__(self, space: FBNetSpace) -> None:
        super().__init__()
        self.space = space
        stem = stem_nodes(space)
        self.stem = IRGraph(stem)
        self.candidates = nn.ModuleList()
        for slot in space.slots:
            self.candidates.append(nn.ModuleList(
                IRGraph(block_nodes(slot, op, "x", slot.in_shape), "x") for op in space.ops))
        last = space.slots[-1]
        h = (last.in_shape.h - 1) // last.stride + 1
        head = head_nodes(space, "x", Shape(1, last.out_channels, h, h))
        self.head = IRGraph(head, "x", head_convs=("fc",))

    def forward(self, x: torch.Tensor, weights: torch.Tensor, *, skip_zero: bool = False
                ) -> torch.Tensor:
        """(N, C, H, W), (L, K) -> logits (N, classes)."""
        x = self.stem(x)
        nonzero = (weights != 0).tolist()
        for ops, w, nz in zip(self.candidates, weights, nonzero):
            active = [k for k in range(len(ops)) if nz[k] or not skip_zero]
            x = sum(w[k] * ops[k](x) for k in active)
        return self.head(x).flatten(1)


def one_hot(space: FBNetSpace, arch: Arch) -> torch.Tensor:
    """(L, K) one-hot op weights selecting `arch`."""
    w = torch.zeros(len(space.slots), len(space.ops))
    w[torch.arange(len(space.slots)), torch.tensor(space.indices(arch))] = 1.0
    return w


# ---------------------------------------------------------------- Gumbel-softmax

def temperature(epoch: int, tau0: float = 5.0, decay: float = 0.956) -> float:
    """Gumbel-softmax temperature of `epoch` (0-based): tau0 * decay^epoch (FBNet)."""
    return tau0 * decay ** epoch


def gumbel_softmax(alpha: torch.Tensor, tau: float, gen: torch.Generator) -> torch.Tensor:
    """Soft Gumbel-softmax sample softmax((alpha + g) / tau) per row, g ~ Gumbel(0, 1) drawn
    from `gen` (so every DDP rank draws the same sample)."""
    u = torch.rand(alpha.shape, generator=gen, dtype=alpha.dtype).clamp(1e-10, 1 - 1e-10)
    g = -torch.log(-torch.log(u))
    return torch.softmax((alpha + g.to(alpha.device)) / tau, dim=-1)


def sample_archs(space: FBNetSpace, alpha: torch.Tensor, m: int, gen: torch.Generator
                 ) -> list[Arch]:
    """`m` architectures drawn from P(alpha) = softmax(alpha) per layer."""
    probs = torch.softmax(alpha.detach().double().cpu(), dim=-1)  # (L, K)
    idx = torch.multinomial(probs, m, replacement=True, generator=gen)  # (L, m)
    return [space.arch_from_indices(idx[:, j].tolist()) for j in range(m)]


def argmax_arch(space: FBNetSpace, alpha: torch.Tensor) -> Arch:
    return space.arch_from_indices(alpha.detach().argmax(-1).tolist())
