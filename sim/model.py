"""Reference model of a generated design: the PyTorch integer reference (dna.quant.reference) on
the design's own network and quantised weights, plus the DRAM images the host loads.
Nothing here knows about the RTL."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dna.design import load_design
from dna.quant.contract import QuantizedNetwork
from dna.quant.npz import load_npz
from dna.quant.reference import make_test_vectors
from hwgen.codec import encode


@dataclass(frozen=True)
class DesignDir:
    """A directory written by the RTL backend."""

    path: Path
    manifest: dict
    qnet: QuantizedNetwork

    @property
    def bits(self) -> int:
        return self.manifest["bits"]

    def region(self, name: str) -> tuple[int, int]:
        """(byte address, bytes) of a DRAM region."""
        addr, nbytes = self.manifest["regions"][name]
        return addr, nbytes


def load_design_dir(path: str | Path) -> DesignDir:
    """Read manifest.json, design.json and weights.npz of a generated directory."""
    path = Path(path)
    man = json.loads((path / "manifest.json").read_text())
    design = load_design(path / "design.json")
    return DesignDir(path, man, load_npz(path / "weights.npz", design.network))


def test_vectors(d: DesignDir, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A random full-range input and every node's expected output (flat NCHW int64)."""
    x, outs = make_test_vectors(d.qnet, seed)
    return x.numpy().reshape(-1), {k: v.numpy().reshape(-1) for k, v in outs.items()}


def dram_images(d: DesignDir, x: np.ndarray) -> list[tuple[int, bytes]]:
    """(address, bytes) to write before a run: constants and the input."""
    blob = (d.path / "constants.bin").read_bytes()
    out = [(d.region(name)[0], blob[off:off + n])
           for name, (off, n) in d.manifest["constants"].items()]
    out.append((d.region("t:input")[0], encode(x, d.bits // 8)))
    return out


def checked_nodes(d: DesignDir) -> list[str]:
    """Nodes whose output the hardware materialises (fused activations share a region
    with their producer, so their expected output is compared at that region too)."""
    return [n for n in d.manifest["tensors"] if n != "input"]
