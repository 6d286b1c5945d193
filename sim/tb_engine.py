"""cocotb testbench of a generated DNA accelerator (top module dna_top).

Drivers: a clock, the DRAM model (sim.dram, on the AXI4 master) and a host
(cocotbext-axi AxiLiteMaster on the control registers). Stimulus: the constants and a
random quantised input per seed. Monitor: the status registers (cycles, per-op begin and
end). Checker: sim.checker against the reference model (sim.model). One simulator
process runs every seed of the job (the engine restarts between them), and writes a
JSON result the runner (sim.runner) reads; the test itself never fails on a mismatch,
so the result file is always complete.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, First, RisingEdge, Timer, ValueChange
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from hwgen.codec import encode
from sim.checker import first_mismatch
from sim.dram import DramModel
from sim.model import dram_images, load_design_dir, test_vectors
from sim.regs import REG_CTRL, REG_CYC_HI, REG_CYC_LO, REG_FRAMES, REG_OP_BASE, REG_OPS_DONE



async def _run_once(dut, host, dram, d, seed: int, max_cycles: int, clock_ps: int,
                    frames: int = 1) -> dict:
    """Run `frames` frames back to back (frame n: input seed + n), check every frame's
    node outputs when the last engine finishes it, and time each frame's completion."""
    man = d.manifest
    span, copies = man.get("act_span", 0), man.get("frame_copies", 1)
    inputs = [test_vectors(d, seed + n) for n in range(frames)]
    in_addr = d.region("t:input")[0]
    for addr, data in dram_images(d, inputs[0][0]):
        dram.write(addr, data)
    for n in range(1, min(frames, copies)):
        dram.write(in_addr + n * span, encode(inputs[n][0], d.bits // 8))
    await host.write_dword(REG_FRAMES, frames)
    t0 = time.perf_counter()
    sim0 = cocotb.utils.get_sim_time("ps")
    await host.write_dword(REG_CTRL, 1)
    done_at: list[int] = []
    bad = None
    order = [nd for nd in inputs[0][1] if nd in man["tensors"]]
    while len(done_at) < frames and bad is None:
        left = max_cycles * clock_ps - (cocotb.utils.get_sim_time("ps") - sim0)
        if left <= 0:
            break
        await First(ValueChange(dut.frames_done), Timer(left, "ps"))
        while len(done_at) < int(dut.frames_done.value):
            n = len(done_at)
            done_at.append(int(dut.u_axil.cycles.value))
            off = (n % copies) * span
            bad = first_mismatch(lambda a, k, off=off: dram.read(a + off, k), man["tensors"],
                                 man["regions"], inputs[n][1], order, d.bits // 8)
            if bad is not None:
                break
            if n + copies < frames:
                dram.write(in_addr + off, encode(inputs[n + copies][0], d.bits // 8))
    wall = time.perf_counter() - t0
    if bad is None and len(done_at) < frames:
        return {"seed": seed, "status": "TIMEOUT", "wall_s": wall,
                "detail": f"{len(done_at)} of {frames} frames after {max_cycles} cycles; "
                          f"{_snapshot(dut)}"}
    sim_cycles = (cocotb.utils.get_sim_time("ps") - sim0) // clock_ps
    cycles = (await host.read_dword(REG_CYC_HI)) << 32 | await host.read_dword(REG_CYC_LO)
    ops = []
    for i in range(len(man["ops"])):
        begin = await host.read_dword(REG_OP_BASE + 8 * i)
        end = await host.read_dword(REG_OP_BASE + 8 * i + 4)
        ops.append({"index": i, "cycles": end - begin})
    return {"seed": seed, "status": "PASS" if bad is None else "FAIL", "cycles": cycles,
            "frames": frames, "frame_done_cycles": done_at,
            "ops_done": await host.read_dword(REG_OPS_DONE), "ops": ops, "wall_s": wall,
            "sim_cycles": sim_cycles,
            "mismatch": None if bad is None else f"frame {len(done_at) - 1}: {bad}"
            if frames > 1 else str(bad)}


# Unit progress counters and states, reported when a run hangs (engine 0).
_PROBES = ("u_cu.busy", "u_cu.ti", "u_cu.tw", "u_cu.to", "u_afu_i.filled", "u_afu_i.gb_rel",
           "u_afu_w.filled", "u_afu_w.gb_rel", "u_aou.prepared", "u_aou.drained",
           "u_aou.gb_rel", "u_dma_i.filled", "u_dma_i.v", "u_dma_w.filled", "u_dma_w.v",
           "u_dma_o.st", "u_dma_o.gb_prep", "u_dma_o.ev", "u_dma_o.outstanding",
           "u_ew.st", "u_ew.wb", "u_ew.nb", "u_ew.aw_done", "u_ew.aw_held", "u_ew.have",
           "u_ew.outstanding", "est", "pc")


def _signal(eng, path: str):
    """The handle of `path` ("u_cu.ti") below engine `eng`."""
    h = eng
    for part in path.split("."):
        h = getattr(h, part)
    return h


def _snapshot(dut) -> str:
    vals = []
    for name in _PROBES:
        try:
            vals.append(f"{name}={int(_signal(dut.u_engine0, name).value)}")
        except (AttributeError, ValueError):
            vals.append(f"{name}=?")
    return " ".join(vals)


# Visit and tile counters of engine 0, traced on every change by a --stalls run.
TRACED = {"cu.inputs_tile": "u_cu.ti", "cu.weights_tile": "u_cu.tw",
          "cu.outputs_tile": "u_cu.to", "afu_i.filled": "u_afu_i.filled",
          "afu_i.released": "u_afu_i.gb_rel", "afu_w.filled": "u_afu_w.filled",
          "afu_w.released": "u_afu_w.gb_rel", "dma_i.issued": "u_dma_i.v",
          "dma_i.filled": "u_dma_i.filled", "dma_w.issued": "u_dma_w.v",
          "dma_w.filled": "u_dma_w.filled", "aou.prepared": "u_aou.prepared",
          "aou.drained": "u_aou.drained", "aou.released": "u_aou.gb_rel",
          "dma_o.prepared": "u_dma_o.gb_prep", "dma_o.written": "u_dma_o.ev"}


async def _probe(dut, counts: dict, trace: list) -> None:
    """Per cycle while the compute unit is busy: why it does not MAC; on every cycle, the
    changes of the TRACED counters as (cycle, name, value) (--stalls runs only)."""
    eng = dut.u_engine0
    cu = eng.u_cu
    handles = {name: _signal(eng, path) for name, path in TRACED.items()}
    last: dict = {}
    cycle = 0
    while True:
        await RisingEdge(dut.clk)
        cycle += 1
        for name, h in handles.items():
            try:
                v = int(h.value)
            except ValueError:
                continue
            if last.get(name) != v:
                last[name] = v
                trace.append((cycle, name, v))
        if not int(cu.busy.value):
            continue
        op = int(eng.pc.value)
        c = counts.setdefault(op, {"mac": 0, "wait_i": 0, "wait_w": 0, "wait_o_drain": 0})
        if int(cu.mac_en.value):
            c["mac"] += 1
            continue
        ti, to = int(cu.ti.value), int(cu.to.value)
        if int(cu.fill_i.value) <= ti:
            c["wait_i"] += 1
        elif int(cu.fill_w.value) <= int(cu.tw.value):
            c["wait_w"] += 1
        elif int(cu.prep_o.value) <= to:
            aou = eng.u_aou
            gb_short = int(aou.gb_prep.value) <= int(aou.rv.value)
            key = "wait_o_prep" + ("_dram" if gb_short else "_port")
            c[key] = c.get(key, 0) + 1
        else:
            c["wait_o_drain"] += 1


@cocotb.test()
async def run_job(dut):
    """Run every seed of the job in DNA_SIM_JOB and write its result file."""
    job = json.loads(Path(os.environ["DNA_SIM_JOB"]).read_text())
    d = load_design_dir(job["design_dir"])
    clock_ps = round(1e6 / d.manifest["clock_mhz"])
    cocotb.start_soon(Clock(dut.clk, clock_ps, "ps").start())
    dut.rst_n.value = 0
    dram = DramModel(dut, "m_axi", dut.clk, dut.rst_n, size=d.manifest["dram_bytes"],
                     clock_ps=clock_ps, latency=job["latency"],
                     beats_per_cycle=job["beats_per_cycle"],
                     backpressure_seed=job.get("backpressure_seed"))
    host = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst_n,
                         reset_active_level=False)
    host.write_if.log.setLevel("WARNING")
    host.read_if.log.setLevel("WARNING")
    await ClockCycles(dut.clk, 4)
    dut.rst_n.value = 1
    await ClockCycles(dut.clk, 2)
    probe: dict = {}
    trace: list = []
    if job.get("probe"):
        cocotb.start_soon(_probe(dut, probe, trace))
    runs = []
    for seed in job["seeds"]:
        runs.append(await _run_once(dut, host, dram, d, seed, job["max_cycles"], clock_ps,
                                    job.get("frames", 1)))
        if runs[-1]["status"] != "PASS":
            break
    if job.get("probe"):
        rows = "".join(f"{c},{n},{v}\n" for c, n, v in trace)
        (Path(job["result"]).parent / "trace.csv").write_text("cycle,counter,value\n" + rows)
    Path(job["result"]).write_text(json.dumps({"runs": runs, "probe": probe}, indent=1))
