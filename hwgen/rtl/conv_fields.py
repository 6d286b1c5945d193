"""Compile one conv layer into the engine's config fields (hwgen.rtl.config_word.SCHEMA).

Every address generator in the engine is an affine odometer: loop bounds and, per loop,
the change of each value when that loop advances (`hwgen.nest.eff_incs`). This module
works out those numbers for the compute unit (rf loops), the array fill units (GB -> RF),
the output unit (RF <-> GB) and the DMA units (DRAM <-> GB); the hardware only adds.
"""
from __future__ import annotations

from dataclasses import dataclass

from hwgen.nest import (
    GB_POS,
    Nest,
    coef,
    eff_incs,
    fill_walker,
    input_layout,
    mask,
    relevant,
    rf_strides,
)
from hwgen.rtl.config_word import BW, NDW, NFW, NLD, NP, NRF, OP_CONV


@dataclass(frozen=True)
class ConvAddrs:
    """DRAM byte addresses of one conv's tensors and the element sizes there."""

    inputs: int  # (N, Cin, H, W) activations
    weights: int  # (K, C, R, S)
    outputs: int  # (N, K, Y, X) final activations
    psums: int  # (N, K, Y, X) partial sums (only used when psums leave the GB)
    params: int  # per output channel: bias, multiplier, shift (16 bytes each)
    act_bytes: int  # bytes per activation / weight
    psum_bytes: int  # bytes per partial sum in DRAM


def _unit_bounds(nest: Nest, last: int) -> list[int]:
    return [b if i <= last else 1 for i, b in enumerate(nest.bounds)]


def _odometer(nest: Nest, last: int, strides: list[list[int]]) -> list[list[int]]:
    """Effective increments over the nest positions 0..last (strides per position)."""
    return eff_incs(_unit_bounds(nest, last), strides)


def _flat(rows: list[list[int]]) -> list[int]:
    return [v for row in rows for v in row]


def _masks(nest: Nest) -> dict[str, int]:
    p = {t: nest.reload_pos(t) for t in "iwo"}
    pd = {t: nest.reload_pos(t, "gb") for t in "iwo"}
    irr_o = [not relevant("o", d, False) for d in nest.dims]
    rng = range(NP)
    return {
        "cu_chg_i": mask([i <= p["i"] for i in rng]), "cu_chg_w": mask([i <= p["w"] for i in rng]),
        "cu_chg_o": mask([i <= p["o"] for i in rng]),
        "afu_i_act": mask([i <= p["i"] for i in rng]), "afu_i_gbchg": mask([i <= pd["i"] for i in rng]),
        "afu_w_act": mask([i <= p["w"] for i in rng]), "afu_w_gbchg": mask([i <= pd["w"] for i in rng]),
        "aou_act": mask([i <= p["o"] for i in rng]), "aou_gbchg": mask([i <= pd["o"] for i in rng]),
        "aou_first": mask([i <= p["o"] and irr_o[i] for i in rng]),
        "dma_i_act": mask([i <= pd["i"] for i in rng]), "dma_w_act": mask([i <= pd["w"] for i in rng]),
        "dma_o_act": mask([i <= pd["o"] for i in rng]),
        "dma_o_first": mask([i <= pd["o"] and irr_o[i] for i in rng]),
        "dma_o_last": mask([i <= pd["o"] and irr_o[i] for i in rng]),
    }


def _array_fields(nest: Nest) -> dict[str, object]:
    """Compute unit (rf loops) and the GB <-> RF units."""
    f: dict[str, object] = {"nest_max": [b - 1 for b in nest.bounds]}
    order = nest.rf_order
    f["rf_max"] = [nest.f_rf[d] - 1 for d in order]
    rfb = [nest.f_rf[d] for d in order]
    for t in "iwo":
        s = rf_strides(nest, t)
        f[f"rf_inc_{t}"] = [row[0] for row in eff_incs(rfb, [[s[d]] for d in order])]
    for t, unit in (("i", "afu_i"), ("w", "afu_w"), ("o", "aou")):
        last = nest.reload_pos(t)
        org = [[nest.ext("arr", d) * coef(nest, t, "gb", d) if nest.level_of(i) == "gb" else 0]
               for i, d in enumerate(nest.dims)]
        f[f"{unit}_org"] = [row[0] for row in _odometer(nest, last, org)]
        wb, ws = fill_walker(nest, t)
        f[f"{unit}_wmax"] = [b - 1 for b in wb]
        f[f"{unit}_winc"] = [row[0] for row in eff_incs(wb, [[s] for s in ws])]
        lane = [nest.f_rf[d] * coef(nest, t, "gb", d) for d in nest.noc_dims]
        f[f"{unit}_lane"] = lane + [0] * (NLD - len(lane))
    assert len(f["rf_max"]) == NRF and len(f["afu_i_wmax"]) == NFW
    return f


# ---------------------------------------------------------------- DMA (DRAM <-> GB)

def _input_dma(nest: Nest, a: ConvAddrs) -> dict[str, object]:
    conv, E, st = nest.conv, a.act_bytes, nest.stride
    cin, hin, win = conv.in_shape.c, conv.in_shape.h, conv.in_shape.w
    gb = input_layout(nest, "gb")
    dw = nest.depthwise
    ch_lim = nest.prob.bound("K") if dw else nest.prob.bound("C")
    plane = hin * win
    # Runs are single stored rows (or windows): the cost model counts one DRAM run per
    # row (it sees neither padding nor the input width, so rows are never merged).
    coords = {"n": (1, 0, 0, 0), "ch": (0, 1, 0, 0), "row": (0, 0, 1, 0), "col": (0, 0, 0, 1)}
    lims = [conv.in_shape.n, ch_lim, hin, win]

    def vec(dram: int, gbw: int | None, **c: int) -> list[int]:
        hw = [0, 0, 0, 0]
        for name, step in c.items():
            for j in range(4):
                hw[j] += step * coords[name][j]
        return [dram, gbw or 0] + hw

    # outer (dram + group) strides per dim, values (dram, c0..c3)
    def outer(d: str) -> list[int]:
        e = nest.ext("gb", d) if d != "G" else 1
        return {"G": vec(ch_lim * plane * E if not dw else 0, None),
                "N": vec(e * cin * plane * E, None, n=e),
                "C": vec(0 if dw else e * plane * E, None, ch=0 if dw else e),
                "K": vec(e * plane * E if dw else 0, None, ch=e if dw else 0),
                "Y": vec(e * st * win * E, None, row=e * st), "R": vec(e * win * E, None, row=e),
                "X": vec(e * st * E, None, col=e * st), "S": vec(e * E, None, col=e)}[d]
    # GB tile walk: n, ch, (yy, rr), (xx) + run along columns
    rows = [(1, vec(0, 0)), (gb.rows, vec(win * E, gb.cols, row=1))] if gb.band_row else \
        [(gb.y, vec(st * win * E, gb.row_step * gb.cols, row=st)),
         (gb.r, vec(win * E, gb.cols, row=1))]
    if gb.band_col:
        cols, runlen = [(1, vec(0, 0))], gb.cols
    else:
        cols, runlen = [(gb.x, vec(st * E, gb.col_step, col=st))], gb.s
    walk = [(gb.n, vec(cin * plane * E, gb.ch * gb.rows * gb.cols, n=1)),
            (gb.ch, vec(plane * E, gb.rows * gb.cols, ch=1))] + rows + cols
    init = [a.inputs - conv.padding * win * E - conv.padding * E] + \
        vec(0, None, row=-conv.padding, col=-conv.padding)[1:]
    return _dma_fields(nest, "i", outer, walk, runlen, lims, init)


def _weight_dma(nest: Nest, a: ConvAddrs) -> dict[str, object]:
    E = a.act_bytes
    kg, c, r, s = (nest.prob.bound(d) for d in "KCRS")
    e = {d: nest.ext("gb", d) for d in "KCRS"}
    # merge inner dims into the run while the tile covers them exactly and the run's
    # length fits its config field (a longer one is walked as several runs)
    merged = 1  # dims merged beyond s: 1 = s only, 2 = r+s, 3 = c+r+s, 4 = k+c+r+s

    def run_of(m: int) -> int:
        return e["S"] * (1 if m == 1 else {2: e["R"], 3: e["R"] * e["C"],
                                           4: e["R"] * e["C"] * e["K"]}[m])
    while (merged < 4 and all(e[d] == nest.prob.bound(d) for d in "KCRS"[4 - merged:])
           and run_of(merged + 1) < 1 << BW):
        merged += 1
    full = {"K": c * r * s, "C": r * s, "R": s, "S": 1}
    gbc = {"K": e["C"] * e["R"] * e["S"], "C": e["R"] * e["S"], "R": e["S"], "S": 1}

    def cw(d: str) -> tuple[int, int, int, int]:
        idx = "KCRS".index(d)
        if idx >= 4 - merged:  # folded into the linear run coordinate c3
            return (0, 0, 0, full[d])
        return tuple(1 if j == idx else 0 for j in range(4))

    def vec(dram: int, gbw: int | None, d: str | None = None, step: int = 0) -> list[int]:
        hw = [step * x for x in cw(d)] if d else [0, 0, 0, 0]
        return [dram, gbw or 0] + hw

    def outer(d: str) -> list[int]:
        if d == "G":
            return vec(kg * c * r * s * E, None)
        if d not in "KCRS":
            return vec(0, None)
        return vec(nest.ext("gb", d) * full[d] * E, None, d, nest.ext("gb", d))
    walk = [(e[d], vec(full[d] * E, gbc[d], d, 1)) for d in "KCR"[:4 - merged]]
    walk += [(1, vec(0, 0))] * (NDW - len(walk))
    runlen = run_of(merged)
    lims = [kg, c, r, s]
    for d in "KCRS"[4 - merged:]:
        lims["KCRS".index(d)] = 1
    lims[3] = {1: s, 2: r * s, 3: c * r * s, 4: kg * c * r * s}[merged]
    return _dma_fields(nest, "w", outer, walk, runlen, lims, [a.weights, 0, 0, 0, 0, 0])


def _dma_fields(nest: Nest, t: str, outer, walk, runlen: int, lims: list[int],
                init: list[int]) -> dict[str, object]:
    last = nest.reload_pos(t, "gb")
    strides = [outer(d) if i < GB_POS else [0] * len(init) for i, d in enumerate(nest.dims)]
    assert len(walk) == NDW, walk
    return {f"dma_{t}_init": init, f"dma_{t}_inc": _flat(_odometer(nest, last, strides)),
            f"dma_{t}_wmax": [b - 1 for b, _ in walk],
            f"dma_{t}_winc": _flat(eff_incs([b for b, _ in walk], [v for _, v in walk])),
            f"dma_{t}_runlen": runlen, f"dma_{t}_lim": lims}


def _output_dma(nest: Nest, a: ConvAddrs) -> dict[str, object]:
    conv = nest.conv
    E, P = a.act_bytes, a.psum_bytes
    kt, y, x = conv.k, conv.y, conv.x
    kg = nest.prob.bound("K")
    e = {d: nest.ext("gb", d) for d in "NKYX"}
    # whole output rows: one run covers the tile's rows (if its length fits the field)
    merge_y = e["X"] == x and e["Y"] * x < 1 << BW

    def vec(final: int, gbw: int | None, pidx: int = 0, n: int = 0, k: int = 0, yy: int = 0,
            xx: int = 0) -> list[int]:
        c = [n, k, 0, yy * x + xx] if merge_y else [n, k, yy, xx]
        return [final * E, final * P, gbw or 0, pidx] + c

    def outer(d: str) -> list[int]:
        ed = nest.ext("gb", d) if d != "G" else 1
        return {"G": vec(kg * y * x, None, pidx=kg),
                "N": vec(ed * kt * y * x, None, n=ed),
                "K": vec(ed * y * x, None, pidx=ed, k=ed),
                "Y": vec(ed * x, None, yy=ed), "X": vec(ed, None, xx=ed)}.get(d, vec(0, None))
    walk = [(e["N"], vec(kt * y * x, e["K"] * e["Y"] * e["X"], n=1)),
            (e["K"], vec(y * x, e["Y"] * e["X"], pidx=1, k=1))]
    if merge_y:
        walk += [(1, vec(0, 0))] * 3
        runlen = e["Y"] * x
    else:
        walk += [(e["Y"], vec(x, e["X"], yy=1))] + [(1, vec(0, 0))] * 2
        runlen = e["X"]
    lims = [conv.in_shape.n, kg, 1 if merge_y else y, y * x if merge_y else x]
    last = nest.reload_pos("o", "gb")
    strides = [outer(d) if i < GB_POS else [0] * 8 for i, d in enumerate(nest.dims)]
    return {"dma_o_init": [a.outputs, a.psums, 0, 0, 0, 0, 0, 0],
            "dma_o_inc": _flat(_odometer(nest, last, strides)),
            "dma_o_wmax": [b - 1 for b, _ in walk],
            "dma_o_winc": _flat(eff_incs([b for b, _ in walk], [v for _, v in walk])),
            "dma_o_runlen": runlen, "dma_o_lim": lims,
            "par_addr": a.params, "par_count": kt}


def conv_fields(nest: Nest, addrs: ConvAddrs, act_min: int, act_max: int) -> dict[str, object]:
    """Every config field of one conv op."""
    f: dict[str, object] = {"op_kind": OP_CONV, "act_min": act_min, "act_max": act_max}
    f |= _masks(nest)
    f |= _array_fields(nest)
    f |= _input_dma(nest, addrs)
    f |= _weight_dma(nest, addrs)
    f |= _output_dma(nest, addrs)
    return f
