"""Built-in networks, YAML / dict / torch.fx loading and FBNet blocks of the workload IR.

The torch modules below are hand-written equivalents of torchvision's (ImageNet) and the
common CIFAR variants (see dna/networks.py); torchvision itself is not installable here.
Golden numbers: regenerate with
    python -c "from dna.workload.zoo import *; [print(n, d, get_network(n, dataset=d).macs,
    get_network(n, dataset=d).params) for n in NETWORKS for d in ('imagenet', 'cifar')]"
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from dna.space.fbnet.blocks import block_output, fbnet_block, skip_block
from dna.workload.io import network_from_dict, network_from_yaml, network_to_dict
from dna.workload.ir import INPUT, Conv, Network, Pool, Shape, Shuffle, WorkloadError
from dna.workload.torch_fx import ChannelShuffle, network_from_torch
from dna.workload.zoo import NETWORKS, get_network, register_network

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "examples" / "networks" / "tiny.yaml"

# (network, dataset) -> (MACs, params) of this IR at batch 1; exact (tolerance 0).
GOLDEN = {
    ("vgg16", "imagenet"): (15_470_264_320, 138_357_544),
    ("vgg16", "cifar"): (313_201_664, 14_719_818),
    ("alexnet", "imagenet"): (714_188_480, 61_100_840),
    ("alexnet", "cifar"): (14_957_056, 2_472_266),
    ("resnet18", "imagenet"): (1_814_073_344, 11_684_712),
    ("resnet18", "cifar"): (555_422_720, 11_169_162),
    ("mobilenetv2", "imagenet"): (300_774_272, 3_487_816),
    ("mobilenetv2", "cifar"): (87_976_448, 2_219_626),
}
# Published ImageNet figures: GMAC (torchvision model docs "GFLOPS", which count MACs,
# rounded: tolerance 0.5 %, MobileNetV2 "0.30" is 0.3008) and torchvision's exact
# `num_params` (tolerance 0; these include BN's 2 params per channel, so they check the
# hand-written torch modules below, whose BN-folded count must equal `Network.params`).
PUBLISHED = {"vgg16": (15.47, 138_357_544), "alexnet": (0.714, 61_100_840),
             "resnet18": (1.814, 11_689_512), "mobilenetv2": (0.300, 3_504_872)}


# ----------------------------------------------------------------- torch reference modules


def _vgg16(dataset: str) -> nn.Module:
    layers: list[nn.Module] = []
    c = 3
    for v in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"):
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
            c = v
    if dataset == "imagenet":  # torchvision
        head = nn.Sequential(nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(),
                             nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(),
                             nn.Linear(4096, 1000))
        return _Classifier(nn.Sequential(*layers), nn.AdaptiveAvgPool2d(7), head)
    layers.append(nn.AvgPool2d(1, 1))  # kuangliu's no-op pool
    return _Classifier(nn.Sequential(*layers), nn.Identity(), nn.Linear(512, 10))


def _alexnet(dataset: str) -> nn.Module:
    imagenet = dataset == "imagenet"
    pool = (lambda: nn.MaxPool2d(3, 2)) if imagenet else (lambda: nn.MaxPool2d(2, 2))
    features = nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4, padding=2 if imagenet else 5), nn.ReLU(True), pool(),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(True), pool(),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(True),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(True), pool())
    if imagenet:  # torchvision
        head = nn.Sequential(nn.Dropout(), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(True),
                             nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(True),
                             nn.Linear(4096, 1000))
        return _Classifier(features, nn.AdaptiveAvgPool2d((6, 6)), head)
    return _Classifier(features, nn.Identity(), nn.Linear(256, 10))  # bearpaw


class _Classifier(nn.Module):
    def __init__(self, features: nn.Module, avgpool: nn.Module, classifier: nn.Module):
        super().__init__()
        self.features, self.avgpool, self.classifier = features, avgpool, classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


class _BasicBlock(nn.Module):
    def __init__(self, in_c: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_c, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or in_c != planes:
            self.downsample = nn.Sequential(nn.Conv2d(in_c, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # torchvision's order
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class _ResNet18(nn.Module):
    def __init__(self, dataset: str) -> None:
        super().__init__()
        imagenet = dataset == "imagenet"
        self.conv1 = (nn.Conv2d(3, 64, 7, 2, 3, bias=False) if imagenet
                      else nn.Conv2d(3, 64, 3, 1, 1, bias=False))
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1) if imagenet else nn.Identity()
        c = 64
        for i, planes in enumerate((64, 128, 256, 512), start=1):
            blocks = [_BasicBlock(c, planes, 1 if i == 1 else 2), _BasicBlock(planes, planes, 1)]
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
            c = planes
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, 1000 if imagenet else 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _conv_bn_relu6(in_c: int, out_c: int, k: int, stride: int = 1, groups: int = 1):
    return nn.Sequential(nn.Conv2d(in_c, out_c, k, stride, k // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(out_c), nn.ReLU6(inplace=True))


class _InvertedResidual(nn.Module):
    def __init__(self, in_c: int, out_c: int, stride: int, t: int) -> None:
        super().__init__()
        mid = in_c * t
        layers = [_conv_bn_relu6(in_c, mid, 1)] if t != 1 else []
        layers += [_conv_bn_relu6(mid, mid, 3, stride, groups=mid),
                   nn.Conv2d(mid, out_c, 1, bias=False), nn.BatchNorm2d(out_c)]
        self.conv = nn.Sequential(*layers)
        self.use_res = stride == 1 and in_c == out_c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


class _MobileNetV2(nn.Module):
    def __init__(self, dataset: str) -> None:
        super().__init__()
        cifar = dataset == "cifar"
        layers = [_conv_bn_relu6(3, 32, 3, 1 if cifar else 2)]
        c = 32
        cfg = ((1, 16, 1, 1), (6, 24, 2, 1 if cifar else 2), (6, 32, 3, 2), (6, 64, 4, 2),
               (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
        for t, out_c, n, s in cfg:
            for j in range(n):
                layers.append(_InvertedResidual(c, out_c, s if j == 0 else 1, t))
                c = out_c
        layers.append(_conv_bn_relu6(c, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 10 if cifar else 1000))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


TORCH_MODELS = {"vgg16": _vgg16, "alexnet": _alexnet, "resnet18": _ResNet18,
                "mobilenetv2": _MobileNetV2}
INPUTS = {"imagenet": (1, 3, 224, 224), "cifar": (1, 3, 32, 32)}


# ----------------------------------------------------------------- helpers


def hooked_forward(module: nn.Module, shape: tuple[int, ...]):
    """Real forward pass: (MACs counted from actual tensor shapes, conv/FC output shapes
    in call order, all leaf-module output shapes by qualified name)."""
    macs, conv_shapes, by_name, handles = [0], [], {}, []

    def hook(name):
        def fn(m, inp, out):
            by_name.setdefault(name, []).append(tuple(out.shape))
            if isinstance(m, nn.Conv2d):
                kh, kw = m.kernel_size
                macs[0] += out.numel() * (m.in_channels // m.groups) * kh * kw
                conv_shapes.append(tuple(out.shape))
            elif isinstance(m, nn.Linear):
                macs[0] += out.numel() * m.in_features
                conv_shapes.append(tuple(out.shape) + (1, 1))
        return fn

    for name, m in module.named_modules():
        if not list(m.children()):
            handles.append(m.register_forward_hook(hook(name)))
    module.eval()
    with torch.no_grad():
        out = module(torch.randn(shape))
    for h in handles:
        h.remove()
    return macs[0], conv_shapes, by_name, tuple(out.shape)


def folded_params(module: nn.Module) -> int:
    """Conv/FC weights plus one bias per output channel (BN folded into its conv)."""
    return sum(m.weight.numel() + m.weight.shape[0] for m in module.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear)))


def structure(net: Network) -> list:
    """Node kinds, fields and edges (by position), ignoring names; add inputs unordered."""
    index = {INPUT: -1} | {n.name: i for i, n in enumerate(net.nodes)}
    out = []
    for n in net.nodes:
        fields = dataclasses.asdict(n)
        fields.pop("name")
        ins = [index[s] for s in fields.pop("inputs")]
        out.append((type(n).__name__, tuple(sorted(ins) if n.kind == "add" else ins), fields))
    return out


def shape4(s: Shape) -> tuple[int, int, int, int]:
    return (s.n, s.c, s.h, s.w)


# ----------------------------------------------------------------- built-in networks


@pytest.mark.parametrize("name,dataset", sorted(GOLDEN))
def test_builtin_macs_params_golden(name, dataset):
    net = get_network(name, dataset=dataset)
    assert (net.macs, net.params) == GOLDEN[name, dataset]
    classes = 1000 if dataset == "imagenet" else 10
    assert shape4(net.output.out_shape) == (1, classes, 1, 1)
    assert len({n.name for n in net.nodes}) == len(net.nodes)
    assert get_network(name, dataset=dataset, batch=4).macs == 4 * net.macs


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_builtin_matches_published_figures(name):
    gmac, params = PUBLISHED[name]
    net = get_network(name)
    assert net.macs / 1e9 == pytest.approx(gmac, rel=5e-3)
    module = TORCH_MODELS[name]("imagenet")
    assert sum(p.numel() for p in module.parameters()) == params
    bn_channels = sum(m.num_features for m in module.modules()
                      if isinstance(m, nn.BatchNorm2d))
    assert net.params == params - bn_channels  # BN folded: one bias per channel


@pytest.mark.parametrize("name,dataset", sorted(GOLDEN))
def test_builtin_agrees_with_torch_forward(name, dataset):
    """IR == network_from_torch(hand-written module); shapes and MACs == a real forward."""
    torch.manual_seed(0)
    module = TORCH_MODELS[name](dataset)
    net = get_network(name, dataset=dataset)
    macs, conv_shapes, by_name, out_shape = hooked_forward(module, INPUTS[dataset])
    assert net.macs == macs
    assert [shape4(c.out_shape) for c in net.convs] == conv_shapes
    assert net.params == folded_params(module)
    traced = network_from_torch(module, INPUTS[dataset], name=net.name)
    assert structure(traced) == structure(net)
    assert shape4(traced.output.out_shape)[:2] == out_shape
    # node by node: every IR node named after a module has that module's real output shape
    checked = 0
    for node in traced.nodes:
        base, _, call = node.name.rpartition("_")
        name_, i = (base, int(call)) if call.isdigit() and base in by_name else (node.name, 0)
        if name_ in by_name:
            real = by_name[name_][i]
            assert shape4(node.out_shape)[:len(real)] == real, node.name
            checked += 1
    assert checked >= len(net.convs)


def test_get_network_miss_lists_valid_names():
    with pytest.raises(WorkloadError) as e:
        get_network("resnet50")
    for valid in NETWORKS:
        assert valid in str(e.value)
    with pytest.raises(WorkloadError, match="dataset"):
        get_network("vgg16", dataset="mnist")
    with pytest.raises(WorkloadError, match="batch"):
        get_network("vgg16", batch=0)
    with pytest.raises(WorkloadError, match="already registered"):
        register_network("vgg16", NETWORKS["vgg16"])


# ----------------------------------------------------------------- YAML / dict


def test_tiny_yaml_example():
    net = network_from_yaml(TINY)
    kinds = {n.kind for n in net.nodes}
    assert kinds == {"conv", "act", "shuffle", "add", "pool", "gap"}
    assert any(c.is_depthwise for c in net.convs)
    assert any(c.groups == 2 for c in net.convs)
    assert shape4(net.output.out_shape) == (1, 10, 1, 1)
    assert net.node("add").inputs == ("pwl", "stem_relu")


@pytest.mark.parametrize("name,dataset", sorted(GOLDEN))
def test_dict_round_trip_builtins(name, dataset):
    net = get_network(name, dataset=dataset, batch=2)
    data = network_to_dict(net)
    assert network_from_dict(json.loads(json.dumps(data))) == net
    assert network_from_dict(yaml.safe_load(yaml.safe_dump(data))) == net


def test_dict_round_trip_tiny_and_rect_kernel():
    net = network_from_yaml(TINY)
    assert network_from_dict(network_to_dict(net)) == net
    rect = network_from_dict({"name": "r", "input": [2, 5, 7],
                              "layers": [{"name": "c", "op": "conv", "k": 3, "kernel": [1, 3]},
                                         {"name": "p", "op": "pool", "fn": "avg", "size": 2,
                                          "stride": 1}]})
    assert (rect.node("c").r, rect.node("c").s) == (1, 3)
    assert network_from_dict(network_to_dict(rect)) == rect


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "net.yaml"
    p.write_text(text)
    return p


def _yaml_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(WorkloadError) as e:
        network_from_yaml(_write(tmp_path, text))
    msg = str(e.value)
    assert msg.startswith(str(tmp_path / "net.yaml") + ": ")
    return msg


HEAD = "name: t\ninput: [4, 8, 8]\nlayers:\n"


def test_yaml_malformed(tmp_path):
    msg = _yaml_error(tmp_path, HEAD + "  - {name: a, op: conv\n  - b: [\n")
    assert "malformed YAML at line" in msg and "\n" not in msg


def test_yaml_unknown_op(tmp_path):
    msg = _yaml_error(tmp_path, HEAD + "  - {name: a, op: act}\n  - {name: b, op: bogus}\n")
    assert "layers[1].op: unknown op 'bogus'" in msg and "conv" in msg


def test_yaml_bad_field_type(tmp_path):
    msg = _yaml_error(tmp_path, HEAD + "  - {name: a, op: conv, k: 4, kernel: x}\n")
    assert msg.endswith("layers[0].kernel: expected a positive integer or [rows, cols], "
                        "got 'x'")
    msg = _yaml_error(tmp_path, HEAD + "  - {name: a, op: conv, k: true, kernel: 1}\n")
    assert "layers[0].k: expected a positive integer, got True" in msg
    msg = _yaml_error(tmp_path, HEAD + "  - {name: a, op: act, fn: gelu}\n")
    assert "layers[0].fn: expected one of relu, relu6, got 'gelu'" in msg


def test_yaml_unknown_input(tmp_path):
    msg = _yaml_error(tmp_path, HEAD + "  - {name: a, op: act}\n"
                                       "  - {name: b, op: act, inputs: [nope]}\n")
    assert "layers[1].inputs[0]: 'nope' is not an earlier layer" in msg


def test_yaml_add_shape_mismatch(tmp_path):
    msg = _yaml_error(tmp_path, HEAD + "  - {name: a, op: conv, k: 8, kernel: 1}\n"
                                       "  - {name: b, op: add, inputs: [a, input]}\n")
    assert "layers[1].inputs: cannot add 'a' (8x8x8) and 'input' (4x8x8)" in msg


def test_yaml_collects_all_problems(tmp_path):
    msg = _yaml_error(tmp_path, "name: t\ninput: [4, 8]\nextra: 1\nlayers:\n"
                                "  - {name: a, op: conv, kernel: 3, colour: red}\n"
                                "  - {name: a, op: gap}\n"
                                "  - {name: c, op: add, inputs: [a]}\n")
    for part in ("extra: unknown field", "input: expected [channels, rows, cols]",
                 "layers[0].colour: unknown field", "layers[0].k: required",
                 "layers[1].name: duplicate name 'a'", "layers[2].inputs: op add takes 2"):
        assert part in msg, part
    assert "\n" not in msg


def test_yaml_shape_problems_name_the_field(tmp_path):
    msg = _yaml_error(tmp_path, HEAD + "  - {name: a, op: conv, k: 6, kernel: 1, groups: 4}\n")
    assert "layers[0].groups: 4 does not divide" in msg
    msg = _yaml_error(tmp_path, HEAD + "  - {name: a, op: conv, k: 4, kernel: 9}\n")
    assert "layers[0].kernel: 9x9 does not fit the 8x8 input" in msg
    msg = _yaml_error(tmp_path, HEAD + "  - {name: a, op: shuffle, groups: 3}\n")
    assert "layers[0].groups: 3 does not divide channels 4" in msg
    msg = _yaml_error(tmp_path, HEAD + "  - {name: a, op: pool, size: 9}\n")
    assert "layers[0].size: window 9 does not fit" in msg


def test_yaml_errors_do_not_cascade(tmp_path):
    msg = _yaml_error(tmp_path, HEAD + "  - {name: a, op: conv, k: 4, kernel: 0}\n"
                                       "  - {name: b, op: act}\n"
                                       "  - {name: c, op: add, inputs: [a, b]}\n")
    assert msg.count("layers[") == 1


def test_yaml_not_a_mapping_and_missing_file(tmp_path):
    assert "expected a mapping" in _yaml_error(tmp_path, "- 1\n- 2\n")
    with pytest.raises(WorkloadError, match="cannot read"):
        network_from_yaml(tmp_path / "missing.yaml")


# ----------------------------------------------------------------- torch.fx


@st.composite
def conv_stacks(draw):
    """(nn.Sequential of random convs / relus / pools [+ flatten + linear], input shape)."""
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 8)),
             draw(st.integers(3, 12)), draw(st.integers(3, 12)))
    _, c, h, w = shape
    layers: list[nn.Module] = []
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["conv", "conv", "conv", "relu", "pool"]))
        if op == "conv":
            groups = draw(st.sampled_from([g for g in range(1, c + 1) if c % g == 0]))
            k = groups * draw(st.integers(1, 3))
            pad = draw(st.integers(0, 1))
            kr = draw(st.integers(1, min(3, h + 2 * pad)))
            ks = draw(st.integers(1, min(3, w + 2 * pad)))
            stride = draw(st.integers(1, 2))
            layers.append(nn.Conv2d(c, k, (kr, ks), stride, pad, groups=groups,
                                    bias=draw(st.booleans())))
            c, h, w = k, (h + 2 * pad - kr) // stride + 1, (w + 2 * pad - ks) // stride + 1
        elif op == "relu":
            layers.append(draw(st.sampled_from([nn.ReLU(), nn.ReLU6()])))
        elif min(h, w) >= 2:
            layers.append(nn.MaxPool2d(2, 2))
            h, w = h // 2, w // 2
    if draw(st.booleans()):
        layers += [nn.Flatten(), nn.Linear(c * h * w, draw(st.integers(1, 10)))]
    if not any(isinstance(m, (nn.Conv2d, nn.Linear)) for m in layers):
        layers.append(nn.Conv2d(c, 2, 1))  # at least one layer that computes
    return nn.Sequential(*layers), shape


@settings(max_examples=60, deadline=None)
@given(conv_stacks())
def test_from_torch_macs_match_forward_hooks(case):
    module, shape = case
    macs, conv_shapes, _, out_shape = hooked_forward(module, shape)
    net = network_from_torch(module, shape, name="random")
    assert net.macs == macs
    assert [shape4(c.out_shape) for c in net.convs] == conv_shapes
    assert shape4(net.output.out_shape)[:len(out_shape)] == out_shape
    assert network_from_dict(network_to_dict(net)) == net


class _FunctionalNet(nn.Module):
    """Functional ops, an explicit view-transpose-view shuffle and a ChannelShuffle."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1, groups=2)
        self.bn = nn.BatchNorm2d(8)
        self.shuffle = ChannelShuffle(2)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.clamp(self.bn(self.conv(x)), 0, 6)
        n, c, h, w = y.size()
        y = y.view(n, 2, c // 2, h, w)
        y = torch.transpose(y, 1, 2).contiguous()
        y = y.view(n, -1, h, w)  # (N, C, H, W), channels shuffled
        y = nn.functional.relu(self.shuffle(y))
        y = torch.add(y, nn.functional.max_pool2d(y, 3, 1, 1))
        y = nn.functional.relu6(y).mean((2, 3))  # (N, C)
        return self.fc(y)


def test_from_torch_functional_ops_and_shuffles():
    net = network_from_torch(_FunctionalNet(), (2, 4, 6, 6), name="f")
    assert [n.kind for n in net.nodes] == ["conv", "act", "shuffle", "shuffle", "act", "pool",
                                           "add", "act", "gap", "conv"]
    assert [n.fn for n in net.nodes if n.kind == "act"] == ["relu6", "relu", "relu6"]
    assert net.node("shuffle").groups == 2
    assert shape4(net.output.out_shape) == (2, 3, 1, 1)


class _SigmoidNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.act = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


class _Cat(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, x], 1)


def test_from_torch_unsupported_ops_name_the_node():
    with pytest.raises(WorkloadError, match=r"fx node 'act' \(call_module act\).*Sigmoid"):
        network_from_torch(_SigmoidNet(), (1, 3, 4, 4), name="u")
    with pytest.raises(WorkloadError, match=r"fx node 'cat' \(call_function cat\)"):
        network_from_torch(_Cat(), (1, 3, 4, 4), name="u")
    with pytest.raises(WorkloadError, match="forward pass"):
        network_from_torch(nn.Conv2d(5, 4, 1), (1, 3, 4, 4), name="u")
    with pytest.raises(WorkloadError, match="ceil_mode"):
        network_from_torch(nn.MaxPool2d(2, ceil_mode=True), (1, 3, 5, 5), name="u")


def test_from_torch_restores_training_mode():
    module = _ResNet18("cifar").train()
    network_from_torch(module, (1, 3, 32, 32), name="r")
    assert all(m.training for m in module.modules())


# ----------------------------------------------------------------- FBNet blocks


class _TorchFBNetBlock(nn.Module):
    """Reference FBNet block (maskrcnn-benchmark IRFBlock, BN omitted)."""

    def __init__(self, in_c: int, out_c: int, *, k: int, e: int, g: int, stride: int):
        super().__init__()
        mid = in_c * e
        self.pw = nn.Conv2d(in_c, mid, 1, groups=g, bias=False)
        self.shuffle = ChannelShuffle(g) if g == 2 else nn.Identity()
        self.dw = nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False)
        self.pwl = nn.Conv2d(mid, out_c, 1, groups=g, bias=False)
        self.res = stride == 1 and in_c == out_c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.pw(x))
        y = torch.relu(self.dw(self.shuffle(y)))
        y = self.pwl(y)
        return y + x if self.res else y


@settings(max_examples=60, deadline=None)
@given(k=st.sampled_from([3, 5]), e=st.sampled_from([1, 3, 6]), g=st.sampled_from([1, 2]),
       stride=st.sampled_from([1, 2]), in_half=st.integers(1, 8), out_half=st.integers(1, 8),
       h=st.integers(3, 12), w=st.integers(3, 12))
def test_fbnet_block_matches_torch(k, e, g, stride, in_half, out_half, h, w):
    in_c, out_c = 2 * in_half, 2 * out_half
    in_shape = Shape(1, in_c, h, w)
    nodes = fbnet_block("b0", INPUT, in_shape, k=k, e=e, g=g, out_channels=out_c,
                        stride=stride)
    net = Network("block", in_shape, tuple(nodes))
    module = _TorchFBNetBlock(in_c, out_c, k=k, e=e, g=g, stride=stride)
    macs, conv_shapes, _, out_shape = hooked_forward(module, shape4(in_shape))
    assert shape4(net.output.out_shape) == out_shape
    assert [shape4(c.out_shape) for c in net.convs] == conv_shapes
    assert net.macs == macs
    assert structure(net) == structure(network_from_torch(module, shape4(in_shape), "b"))
    assert any(n.kind == "shuffle" for n in nodes) == (g == 2)
    assert any(n.kind == "add" for n in nodes) == (stride == 1 and in_c == out_c)
    assert all(n.name.startswith("b0.") for n in nodes)


def test_fbnet_block_chains_from_a_named_input():
    first = fbnet_block("s0", INPUT, Shape(1, 16, 8, 8), k=3, e=6, g=1, out_channels=24,
                        stride=2)
    out = block_output(first, INPUT)
    second = fbnet_block("s1", out, first[-1].out_shape, k=5, e=1, g=2, out_channels=24,
                         stride=1)
    net = Network("two", Shape(1, 16, 8, 8), tuple(first + second))
    assert net.output.name == "s1.add"
    assert shape4(net.output.out_shape) == (1, 24, 4, 4)
    with pytest.raises(WorkloadError, match="g=2 must divide"):
        fbnet_block("x", INPUT, Shape(1, 3, 8, 8), k=3, e=1, g=2, out_channels=4, stride=1)


def test_skip_block():
    assert skip_block("s", "x", Shape(1, 8, 4, 4), out_channels=8, stride=1) == []
    assert block_output([], "x") == "x"
    nodes = skip_block("s", INPUT, Shape(1, 8, 4, 4), out_channels=16, stride=2)
    assert [n.kind for n in nodes] == ["conv", "act"]
    assert shape4(nodes[-1].out_shape) == (1, 16, 2, 2)
    assert (nodes[0].r, nodes[0].stride) == (1, 2)


# ----------------------------------------------------------------- IR validation


@pytest.mark.parametrize("node", [
    Conv("c", (INPUT,), Shape(1, 4, 8, 8), 4, 3, 3, stride=0),
    Shuffle("s", (INPUT,), Shape(1, 4, 8, 8), groups=0),
    Pool("p", (INPUT,), Shape(1, 4, 8, 8), stride=0),
])
def test_check_network_reports_zero_strides_and_groups(node):
    """Regression: these used to raise ZeroDivisionError instead of WorkloadError."""
    with pytest.raises(WorkloadError, match=r"nodes\[0\]"):
        Network("x", Shape(1, 4, 8, 8), (node,))
