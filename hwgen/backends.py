"""Registry of hardware backends by target kind; refuses duplicates, lists names on a miss."""
from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Protocol

from dna.cost.target import Target
from dna.design import Design
from dna.quant import QuantizedNetwork


class HwgenError(ValueError):
    """A design this backend cannot build, or a bad generated directory; one clear line."""


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
    """The emitter for `target`'s kind."""
    import hwgen.fpga  # noqa: F401  (registers "fpga")
    try:
        import hwgen.asic  # noqa: F401  (registers "asic")
    except ModuleNotFoundError:
        pass
    if target.kind not in BACKENDS:
        raise HwgenError(f"no backend for {target.kind} target {target.name}: available "
                         f"backends: {', '.join(sorted(BACKENDS)) or 'none'}")
    return BACKENDS[target.kind]


@contextmanager
def atomic_dir(out_dir: Path) -> Iterator[Path]:
    """Yield a temp dir beside `out_dir`; on success it replaces `out_dir`, else vanishes."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        yield tmp
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
