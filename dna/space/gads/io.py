"""Accelerators to and from plain data: the design-file form and the hand-written YAML form.

Design-file form (every field explicit)::

    style: multicycle | pipeline
    chunks: [{noc: KYX, unroll: [16, 4, 4],
              gb_words: {inputs: .., weights: .., outputs: ..}, rf_words: {...}}]
    mappings: [{layer: conv1, chunk: 0,
                order: {dram: NKCYXRS, gb: ..., rf: ...},
                factors: {dram: {N: 1, K: 4, ...}, gb: {...}, rf: {...}}}]

Hand-written form (examples/accelerators/*.yaml): chunks without buffer sizes (they are
sized for the largest tile), a `mapping` block of defaults (loop orders, `gb` and `rf` tile
factors per dim; missing dims are 1) and optional per-layer overrides under `layers`.
Factors are clipped to each layer: rf = min(rf, bound), gb = min(gb, ceil(bound/(spatial*rf))),
dram = ceil(bound / (gb*spatial*rf)). In pipeline style each chunk lists its `layers`.
"""
from __future__ import annotations

from typing import Any, Callable

from dna.space.gads.typed import (
    NOCS,
    TEMPORAL_LEVELS,
    TENSORS,
    Accelerator,
    ChunkHW,
    LayerMapping,
    Problem,
    SpaceError,
    check_accelerator,
    problem_of,
    required_buffers,
)
from dna.workload.ir import DIMS, Network

DEFAULT_ORDER = {"dram": "NKCYXRS", "gb": "NKCYXRS", "rf": "NKCYXRS"}


def accelerator_to_dict(acc: Accelerator) -> dict[str, Any]:
    """The design-file form of `acc`."""
    return {
        "style": acc.style,
        "chunks": [{"noc": c.noc, "unroll": list(c.unroll),
                    "gb_words": dict(zip(TENSORS, c.gb_words)),
                    "rf_words": dict(zip(TENSORS, c.rf_words))} for c in acc.chunks],
        "mappings": [{"layer": m.layer, "chunk": m.chunk,
                      "order": dict(zip(TEMPORAL_LEVELS, m.order)),
                      "factors": {lv: dict(zip(DIMS, f))
                                  for lv, f in zip(TEMPORAL_LEVELS, m.factors)}}
                     for m in acc.mappings],
    }


class _Reader:
    """Collects every problem while reading nested plain data by field path."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def get(self, d: Any, key: str, where: str, typ: type, default: Any = ...,
            minimum: int = 1) -> Any:
        if not isinstance(d, dict):
            self.problems.append(f"{where}: expected a mapping, got {type(d).__name__}")
            return None
        if key not in d:
            if default is ...:
                self.problems.append(f"{where}.{key}: missing")
                return None
            return default
        v = d[key]
        if typ is int and (isinstance(v, bool) or not isinstance(v, int) or v < minimum):
            self.problems.append(f"{where}.{key} = {v!r}: expected an integer >= {minimum}")
            return None
        if typ is not int and not isinstance(v, typ):
            self.problems.append(f"{where}.{key} = {v!r}: expected {typ.__name__}")
            return None
        return v

    def ints(self, d: Any, keys: tuple[str, ...], where: str, default: Any = ...) -> tuple:
        vals = tuple(self.get(d, k, where, int, default) for k in keys)
        return vals if None not in vals else ()

    def order(self, d: Any, where: str, default: dict | None = None) -> tuple[str, str, str]:
        out = []
        for lv in TEMPORAL_LEVELS:
            v = self.get(d, lv, where, str, ... if default is None else default[lv])
            if v is not None and sorted(v) != sorted(DIMS):
                self.problems.append(f"{where}.{lv} = {v!r}: expected a permutation of "
                                     f"{''.join(DIMS)}")
            out.append(v or "".join(DIMS))
        return tuple(out)

    def raise_if_any(self) -> None:
        if self.problems:
            raise SpaceError(self.problems)


def _chunk_hw(r: _Reader, c: Any, where: str, buffers: bool) -> ChunkHW | None:
    noc = r.get(c, "noc", where, str)
    unroll = r.get(c, "unroll", where, list)
    if noc is not None and noc not in NOCS:
        r.problems.append(f"{where}.noc = {noc!r}: expected one of {sorted(NOCS)}")
        return None
    if noc is None or unroll is None:
        return None
    if len(unroll) != len(NOCS[noc]) or any(isinstance(u, bool) or not isinstance(u, int)
                                            or u < 1 for u in unroll):
        r.problems.append(f"{where}.unroll = {unroll!r}: expected {len(NOCS[noc])} positive "
                          f"integers for dims {'/'.join(NOCS[noc])}")
        return None
    gb = rf = (1, 1, 1)
    if buffers:
        gb = r.ints(r.get(c, "gb_words", where, dict), TENSORS, f"{where}.gb_words")
        rf = r.ints(r.get(c, "rf_words", where, dict), TENSORS, f"{where}.rf_words")
    return ChunkHW(noc, tuple(unroll), gb or (1, 1, 1), rf or (1, 1, 1))


def accelerator_from_dict(data: Any, net: Network, *, max_pes: int | None = None,
                          budget: Callable[[list[ChunkHW], str, str], list[str]] | None = None,
                          where: str = "accelerator") -> Accelerator:
    """Read and fully validate the design-file form; raises SpaceError listing every problem.

    `budget(chunks, style, where)` adds the target's problems with the hardware (DSP
    slices, a fixed architecture).
    """
    r = _Reader()
    style = r.get(data, "style", where, str)
    chunks = [_chunk_hw(r, c, f"{where}.chunks[{i}]", True)
              for i, c in enumerate(r.get(data, "chunks", where, list) or [])]
    maps = []
    for i, m in enumerate(r.get(data, "mappings", where, list) or []):
        mw = f"{where}.mappings[{i}]"
        layer = r.get(m, "layer", mw, str)
        chunk = r.get(m, "chunk", mw, int, minimum=0)
        order = r.order(r.get(m, "order", mw, dict), f"{mw}.order")
        fac = r.get(m, "factors", mw, dict) or {}
        factors = tuple(r.ints(r.get(fac, lv, f"{mw}.factors", dict), DIMS,
                               f"{mw}.factors.{lv}") for lv in TEMPORAL_LEVELS)
        if layer is not None and chunk is not None and all(factors):
            maps.append(LayerMapping(layer, chunk, order, factors))
    if budget is not None and chunks and None not in chunks:
        r.problems += budget(chunks, style, where)
    r.raise_if_any()
    acc = Accelerator(style, tuple(chunks), tuple(maps))
    problems = check_accelerator(acc, net, max_pes=max_pes, where=where)
    if problems:
        raise SpaceError(problems)
    return acc


def expand_mapping(p: Problem, chunk: ChunkHW, order: tuple[str, str, str],
                   gb: dict[str, int], rf: dict[str, int]) -> tuple[tuple[int, ...], ...]:
    """Clip requested gb/rf tile factors to layer `p` and derive the dram factors."""
    sp = chunk.spatial()
    levels: list[list[int]] = [[], [], []]
    for i, d in enumerate(DIMS):
        bound = p.bounds[i]
        f_rf = min(rf.get(d, 1), bound)
        f_gb = min(gb.get(d, 1), -(-bound // (sp[i] * f_rf)))
        levels[0].append(-(-bound // (f_gb * sp[i] * f_rf)))
        levels[1].append(f_gb)
        levels[2].append(f_rf)
    return tuple(tuple(lv) for lv in levels)


def _factor_map(r: _Reader, d: Any, where: str) -> dict[str, int]:
    if d is None:
        return {}
    if not isinstance(d, dict):
        r.problems.append(f"{where}: expected a mapping of dims to factors")
        return {}
    bad = [k for k in d if k not in DIMS]
    if bad:
        r.problems.append(f"{where}: unknown dims {bad}: expected some of {''.join(DIMS)}")
    return {k: v for k in DIMS if k in d and (v := r.get(d, k, where, int)) is not None}


def accelerator_from_spec(data: Any, net: Network, *, max_pes: int | None = None,
                          where: str = "accelerator") -> Accelerator:
    """Build an accelerator from the hand-written YAML form (see module docstring)."""
    r = _Reader()
    style = r.get(data, "style", where, str)
    raw_chunks = r.get(data, "chunks", where, list) or []
    chunks = [_chunk_hw(r, c, f"{where}.chunks[{i}]", False) for i, c in enumerate(raw_chunks)]
    defaults = r.get(data, "mapping", where, dict, {})
    d_order = r.order(r.get(defaults, "order", f"{where}.mapping", dict, {}),
                      f"{where}.mapping.order", DEFAULT_ORDER)
    d_gb = _factor_map(r, defaults.get("gb") if defaults else None, f"{where}.mapping.gb")
    d_rf = _factor_map(r, defaults.get("rf") if defaults else None, f"{where}.mapping.rf")
    overrides = r.get(data, "layers", where, dict, {}) or {}
    names = [c.name for c in net.convs]
    for name in overrides:
        if name not in names:
            r.problems.append(f"{where}.layers.{name}: no conv layer of that name in "
                              f"{net.name}")
    chunk_of = _chunk_assignment(r, style, raw_chunks, names, where)
    r.raise_if_any()
    maps = []
    for conv, ci in zip(net.convs, chunk_of):
        ov = overrides.get(conv.name) or {}
        lw = f"{where}.layers.{conv.name}"
        order = r.order(ov.get("order", {}), f"{lw}.order", dict(zip(TEMPORAL_LEVELS, d_order)))
        gb = d_gb | _factor_map(r, ov.get("gb"), f"{lw}.gb")
        rf = d_rf | _factor_map(r, ov.get("rf"), f"{lw}.rf")
        p = problem_of(conv)
        maps.append(LayerMapping(conv.name, ci, order, expand_mapping(p, chunks[ci], order,
                                                                      gb, rf)))
    r.raise_if_any()
    acc = Accelerator(style, tuple(chunks), tuple(maps))
    sized = [ChunkHW(c.noc, c.unroll, g, f) for c, (g, f) in zip(chunks,
                                                                   required_buffers(acc, net))]
    acc = Accelerator(style, tuple(sized), tuple(maps))
    problems = check_accelerator(acc, net, max_pes=max_pes, where=where)
    if problems:
        raise SpaceError(problems)
    return acc


def _chunk_assignment(r: _Reader, style: Any, raw_chunks: list, names: list[str],
                      where: str) -> list[int]:
    """Chunk index per conv: all 0 for multicycle, from each chunk's `layers` for pipeline."""
    if style != "pipeline":
        return [0] * len(names)
    owner: dict[str, int] = {}
    for i, c in enumerate(raw_chunks):
        for name in (c.get("layers") if isinstance(c, dict) else None) or []:
            if name not in names:
                r.problems.append(f"{where}.chunks[{i}].layers: no conv layer {name!r}")
            elif name in owner:
                r.problems.append(f"{where}.chunks[{i}].layers: {name} is already in "
                                  f"chunk {owner[name]}")
            else:
                owner[name] = i
    missing = [n for n in names if n not in owner]
    if missing:
        r.problems.append(f"{where}.chunks[*].layers: layers {missing} are in no chunk")
    return [owner.get(n, 0) for n in names]
