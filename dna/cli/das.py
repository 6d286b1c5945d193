"""`dna das`: differentiable accelerator search for one network on one target.

Parses options, calls `dna.api.das` with a progress bar on stderr and prints the best
design's report, the search summary and (with --plot) the baselines' results.
"""
from __future__ import annotations

import contextlib
import sys

import click

from dna import api
from dna.cli.errors import user_errors
from dna.cost.report import format_report
from dna.cost.target import target_names
from dna.search.das import ESTIMATORS
from dna.search.evaluator import METRIC_LABELS, StepInfo
from dna.workload.zoo import NETWORKS


@click.command()
@click.option("--network", "network_spec", required=True, metavar="NAME|FILE",
              help=f"Built-in network ({', '.join(NETWORKS)}), a network YAML file, an "
                   f"ONNX model (.onnx) or a design file (.json: its network).")
@click.option("--dataset", default="imagenet", show_default=True,
              help="Input size of a built-in network: imagenet or cifar.")
@click.option("--target", "target_spec", required=True, metavar="NAME|FILE",
              help=f"Target: {', '.join(target_names())}, or a target YAML file.")
@click.option("--precision", type=int, default=16, show_default=True, help="8 or 16 bit.")
@click.option("--objective", default="fps", show_default=True,
              help="fps, latency, energy, edp, or a weighted mix such as fps=1,energy=0.5.")
@click.option("--out", "out_path", required=True, metavar="FILE",
              help="Design file to write (dna-design/1 JSON).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--steps", type=int, default=None,
              help="Search steps; the budget is steps x samples cost-model evaluations. "
                   "[default: 3000, fewer for networks over 16 conv layers: 48,000 / layers]")
@click.option("--samples", type=int, default=256, show_default=True,
              help="Accelerators sampled per step.")
@click.option("--estimator", default="dna", show_default=True,
              help=f"Gradient estimator: {', '.join(ESTIMATORS)} (paper = Eq. 7 as published).")
@click.option("--style", default="both", show_default=True,
              help="Accelerator style to search: pipeline, multicycle or both.")
@click.option("--max-dsp", type=float, help="DSP limit below the target's.")
@click.option("--max-bram18k", type=float, help="BRAM18K limit below the target's.")
@click.option("--max-lut", type=float, help="LUT limit below the target's.")
@click.option("--max-area-mm2", type=float, help="Area limit (ASIC targets).")
@click.option("--max-pes", type=float, help="PE limit below the target's.")
@click.option("--max-dram-gbps", type=float, help="Average DRAM bandwidth limit, GB/s.")
@click.option("--plot", "plot_path", metavar="FILE",
              help="Also run random search and annealing on the same budget and plot best "
                   "objective vs evaluations (PNG).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors
def das(network_spec, dataset, target_spec, precision, objective, out_path, seed, steps,
        samples, estimator, style, max_dsp, max_bram18k, max_lut, max_area_mm2, max_pes,
        max_dram_gbps, plot_path, quiet):
    """Search an accelerator (DAS, paper Sec. 3.4) and write its design file."""
    api.check_choice(dataset, api.DATASETS, "--dataset")
    api.check_choice(estimator, tuple(ESTIMATORS), "--estimator")
    api.check_choice(style, tuple(api.STYLE_CHOICES), "--style")
    if (steps is not None and steps < 1) or samples < 1:
        raise api.InputError(f"--steps {steps} --samples {samples}: both must be >= 1")
    limits = api.Constraints(max_dsp=max_dsp, max_bram18k=max_bram18k, max_lut=max_lut,
                             max_area_mm2=max_area_mm2, max_pes=max_pes,
                             max_dram_gbps=max_dram_gbps)
    with _Progress(quiet) as progress:
        res = api.das(network=network_spec, target=target_spec, out=out_path, dataset=dataset,
                      precision=precision, objective=objective, seed=seed, steps=steps,
                      samples=samples, estimator=estimator, style=style, limits=limits,
                      plot=plot_path, on_step=progress.on_step)
    r = res.result
    click.echo(format_report(r.report))
    click.echo(f"search         {r.method}, {r.evaluations:,} cost-model evaluations, "
               f"{r.wall_s:.1f} s, best {METRIC_LABELS.get(r.objective.name, 'loss')} "
               f"{r.best:.4g}")
    for name, b in res.baselines.items():
        click.echo(f"baseline       {name}: " + (f"best {b.best:.4g} in {b.evaluations:,} "
                                                 f"evaluations" if b else "no feasible "
                                                 "point found"))
    if plot_path:
        click.echo(f"wrote {plot_path}", err=True)
    click.echo(f"wrote {out_path}", err=True)


class _Progress:
    """A progress bar over cost-model evaluations on stderr, opened at the first step."""

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.bar, self.done, self.budget = quiet, None, 0, 0
        self._stack = contextlib.ExitStack()

    def on_step(self, label: str, info: StepInfo) -> None:
        if self.quiet:
            return
        if self.bar is None:
            self.budget = info.budget
            self.bar = self._stack.enter_context(click.progressbar(
                length=self.budget, label=label, file=sys.stderr, show_eta=True))
        n = min(info.evaluations, self.budget)
        self.bar.update(n - self.done)
        self.done = n

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None and exc[0] is None:
            self.bar.update(self.budget - self.done)
        self._stack.__exit__(*exc)
