"""`dna-hwgen csim`, `report` and `graph`: check and inspect what the HLS backend emits."""
from __future__ import annotations

import sys
from pathlib import Path

import click

MAX_SHOWN = 10  # mismatches printed by csim


def register(main: click.Group) -> None:
    """Add the FPGA commands to the `dna-hwgen` group."""
    from hwgen.cli.main import user_errors

    @main.command()
    @click.argument("project", type=click.Path(path_type=Path))
    @user_errors
    def csim(project: Path) -> None:
        """C-simulate the HLS project in PROJECT with g++ and compare bit for bit with the
        PyTorch integer reference. Exit code 0 on PASS, 1 on FAIL."""
        from hwgen.hls.csim import run_csim
        r = run_csim(project)
        click.echo(f"{'PASS' if r.passed else 'FAIL'}: {project}: {r.values_checked:,} values "
                   f"of {r.tensors_checked} node outputs and the output stream, "
                   f"{r.mismatch_count:,} mismatches")
        for m in r.mismatches[:MAX_SHOWN]:
            click.echo(f"  mismatch {m}")
        if r.mismatch_count > MAX_SHOWN:
            click.echo(f"  ... and {r.mismatch_count - MAX_SHOWN:,} more")
        click.echo(f"g++ compile {r.compile_s:.1f} s, testbench {r.run_s:.2f} s "
                   f"(dna_top {r.kernel_s:.2f} s)")
        if not r.passed:
            sys.exit(1)

    @main.command()
    @click.argument("project", type=click.Path(path_type=Path))
    @user_errors
    def report(project: Path) -> None:
        """DSP, BRAM18K and LUT of the HLS project in PROJECT, estimated from the emitted
        engines, next to the cost model's figures and the target's budget."""
        from hwgen.hls.resources import estimate, format_resources
        click.echo(format_resources(estimate(project)))

    @main.command()
    @click.argument("design_path", metavar="DESIGN", type=click.Path(path_type=Path))
    @click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
                  help="Output file: .dot (Graphviz text), or .png / .svg / .pdf (drawn).")
    @user_errors
    def graph(design_path: Path, out_path: Path) -> None:
        """Write the chunk-pipeline dataflow graph of DESIGN (streams, FIFO depths)."""
        from dna.design import load_design
        from dna.fileio import write_atomic
        from hwgen.errors import HwgenError
        from hwgen.graph import build_graph, draw, to_dot
        suffix = out_path.suffix.lower()
        if suffix not in (".dot", ".png", ".svg", ".pdf"):
            raise HwgenError(f"{out_path}: expected a .dot, .png, .svg or .pdf file name")
        g = build_graph(load_design(design_path))
        if suffix == ".dot":
            write_atomic(out_path, to_dot(g))
        else:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            draw(g, out_path)
        chunks = sum(1 for _, d in g.nodes(data=True) if d["kind"] == "chunk")
        streams = sum(len(d["streams"]) for _, _, d in g.edges(data=True))
        click.echo(f"wrote {out_path}: {chunks} chunk(s), {streams} stream(s)")
