"""Compare what the hardware wrote to DRAM with the reference, node by node."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwgen.codec import decode


@dataclass(frozen=True)
class Mismatch:
    """The first wrong output element."""

    node: str
    index: int  # flat NCHW index
    expected: int
    got: int
    count: int  # wrong elements in this node

    def __str__(self) -> str:
        return (f"layer {self.node}: index {self.index}: expected {self.expected}, got "
                f"{self.got} ({self.count} wrong)")


def first_mismatch(read, tensors: dict[str, str], regions: dict[str, list[int]],
                   expected: dict[str, np.ndarray], order: list[str],
                   ebytes: int) -> Mismatch | None:
    """Walk `order` (network order); read(addr, nbytes) -> bytes from the DRAM model."""
    for node in order:
        exp = expected[node]
        addr, _ = regions[tensors[node]]
        got = decode(read(addr, exp.size * ebytes), ebytes)
        bad = np.nonzero(got != exp)[0]
        if bad.size:
            i = int(bad[0])
            return Mismatch(node, i, int(exp[i]), int(got[i]), int(bad.size))
    return None
