"""`dna-hwgen csim`, `report` and `graph`: check and inspect what the HLS backend emits."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from dna.cli.errors import user_errors
from hwgen import api
from hwgen.hls.resources import format_resources

MAX_SHOWN = 10  # mismatches printed by csim
HEADER_NOTE = {"compat": "dna_hls_compat.h", "vendor": "vendor ap_int.h, hls_stream.h"}


@click.command()
@click.argument("project", type=click.Path(path_type=Path))
@click.option("--vendor-types", is_flag=True,
              help="Build as Vivado's csim does: DNA_VENDOR_HLS defined, Xilinx's ap_int.h "
                   "and hls_stream.h (pip install --no-deps hls4ml) instead of "
                   "dna_hls_compat.h.")
@user_errors
def csim(project: Path, vendor_types: bool) -> None:
    """C-simulate the HLS project in PROJECT with g++ and compare bit for bit with the
    PyTorch integer reference. Exit code 0 on PASS, 1 on FAIL."""
    r = api.csim(project, headers="vendor" if vendor_types else "compat")
    click.echo(f"{'PASS' if r.passed else 'FAIL'}: {project}: {r.values_checked:,} values "
               f"of {r.tensors_checked} node outputs and the output stream, "
               f"{r.mismatch_count:,} mismatches")
    for m in r.mismatches[:MAX_SHOWN]:
        click.echo(f"  mismatch {m}")
    if r.mismatch_count > MAX_SHOWN:
        click.echo(f"  ... and {r.mismatch_count - MAX_SHOWN:,} more")
    click.echo(f"g++ compile {r.compile_s:.1f} s ({HEADER_NOTE[r.headers]}), testbench "
               f"{r.run_s:.2f} s (dna_top {r.kernel_s:.2f} s)")
    if not r.passed:
        sys.exit(1)


@click.command()
@click.argument("project", type=click.Path(path_type=Path))
@user_errors
def report(project: Path) -> None:
    """DSP, BRAM18K and LUT of the HLS project in PROJECT, estimated from the emitted
    engines, next to the cost model's figures and the target's budget."""
    click.echo(format_resources(api.report(project)))


@click.command()
@click.argument("design_path", metavar="DESIGN", type=click.Path(path_type=Path))
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
              help="Output file: .dot (Graphviz text), or .png / .svg / .pdf (drawn).")
@user_errors
def graph(design_path: Path, out_path: Path) -> None:
    """Write the chunk-pipeline dataflow graph of DESIGN (streams, FIFO depths)."""
    r = api.graph(design_path, out=out_path)
    click.echo(f"wrote {r.out}: {r.chunks} chunk(s), {r.streams} stream(s)")
