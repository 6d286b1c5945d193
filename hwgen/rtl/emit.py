"""RTL backend: a design file -> synthesizable Verilog (one engine per chunk), its config
ROMs, the DRAM memory map and constant images, a file list and a README.

Stages: validate (unsupported nodes and sizes -> HwgenError naming them), compile the
program (`hwgen.rtl.program`), render (`hwgen.rtl.render`, the README from
templates/rtl/README.md.j2), write (`hwgen.project.write_files`). The output is
deterministic: the same design and weights give byte-identical files.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from dna.cost.nodes import node_cost
from dna.cost.report import report
from dna.cost.target import Target
from dna.design import Design, save_design
from dna.quant.contract import QuantizedNetwork, acc_bits
from dna.quant.npz import save_npz
from hwgen.backends import register_backend
from hwgen.errors import HwgenError
from hwgen.project import TOOL, design_weights_hash, render, write_files
from hwgen.rtl.memory import constant_images, psum_bytes
from hwgen.rtl.program import Program, build_program
from hwgen.rtl.render import MAX_OPS, file_list, gb_banks, render_rtl

MANIFEST_SCHEMA = "dna-rtl/1"
MAX_GB_WORDS = 1 << 20  # per tensor slot
MAX_RF_WORDS = 4096


def _check_sizes(design: Design, prog: Program) -> None:
    if len(prog.ops) > MAX_OPS:
        raise HwgenError(f"the network needs {len(prog.ops)} ops; the RTL engine's status "
                         f"registers hold at most {MAX_OPS}")
    for h, ch in enumerate(design.accelerator.chunks):
        for level, words, cap in (("gb", ch.gb_words, MAX_GB_WORDS),
                                  ("rf", ch.rf_words, MAX_RF_WORDS)):
            if max(words) > cap:
                raise HwgenError(f"accelerator.chunks[{h}].{level}_words = {list(words)}: "
                                 f"the RTL backend builds at most {cap} words per buffer")


def manifest(design: Design, target: Target, qnet: QuantizedNetwork, prog: Program,
             files: dict[str, str], digest: str) -> dict:
    """What the testbench and a host need: memory map, ops, predicted cycles, files."""
    rep = report(design.network, design.accelerator, target, design.precision)
    pred = {row.name: row.latency_cycles for row in rep.layers}
    nodes = {n.name: n for n in design.network.nodes}
    pred |= {o.node: node_cost(nodes[o.node], target, design.precision).cycles
             for o in prog.ops if o.kind != "conv"}
    consts, offset = {}, 0
    for name, data in constant_images(qnet, prog.memory).items():
        consts[name] = [offset, len(data)]
        offset += len(data)
    return {
        "schema": MANIFEST_SCHEMA, "tool": TOOL, "design_hash": digest,
        "network": design.network.name, "target": target.name, "bits": design.precision,
        "acc_bits": acc_bits(design.precision), "psum_bytes": psum_bytes(design.precision),
        "bus_bytes": prog.bus_bytes, "clock_mhz": target.clock_mhz,
        "dram_bandwidth_gbps": target.dram_bandwidth_gbps, "style": design.accelerator.style,
        "top": "dna_top", "sources": file_list(files),
        "roms": [f"rtl/dna_cfg_c{h}.hex" for h in range(len(design.accelerator.chunks))],
        "ops": [{"index": i, "node": o.node, "kind": o.kind, "chunk": o.chunk,
                 "noc": (design.accelerator.chunks[o.chunk].noc if o.kind == "conv" else None),
                 "predicted_cycles": pred.get(o.node)}
                for i, o in enumerate(prog.ops)],
        "regions": {r.name: [r.addr, r.nbytes] for r in prog.memory.regions.values()},
        "tensors": dict(prog.memory.tensor_of), "dram_bytes": prog.memory.top,
        "act_span": prog.memory.act_span, "frame_copies": prog.memory.copies,
        "predicted_frame_cycles": rep.frame_cycles,
        "predicted_latency_cycles": rep.latency_cycles,
        "constants": consts,
        "gb_banks": [{name: {"banks": nb[t][0], "skew": nb[t][1]} for t, name in
                      (("i", "inputs"), ("w", "weights"), ("o", "outputs"))}
                     for nb in (gb_banks(prog, ch, h, design.precision)
                                for h, ch in enumerate(design.accelerator.chunks))],
    }


def readme(man: dict) -> str:
    """README.md of the generated directory, from the manifest."""
    return render("rtl/README.md.j2", {
        "network": man["network"], "target": man["target"], "tool": man["tool"],
        "design_hash": man["design_hash"], "bus_bits": 8 * man["bus_bytes"],
        "act_bytes": man["bits"] // 8, "psum_bytes": man["psum_bytes"], "ops": man["ops"]})


@register_backend("rtl", ("asic", "fpga"))
def emit(design: Design, target: Target, qnet: QuantizedNetwork, out_dir: Path) -> None:
    """Write the RTL project for `design` into `out_dir` (which the caller made empty)."""
    prog = build_program(design, qnet, target)
    _check_sizes(design, prog)
    digest = design_weights_hash(design, qnet)
    rtl = render_rtl(prog, design.accelerator.chunks, design.precision, digest,
                     target.clock_mhz, pack_dsp=target.kind == "fpga")
    man = manifest(design, target, qnet, prog, rtl, digest)
    write_files(rtl | {
        "manifest.json": json.dumps(man, indent=1) + "\n",
        "filelist.f": "+incdir+rtl\n" + "\n".join(man["sources"]) + "\n",
        "README.md": readme(man),
        "constants.bin": b"".join(constant_images(qnet, prog.memory).values())}, out_dir)
    _save_npz_stable(qnet, out_dir / "weights.npz")
    save_design(design, out_dir / "design.json")


def _save_npz_stable(qnet: QuantizedNetwork, path: Path) -> None:
    """dna.quant.save_npz, re-packed with fixed zip timestamps (byte-identical reruns)."""
    tmp = path.with_suffix(".tmp.npz")
    save_npz(qnet, tmp)
    with zipfile.ZipFile(tmp) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as dst:
        for name in sorted(src.namelist()):
            dst.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)),
                         src.read(name))
    tmp.unlink()
