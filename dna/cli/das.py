"""`dna das`: differentiable accelerator search for one network on one target.

Parses options, runs `dna.search.das.das_search` with a progress bar on stderr, prints the best
design's report, writes the design file and, with --plot, runs the baselines on the same
budget and plots best objective vs cost-model evaluations.
"""
from __future__ import annotations

import io
import math
import sys
import time

import click

from dna import api
from dna.cli.errors import user_errors
from dna.cost.report import format_report
from dna.cost.target import load_target, target_names
from dna.design import make_design, save_design
from dna.fileio import write_atomic
from dna.search.baselines import compare
from dna.search.das import (
    ESTIMATORS,
    SearchResult,
    StepInfo,
    das_search,
    default_steps,
    limits_for,
    parse_objective,
)
from dna.search.evaluator import METRIC_LABELS
from dna.workload.zoo import NETWORKS

STYLE_CHOICES = {"both": ("multicycle", "pipeline"), "multicycle": ("multicycle",),
                 "pipeline": ("pipeline",)}


def _choice(value: str, allowed, option: str) -> str:
    if value not in allowed:
        raise api.InputError(f"{option} {value!r}: expected one of {', '.join(allowed)}")
    return value


@click.command()
@click.option("--network", "network_spec", required=True, metavar="NAME|FILE",
              help=f"Built-in network ({', '.join(NETWORKS)}) or a network YAML file.")
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
    started = time.perf_counter()
    _choice(dataset, ("imagenet", "cifar"), "--dataset")
    _choice(estimator, tuple(ESTIMATORS), "--estimator")
    styles = STYLE_CHOICES[_choice(style, tuple(STYLE_CHOICES), "--style")]
    bits = api.check_precision(precision)
    obj = parse_objective(objective)
    if (steps is not None and steps < 1) or samples < 1:
        raise api.InputError(f"--steps {steps} --samples {samples}: both must be >= 1")
    target = load_target(target_spec)
    net = api.load_network(network_spec, dataset=dataset)
    steps = steps if steps is not None else default_steps(net)
    limits = limits_for(target, bits, max_dsp=max_dsp, max_bram18k=max_bram18k,
                        max_lut=max_lut, max_area_mm2=max_area_mm2, max_pes=max_pes,
                        max_dram_gbps=max_dram_gbps)
    kw = {"bits": bits, "objective": obj.name, "seed": seed, "styles": styles, "limits": limits}
    res = _with_progress(f"DAS {net.name}", steps * samples, quiet, lambda cb: das_search(
        net, target, steps=steps, samples=samples, estimator=estimator, on_step=cb, **kw))
    click.echo(format_report(res.report))
    click.echo(f"search         {res.method}, {res.evaluations:,} cost-model evaluations, "
               f"{res.wall_s:.1f} s, best {METRIC_LABELS.get(obj.name, 'loss')} "
               f"{res.best:.4g}")
    options = {"network": network_spec, "dataset": dataset, "target": target_spec,
               "precision": bits, "objective": obj.name, "steps": steps, "samples": samples,
               "estimator": estimator, "style": style,
               "limits": {k: v for k, v in (("max_dsp", max_dsp), ("max_bram18k", max_bram18k),
                                            ("max_lut", max_lut), ("max_area_mm2",
                                                                   max_area_mm2),
                                            ("max_pes", max_pes),
                                            ("max_dram_gbps", max_dram_gbps)) if v is not None}}
    prov = {"command": "dna das", "seed": seed, "options": options, "estimator": estimator,
            "evaluations": res.evaluations, "search_wall_s": round(res.wall_s, 3),
            "best": {"metric": obj.name, "value": res.best}}
    if plot_path:
        others = compare(net, target, evaluations=res.evaluations, **kw)
        _plot([res, *[r for r in others.values() if r is not None]], obj.name, plot_path,
              f"{net.name} on {target.name}, {bits} bit",
              missing=[name for name, r in others.items() if r is None])
        for name, r in others.items():
            click.echo(f"baseline       {name}: " + (f"best {r.best:.4g} in {r.evaluations:,} "
                                                     f"evaluations" if r else "no feasible "
                                                     "point found"))
        click.echo(f"wrote {plot_path}", err=True)
    prov["wall_s"] = round(time.perf_counter() - started, 3)
    save_design(make_design(net, res.accelerator, target, bits, provenance=prov), out_path)
    click.echo(f"wrote {out_path}", err=True)


def _with_progress(label: str, budget: int, quiet: bool, run) -> SearchResult:
    """Call `run(on_step)` with a progress bar over cost-model evaluations on stderr."""
    if quiet:
        return run(None)
    with click.progressbar(length=budget, label=label, file=sys.stderr,
                           show_eta=True) as bar:
        done = [0]

        def on_step(info: StepInfo) -> None:
            n = min(info.evaluations, budget)
            bar.update(n - done[0])
            done[0] = n
        res = run(on_step)
        bar.update(budget - done[0])
    return res


def _plot(results: list[SearchResult], metric: str, path: str, title: str, *,
          missing: list[str] = ()) -> None:
    """Best objective vs evaluations for each search, written atomically as a PNG;
    `missing` names searches that found no feasible point (noted on the plot)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for r in results:
        pts = [(n, b) for n, b in r.history if math.isfinite(b)]
        if pts:
            ax.step([p[0] for p in pts], [p[1] for p in pts], where="post", label=r.method)
    ax.set_xscale("log")
    ax.set_xlabel("cost-model evaluations")
    ax.set_ylabel(f"best {METRIC_LABELS.get(metric, 'loss')}")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    for name in missing:
        ax.plot([], [], " ", label=f"{name}: no feasible point")
    ax.legend()
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    write_atomic(path, buf.getvalue())
