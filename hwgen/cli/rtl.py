"""`dna-hwgen sim`: simulate a directory written by the RTL backend (cocotb + Verilator)
and check every output bit-exactly against the PyTorch integer reference."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from hwgen.errors import HwgenError


def _check_dir(path: Path) -> dict:
    man = path / "manifest.json"
    if not man.is_file():
        raise HwgenError(f"{path}: not a directory written by `dna-hwgen emit` for an ASIC "
                         f"target (no manifest.json)")
    data = json.loads(man.read_text())
    if data.get("schema") != "dna-rtl/1":
        raise HwgenError(f"{man}: schema {data.get('schema')!r} is not 'dna-rtl/1'")
    return data


def register(main: click.Group) -> None:
    """Add the `sim` command to dna-hwgen."""
    from hwgen.cli.main import user_errors

    @main.command()
    @click.argument("design_dir", type=click.Path(path_type=Path))
    @click.option("--waves", is_flag=True, help="Dump a VCD trace (sim_run/dump.vcd).")
    @click.option("--seeds", default=1, show_default=True,
                  help="Random inputs to run (seeds 0..N-1), one build and one simulator.")
    @click.option("--latency", default=None, type=int,
                  help="DRAM latency in cycles [default: the cost model's, at the clock].")
    @click.option("--backpressure", "bp_seed", default=None, type=int,
                  help="Add random AXI back-pressure (seed) on top of the DRAM model.")
    @click.option("--max-cycles", default=5_000_000, show_default=True,
                  help="Give up after this many cycles per input.")
    @click.option("--stalls", is_flag=True,
                  help="Also count, per op, why engine 0's MACs waited, and write its tile "
                       "and visit counters on every change to sim_run/trace.csv.")
    @user_errors
    def sim(design_dir: Path, waves: bool, seeds: int, latency: int | None,
            bp_seed: int | None, max_cycles: int, stalls: bool) -> None:
        """Simulate DESIGN_DIR (from `dna-hwgen emit --target asic45`) and report cycles."""
        from dna.cost.model import dram_latency_cycles
        from sim.report import format_stalls, format_table, op_cycles
        from sim.runner import SimError, run
        man = _check_dir(design_dir)
        if latency is None:
            latency = dram_latency_cycles(man["clock_mhz"])
        click.echo(f"{man['network']} on {man['target']}: {len(man['ops'])} ops, "
                   f"{man['bits']}-bit, {8 * man['bus_bytes']}-bit AXI, DRAM "
                   f"{man['dram_bandwidth_gbps']:g} GB/s, latency {latency} cycles"
                   + (f", back-pressure seed {bp_seed}" if bp_seed is not None else ""))
        try:
            res = run(design_dir, seeds=tuple(range(seeds)), latency=latency,
                      backpressure_seed=bp_seed, waves=waves, max_cycles=max_cycles,
                      run_dir=design_dir / "sim_run", probe=stalls)
        except SimError as e:
            raise HwgenError(str(e)) from None
        b = res.build
        click.echo(f"verilator build: {'reused cached build' if b.cached else f'{b.seconds:.1f} s'}"
                   f" ({b.build_dir})")
        if res.runs and "ops" in res.runs[-1]:
            click.echo(format_table(op_cycles(man, res)))
        cyc = sum(r.get("sim_cycles", 0) for r in res.runs)
        click.echo(f"simulated {cyc:,.0f} cycles ({len(res.runs)} input(s)) at "
                   f"{res.sim_speed():,.0f} cycles/s; simulator wall time {res.wall_s:.1f} s")
        if stalls and res.probe:
            click.echo(format_stalls(man, res.probe, len(res.runs)))
            click.echo(f"counter trace: {design_dir / 'sim_run' / 'trace.csv'}")
        if waves:
            click.echo(f"waves: {design_dir / 'sim_run' / 'dump.vcd'}")
        if res.status == "PASS":
            n = len([t for t in man["tensors"] if t != "input"])
            click.echo(f"PASS: {n} node outputs bit-exact with the PyTorch integer reference "
                       f"for {len(res.runs)} input(s)")
            return
        click.echo(f"{res.status}: {res.detail}", err=True)
        sys.exit(1)
