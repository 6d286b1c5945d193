"""The per-op configuration word of the generated RTL engine: one schema shared by the
Python program compiler (`hwgen.rtl.program`), the generated Verilog header
(`dna_cfg.vh`, field offsets) and the hex file the config ROM loads.

An op is one line of the ROM: a conv layer (all its loop nests, compiled to affine
address generators), an elementwise op (residual add, clamp) or a plane op (max or
average pooling, global average pooling, channel shuffle). Every field is a vector
of `count` elements of `width` bits, element 0 in the lowest bits; signed fields are two's
complement. The layout depends on nothing but these constants, so one Verilator build
runs any program for the same hardware.
"""
from __future__ import annotations

from dataclasses import dataclass

from dna.errors import DnaError
from hwgen.nest import NP

NRF = 7  # rf loop positions
NFW = 6  # RF fill / drain walker positions (AFU, AOU)
NDW = 5  # DMA run walker positions (the run itself is the innermost, contiguous dim)
NLD = 4  # NoC dims a lane offset can depend on (at most 4: KCRS)
BW = 16  # loop bound width (bound - 1 is stored)
VW = 32  # affine value and increment width
DMA_IN_OUTS = 6  # DMA values (outer and walker): dram byte address, gb word, coords c0..c3
DMA_O_OUTS = 8  # output DMA values: final addr, psum addr, gb word, param index, c0..c3
# (the outer odometer's gb entry is always 0: a GB tile starts at its slot's base)

OP_CONV, OP_ADD, OP_CLAMP, OP_PLANE = 0, 1, 2, 3


@dataclass(frozen=True)
class Field:
    """One field of the config word."""

    name: str  # lower-case; the Verilog offset is CF_<NAME upper>
    count: int  # elements
    width: int  # bits per element
    signed: bool = False

    @property
    def bits(self) -> int:
        """Bits the field takes in a config word."""
        return self.count * self.width


def _afu(t: str) -> list[Field]:
    return [Field(f"afu_{t}_act", 1, NP), Field(f"afu_{t}_gbchg", 1, NP),
            Field(f"afu_{t}_org", NP, VW, True), Field(f"afu_{t}_wmax", NFW, BW),
            Field(f"afu_{t}_winc", NFW, VW, True), Field(f"afu_{t}_lane", NLD, VW, True)]


def _dma_in(t: str) -> list[Field]:
    return [Field(f"dma_{t}_act", 1, NP), Field(f"dma_{t}_init", DMA_IN_OUTS, VW, True),
            Field(f"dma_{t}_inc", NP * DMA_IN_OUTS, VW, True),
            Field(f"dma_{t}_wmax", NDW, BW),
            Field(f"dma_{t}_winc", NDW * DMA_IN_OUTS, VW, True),
            Field(f"dma_{t}_runlen", 1, BW), Field(f"dma_{t}_lim", 4, VW, True)]


SCHEMA: tuple[Field, ...] = (
    Field("op_kind", 1, 2), Field("op_last", 1, 1),
    # ---- conv: the loop nest and the compute unit
    Field("nest_max", NP, BW), Field("cu_chg_i", 1, NP), Field("cu_chg_w", 1, NP),
    Field("cu_chg_o", 1, NP), Field("rf_max", NRF, BW),
    Field("rf_inc_i", NRF, VW, True), Field("rf_inc_w", NRF, VW, True),
    Field("rf_inc_o", NRF, VW, True),
    # ---- array fill units (GB -> RF) for inputs and weights
    *_afu("i"), *_afu("w"),
    # ---- output unit (RF <-> GB): reload and drain share one walker program
    Field("aou_act", 1, NP), Field("aou_gbchg", 1, NP), Field("aou_first", 1, NP),
    Field("aou_org", NP, VW, True), Field("aou_wmax", NFW, BW),
    Field("aou_winc", NFW, VW, True), Field("aou_lane", NLD, VW, True),
    # ---- DMA (DRAM -> GB) for inputs and weights
    *_dma_in("i"), *_dma_in("w"),
    # ---- output DMA (GB <-> DRAM), params and requantisation
    Field("dma_o_act", 1, NP), Field("dma_o_first", 1, NP), Field("dma_o_last", 1, NP),
    Field("dma_o_init", DMA_O_OUTS, VW, True), Field("dma_o_inc", NP * DMA_O_OUTS, VW, True),
    Field("dma_o_wmax", NDW, BW), Field("dma_o_winc", NDW * DMA_O_OUTS, VW, True),
    Field("dma_o_runlen", 1, BW), Field("dma_o_lim", 4, VW, True),
    Field("par_addr", 1, VW), Field("par_count", 1, BW),
    Field("act_min", 1, VW, True), Field("act_max", 1, VW, True),
    # ---- elementwise ops (add, clamp): contiguous tensors, whole bus beats
    Field("ew_a", 1, VW), Field("ew_b", 1, VW), Field("ew_o", 1, VW),
    Field("ew_beats", 1, VW), Field("ew_tail", 1, 8), Field("ew_ma", 1, 16),
    Field("ew_mb", 1, 16), Field("ew_shift", 1, 8),
    # ---- plane ops (pooling, global average pooling, shuffle: templates/rtl/static/
    # dna_plane.v); input and output addresses, multiplier and shift are ew_a, ew_o,
    # ew_ma, ew_shift
    Field("pl_avg", 1, 1), Field("pl_ch", 1, 16), Field("pl_groups", 1, 16),
    Field("pl_plane", 1, VW), Field("pl_gstep", 1, VW),
    Field("pl_h", 1, 16), Field("pl_w", 1, 16), Field("pl_oh", 1, 16), Field("pl_ow", 1, 16),
    Field("pl_wr", 1, 16), Field("pl_ws", 1, 16), Field("pl_stride", 1, 16),
    Field("pl_pad", 1, 16), Field("pl_row", 1, VW), Field("pl_sx", 1, 16),
    Field("pl_sy", 1, VW), Field("pl_org", 1, VW, True),
)


def offsets() -> dict[str, int]:
    """Bit offset of every field in the config word."""
    out, pos = {}, 0
    for f in SCHEMA:
        out[f.name] = pos
        pos += f.bits
    return out


CFG_BITS = sum(f.bits for f in SCHEMA)
_BY_NAME = {f.name: f for f in SCHEMA}


class ConfigError(DnaError):
    """A config value does not fit its field (a layer too large for the engine)."""


def pack(values: dict[str, int | list[int]]) -> int:
    """The config word for `values` (missing fields are 0) as one integer."""
    word = 0
    offs = offsets()
    for name, v in values.items():
        f = _BY_NAME[name]
        elems = list(v) if isinstance(v, (list, tuple)) else [v]
        if len(elems) != f.count:
            raise ConfigError(f"config field {name}: expected {f.count} values, got {len(elems)}")
        lo, hi = ((-(1 << (f.width - 1)), (1 << (f.width - 1)) - 1) if f.signed
                  else (0, (1 << f.width) - 1))
        for i, e in enumerate(elems):
            if not lo <= e <= hi:
                raise ConfigError(f"config field {name}[{i}] = {e} does not fit "
                                  f"{f.width} bits")
            word |= (e & ((1 << f.width) - 1)) << (offs[name] + i * f.width)
    return word


def unpack(word: int) -> dict[str, list[int]]:
    """Inverse of `pack` (every field, as lists)."""
    out = {}
    for name, off in offsets().items():
        f = _BY_NAME[name]
        vals = []
        for i in range(f.count):
            e = (word >> (off + i * f.width)) & ((1 << f.width) - 1)
            if f.signed and e >> (f.width - 1):
                e -= 1 << f.width
            vals.append(e)
        out[name] = vals
    return out


def header_lines() -> list[str]:
    """Verilog localparams (one per field) for `dna_cfg.vh`."""
    lines = [f"localparam integer CFG_W = {CFG_BITS};"]
    for name, off in offsets().items():
        lines.append(f"localparam integer CF_{name.upper()} = {off};")
    return lines
