"""`dna-hwgen` command line: from a design file to an HLS project or Verilog, and checks.

Every command parses its options, calls hwgen.api and prints the result."""
from __future__ import annotations

from pathlib import Path

import click

from dna import __version__
from dna.cli.errors import user_errors
from dna.cost.target import target_names
from hwgen import api
from hwgen.backends import BACKENDS
from hwgen.cli import hls, rtl, synth


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dna-hwgen")
def main() -> None:
    """Generate hardware from a DNA design file and verify it.

    emit writes a Vivado HLS project (FPGA targets) or Verilog (ASIC targets, and FPGA
    targets with --backend rtl); the other commands simulate, synthesise or inspect what
    emit wrote.
    """


@main.command()
@click.option("--design", "design_path", required=True, type=click.Path(path_type=Path),
              help="Design file (dna-design/1), e.g. out/best.json.")
@click.option("--target", "target_spec", default=None, metavar="NAME",
              help=f"Target to build for: {', '.join(target_names())}, or a target YAML "
                   f"file [default: the target the design was searched for].")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Output directory (replaced as a whole; never left half-written).")
@click.option("--weights-seed", default=0, show_default=True,
              help="Seed of random quantised weights when the design has none.")
@click.option("--backend", type=click.Choice(sorted(BACKENDS)), default=None,
              help="hls: a Vivado HLS C++ project (FPGA targets); rtl: Verilog (ASIC and "
                   "FPGA targets) [default: hls for an FPGA target, rtl for an ASIC one].")
@user_errors
def emit(design_path: Path, target_spec: str | None, out_dir: Path, weights_seed: int,
         backend: str | None) -> None:
    """Write the hardware project for DESIGN into OUT, for TARGET (default: the design's
    own): an HLS project for an FPGA target, Verilog for an ASIC one (or, with
    --backend rtl, for an FPGA one)."""
    r = api.emit(design_path, out=out_dir, target=target_spec, weights_seed=weights_seed,
                 backend=backend, note=lambda line: click.echo(f"note: {line}", err=True))
    click.echo(f"wrote {r.files} files to {r.out_dir} ({r.backend} backend for "
               f"{r.target.kind} target {r.target.name}, {r.seconds:.1f} s)")


# the backends' own commands
for _command in (hls.csim, hls.report, hls.graph, rtl.sim, synth.synth):
    main.add_command(_command)

if __name__ == "__main__":
    main()
