"""FBNet candidate blocks expanded into IR nodes (Wu et al., CVPR 2019, Table 2).

An FBNet block `k{k}_e{e}[_g{g}]` is the inverted-residual block of maskrcnn-benchmark's
`fbnet_builder.IRFBlock`:

    1x1 conv, groups g, in_c -> in_c*e   (kept for e == 1 too)
    ReLU
    channel shuffle (groups g)           (only when g == 2)
    kxk depthwise conv, stride, padding k//2
    ReLU
    1x1 conv, groups g, in_c*e -> out_c  (no activation)
    residual add of the block input      (only when stride == 1 and in_c == out_c)

`skip` is the identity when the shapes match, else (FBNet's `Identity` op) a 1x1 conv
with the stride followed by a ReLU, as in fbnet_builder's ConvBNRelu.

Both return the new nodes in topological order. A block's output is the last node's name,
or `input_name` when the list is empty (`block_output`). BN is folded into the convs.
"""
from __future__ import annotations

from dna.workload.ir import Node, Shape, WorkloadError
from dna.workload.zoo import NetBuilder


def fbnet_block(name_prefix: str, input_name: str, in_shape: Shape, *, k: int, e: int,
                g: int, out_channels: int, stride: int) -> list[Node]:
    """Nodes of the FBNet block k{k}_e{e}_g{g} reading `input_name` of shape `in_shape`."""
    in_c = in_shape.c
    mid = in_c * e
    problems = []
    if k < 1 or k % 2 == 0:
        problems.append(f"k={k} must be an odd kernel size")
    if e < 1 or g < 1 or out_channels < 1 or stride < 1:
        problems.append("e, g, out_channels and stride must be >= 1")
    elif in_c % g or out_channels % g:
        problems.append(f"g={g} must divide in channels {in_c} and out channels "
                        f"{out_channels}")
    if problems:
        raise WorkloadError(f"fbnet block {name_prefix!r}: " + "; ".join(problems))
    b = NetBuilder(in_shape, input_name=input_name)
    b.conv(f"{name_prefix}.pw", mid, 1, groups=g)
    b.act(f"{name_prefix}.pw_relu")
    if g == 2:
        b.shuffle(f"{name_prefix}.shuffle", g)
    b.conv(f"{name_prefix}.dw", mid, k, stride=stride, padding=k // 2, groups=mid)
    b.act(f"{name_prefix}.dw_relu")
    out = b.conv(f"{name_prefix}.pwl", out_channels, 1, groups=g)
    if stride == 1 and in_c == out_channels:
        b.add(f"{name_prefix}.add", out, input_name)
    return b.nodes


def skip_block(name_prefix: str, input_name: str, in_shape: Shape, *, out_channels: int,
               stride: int) -> list[Node]:
    """FBNet `skip`: no nodes when the shape is kept, else 1x1 conv (stride) + ReLU."""
    if stride == 1 and in_shape.c == out_channels:
        return []
    b = NetBuilder(in_shape, input_name=input_name)
    b.conv(f"{name_prefix}.conv", out_channels, 1, stride=stride)
    b.act(f"{name_prefix}.relu")
    return b.nodes


def block_output(nodes: list[Node], input_name: str) -> str:
    """Name of the tensor a block produces: its last node, or its input if it has none."""
    return nodes[-1].name if nodes else input_name
