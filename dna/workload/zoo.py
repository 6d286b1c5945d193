"""Built-in workloads written by hand in the IR, and the `NetBuilder` that makes them.

Networks (`NETWORKS`, `get_network(name, dataset=..., batch=...)`):

- `vgg16`: torchvision VGG-16 (no BN). ImageNet: the first FC is a 7x7 conv over the 7x7
  map (torchvision's AdaptiveAvgPool2d(7) is the identity at 224x224), then two 1x1 FCs.
  CIFAR: 13 convs + 5 max pools to a 1x1x512 map, then one FC 512->10 (kuangliu
  pytorch-cifar `VGG('VGG16')`).
- `alexnet`: torchvision AlexNet (no LRN). ImageNet: the first FC is a 6x6 conv over the
  6x6 map (AdaptiveAvgPool2d(6) is the identity at 224x224). CIFAR: bearpaw
  pytorch-classification `models/cifar/alexnet.py`: the same five convs with conv1
  11x11 s4 p5, 2x2/2 max pools (32 -> 8 -> 4 -> 2 -> 1) and a single FC 256->10.
- `resnet18`: torchvision ResNet-18 (basic blocks, 1x1 s2 downsample conv). CIFAR
  (kuangliu): 3x3 s1 stem, no max pool, global average pool over the 4x4 map.
- `mobilenetv2`: torchvision MobileNetV2, width 1.0, ReLU6, expansion 6 (1 in the first
  block, which has no expand conv). CIFAR: the same blocks with the kuangliu strides
  (stem conv stride 1, second group stride 1), 10 classes. Unlike kuangliu we keep
  torchvision's block (no 1x1 shortcut conv, ReLU6) so both sizes share one structure.

Parameter convention: `Network.params` counts every conv weight plus one bias per conv
output channel. For VGG/AlexNet (convs and FCs with bias, no BN) that is exactly the
torch parameter count. For ResNet-18 and MobileNetV2 (bias-free convs followed by
BatchNorm) it is the count after folding BN into the conv (scale into the weights, shift
into a bias): torch's count minus one per BN channel, e.g. ResNet-18 ImageNet
11,689,512 - 4,800 = 11,684,712.

MACs count conv/FC multiply-accumulates only (pool, add, activations are free), batch 1:
VGG16 15.47 G, AlexNet 0.714 G, ResNet-18 1.814 G, MobileNetV2 0.301 G at ImageNet.
"""
from __future__ import annotations

from typing import Callable, Literal

from dna.workload.ir import (INPUT, Act, Add, Conv, GlobalAvgPool, Network, Node, Pool, Shape,
                             Shuffle, WorkloadError)

Dataset = Literal["imagenet", "cifar"]

# dataset -> (channels, rows, cols, classes) of the input images and the head
DATASETS: dict[str, tuple[int, int, int, int]] = {
    "imagenet": (3, 224, 224, 1000),
    "cifar": (3, 32, 32, 10),
}


class NetBuilder:
    """Appends IR nodes in order while tracking shapes.

    Each method adds one node and returns its name; `src` defaults to the node added last
    (at first: `input_name`, whose shape is `in_shape`).
    """

    def __init__(self, in_shape: Shape, *, input_name: str = INPUT) -> None:
        self.input_shape = in_shape
        self.nodes: list[Node] = []
        self.last = input_name
        self._shapes: dict[str, Shape] = {input_name: in_shape}

    def shape(self, name: str | None = None) -> Shape:
        """Output shape of node `name` (default: the last one added)."""
        name = self.last if name is None else name
        if name not in self._shapes:
            raise WorkloadError(f"{name!r} is not an earlier node")
        return self._shapes[name]

    def _add(self, node: Node) -> str:
        if node.name in self._shapes:
            raise WorkloadError(f"{node.name!r}: duplicate node name")
        self.nodes.append(node)
        self._shapes[node.name] = node.out_shape
        self.last = node.name
        return node.name

    def conv(self, name: str, k: int, kernel: int | tuple[int, int], *, stride: int = 1,
             padding: int = 0, groups: int = 1, src: str | None = None) -> str:
        """Conv with `k` output channels and a square (int) or (rows, cols) kernel."""
        r, s = (kernel, kernel) if isinstance(kernel, int) else kernel
        src = self.last if src is None else src
        return self._add(Conv(name, (src,), self.shape(src), k, r, s, stride=stride,
                              padding=padding, groups=groups))

    def fc(self, name: str, k: int, *, src: str | None = None) -> str:
        """FC over the whole map of `src`: a conv whose kernel is the map size."""
        shape = self.shape(src)
        return self.conv(name, k, (shape.h, shape.w), src=src)

    def act(self, name: str, fn: Literal["relu", "relu6"] = "relu", *,
            src: str | None = None) -> str:
        src = self.last if src is None else src
        return self._add(Act(name, (src,), self.shape(src), fn=fn))

    def add(self, name: str, a: str, b: str) -> str:
        """Residual add of `a` and `b` (their shapes must agree)."""
        if self.shape(a) != self.shape(b):
            raise WorkloadError(f"{name!r}: cannot add {a!r} {self.shape(a)} and "
                                f"{b!r} {self.shape(b)}")
        return self._add(Add(name, (a, b), self.shape(a)))

    def shuffle(self, name: str, groups: int = 2, *, src: str | None = None) -> str:
        src = self.last if src is None else src
        return self._add(Shuffle(name, (src,), self.shape(src), groups=groups))

    def pool(self, name: str, size: int, stride: int, *, padding: int = 0,
             fn: Literal["max", "avg"] = "max", src: str | None = None) -> str:
        src = self.last if src is None else src
        return self._add(Pool(name, (src,), self.shape(src), fn=fn, size=size,
                              stride=stride, padding=padding))

    def gap(self, name: str, *, src: str | None = None) -> str:
        src = self.last if src is None else src
        return self._add(GlobalAvgPool(name, (src,), self.shape(src)))

    def build(self, name: str) -> Network:
        """The network of every node added so far (validated)."""
        return Network(name, self.input_shape, tuple(self.nodes))


def _start(dataset: str, batch: int) -> tuple[NetBuilder, int]:
    """A builder on the dataset's input, and the number of classes."""
    if dataset not in DATASETS:
        raise WorkloadError(f"dataset {dataset!r}: expected one of {sorted(DATASETS)}")
    if not isinstance(batch, int) or batch < 1:
        raise WorkloadError(f"batch: expected a positive integer, got {batch!r}")
    c, h, w, classes = DATASETS[dataset]
    return NetBuilder(Shape(batch, c, h, w)), classes


_VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
          512, 512, 512, "M")


def vgg16(*, dataset: Dataset = "imagenet", batch: int = 1) -> Network:
    """VGG-16 (configuration D); node names follow torchvision (`features.i`)."""
    b, classes = _start(dataset, batch)
    i = 0
    for v in _VGG16:
        if v == "M":
            b.pool(f"features.{i}", 2, 2)
            i += 1
        else:
            b.conv(f"features.{i}", v, 3, padding=1)
            b.act(f"features.{i + 1}")
            i += 2
    if dataset == "imagenet":
        b.fc("classifier.0", 4096)  # 7x7 conv over the (512, 7, 7) map
        b.act("classifier.1")
        b.conv("classifier.3", 4096, 1)
        b.act("classifier.4")
        b.conv("classifier.6", classes, 1)
    else:
        b.fc("classifier", classes)  # (512, 1, 1) -> classes
    return b.build(f"vgg16-{dataset}")


def alexnet(*, dataset: Dataset = "imagenet", batch: int = 1) -> Network:
    """AlexNet as in torchvision (ImageNet) or bearpaw pytorch-classification (CIFAR)."""
    b, classes = _start(dataset, batch)
    imagenet = dataset == "imagenet"
    pool = (3, 2) if imagenet else (2, 2)  # (size, stride)
    b.conv("features.0", 64, 11, stride=4, padding=2 if imagenet else 5)
    b.act("features.1")
    b.pool("features.2", *pool)
    b.conv("features.3", 192, 5, padding=2)
    b.act("features.4")
    b.pool("features.5", *pool)
    b.conv("features.6", 384, 3, padding=1)
    b.act("features.7")
    b.conv("features.8", 256, 3, padding=1)
    b.act("features.9")
    b.conv("features.10", 256, 3, padding=1)
    b.act("features.11")
    b.pool("features.12", *pool)
    if imagenet:
        b.fc("classifier.1", 4096)  # 6x6 conv over the (256, 6, 6) map
        b.act("classifier.2")
        b.conv("classifier.4", 4096, 1)
        b.act("classifier.5")
        b.conv("classifier.6", classes, 1)
    else:
        b.fc("classifier", classes)  # (256, 1, 1) -> classes
    return b.build(f"alexnet-{dataset}")


def resnet18(*, dataset: Dataset = "imagenet", batch: int = 1) -> Network:
    """ResNet-18 with basic blocks; BN is folded into the convs."""
    b, classes = _start(dataset, batch)
    if dataset == "imagenet":
        b.conv("conv1", 64, 7, stride=2, padding=3)
        b.act("relu")
        b.pool("maxpool", 3, 2, padding=1)
    else:
        b.conv("conv1", 64, 3, padding=1)
        b.act("relu")
    for li, planes in enumerate((64, 128, 256, 512), start=1):
        for bi in range(2):
            stride = 2 if li > 1 and bi == 0 else 1
            p = f"layer{li}.{bi}"
            x = b.last
            b.conv(f"{p}.conv1", planes, 3, stride=stride, padding=1)
            b.act(f"{p}.relu1")
            out = b.conv(f"{p}.conv2", planes, 3, padding=1)
            if stride != 1 or b.shape(x).c != planes:
                x = b.conv(f"{p}.downsample.0", planes, 1, stride=stride, src=x)
            b.add(f"{p}.add", out, x)
            b.act(f"{p}.relu2")
    b.gap("avgpool")
    b.conv("fc", classes, 1)
    return b.build(f"resnet18-{dataset}")


# (expansion t, out channels c, repeats n, first stride s) per group, torchvision order
_MBV2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
         (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenetv2(*, dataset: Dataset = "imagenet", batch: int = 1) -> Network:
    """MobileNetV2 width 1.0 with ReLU6; BN is folded into the convs."""
    b, classes = _start(dataset, batch)
    cifar = dataset == "cifar"
    b.conv("features.0.conv", 32, 3, stride=1 if cifar else 2, padding=1)
    b.act("features.0.relu", "relu6")
    i = 1
    for gi, (t, c, n, s) in enumerate(_MBV2):
        for j in range(n):
            stride = s if j == 0 else 1
            if cifar and gi == 1:
                stride = 1  # kuangliu: "change stride 2 -> 1 for CIFAR10"
            _inverted_residual(b, f"features.{i}", t, c, stride)
            i += 1
    b.conv(f"features.{i}.conv", 1280, 1)
    b.act(f"features.{i}.relu", "relu6")
    b.gap("pool")
    b.conv("classifier", classes, 1)
    return b.build(f"mobilenetv2-{dataset}")


def _inverted_residual(b: NetBuilder, p: str, t: int, out_c: int, stride: int) -> None:
    """MobileNetV2 block: [1x1 expand, ReLU6,] 3x3 dw, ReLU6, 1x1 project [, add]."""
    x = b.last
    in_c = b.shape().c
    mid = in_c * t
    if t != 1:
        b.conv(f"{p}.expand", mid, 1)
        b.act(f"{p}.expand_relu", "relu6")
    b.conv(f"{p}.dw", mid, 3, stride=stride, padding=1, groups=mid)
    b.act(f"{p}.dw_relu", "relu6")
    out = b.conv(f"{p}.project", out_c, 1)
    if stride == 1 and in_c == out_c:
        b.add(f"{p}.add", out, x)


NETWORKS: dict[str, Callable[..., Network]] = {}


def register_network(name: str, builder: Callable[..., Network]) -> None:
    """Add `builder(dataset=..., batch=...) -> Network` to `NETWORKS`; refuses duplicates."""
    if name in NETWORKS:
        raise WorkloadError(f"network {name!r} is already registered")
    NETWORKS[name] = builder


for _name, _builder in (("vgg16", vgg16), ("alexnet", alexnet), ("resnet18", resnet18),
                        ("mobilenetv2", mobilenetv2)):
    register_network(_name, _builder)


def get_network(name: str, *, dataset: Dataset = "imagenet", batch: int = 1) -> Network:
    """The built-in network `name` at `dataset` input size; lists valid names on a miss."""
    if name not in NETWORKS:
        raise WorkloadError(f"unknown network {name!r}; valid names: "
                            f"{', '.join(sorted(NETWORKS))}")
    return NETWORKS[name](dataset=dataset, batch=batch)
