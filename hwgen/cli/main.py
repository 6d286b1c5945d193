"""`dna-hwgen` command line: from a design file to an HLS project or Verilog, and checks."""
from __future__ import annotations

import functools
import importlib
import sys
import time
from pathlib import Path
from typing import Callable

import click

import hwgen.api  # noqa: F401  (registers the backends)
from dna import __version__
from dna.api import USER_ERRORS
from dna.cost.target import TargetError, load_target, target_names
from dna.design import Design, load_design
from dna.fileio import atomic_dir
from dna.quant.calibrate import random_quantized_network
from dna.quant.contract import QuantizedNetwork
from dna.quant.npz import load_npz
from hwgen.backends import backend_for
from hwgen.errors import HwgenError


def user_errors(fn: Callable) -> Callable:
    """Print a user error as one line on stderr and exit 2, instead of a traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (*USER_ERRORS, TargetError, HwgenError) as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
    return wrapper


def design_weights(design: Design, design_path: Path, seed: int) -> QuantizedNetwork:
    """The design's quantised weights (.npz beside it), or random ones from `seed`."""
    if design.weights:
        return load_npz(design_path.parent / design.weights, design.network)
    return random_quantized_network(design.network, design.precision, seed)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dna-hwgen")
def main() -> None:
    """Generate hardware from a DNA design file and verify it.

    emit writes a Vivado HLS project (FPGA targets) or Verilog (ASIC targets); the other
    commands simulate or inspect what emit wrote.
    """


@main.command()
@click.option("--design", "design_path", required=True, type=click.Path(path_type=Path),
              help="Design file (dna-design/1), e.g. out/best.json.")
@click.option("--target", "target_spec", required=True, metavar="NAME",
              help=f"Target to build for: {', '.join(target_names())}.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Output directory (replaced as a whole; never left half-written).")
@click.option("--weights-seed", default=0, show_default=True,
              help="Seed of random quantised weights when the design has none.")
@user_errors
def emit(design_path: Path, target_spec: str, out_dir: Path, weights_seed: int) -> None:
    """Write the hardware project for DESIGN on TARGET into OUT."""
    t0 = time.perf_counter()
    design = load_design(design_path)
    target = load_target(target_spec)
    if target.name != design.target:
        click.echo(f"note: design was searched for {design.target}; building for "
                   f"{target.name}", err=True)
    qnet = design_weights(design, design_path, weights_seed)
    backend = backend_for(target)
    with atomic_dir(out_dir) as tmp:
        backend(design, target, qnet, tmp)
    n_files = sum(1 for p in out_dir.rglob("*") if p.is_file())
    click.echo(f"wrote {n_files} files to {out_dir} ({target.kind} backend, "
               f"{time.perf_counter() - t0:.1f} s)")


# Backend-specific commands (csim, report, graph from hwgen/cli_fpga.py; sim from
# hwgen/cli_asic.py) register themselves on `main` through a `register(main)` function.
for _name in ("hwgen.cli.hls", "hwgen.cli.rtl"):
    try:
        importlib.import_module(_name).register(main)
    except ModuleNotFoundError as _e:
        if _e.name != _name:
            raise

if __name__ == "__main__":
    main()
