"""The FPGA backend: a Vivado/Vitis HLS project from a design file.

design -> chunk graph (hwgen.graph) -> template context (hwgen.hls.context) -> Jinja2
templates (templates/hls, hwgen.project) plus the library headers copied as they are ->
test vectors from the PyTorch integer reference (dna.quant.reference) -> files. The same design
and weights give byte-identical files.
"""
from __future__ import annotations

import json
from pathlib import Path

from dna.cost.target import Target
from dna.design import Design, save_design
from dna.quant.contract import MULTIPLIER_BITS, SHIFT_MAX, QuantizedNetwork
from dna.quant.reference import make_test_vectors
from hwgen.backends import register_backend
from hwgen.codec import encode
from hwgen.errors import HwgenError
from hwgen.graph import GraphError, build_graph
from hwgen.hls.context import build_context
from hwgen.hls.csim import VENDOR_CFLAGS
from hwgen.hls.synthcheck import MAX_COMPLETE, check_project
from hwgen.project import (
    TOOL,
    design_file_hash,
    generated_by,
    json_hash,
    render,
    short_hash,
    template_dir,
    write_files,
)

PARTS = {"zc706": "xc7z045ffg900-2", "zcu102": "xczu9eg-ffvb1156-2-e"}  # target -> FPGA part
STATIC_FILES = ("src/dna_hls.h", "src/dna_hls_compat.h", "src/dna_engine.h", "src/dna_ops.h")
RENDERED_FILES = ("src/dna_config.h", "src/dna_params.h", "src/dna_top.h", "src/dna_top.cpp",
                  "tb/tb_manifest.h", "tb/tb.cpp", "run_hls.tcl", "README.md")
CSIM_SOURCES = ("src/dna_top.cpp", "tb/tb.cpp")
PROJECT_SCHEMA = "dna-hls-project/1"
TEST_SEED = 0  # seed of the test input (dna.quant.reference.make_test_vectors)
VALUES_PER_ROW = 12  # values per line of the generated parameter arrays


@register_backend("hls", ("fpga",))
def emit(design: Design, target: Target, qnet: QuantizedNetwork, out_dir: Path) -> None:
    """Write the HLS project of `design` on FPGA `target` into `out_dir`."""
    emit_project(design, target, qnet, Path(out_dir))


def emit_project(design: Design, target: Target, qnet: QuantizedNetwork, out_dir: Path, *,
                 seed: int = TEST_SEED) -> dict:
    """Write the project and return its manifest (the content of project.json)."""
    if target.kind != "fpga" or target.name not in PARTS:
        raise HwgenError(f"no FPGA part known for target {target.name!r}: the HLS backend "
                         f"builds for {', '.join(sorted(PARTS))}")
    try:
        graph = build_graph(design)
    except GraphError as e:
        raise HwgenError(f"dataflow graph: {e}") from None
    ctx = build_context(design, target, qnet, graph)
    x, golden = make_test_vectors(qnet, seed, batch=design.network.input_shape.n)
    data, tensors, out = _data_files(design, qnet, ctx, x, golden)
    design_hash = design_file_hash(design)
    weights_hash = short_hash(  # the weight images and the bias/requantisation arrays
        b"".join(data[k] for k in sorted(data) if k.startswith("data/wgt"))
        + json_hash({"params": [c["params"] for c in ctx["chunks"]]}).encode())
    _complete_context(ctx, design, target, design_hash, weights_hash)
    ctx |= {"tensors": tensors, "out": out, "expected_size": sum(t["size"] for t in tensors)}
    files = dict(data) | _render(ctx)
    check_project(files, ctx)
    manifest = _manifest(design, target, ctx, design_hash, weights_hash, seed,
                         sorted([*files, "design.json"]) + ["project.json"])
    files["project.json"] = (json.dumps(manifest, indent=1) + "\n").encode()
    write_files(files, out_dir)
    save_design(design, out_dir / "design.json")
    return manifest


def _complete_context(ctx: dict, design: Design, target: Target, design_hash: str,
                      weights_hash: str) -> None:
    """Add the project-level entries (header, part, clock, ports) and the engines'
    interfaces to the context from hwgen.hls.context."""
    for c in ctx["chunks"]:
        _engine_interface(c)
        for p in c["params"]:
            for key in ("bias", "mult", "shift"):
                vals = p[key]
                p[f"{key}_rows"] = [vals[i:i + VALUES_PER_ROW]
                                    for i in range(0, len(vals), VALUES_PER_ROW)]
    net = design.network
    ctx |= {
        "header": f"{generated_by('HLS', design_hash)}, weights {weights_hash}. Do not edit.",
        "design_hash": design_hash, "target": target.name, "part": PARTS[target.name],
        "clock_mhz": f"{target.clock_mhz:g}", "clock_period_ns": f"{1000 / target.clock_mhz:g}",
        "project": f"dna_{_slug(net.name)}_prj", "project_dir_hint": "<this directory>",
        "mult_bits": MULTIPLIER_BITS, "shift_bits": SHIFT_MAX.bit_length(),
        "ports": [p for c in ctx["chunks"] for p in c["ports"]],
        "tb_args": [f"{a}.data()" for c in ctx["chunks"] for a in c["port_args"]],
        "bytes": design.precision // 8,
        "input_shape": _shape(net.input_shape), "output_shape": _shape(net.output.out_shape),
        "vendor_cflags": " ".join(VENDOR_CFLAGS), "max_complete": MAX_COMPLETE,
    }


def _render(ctx: dict) -> dict[str, bytes]:
    """The rendered templates and the library files, copied."""
    files = {name: render(f"hls/{name}.j2", ctx).encode() for name in RENDERED_FILES}
    return files | {name: (template_dir("hls") / name).read_bytes() for name in STATIC_FILES}


def _shape(s) -> str:
    return f"{s.n}x{s.c}x{s.h}x{s.w}"


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _engine_interface(c: dict) -> None:
    """Stream and memory parameters of chunk `c`'s engine, its top-level ports and the
    arguments the top function (and the testbench) pass."""
    cid, cfg = c["id"], c["cfg"]
    outs = list(dict.fromkeys(v for o in c["outs"] for v in o["vars"]))
    streams = [s["var"] for s in c["ins"]] + outs
    mem = [("fmap", "act_t*", "gmem", c["fmap_words"], "feature maps"),
           ("wgt", "const wgt_t*", "wgt", c["wgt_words"], "weight image")]
    if c["psum_words"]:
        mem.append(("psum", "acc_t*", "gmem", c["psum_words"], "partial-sum scratch"))
    c["engine_params"] = ([f"hls::stream<act_t>& {s}" for s in streams]
                          + [f"{t} {n}" for n, t, _, _, _ in mem])
    c["port_args"] = [f"{n}_{cid}" for n, *_ in mem]
    c["engine_args"] = streams + c["port_args"]
    c["ports"] = [{"name": f"{n}_{cid}", "decl": f"{t} {n}_{cid}", "bundle": f"{b}_{cid}",
                   "depth": words, "doc": f"chunk {c['index']} {doc}"}
                  for n, t, b, words, doc in mem]
    banks = c["banks"]
    c["buffers"] = [
        {"name": "in_gb", "type": "act_t", "dims": f"[{cfg}::GB_IN]", "banks": banks["inputs"]},
        {"name": "w_gb", "type": "wgt_t", "dims": f"[{cfg}::GB_W]", "banks": banks["weights"]},
        {"name": "out_gb", "type": "acc_t", "dims": f"[{cfg}::GB_OUT]",
         "banks": banks["outputs"]},
        {"name": "in_rf", "type": "act_t", "dims": f"[{cfg}::PES][{cfg}::RF_IN]", "banks": 0},
        {"name": "w_rf", "type": "wgt_t", "dims": f"[{cfg}::PES][{cfg}::RF_W]", "banks": 0},
        {"name": "o_rf", "type": "acc_t", "dims": f"[{cfg}::PES][{cfg}::RF_OUT]", "banks": 0}]
    for b in c["buffers"]:
        b["partition"] = ("complete dim=1" if b["banks"] == 0 else
                          f"cyclic factor={b['banks']}" if b["banks"] > 1 else "")


def _data_files(design: Design, qnet: QuantizedNetwork, ctx: dict, x, golden):
    """data/*.bin (input, expected outputs of every node, weight images), the testbench's
    tensor table and its entry for the output stream."""
    bits, net = design.precision, design.network
    data = {"data/input.bin": encode(x.numpy(), bits // 8)}
    tensors, expected, off = [], [], 0
    for node in net.nodes:
        pl, s = ctx["place"][node.name], node.out_shape
        tensors.append({"node": node.name, "chunk": pl.chunk, "offset": pl.offset,
                        "expected": off, "size": s.elements, "c": s.c, "h": s.h, "w": s.w})
        expected.append(encode(golden[node.name].numpy(), bits // 8))
        off += s.elements
    data["data/expected.bin"] = b"".join(expected)
    for c in ctx["chunks"]:
        convs = [op["name"] for op in c["ops"] if op["kind"] == "conv"]
        data[f"data/wgt_{c['id']}.bin"] = b"".join(encode(qnet.nodes[n].weight, bits // 8)
                                                   for n in convs)
    out = dict(tensors[-1], node=f"{net.output.name} (out stream)", chunk=-1, offset=0)
    return data, tensors, out


def _manifest(design: Design, target: Target, ctx: dict, design_hash: str,
              weights_hash: str, seed: int, files: list[str]) -> dict:
    """project.json: provenance, and the hardware inventory of what was emitted (read by
    `dna-hwgen report`)."""
    bits, acc = ctx["bits"], ctx["acc_bits"]
    width = {"act_t": bits, "wgt_t": bits, "acc_t": acc}
    chunks = []
    for c in ctx["chunks"]:
        gb = dict(zip(("in_gb", "w_gb", "out_gb"), c["gb"].values()))
        rf = dict(zip(("in_rf", "w_rf", "o_rf"), c["rf"].values()))
        chunks.append({
            "index": c["index"], "noc": c["noc"], "unroll": c["unroll"], "pes": c["pes"],
            "layers": c["layers"],
            "conv_nests": sum(op["kind"] == "conv" for op in c["ops"]),
            "passes": [op["unit"] for op in c["ops"] if op["kind"] == "node"],
            "buffers": [{"name": b["name"], "bits": width[b["type"]],
                         "words": gb[b["name"]] if b["name"] in gb else rf[b["name"]] * c["pes"],
                         "banks": b["banks"] or rf[b["name"]] * c["pes"],
                         "kind": "rf" if b["banks"] == 0 else "gb"} for b in c["buffers"]],
            "memory_words": {"fmap": c["fmap_words"], "wgt": c["wgt_words"],
                             "psum": c["psum_words"]}})
    return {"schema": PROJECT_SCHEMA, "generator": TOOL,
            "design_hash": design_hash, "weights_hash": weights_hash,
            "network": design.network.name, "target": target.name,
            "part": PARTS[target.name], "clock_mhz": target.clock_mhz, "precision": bits,
            "acc_bits": acc, "test_seed": seed, "top": "dna_top",
            "csim": {"sources": list(CSIM_SOURCES), "data_dir": "data",
                     "vendor_cflags": list(VENDOR_CFLAGS)},
            "chunks": chunks,
            "streams": [{"var": s["var"], "tensor": s["tensor"], "src": s["src"],
                         "dst": s["dst"], "depth": s["depth"], "bits": bits}
                        for s in ctx["streams"]],
            "files": files}
