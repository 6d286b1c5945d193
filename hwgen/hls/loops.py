"""The loop nest of one conv layer on its chunk, prepared for templates/hls/src/dna_top.cpp.j2.

Levels outermost first: the group loop (grouped convs), the DRAM loops, the GB loops and the
RF loops, each level in the mapping's order; a loop of bound 1 is left out (its index is 0).
Innermost: one call of the chunk's PE array (the spatial loops, unrolled), under
`PIPELINE II=1` on the innermost loop.

Tile moves sit where the lowering (hwgen.nest) puts them, the points where the cost model
counts them: a tensor's GB tile is (re)loaded right inside `Nest.reload_pos(t, "gb")`, its
RF tiles right inside `Nest.reload_pos(t, "rf")`; loops further in reuse the tile. The
outputs tile is a visit: loaded (bias on the first visit, parked partial sums on later ones)
where it changes and stored at the end of that loop body (requantised on the last visit,
parked in DRAM otherwise). First and last visits are decided by the loops of
`Nest.psum_positions`.
"""
from __future__ import annotations

from dna.workload.ir import DIMS
from hwgen.nest import Nest, layout_dims, relevant, tile_coefs

VAR_PREFIX = {"dram": "d", "gb": "g", "rf": "r"}
INDENT = "  "


def _call(fn: str, targs: str | None, args: list[str]) -> dict:
    return {"kind": "call", "fn": fn, "targs": targs, "args": args}


def _linear(terms: list[tuple[str, int]]) -> str:
    """C expression of sum(var * coefficient) over the loops that exist ("0" if none)."""
    parts = [v if c == 1 else f"{v} * {c}" for v, c in terms if v != "0"]
    return " + ".join(parts) or "0"


def _loop(level: str, dim: str, bound: int) -> dict:
    if level == "g":
        return {"level": "group", "dim": "", "var": "grp", "bound": bound, "label": "GROUP"}
    return {"level": level, "dim": dim, "bound": bound, "var": VAR_PREFIX[level] + dim.lower(),
            "label": f"{level.upper()}_{dim}"}


def _loops(nest: Nest) -> tuple[list[dict], dict[int, int]]:
    """The loops that exist (bound > 1), outer -> inner, and the loop index of each nest
    position that has one."""
    loops, at = [], {}
    for pos, (d, b) in enumerate(zip(nest.dims, nest.bounds)):
        if b > 1:
            at[pos] = len(loops)
            loops.append(_loop(nest.level_of(pos), d, b))
    loops += [_loop("rf", d, nest.f_rf[d]) for d in nest.rf_order if nest.f_rf[d] > 1]
    return loops, at


def _output_visit(outer_red: list[dict], ident: str, d_out: list[str]) -> tuple[dict, dict]:
    """(load, store) of an output GB tile: bias in and requantised out, or, under the outer
    reduction loops `outer_red`, parked partial sums in and out except on the first and the
    last visit."""
    L = f"{ident}_cfg"
    init = _call("gb_init_outputs", L, ["out_gb", f"{ident}_bias"] + d_out)
    store = _call("gb_store_outputs", L,
                  ["out_gb", "fmap", f"{ident}_mult", f"{ident}_shift"] + d_out)
    if not outer_red:
        return init, store
    first = " && ".join(f"{lp['var']} == 0" for lp in outer_red)
    last = " && ".join(f"{lp['var']} == {lp['bound'] - 1}" for lp in outer_red)
    return ({"kind": "if", "cond": first, "then": init,
             "else": _call("gb_load_psums", L, ["out_gb", "psum"] + d_out)},
            {"kind": "if", "cond": last, "then": store,
             "else": _call("gb_store_psums", L, ["out_gb", "psum"] + d_out)})


def loop_nest(nest: Nest, ident: str, cid: str) -> dict:
    """Loops, tile moves and the PE-array call of `nest` (see module docstring)."""
    loops, at = _loops(nest)
    present = {(lp["level"], lp["dim"]): lp["var"] for lp in loops}

    def idx(level: str, dims: str, t: str) -> list[str]:
        """Loop indices of `dims` at `level`; 0 for dims irrelevant to tensor t (their
        loops may sit inside the call)."""
        return [present.get((level, d), "0") if relevant(t, d, nest.depthwise) else "0"
                for d in dims]

    def reload(t: str, tile: str) -> int:
        """Loop index inside which t's `tile` is (re)loaded; -1 before every loop."""
        pos = nest.reload_pos(t, tile)
        return at[pos] if pos >= 0 else -1

    grp = "grp" if nest.prob.repeat > 1 else "0"
    L, LC = f"{ident}_cfg", f"{ident}_cfg, {cid}_cfg"
    opens: dict[int, list] = {i: [] for i in range(-1, len(loops))}
    closes: dict[int, list] = {i: [] for i in range(-1, len(loops))}
    outer_red = [loops[at[pos]] for pos in nest.psum_positions()]
    init, store = _output_visit(outer_red, ident, [grp] + idx("dram", "NKYX", "o"))
    opens[reload("i", "gb")].append(
        _call("gb_load_inputs", L, ["in_gb", "fmap", grp] + idx("dram", DIMS, "i")))
    opens[reload("w", "gb")].append(
        _call("gb_load_weights", L, ["w_gb", "wgt", grp] + idx("dram", "KCRS", "w")))
    opens[reload("o", "gb")].append(init)
    closes[reload("o", "gb")].append(store)
    opens[reload("i", "rf")].append(
        _call("rf_fill_inputs", LC, ["in_rf", "in_gb"] + idx("gb", DIMS, "i")))
    opens[reload("w", "rf")].append(
        _call("rf_fill_weights", LC, ["w_rf", "w_gb"] + idx("gb", "KCRS", "w")))
    opens[reload("o", "rf")].append(_call("rf_clear_outputs", LC, ["o_rf"]))
    drain = _call("rf_drain_outputs", LC, ["out_gb", "o_rf"] + idx("gb", "NKYX", "o"))
    closes[reload("o", "rf")].insert(0, drain)  # before the GB store at that loop

    for i, lp in enumerate(loops):
        lp["indent"] = INDENT * (i + 1)
        lp["inner"] = INDENT * (i + 2)
        lp["pipeline"] = i == len(loops) - 1
        lp["open"], lp["close"] = opens[i], closes[i]
    return {"loops": loops, "head": opens[-1], "tail": closes[-1], "psum": bool(outer_red),
            "body_indent": INDENT * (len(loops) + 1),
            "pe_call": _call(f"{cid}_pe_array", None,
                             ["in_rf", "w_rf", "o_rf"] + _rf_indices(nest, present))}


def _rf_indices(nest: Nest, present: dict[tuple[str, str], str]) -> list[str]:
    """Word of each PE's inputs, weights and outputs RF tile that the RF loops address, in
    the layouts of hwgen.nest (those of dna_engine.h)."""
    v = {d: present.get(("rf", d), "0") for d in DIMS}
    out = []
    for t in "iwo":
        c = tile_coefs(nest, t, "rf")
        out.append(_linear([(v[d], c[d]) for d in layout_dims(t, nest.depthwise)]))
    return out
