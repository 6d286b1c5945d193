"""Registry of hardware backends by target kind; refuses duplicates, lists names on a miss.

The backends (hwgen.hls.emit, hwgen.rtl.emit) register themselves when imported;
`hwgen.api` imports them, so this module depends on none of them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Protocol

from dna.cost.target import Target
from dna.design import Design
from dna.quant.contract import QuantizedNetwork
from hwgen.errors import HwgenError


class Emitter(Protocol):
    def __call__(self, design: Design, target: Target, qnet: QuantizedNetwork,
                 out_dir: Path) -> None: ...


BACKENDS: dict[str, Emitter] = {}


def register_backend(kind: str) -> Callable[[Emitter], Emitter]:
    """Decorator: register `fn` as the emitter for targets of `kind` (fpga, asic)."""
    def deco(fn: Emitter) -> Emitter:
        if kind in BACKENDS:
            raise ValueError(f"backend {kind!r} is already registered")
        BACKENDS[kind] = fn
        return fn
    return deco


def backend_for(target: Target) -> Emitter:
    """The registered emitter for `target`'s kind."""
    if target.kind not in BACKENDS:
        raise HwgenError(f"no backend for {target.kind} target {target.name}: available "
                         f"backends: {', '.join(sorted(BACKENDS)) or 'none'}")
    return BACKENDS[target.kind]
