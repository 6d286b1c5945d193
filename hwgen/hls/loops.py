"""The loop nest of one conv layer on its chunk, prepared for templates/hls/src/dna_top.cpp.j2.

Levels outermost first: the group loop (grouped convs), the DRAM loops, the GB loops and the
RF loops, each level in the mapping's order; a loop of bound 1 is left out (its index is 0).
Innermost: one call of the chunk's PE array (the spatial loops, unrolled), under
`PIPELINE II=1` on the innermost loop.

Tile moves sit where the cost model counts them (docs/cost_model.md §2): a tensor's GB tile
is (re)loaded right inside the innermost DRAM loop relevant to it, its RF tiles right inside
the innermost DRAM-or-GB loop relevant to it; loops further in reuse the tile. The outputs
tile is a visit: loaded (bias on the first visit, parked partial sums on later ones) where
it changes and stored at the end of that loop body (requantised on the last visit, parked
in DRAM otherwise). First and last visits are decided by the reduction (C, R, S) DRAM loops
outside the visit.
"""
from __future__ import annotations

from dna.space.gads.typed import (
    TEMPORAL_LEVELS,
    TENSORS,
    ChunkHW,
    LayerMapping,
    problem_of,
    relevant_dims,
    tile_extents,
)
from dna.workload.ir import DIMS, Conv

REDUCTION = "CRS"
VAR_PREFIX = {"dram": "d", "gb": "g", "rf": "r"}
INDENT = "  "


def _call(fn: str, targs: str | None, args: list[str]) -> dict:
    return {"kind": "call", "fn": fn, "targs": targs, "args": args}


def _linear(terms: list[tuple[str, int]]) -> str:
    """C expression of sum(var * coefficient) over the loops that exist ("0" if none)."""
    parts = [v if c == 1 else f"{v} * {c}" for v, c in terms if v != "0"]
    return " + ".join(parts) or "0"


def loop_nest(conv: Conv, m: LayerMapping, chunk: ChunkHW, ident: str, cid: str) -> dict:
    """Loops, tile moves and the PE-array call of `conv` (see module docstring)."""
    p = problem_of(conv)
    rel = {t: relevant_dims(t, p.inputs_follow_k) for t in TENSORS}
    loops = []
    if p.repeat > 1:
        loops.append({"level": "group", "dim": "", "var": "grp", "bound": p.repeat,
                      "label": "GROUP"})
    for level, order in zip(TEMPORAL_LEVELS, m.order):
        for d in order:
            if m.factor(level, d) > 1:
                loops.append({"level": level, "dim": d, "bound": m.factor(level, d),
                              "var": VAR_PREFIX[level] + d.lower(),
                              "label": f"{level.upper()}_{d}"})
    present = {(lp["level"], lp["dim"]): lp["var"] for lp in loops}

    def idx(level: str, dims: str, tensor: str) -> list[str]:
        """Loop indices of `dims` at `level`; 0 for dims irrelevant to `tensor` (their
        loops may sit inside the call)."""
        return [present.get((level, d), "0") if d in rel[tensor] else "0" for d in dims]

    def anchor(tensor: str, levels: tuple[str, ...]) -> int:
        """Index of the innermost loop (of `levels`, or the group loop) relevant to
        `tensor`; -1 before every loop."""
        hits = [i for i, lp in enumerate(loops) if lp["level"] == "group"
                or (lp["level"] in levels and lp["dim"] in rel[tensor])]
        return max(hits, default=-1)

    grp = "grp" if p.repeat > 1 else "0"
    L, LC = f"{ident}_cfg", f"{ident}_cfg, {cid}_cfg"
    opens: dict[int, list] = {i: [] for i in range(-1, len(loops))}
    closes: dict[int, list] = {i: [] for i in range(-1, len(loops))}

    a_out = anchor("outputs", ("dram",))
    outer_red = [lp for lp in loops[:max(a_out, 0)]
                 if lp["level"] == "dram" and lp["dim"] in REDUCTION]
    first = " && ".join(f"{lp['var']} == 0" for lp in outer_red)
    last = " && ".join(f"{lp['var']} == {lp['bound'] - 1}" for lp in outer_red)
    d_out = [grp] + idx("dram", "NKYX", "outputs")
    init = _call("gb_init_outputs", L, ["out_gb", f"{ident}_bias"] + d_out)
    store = _call("gb_store_outputs", L,
                  ["out_gb", "fmap", f"{ident}_mult", f"{ident}_shift"] + d_out)
    if outer_red:
        init = {"kind": "if", "cond": first, "then": init,
                "else": _call("gb_load_psums", L, ["out_gb", "psum"] + d_out)}
        store = {"kind": "if", "cond": last, "then": store,
                 "else": _call("gb_store_psums", L, ["out_gb", "psum"] + d_out)}
    opens[anchor("inputs", ("dram",))].append(
        _call("gb_load_inputs", L, ["in_gb", "fmap", grp] + idx("dram", DIMS, "inputs")))
    opens[anchor("weights", ("dram",))].append(
        _call("gb_load_weights", L, ["w_gb", "wgt", grp] + idx("dram", "KCRS", "weights")))
    opens[a_out].append(init)
    closes[a_out].append(store)
    both = ("dram", "gb")
    opens[anchor("inputs", both)].append(
        _call("rf_fill_inputs", LC, ["in_rf", "in_gb"] + idx("gb", DIMS, "inputs")))
    opens[anchor("weights", both)].append(
        _call("rf_fill_weights", LC, ["w_rf", "w_gb"] + idx("gb", "KCRS", "weights")))
    opens[anchor("outputs", both)].append(_call("rf_clear_outputs", LC, ["o_rf"]))
    drain = _call("rf_drain_outputs", LC, ["out_gb", "o_rf"] + idx("gb", "NKYX", "outputs"))
    closes[anchor("outputs", both)].insert(0, drain)  # before the GB store at that loop

    for i, lp in enumerate(loops):
        lp["indent"] = INDENT * (i + 1)
        lp["inner"] = INDENT * (i + 2)
        lp["pipeline"] = i == len(loops) - 1
        lp["open"], lp["close"] = opens[i], closes[i]
    return {"loops": loops, "head": opens[-1], "tail": closes[-1], "psum": bool(outer_red),
            "body_indent": INDENT * (len(loops) + 1),
            "pe_call": _call(f"{cid}_pe_array", None,
                             ["in_rf", "w_rf", "o_rf"] + _rf_indices(conv, m, chunk, present))}


def _rf_indices(conv: Conv, m: LayerMapping, chunk: ChunkHW,
                present: dict[tuple[str, str], str]) -> list[str]:
    """Word of each PE's inputs, weights and outputs RF tile that the RF loops address:
    inputs [N][CH][ROWS][COLS] (row = y * ROW_STEP + r), weights [K][C][R][S],
    outputs [N][K][Y][X] (the layouts of dna_engine.h)."""
    f = dict(zip(DIMS, tile_extents(m, chunk)["rf"]))
    v = {d: present.get(("rf", d), "0") for d in DIMS}
    st = conv.stride
    row_step, col_step = min(st, f["R"]), min(st, f["S"])
    rows, cols = (f["Y"] - 1) * row_step + f["R"], (f["X"] - 1) * col_step + f["S"]
    depthwise = problem_of(conv).inputs_follow_k
    ch, n_ch = ("K", f["K"]) if depthwise else ("C", f["C"])
    inputs = [(v["N"], n_ch * rows * cols), (v[ch], rows * cols), (v["Y"], row_step * cols),
              (v["R"], cols), (v["X"], col_step), (v["S"], 1)]
    weights = [(v["K"], f["C"] * f["R"] * f["S"]), (v["C"], f["R"] * f["S"]),
               (v["R"], f["S"]), (v["S"], 1)]
    outputs = [(v["N"], f["K"] * f["Y"] * f["X"]), (v["K"], f["Y"] * f["X"]),
               (v["Y"], f["X"]), (v["X"], 1)]
    return [_linear(inputs), _linear(weights), _linear(outputs)]
