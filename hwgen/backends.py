"""Registry of hardware backends by name, with the target kinds each builds for; refuses
duplicates, lists names on a miss.

`hls` (Vivado HLS C++) builds for FPGA targets; `rtl` (Verilog) for ASIC and FPGA targets.
A target's kind picks its default (`DEFAULT_FOR_KIND`). The backends (hwgen.hls.emit,
hwgen.rtl.emit) register themselves when imported; `hwgen.api` imports them, so this
module depends on none of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from dna.cost.target import Target
from dna.design import Design
from dna.quant.contract import QuantizedNetwork
from hwgen.errors import HwgenError


class Emitter(Protocol):
    def __call__(self, design: Design, target: Target, qnet: QuantizedNetwork,
                 out_dir: Path) -> None: ...


@dataclass(frozen=True)
class Backend:
    name: str
    kinds: tuple[str, ...]  # target kinds it builds for
    emit: Emitter


BACKENDS: dict[str, Backend] = {}
DEFAULT_FOR_KIND = {"fpga": "hls", "asic": "rtl"}


def register_backend(name: str, kinds: tuple[str, ...]) -> Callable[[Emitter], Emitter]:
    """Decorator: register `fn` as backend `name` for targets of `kinds`."""
    def deco(fn: Emitter) -> Emitter:
        if name in BACKENDS:
            raise ValueError(f"backend {name!r} is already registered")
        BACKENDS[name] = Backend(name, kinds, fn)
        return fn
    return deco


def backend_for(target: Target, name: str | None = None) -> Backend:
    """Backend `name` (default: the one for the target's kind), if it builds for `target`."""
    name = name or DEFAULT_FOR_KIND.get(target.kind, "")
    if name not in BACKENDS:
        raise HwgenError(f"backend {name!r} for {target.kind} target {target.name}: available "
                         f"backends: {', '.join(sorted(BACKENDS)) or 'none'}")
    b = BACKENDS[name]
    if target.kind not in b.kinds:
        raise HwgenError(f"backend {name!r} builds for {'/'.join(b.kinds)} targets, not for "
                         f"{target.kind} target {target.name}")
    return b
