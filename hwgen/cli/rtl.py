"""`dna-hwgen sim`: simulate a directory written by the RTL backend (cocotb + Verilator or
Icarus) and check every output bit-exactly against the PyTorch integer reference."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from dna.cli.errors import user_errors
from dna.cost.model import dram_latency_cycles
from hwgen import api
from sim.report import format_frames, format_stalls, format_table, op_cycles
from sim.runner import SimResult
from sim.simulators import get_simulator, simulator_names


@click.command()
@click.argument("design_dir", type=click.Path(path_type=Path))
@click.option("--simulator", default="verilator", show_default=True, metavar="NAME",
              help=f"HDL simulator: {', '.join(simulator_names())}.")
@click.option("--waves", is_flag=True,
              help="Dump a wave trace (sim_run/dump.vcd; dump.fst with icarus).")
@click.option("--seeds", default=1, show_default=True,
              help="Random inputs to run (seeds 0..N-1), one build and one simulator.")
@click.option("--latency", default=None, type=int,
              help="DRAM latency in cycles [default: the cost model's, at the clock].")
@click.option("--backpressure", "bp_seed", default=None, type=int,
              help="Add random AXI back-pressure (seed) on top of the DRAM model.")
@click.option("--frames", default=1, show_default=True,
              help="Frames per input, back to back (frame n: input seed + n): prints the "
                   "steady-state frame interval and the first frame's latency next to the "
                   "model's frame_cycles and latency_cycles.")
@click.option("--max-cycles", default=5_000_000, show_default=True,
              help="Give up after this many cycles per input.")
@click.option("--fast", is_flag=True,
              help="Verilator with a C++ testbench and DRAM model in place of cocotb: "
                   "the same bandwidth, latency and bit-exact check, 20-40x the speed, "
                   "for whole networks and many frames (no --backpressure, --waves, "
                   "--stalls).")
@click.option("--stalls", is_flag=True,
              help="Also count, per op, why engine 0's MACs waited, and write its tile "
                   "and visit counters on every change to sim_run/trace.csv.")
@user_errors
def sim(design_dir: Path, simulator: str, waves: bool, seeds: int, latency: int | None,
        bp_seed: int | None, frames: int, max_cycles: int, fast: bool, stalls: bool) -> None:
    """Simulate DESIGN_DIR (from `dna-hwgen emit` for an ASIC target, e.g. asic45) and
    report cycles."""
    waves_file = get_simulator(simulator).waves_file  # an unknown name fails first
    if fast:
        api.check_fast(backpressure_seed=bp_seed, waves=waves, stalls=stalls,
                       simulator=simulator)
    man = api.rtl_manifest(design_dir)
    if latency is None:
        latency = dram_latency_cycles(man["clock_mhz"])
    click.echo(f"{man['network']} on {man['target']}: {len(man['ops'])} ops, "
               f"{man['bits']}-bit, {8 * man['bus_bytes']}-bit AXI, DRAM "
               f"{man['dram_bandwidth_gbps']:g} GB/s, latency {latency} cycles"
               + (f", back-pressure seed {bp_seed}" if bp_seed is not None else ""))
    run_dir = design_dir / "sim_run"
    res = api.sim(design_dir, seeds=tuple(range(seeds)), latency=latency,
                  backpressure_seed=bp_seed, waves=waves, max_cycles=max_cycles,
                  stalls=stalls, simulator=simulator, run_dir=run_dir, frames=frames,
                  fast=fast, progress=lambda line: click.echo(line, err=True))
    _print_result(man, res, run_dir, stalls, run_dir / waves_file if waves else None)


def _print_result(man: dict, res: SimResult, run_dir: Path, stalls: bool,
                  waves: Path | None) -> None:
    """The build line, the per-op cycle table, speed, stalls, and the verdict (exit 1 if
    not PASS)."""
    b = res.build
    click.echo(f"{b.simulator} build: "
               f"{'reused cached build' if b.cached else f'{b.seconds:.1f} s'} ({b.build_dir})")
    if res.runs and "ops" in res.runs[-1]:
        click.echo(format_table(op_cycles(man, res)))
        if res.runs[-1].get("frames", 1) > 1:
            click.echo(format_frames(man, res.runs[-1]["frame_done_cycles"]))
    cyc = sum(r.get("sim_cycles", 0) for r in res.runs)
    click.echo(f"simulated {cyc:,.0f} cycles ({len(res.runs)} input(s)) at "
               f"{res.sim_speed():,.0f} cycles/s; simulator wall time {res.wall_s:.1f} s")
    if stalls and res.probe:
        click.echo(format_stalls(man, res.probe, len(res.runs)))
        click.echo(f"counter trace: {run_dir / 'trace.csv'}")
    if waves:
        click.echo(f"waves: {waves}")
    if res.status == "PASS":
        n = len([t for t in man["tensors"] if t != "input"])
        click.echo(f"PASS: {n} node outputs bit-exact with the PyTorch integer reference "
                   f"for {len(res.runs)} input(s)")
        return
    click.echo(f"{res.status}: {res.detail}", err=True)
    sys.exit(1)
