"""ONNX import: models exported by torch.onnx.export import to the same IR as the built-in
networks and as the torch.fx import of the same module, layer by layer; every op outside
the supported set is refused by name, at once."""
from __future__ import annotations

import warnings
from dataclasses import asdict

import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from dna.cli.main import main as dna_main
from dna.space.fbnet.space import SpaceConfig, arch_to_network, fbnet_space
from dna.space.fbnet.supernet import network_module
from dna.workload.from_onnx import network_from_onnx
from dna.workload.ir import INPUT, Network, WorkloadError
from dna.workload.torch_fx import ChannelShuffle, network_from_torch
from dna.workload.zoo import get_network

pytest.importorskip("onnx")


def layers(net: Network) -> list[tuple]:
    """Each node without its name: kind, fields, and its inputs as node indices."""
    index = {INPUT: -1, **{n.name: i for i, n in enumerate(net.nodes)}}
    out = []
    for n in net.nodes:
        fields = {k: v for k, v in asdict(n).items() if k not in ("name", "inputs")}
        out.append((type(n).__name__, tuple(sorted(fields.items())),
                    tuple(index[i] for i in n.inputs)))
    return out


def export(module: nn.Module, shape: tuple[int, ...], path) -> str:
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.zeros(shape),), str(path), dynamo=False)
    return str(path)


@pytest.mark.parametrize("name", ["vgg16", "alexnet", "resnet18", "mobilenetv2"])
def test_builtin_networks_round_trip(name, tmp_path):
    net = get_network(name, dataset="cifar")
    module = network_module(net)
    s = net.input_shape
    got = network_from_onnx(export(module, (s.n, s.c, s.h, s.w), tmp_path / f"{name}.onnx"))
    assert layers(got) == layers(net)
    assert layers(got) == layers(network_from_torch(module, (s.n, s.c, s.h, s.w), name))
    assert got.macs == net.macs and got.params == net.params


def test_fbnet_network_with_shuffle_round_trips(tmp_path):
    space = fbnet_space(SpaceConfig("cifar", 0.5, 0.25, input_size=16, in_channels=3,
                                    classes=10))
    arch = space.arch_from_indices([1, 5, 1, 3, 8, 5, 0][:len(space.slots)])
    net = arch_to_network(arch, space)
    assert any(type(n).__name__ == "Shuffle" for n in net.nodes)
    got = network_from_onnx(export(network_module(net), (1, 3, 16, 16), tmp_path / "f.onnx"))
    assert layers(got) == layers(net)


class _Block(nn.Module):
    """torchvision's ResNet BasicBlock."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                   nn.BatchNorm2d(cout)) if stride != 1 or cin != cout
                     else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idt = x if self.down is None else self.down(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + idt)


class _TorchvisionStyle(nn.Module):
    """A small torchvision-style net: ResNet stem and blocks, a MobileNetV2 depthwise
    ReLU6 stage, a ShuffleNet channel shuffle, adaptive pooling, flatten, Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 7, 2, 3, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        self.layer1 = nn.Sequential(_Block(16, 16, 1), _Block(16, 32, 2))
        self.mb = nn.Sequential(nn.Conv2d(32, 32, 3, 1, 1, groups=32, bias=False),
                                nn.BatchNorm2d(32), nn.ReLU6(inplace=True),
                                nn.Conv2d(32, 48, 1, groups=2, bias=False),
                                nn.BatchNorm2d(48), ChannelShuffle(2))
        self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=True)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(48, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.mb(self.layer1(self.stem(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def test_torchvision_style_model_matches_fx_import(tmp_path):
    module = _TorchvisionStyle()
    got = network_from_onnx(export(module, (1, 3, 64, 64), tmp_path / "tv.onnx"))
    want = network_from_torch(module, (1, 3, 64, 64), "tv")
    assert layers(got) == layers(want)
    kinds = {type(n).__name__ for n in got.nodes}
    assert kinds == {"Conv", "Act", "Add", "Pool", "GlobalAvgPool", "Shuffle"}
    assert [n.fn for n in got.nodes if type(n).__name__ == "Act"].count("relu6") == 1


@settings(max_examples=12, deadline=None)
@given(k=st.integers(1, 12), kernel=st.sampled_from([1, 3, 5]), stride=st.integers(1, 3),
       pad=st.integers(0, 2), groups=st.sampled_from([1, 2, 4]), size=st.integers(7, 12),
       relu6=st.booleans())
def test_random_conv_layers_match_fx_import(k, kernel, stride, pad, groups, size, relu6,
                                            tmp_path_factory):
    c = 4
    module = nn.Sequential(nn.Conv2d(c, k * groups, kernel, stride, pad, groups=groups),
                           nn.BatchNorm2d(k * groups), nn.ReLU6() if relu6 else nn.ReLU())
    path = export(module, (1, c, size, size), tmp_path_factory.mktemp("h") / "m.onnx")
    assert layers(network_from_onnx(path)) == \
        layers(network_from_torch(module, (1, c, size, size), "m"))


class _Unsupported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(x)) * torch.tanh(x[:, :1, 1:-1, 1:-1])


def test_unsupported_ops_are_all_named_at_once(tmp_path):
    path = export(_Unsupported(), (1, 3, 8, 8), tmp_path / "bad.onnx")
    with pytest.raises(WorkloadError) as e:
        network_from_onnx(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: unsupported: ")
    for op in ("Sigmoid", "Tanh", "Mul"):
        assert f"({op})" in msg


def test_cli_takes_onnx_and_refuses_bad_files_in_one_line(tmp_path):
    net = get_network("alexnet", dataset="cifar")
    s = net.input_shape
    good = export(network_module(net), (s.n, s.c, s.h, s.w), tmp_path / "alexnet.onnx")
    bad = export(_Unsupported(), (1, 3, 8, 8), tmp_path / "bad.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a protobuf \xff\xfe")
    runner = CliRunner()
    r = runner.invoke(dna_main, ["das", "--network", good, "--target", "zc706", "--steps",
                                 "2", "--samples", "16", "--quiet",
                                 "--out", str(tmp_path / "d.json")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "d.json").is_file()
    for path, words in ((bad, "unsupported: node"), (junk, "not a readable ONNX model"),
                        (tmp_path / "none.onnx", "no such ONNX file")):
        r = runner.invoke(dna_main, ["das", "--network", str(path), "--target", "zc706",
                                     "--out", str(tmp_path / "x.json")])
        assert r.exit_code == 2, r.output
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0] and words in lines[0], r.output
        assert "Traceback" not in r.output
