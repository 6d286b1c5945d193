"""Template contexts and rendering for the RTL backend: Python decides every number, the
Jinja2 templates under templates/rtl/ only fill holes and loop; the Verilog cells under
templates/rtl/static/ are copied unchanged."""
from __future__ import annotations

import math

from dna.cost.model import outstanding_bits
from dna.cost.nodes import plane_slot_beats
from dna.quant.contract import acc_bits
from dna.space.gads.typed import NOCS, ChunkHW
from hwgen.nest import lanes_of, pe_coords
from hwgen.project import generated_by, render, template_dir
from hwgen.rtl.banks import banks_for, lane_offsets, slot_depth
from hwgen.rtl.config_word import CFG_BITS, NLD, header_lines
from hwgen.rtl.memory import psum_bytes
from hwgen.rtl.program import Program

# Static cells in dependency order (the file list keeps it).
STATIC = ("dna_agu.v", "dna_fifo.v", "dna_lane_off.v", "dna_pe.v", "dna_acc.v", "dna_sum.v",
          "dna_ram.v", "dna_gbuf.v", "dna_gbuf_o.v", "dna_cu.v", "dna_afu.v", "dna_aou.v",
          "dna_dma_walk.v", "dna_rd_runs.v", "dna_dma_in.v", "dna_wr_runs.v", "dna_dma_o.v",
          "dna_ew.v", "dna_plane.v", "dna_axi_rd_arb.v", "dna_axi_mux.v", "dna_axil.v")
PACKED = ("dna_pe2.v",)  # two 8-bit PEs on one multiplier: FPGA targets only
MAX_OPS = 224  # op stamp registers 0x100..0x7FF in dna_axil.v
MIN_OPB = 4  # ROMs and op stamps hold at least 16 ops: programs of up to 16 ops share a build


def static_text(name: str) -> str:
    """Text of one static Verilog cell."""
    return (template_dir("rtl") / "static" / name).read_text()


def header(design_hash: str) -> str:
    """The comment every generated Verilog file starts with."""
    return (f"// {generated_by('RTL', design_hash)}."
            f"\n// Do not edit: regenerate with `dna-hwgen emit`.")


def _bits(n: int) -> int:
    """Address bits to index n words (at least 1)."""
    return max(1, math.ceil(math.log2(max(n, 2))))


def _lane_literal(lanes: list[tuple[int, ...]], cb: int) -> str:
    """Packed Verilog literal of lane coordinates: lane l, dim j at bits (l*NLD + j)*cb."""
    val = 0
    for l, coords in enumerate(lanes):
        for j, c in enumerate(coords):
            val |= c << ((l * NLD + j) * cb)
    return f"{len(lanes) * NLD * cb}'h{val:x}"


def dsp_pairs(chunk: ChunkHW) -> tuple[list[tuple[int, int]], list[int]]:
    """(pairs, singles): PEs of one weight lane taken two by two, for one packed 8-bit
    multiplier each (dna_pe2.v); the odd PE of a lane, if any, stays single."""
    _, w_of = lanes_of(chunk, "w")
    groups: dict[int, list[int]] = {}
    for pe, lane in enumerate(w_of):
        groups.setdefault(lane, []).append(pe)
    pairs = [(g[k], g[k + 1]) for g in groups.values() for k in range(0, len(g) - 1, 2)]
    return pairs, sorted(g[-1] for g in groups.values() if len(g) % 2)


def array_context(chunk: ChunkHW, h: int, bits: int, hdr: str, pack: bool) -> dict:
    """Context of dna_array.v.j2 for chunk h; `pack`: two 8-bit PEs per multiplier
    where they share a weight lane (an FPGA's DSP48E1)."""
    coords = pe_coords(chunk)
    _, w_of = lanes_of(chunk, "w")
    lanes_o, o_of = lanes_of(chunk, "o")
    dims = NOCS[chunk.noc]
    pairs, singles = dsp_pairs(chunk) if pack else ([], list(range(len(coords))))
    at = [", ".join(f"{d}={c}" for d, c in zip(dims, co)) for co in coords]
    pes = [{"i": i, "coords": at[i], "lane_w": w_of[i]} for i in singles]
    pe2 = [{"a": a, "b": b, "coords_a": at[a], "coords_b": at[b], "lane_w": w_of[a]}
           for a, b in pairs]
    out = []
    for lane in range(len(lanes_o)):
        members = [i for i, o in enumerate(o_of) if o == lane]
        out.append({"i": lane, "n": len(members),
                    "members": ", ".join(f"prod[{p}*2*BITS +: 2*BITS]"
                                         for p in reversed(members))})
    w_dims = [d for d in dims if d not in "KCRS"]
    red = [d for d in dims if d not in "NKYX"]
    return {"header": hdr, "name": f"dna_array_c{h}", "noc": chunk.noc, "chunk": h,
            "npe": len(coords), "unroll_text": " x ".join(f"{d}{u}" for d, u in
                                                            zip(dims, chunk.unroll)),
            "nlw": max(w_of) + 1, "nlo": len(lanes_o),
            "w_shared": "/".join(w_dims) or "nothing",
            "group": len(coords) // len(lanes_o), "reduced": "/".join(red) or "nothing",
            "bits": bits, "accw": acc_bits(bits),
            "ra_i": _bits(chunk.rf_words[0]), "ra_w": _bits(chunk.rf_words[1]),
            "ra_o": _bits(chunk.rf_words[2]), "pes": pes, "pe2": pe2, "out_lanes": out}


def gb_banks(prog: Program, chunk: ChunkHW, h: int, bits: int) -> dict[str, tuple[int, int]]:
    """(banks, skew) of engine h's input, weight and output global buffers
    (hwgen/rtl/banks.py): at least one bank per word of a DMA beat, and no conv op's lanes
    in conflict."""
    convs = [o for o in prog.ops if o.chunk == h and o.kind == "conv"]
    beat_words = prog.bus_bytes // (bits // 8)  # activations per beat (>= partial sums)
    unit = {"i": "afu_i", "w": "afu_w", "o": "aou"}
    return {t: banks_for((lane_offsets(lanes_of(chunk, t)[0], o.fields[f"{unit[t]}_lane"])
                          for o in convs), beat_words, chunk.gb_words["iwo".index(t)],
                         1 if t == "o" else 2) for t in "iwo"}


def engine_context(prog: Program, chunk: ChunkHW, h: int, bits: int, hdr: str,
                   op_base: int, clock_mhz: float) -> dict:
    """Context of dna_engine.v.j2 for chunk h."""
    ops = [o for o in prog.ops if o.chunk == h]
    lanes = {t: lanes_of(chunk, t)[0] for t in "iwo"}
    cb = max(1, max(u for u in chunk.unroll).bit_length())
    kmax = max([o.nest.conv.k for o in ops if o.nest is not None] + [1])
    kmax = max(64, 1 << _bits(kmax))  # param RAM words: a power of two, at least 64
    gb = chunk.gb_words
    nb = gb_banks(prog, chunk, h, bits)
    d_i, d_w, d_o = (slot_depth(gb[t], nb["iwo"[t]][0]) for t in (0, 1, 2))
    slot_beats = max([plane_slot_beats(o.fields["pl_plane"], prog.bus_bytes) for o in ops
                      if o.kind == "plane"], default=1)
    return {"header": hdr, "name": f"dna_engine_c{h}", "chunk": h, "nops": len(ops),
            "op_names": ", ".join(o.node for o in ops), "romfile": f"dna_cfg_c{h}.hex",
            "bits": bits, "ebytes": bits // 8, "accw": acc_bits(bits),
            "pbytes": psum_bytes(bits), "busb": prog.bus_bytes,
            "size_code": f"3'd{int(math.log2(prog.bus_bytes))}",
            "npe": chunk.pes, "nlw": len(lanes["w"]), "nlo": len(lanes["o"]),
            "gb_i": d_i, "gb_w": d_w, "gb_o": d_o,
            "ga_i": d_i.bit_length(), "ga_w": d_w.bit_length(), "ga_o": d_o.bit_length(),
            **{f"nb_{t}": nb[t][0] for t in "iwo"},
            **{f"ba_{t}": nb[t][0].bit_length() - 1 for t in "iwo"},
            **{f"sk_{t}": nb[t][1] for t in "iwo"},
            "ra_i": _bits(chunk.rf_words[0]), "ra_w": _bits(chunk.rf_words[1]),
            "ra_o": _bits(chunk.rf_words[2]), "pd": kmax, "pa": _bits(kmax),
            "op_base": op_base, "opb": max(MIN_OPB, _bits(len(ops))), "cb": cb,
            "qa": outstanding_bits(clock_mhz), "pl_a": _bits(slot_beats),
            "array_name": f"dna_array_c{h}",
            "lc_i": _lane_literal(lanes["i"], cb), "lc_w": _lane_literal(lanes["w"], cb),
            "lc_o": _lane_literal(lanes["o"], cb)}


def top_context(prog: Program, n_chunks: int, hdr: str) -> dict:
    """Context of dna_top.v.j2."""
    engines = [{"index": h, "module": f"dna_engine_c{h}"} for h in range(n_chunks)]
    return {"header": hdr, "engines": engines, "busb": prog.bus_bytes,
            "size_code": f"3'd{int(math.log2(prog.bus_bytes))}",
            "hbits": max(1, math.ceil(math.log2(max(n_chunks, 2)))),
            "copies": prog.memory.copies, "act_span": prog.memory.act_span,
            "opb": max(MIN_OPB, _bits(len(prog.ops)))}


def render_rtl(prog: Program, chunks: tuple[ChunkHW, ...], bits: int, design_hash: str,
               clock_mhz: float, pack_dsp: bool = False) -> dict[str, str]:
    """Every Verilog file (relative path -> text) and the config ROM images. pack_dsp:
    8-bit PEs sharing a weight lane share one multiplier, two by two (FPGA targets)."""
    hdr = header(design_hash)
    pack = pack_dsp and bits == 8
    files = {f"rtl/{name}": static_text(name) for name in STATIC + PACKED * pack}
    files["rtl/dna_cfg.vh"] = render("rtl/dna_cfg.vh.j2", {"header": hdr, "lines": header_lines()})
    op_base = 0
    for h, chunk in enumerate(chunks):
        files[f"rtl/dna_array_c{h}.v"] = render("rtl/dna_array.v.j2",
                                                array_context(chunk, h, bits, hdr, pack))
        files[f"rtl/dna_engine_c{h}.v"] = render(
            "rtl/dna_engine.v.j2", engine_context(prog, chunk, h, bits, hdr, op_base, clock_mhz))
        words = prog.words(h)
        width = -(-CFG_BITS // 4)
        files[f"rtl/dna_cfg_c{h}.hex"] = "".join(f"{w:0{width}x}\n" for w in words)
        op_base += sum(1 for o in prog.ops if o.chunk == h)
    files["rtl/dna_top.v"] = render("rtl/dna_top.v.j2", top_context(prog, len(chunks), hdr))
    return files


def file_list(files: dict[str, str]) -> list[str]:
    """Verilog sources in compile order (header and ROM images excluded)."""
    order = [f"rtl/{n}" for n in STATIC + PACKED if f"rtl/{n}" in files]
    gen = sorted(p for p in files if p.endswith(".v") and p not in order and
                 p != "rtl/dna_top.v")
    return order + gen + ["rtl/dna_top.v"]
