"""A functional model of the generated engine that executes the config words exactly as
the RTL reads them (affine odometers with effective increments, DMA runs with zero fill
and clipping, per-lane GB <-> RF moves, requantisation on the final write-back).

It checks the program compiler (`hwgen.rtl.program`) against the PyTorch integer
reference in milliseconds, before any Verilog runs; the RTL must behave the same way.
Timing is not modelled here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwgen.rtl.config_word import NP, NRF, OP_ADD, OP_CLAMP, OP_CONV


class Odometer:
    """The hardware's affine loop counter (module dna_agu)."""

    def __init__(self, maxv: list[int], act: int, incs: list[list[int]], init: list[int]):
        self.maxv = [m if (act >> i) & 1 else 0 for i, m in enumerate(maxv)]
        self.incs, self.init = incs, init
        self.idx = [0] * len(maxv)
        self.val = list(init)

    @property
    def last(self) -> bool:
        return all(i == m for i, m in zip(self.idx, self.maxv))

    @property
    def pnext(self) -> int:
        """Position that advances on the next step (innermost not at its maximum)."""
        return max(i for i, (x, m) in enumerate(zip(self.idx, self.maxv)) if x < m)

    def step(self) -> None:
        if self.last:
            self.idx, self.val = [0] * len(self.idx), list(self.init)
            return
        p = self.pnext
        self.idx[p] += 1
        for j in range(p + 1, len(self.idx)):
            self.idx[j] = 0
        self.val = [v + d for v, d in zip(self.val, self.incs[p])]

    def all_at(self, m: int, at_max: bool) -> bool:
        """Are all positions in mask m at 0 (or at their maximum)?"""
        return all(((x == mx) if at_max else x == 0)
                   for i, (x, mx) in enumerate(zip(self.idx, self.maxv)) if (m >> i) & 1)

    def walk(self):
        """Yield the values of every iteration (restarting from the current state)."""
        while True:
            yield list(self.val)
            if self.last:
                self.step()
                return
            self.step()


def _rows(flat: list[int], n: int) -> list[list[int]]:
    return [flat[i:i + n] for i in range(0, len(flat), n)]


@dataclass(frozen=True)
class HwView:
    """What the interpreter needs to know about the hardware."""

    bits: int
    psum_bytes: int
    lanes: dict[str, list[tuple[int, ...]]]  # per tensor: lane coordinates on the NoC dims
    pe_lane: dict[str, list[int]]  # per tensor: lane of each PE


def _runs(cfg: dict, t: str, nouts: int, woffs: tuple):
    """Yield (dram address of element c3, gb offset, pidx, zl, nv, runlen) for every run
    of every visit of tensor t, with the visit index and first/last flags."""
    outer = Odometer(cfg["nest_max"], cfg[f"dma_{t}_act"][0],
                     _rows(cfg[f"dma_{t}_inc"], nouts), cfg[f"dma_{t}_init"])
    wn = len(woffs)
    while True:
        ov = outer.val
        first = outer.all_at(cfg.get(f"dma_{t}_first", [0])[0], False)
        final = outer.all_at(cfg.get(f"dma_{t}_last", [0])[0], True)
        walker = Odometer(cfg[f"dma_{t}_wmax"], (1 << 5) - 1,
                          _rows(cfg[f"dma_{t}_winc"], wn), [0] * wn)
        runs = []
        for wv in walker.walk():
            runs.append(_clip(cfg, t, ov, wv, nouts))
        yield ov, runs, first, final
        if outer.last:
            return
        outer.step()


def _clip(cfg: dict, t: str, ov: list[int], wv: list[int], nouts: int):
    lim = cfg[f"dma_{t}_lim"]
    rl = cfg[f"dma_{t}_runlen"][0]
    c = [a + b for a, b in zip(ov[-4:], wv[-4:])]
    inside = all(0 <= c[j] < lim[j] for j in range(3))
    lo, hi = max(c[3], 0), min(c[3] + rl, lim[3])
    nv = max(hi - lo, 0) if inside else 0
    zl = lo - c[3] if nv else rl
    return ov, wv, zl, nv, rl


class _ConvRun:
    """One conv op, unit by unit: DMA visits into GB dicts, RF fills per lane, MACs per
    PE, output tiles reloaded/drained per lane, GB visits written back (requantised on
    their last visit)."""

    def __init__(self, cfg: dict, dram: bytearray, hw: HwView):
        self.cfg, self.dram, self.hw = cfg, dram, hw
        self.E, self.P = hw.bits // 8, hw.psum_bytes
        pa = cfg["par_addr"][0]
        self.params = {}
        for k in range(cfg["par_count"][0]):
            raw = bytes(dram[pa + 16 * k: pa + 16 * k + 16])
            self.params[k] = (int.from_bytes(raw[:8], "little", signed=True),
                              int.from_bytes(raw[8:10], "little"), raw[10])
        self.units = {t: Odometer(cfg["nest_max"], cfg[f"{u}_act"][0],
                                  _rows(cfg[f"{u}_org"], 1), [0]) for t, u in UNITS}
        self.gb_in = {t: self._gb_visits(t) for t in "iw"}
        self.gb_cur: dict = {}
        self.out_visits = _runs(cfg, "o", 8, (0,) * 8)
        self.o_gb: dict | None = None
        self.o_meta = None
        self.rf: dict = {}
        self.acc: list | None = None
        self.acc_org = 0

    def _read(self, addr: int, n: int, nbytes: int):
        from hwgen.codec import decode
        return decode(bytes(self.dram[addr:addr + n * nbytes]), nbytes)

    def _gb_visits(self, t: str):
        for _, runs, _, _ in _runs(self.cfg, t, 6, (0,) * 6):
            gb = {}
            for ov, wv, zl, nv, rl in runs:
                for j in range(rl):
                    gb[wv[1] + j] = 0
                if nv:
                    vals = self._read(ov[0] + wv[0] + zl * self.E, nv, self.E)
                    for j in range(nv):
                        gb[wv[1] + zl + j] = int(vals[j])
            yield gb

    def lane_off(self, u: str, t: str, lane: int) -> int:
        """GB word offset of `lane` of unit `u` (tensor t): its NoC coordinates x increments."""
        return sum(c * li for c, li in zip(self.hw.lanes[t][lane], self.cfg[f"{u}_lane"]))

    def fill_words(self, u: str) -> list[int]:
        """GB offsets of one RF tile, in the order unit `u` streams them."""
        w = Odometer(self.cfg[f"{u}_wmax"], (1 << 6) - 1, _rows(self.cfg[f"{u}_winc"], 1), [0])
        return [v[0] for v in w.walk()]

    def evict(self) -> None:
        """Write the current output GB visit back (final: requantised activations)."""
        from hwgen.codec import encode
        _, runs, _, final = self.o_meta
        lo, hi = self.cfg["act_min"][0], self.cfg["act_max"][0]
        for ov, wv, zl, nv, _ in runs:
            for j in range(nv):
                a = self.o_gb.get(wv[2] + zl + j, 0)
                if final:
                    bias, m, sh = self.params[ov[3] + wv[3]]
                    v = (a + bias) * m
                    v = (v + ((1 << (sh - 1)) if sh else 0)) >> sh
                    addr, nb, val = ov[0] + wv[0] + (zl + j) * self.E, self.E, min(max(v, lo), hi)
                else:
                    addr, nb, val = ov[1] + wv[1] + (zl + j) * self.P, self.P, a
                self.dram[addr:addr + nb] = encode(np.array([val]), nb)

    def next_out_visit(self) -> None:
        """Move to the next output GB visit (partial sums reloaded on a revisit)."""
        self.o_meta = next(self.out_visits)
        _, runs, first, _ = self.o_meta
        self.o_gb = {}
        if not first:
            for ov, wv, zl, nv, _ in runs:
                if nv:
                    vals = self._read(ov[1] + wv[1] + zl * self.P, nv, self.P)
                    for j in range(nv):
                        self.o_gb[wv[2] + zl + j] = int(vals[j])

    def drain(self) -> None:
        """Current output RF tile (every lane) into the output GB."""
        for lane, words in enumerate(self.acc):
            off = self.acc_org + self.lane_off("aou", "o", lane)
            for a, v in zip(self.fill_words("aou"), words):
                self.o_gb[off + a] = v

    def change_outputs(self, gb_change: bool) -> None:
        """Next output RF tile: drain the current one, evict/reload GB visits on a change."""
        if self.acc is not None:
            self.drain()
        if gb_change:
            if self.o_meta is not None:
                self.evict()
            self.next_out_visit()
        self.acc_org = self.units["o"].val[0]
        first = self.units["o"].all_at(self.cfg["aou_first"][0], False)
        words = self.fill_words("aou")
        self.acc = []
        for lane in range(len(self.hw.lanes["o"])):
            off = self.acc_org + self.lane_off("aou", "o", lane)
            self.acc.append([0] * len(words) if first else
                            [self.o_gb.get(off + a, 0) for a in words])

    def change_operand(self, t: str, u: str, gb_change: bool) -> None:
        """Next input or weight RF tile (and GB visit, on a change) for every lane."""
        if gb_change:
            self.gb_cur[t] = next(self.gb_in[t])
        org = self.units[t].val[0]
        self.rf[t] = [[self.gb_cur[t][org + self.lane_off(u, t, lane) + a]
                       for a in self.fill_words(u)] for lane in range(len(self.hw.lanes[t]))]

    def macs(self) -> None:
        """One RF tile of MACs on every PE (the RF-level loops)."""
        cfg, pl = self.cfg, self.hw.pe_lane
        rfo = Odometer(cfg["rf_max"], (1 << NRF) - 1,
                       [list(x) for x in zip(cfg["rf_inc_i"], cfg["rf_inc_w"], cfg["rf_inc_o"])],
                       [0, 0, 0])
        for ia, wa, oa in rfo.walk():
            for pe in range(len(pl["i"])):
                self.acc[pl["o"][pe]][oa] += self.rf["w"][pl["w"][pe]][wa] * self.rf["i"][pl["i"][pe]][ia]

    def run(self) -> None:
        """Walk the compute unit's nest, moving tiles as the RTL does, then write back."""
        cfg = self.cfg
        cu = Odometer(cfg["nest_max"], (1 << NP) - 1, [[0]] * NP, [0])
        p = None  # position that advanced into this step (None: the first step)
        while True:
            chg = {t: p is None or (cfg[f"cu_chg_{t}"][0] >> p) & 1 for t in "iwo"}
            gchg = {t: p is None or (cfg[f"{u}_gbchg"][0] >> p) & 1 for t, u in UNITS}
            if p is not None:
                for t in "iwo":
                    if chg[t]:
                        self.units[t].step()
            if chg["o"]:
                self.change_outputs(gchg["o"])
            for t, u in UNITS[:2]:
                if chg[t]:
                    self.change_operand(t, u, gchg[t])
            self.macs()
            if cu.last:
                break
            p = cu.pnext
            cu.step()
        self.drain()
        self.evict()


UNITS = (("i", "afu_i"), ("w", "afu_w"), ("o", "aou"))


def run_conv(cfg: dict, dram: bytearray, hw: HwView) -> None:
    """Execute one conv op on `dram` (functional, in program order)."""
    _ConvRun(cfg, dram, hw).run()


def run_ew(cfg: dict, dram: bytearray, bits: int, bus_bytes: int) -> None:
    """Execute an add or clamp op."""
    from hwgen.codec import decode, encode
    E = bits // 8
    n = ((cfg["ew_beats"][0] - 1) * bus_bytes + cfg["ew_tail"][0]) // E
    a = decode(bytes(dram[cfg["ew_a"][0]:cfg["ew_a"][0] + n * E]), E)
    if cfg["op_kind"][0] == OP_ADD:
        b = decode(bytes(dram[cfg["ew_b"][0]:cfg["ew_b"][0] + n * E]), E)
        sh = cfg["ew_shift"][0]
        v = a * cfg["ew_ma"][0] + b * cfg["ew_mb"][0]
        a = (v + ((1 << (sh - 1)) if sh else 0)) >> sh
    out = np.clip(a, cfg["act_min"][0], cfg["act_max"][0])
    dram[cfg["ew_o"][0]:cfg["ew_o"][0] + n * E] = encode(out, E)


def run_program(words: list[dict], dram: bytearray, hw: HwView, bus_bytes: int) -> None:
    """Execute every op in order."""
    for cfg in words:
        if cfg["op_kind"][0] == OP_CONV:
            run_conv(cfg, dram, hw)
        elif cfg["op_kind"][0] in (OP_ADD, OP_CLAMP):
            run_ew(cfg, dram, hw.bits, bus_bytes)
