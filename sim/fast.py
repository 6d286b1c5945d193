"""The fast path: the generated Verilog compiled by Verilator with a C++ testbench
(sim/fast_tb.cpp) in place of cocotb, for long runs (whole networks, many frames).

The DRAM model in C++ is sim/dram.py's without back-pressure: the same latency (as the
cocotb channels realise it, READ_EXTRA_CYCLES), in-order service and one token bucket
for R and W beats at the target's bandwidth. Python writes the job (DRAM image, inputs,
which byte ranges to dump per frame), runs the binary, and checks every frame's node
outputs bit-exactly against the integer reference, the same check as the cocotb
testbench (sim.checker). Results have the cocotb runs' schema, so
sim.report reads both. Back-pressure, wave traces and stall probes stay with cocotb.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hwgen.codec import encode
from sim.checker import first_mismatch
from sim.model import dram_images, load_design_dir, test_vectors
from sim.regs import REG_CTRL, REG_CYC_HI, REG_CYC_LO, REG_FRAMES, REG_OP_BASE, REG_OPS_DONE
from sim.runner import (
    Build,
    SimError,
    SimResult,
    build_key,
    cache_dir,
    cached_build,
    dram_defaults,
)
from sim.simulators import SIMULATORS, VERILATOR_ARGS, sim_env

HARNESS = Path(__file__).with_name("fast_tb.cpp")
# The cocotb DRAM (sim/dram.py) answers `latency` cycles after it has taken a request off
# its channel, one cycle after the handshake, and its R and B sources drive a queued
# response at the next edge: 2 cycles on top of `latency` for reads and write responses.
# The fast DRAM adds the same, so both testbenches (and the model's constants, measured on
# cocotb) agree to a few cycles per op (tests/test_rtl_sim.py).
READ_EXTRA_CYCLES = 2
WRITE_EXTRA_CYCLES = 2
NAME = "verilator-cxx"  # Build.simulator of fast builds
BINARY = "dna_tb"


def build(design_dir: str | Path, *, cache_root: str | Path | None = None,
          jobs: int = 2) -> Build:
    """Build (or reuse) the Verilated model of `design_dir` linked with the C++ testbench."""
    design_dir = Path(design_dir).resolve()
    man = json.loads((design_dir / "manifest.json").read_text())
    sources = [str(design_dir / s) for s in man["sources"]]
    key = hashlib.sha256((build_key(design_dir, False, SIMULATORS["verilator"])
                          + HARNESS.read_text()).encode()).hexdigest()[:20]

    def make(bdir: Path, log: Path) -> None:
        cmd = ["verilator", "--cc", "--exe", "--build", *VERILATOR_ARGS, "-Wno-lint",
               "-Wno-style", "--top-module", man["top"], f"-I{design_dir / 'rtl'}",
               "-Mdir", str(bdir), "-o", BINARY, "-j", str(jobs), *sources, str(HARNESS)]
        with open(log, "w") as f:
            proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, check=False)
        if proc.returncode != 0 or not (bdir / BINARY).exists():
            raise SimError(f"Verilator build of the fast testbench failed; log: {log}")

    with sim_env(SIMULATORS["verilator"], build=True):  # VERILATOR_ROOT, PATH, MAKEFLAGS
        return cached_build(cache_dir(design_dir, cache_root), key, NAME, make)


def run(design_dir: str | Path, *, seeds: tuple[int, ...] = (0,), latency: int | None = None,
        beats_per_cycle: float | None = None, cache_root: str | Path | None = None,
        max_cycles: int = 2_000_000, run_dir: str | Path | None = None, frames: int = 1,
        progress: Callable[[str], None] | None = None) -> SimResult:
    """Build if needed, then run every seed (`frames` frames back to back each) and check
    every node output bit-exactly; arguments as sim.runner.run."""
    design_dir = Path(design_dir).resolve()
    d = load_design_dir(design_dir)
    b = build(design_dir, cache_root=cache_root)
    latency, beats_per_cycle = dram_defaults(d.manifest, latency, beats_per_cycle)
    rdir = Path(run_dir or tempfile.mkdtemp(prefix="dna_fast_")).resolve()
    rdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    runs: list[dict] = []
    for seed in seeds:
        runs.append(_run_seed(d, b, rdir / f"seed{seed}", seed, latency, beats_per_cycle,
                              max_cycles, frames, progress))
        if runs[-1]["status"] != "PASS":
            break
    wall = time.perf_counter() - t0
    bad = next((r for r in runs if r["status"] != "PASS"), None)
    status = "PASS" if bad is None else bad["status"]
    detail = "" if bad is None else (bad.get("mismatch") or bad.get("detail", ""))
    log = rdir / f"seed{seeds[len(runs) - 1]}" / "sim.log" if runs else None
    return SimResult(status, tuple(runs), b, wall, log, detail)


def _run_seed(d, b: Build, rdir: Path, seed: int, latency: int, bpc: float,
              max_cycles: int, frames: int, progress) -> dict:
    """Write the job of one seed, run the binary, check its frame dumps."""
    shutil.rmtree(rdir, ignore_errors=True)
    rdir.mkdir(parents=True)
    man, ebytes = d.manifest, d.bits // 8
    for rom in man["roms"]:  # $readmemh'd from the working directory
        shutil.copy(d.path / rom, rdir / Path(rom).name)
    span, copies = man.get("act_span", 0), man.get("frame_copies", 1)
    inputs = [test_vectors(d, seed + n) for n in range(frames)]
    in_addr = d.region("t:input")[0]
    records = list(dram_images(d, inputs[0][0]))
    records += [(in_addr + n * span, encode(inputs[n][0], ebytes))
                for n in range(1, min(frames, copies))]
    with open(rdir / "image.bin", "wb") as f:
        for addr, data in records:
            f.write(struct.pack("<QQ", addr, len(data)) + data)
    order = [nd for nd in inputs[0][1] if nd in man["tensors"]]
    checks = [(man["regions"][man["tensors"][nd]][0], inputs[0][1][nd].size * ebytes)
              for nd in order]
    lines = [f"dram_bytes {man['dram_bytes']}", f"bus_bytes {man['bus_bytes']}",
             f"r_latency {latency + READ_EXTRA_CYCLES}",
             f"b_latency {latency + WRITE_EXTRA_CYCLES}", f"bpc {bpc!r}",
             f"max_cycles {max_cycles}", f"frames {frames}", f"copies {copies}", f"span {span}",
             f"ops {len(man['ops'])}", f"image {rdir / 'image.bin'}", f"out {rdir}",
             f"regs {REG_CTRL} {REG_FRAMES} {REG_CYC_LO} {REG_CYC_HI} {REG_OPS_DONE} "
             f"{REG_OP_BASE}"]
    for n in range(copies, frames):
        path = rdir / f"input{n}.bin"
        path.write_bytes(encode(inputs[n][0], ebytes))
        lines.append(f"input {n} {in_addr} {path}")
    lines += [f"check {a} {k}" for a, k in checks]
    (rdir / "job.txt").write_text("\n".join(lines) + "\n")
    t0 = time.perf_counter()
    with open(rdir / "sim.log", "w") as log:
        proc = subprocess.Popen([str(b.build_dir / BINARY), str(rdir / "job.txt")],
                                stdout=log, stderr=subprocess.PIPE, text=True, cwd=rdir)
        for line in proc.stderr:
            log.write(line)
            if progress and line.startswith("dna_tb: cycle"):
                progress(line.strip())
        proc.wait()
    wall = time.perf_counter() - t0
    res = _read_result(rdir / "result.txt") if proc.returncode == 0 else None
    if res is None:
        return {"seed": seed, "status": "CRASH", "wall_s": wall,
                "detail": f"the fast testbench failed (exit {proc.returncode}); "
                          f"log: {rdir / 'sim.log'}"}
    done_at = [c for _, c in sorted(res["frame"])]
    if res["status"] == "TIMEOUT":
        return {"seed": seed, "status": "TIMEOUT", "wall_s": wall,
                "detail": f"{len(done_at)} of {frames} frames after {max_cycles} cycles"}
    offsets, pos = {}, 0  # where each checked region lies in a frame's dump
    for a, k in checks:
        offsets[a] = pos
        pos += k
    bad = None
    for n in range(frames):
        dump = (rdir / f"frame{n}.bin").read_bytes()
        bad = first_mismatch(lambda a, k, o=offsets, m=dump: m[o[a]:o[a] + k],
                             man["tensors"], man["regions"], inputs[n][1], order, ebytes)
        if bad is not None:
            break
    ops = [{"index": i, "cycles": e - s} for i, s, e in sorted(res["op"])]
    return {"seed": seed, "status": "PASS" if bad is None else "FAIL",
            "cycles": res["cycles"], "frames": frames, "frame_done_cycles": done_at,
            "ops_done": res["ops_done"], "ops": ops, "wall_s": res["wall_s"],
            "sim_cycles": res["sim_cycles"],
            "mismatch": None if bad is None else
            (f"frame {n}: {bad}" if frames > 1 else str(bad))}


def _read_result(path: Path) -> dict | None:
    """result.txt of the binary: scalars, and lists of `frame n cycles`, `op i begin end`."""
    if not path.exists():
        return None
    out: dict = {"frame": [], "op": []}
    for line in path.read_text().splitlines():
        key, *vals = line.split()
        if key in ("frame", "op"):
            out[key].append(tuple(int(v) for v in vals))
        elif key == "status":
            out[key] = vals[0]
        elif key == "wall_s":
            out[key] = float(vals[0])
        else:
            out[key] = int(vals[0])
    return out
