"""`dna search` and `dna train`: parse options, call dna.search.cosearch / dna.train, print, plot.

Both run unchanged under `torchrun --nproc_per_node=N -m dna.cli ...` (DDP; only rank 0
prints and writes files).
"""
from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import click
import torch
import yaml

from dna.cli.errors import user_errors
from dna.data import DATASETS, DataSpec
from dna.search.cosearch import STRATEGIES, ConfigError, config_from_dict, run_search


def _load_yaml(path: str) -> dict:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: malformed YAML: {' '.join(str(e).split())}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data or {}


def _fmt(x, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def epoch_line(r: dict, epochs: int) -> str:
    """One printed line per epoch: losses, temperature, entropy, argmax design, time split."""
    hw = r["argmax_hw"]
    return (f"epoch {r['epoch'] + 1:>3}/{epochs}  tau {r['temperature']:.2f}  "
            f"L_train {_fmt(r['loss_train'])}  L_val {_fmt(r['loss_val'])}  "
            f"L_hw {_fmt(r['loss_hw'])}  H(alpha) {r['alpha_entropy']:.2f}  |  argmax "
            f"acc {r['argmax_acc']:.1%}  {hw['fps']:,.0f} FPS  {hw['energy_uj']:,.2f} uJ  |  "
            f"{r['time_s']:.1f} s: supernet {r['time_supernet_s']:.1f} s, DAS "
            f"{r['time_das_s']:.2f} s ({r['das_share']:.1%})")


@click.command()
@click.option("--config", "config_path", metavar="FILE",
              help="Search config YAML (default: the embedded quickstart, "
                   "examples/quickstart.yaml).")
@click.option("--out", default="out", show_default=True, metavar="DIR",
              help="Output folder: best.json, search.jsonl, checkpoint.pt, plots.")
@click.option("--strategy", type=click.Choice(STRATEGIES), help="Override the config: dna "
              "(co-search), seq (SEQ-Opt: MACs penalty, then DAS), random.")
@click.option("--seed", type=int, help="Override the config's seed.")
@click.option("--epochs", type=int, help="Override search.epochs.")
@click.option("--target", help="Override the target (zc706, zcu102, asic45, asic32).")
@click.option("--objective", help="Override the objective (fps, latency, energy, edp).")
@click.option("--precision", type=int, help="Override the precision (8 or 16).")
@click.option("--resume", is_flag=True, help="Continue from DIR/checkpoint.pt.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors
def search(config_path, out, strategy, seed, epochs, target, objective, precision, resume,
           quiet):
    """Co-search a network and its accelerator; writes DIR/best.json (a design file)."""
    data = _load_yaml(config_path) if config_path else {}
    for key, value in (("strategy", strategy), ("seed", seed), ("target", target),
                       ("objective", objective), ("precision", precision)):
        if value is not None:
            data[key] = value
    if epochs is not None:
        data["search"] = {**(data.get("search") or {}), "epochs": epochs}
    cfg = config_from_dict(data, config_path or "config")
    rank0 = int(_env("RANK", 0)) == 0
    bar = None
    if rank0 and not quiet:
        bar = click.progressbar(length=1, label="search", file=sys.stderr,
                                show_eta=True, show_pos=True)

    def on_step(done: int, total: int) -> None:
        if bar is not None:
            bar.length = total
            bar.update(done - bar.pos)

    def on_epoch(record: dict, model, alpha) -> None:
        if rank0:
            if bar is not None and sys.stderr.isatty():
                sys.stderr.write("\r\033[K")
            click.echo(epoch_line(record, cfg.search.epochs))

    outcome = run_search(cfg, out, resume=resume, on_step=on_step, on_epoch=on_epoch)
    if bar is not None:
        bar.render_finish()
    if outcome.rank != 0:
        return
    plot_alpha(outcome.space, outcome.alpha, Path(out) / "alpha.png")
    plot_candidates(outcome.candidates, outcome.records, outcome.design, cfg.objective,
                    Path(out) / "candidates.png")
    d, recs = outcome.design, outcome.records
    das_s = sum(r["time_das_s"] for r in recs)
    wall = sum(r["time_s"] for r in recs)
    p = d.predicted
    click.echo(f"network  {outcome.arch.key}  ({d.network.macs / 1e6:.2f} MMAC, "
               f"{d.network.params / 1e3:.1f} k params)")
    click.echo(f"design   {d.accelerator.style}, {d.accelerator.pes} PEs on {d.target} at "
               f"{d.precision} bit: {p['fps']:,.0f} FPS, {p['latency_cycles']:,.0f} cycles, "
               f"{p['energy_per_frame_pj'] / 1e6:,.2f} uJ/frame")
    click.echo(f"search   {len(recs)} epochs, {wall:.1f} s (DAS {das_s:.1f} s = "
               f"{das_s / max(wall, 1e-9):.1%}); supernet single-path accuracy "
               f"{recs[-1]['argmax_acc']:.1%}")
    click.echo(f"wrote    {outcome.design_path}, {Path(out) / 'search.jsonl'}, "
               f"{Path(out) / 'alpha.png'}, {Path(out) / 'candidates.png'}")


def _env(name: str, default):
    return os.environ.get(name, default)


@click.command()
@click.option("--design", "design_path", required=True, metavar="FILE",
              help="Design file from `dna search` (rewritten with the weights reference).")
@click.option("--epochs", type=int, default=30, show_default=True)
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--lr", type=float, default=0.05, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--data", "data_name", type=click.Choice(DATASETS),
              help="Dataset (default: the one the design was searched on).")
@click.option("--data-root", metavar="DIR", help="Directory of cifar10/cifar100/imagefolder.")
@click.option("--size", type=int, help="Image size (default: the design's input size).")
@click.option("--per-channel", is_flag=True, help="Per-output-channel weight scales.")
@user_errors
def train(design_path, epochs, batch_size, lr, seed, data_name, data_root, size, per_channel):
    """Train the design's network from scratch, quantise it (int8/int16 = the design's
    precision) and save the weights (.npz) beside the design file."""
    from dna.train import train_design
    data = None
    if data_name:
        data = DataSpec(data_name, data_root, size)
    rank0 = int(_env("RANK", 0)) == 0

    def on_epoch(e: int, loss: float, acc: float) -> None:
        if rank0:
            click.echo(f"epoch {e + 1:>3}/{epochs}  loss {loss:.4f}  test accuracy {acc:.2%}")

    r = train_design(design_path, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                     data=data, per_channel=per_channel, on_epoch=on_epoch)
    if rank0:
        click.echo(f"float accuracy  {r.float_acc:.2%}  ({r.test_images} test images, "
                   f"{r.train_s:.1f} s)")
        click.echo(f"int{r.bits} accuracy  {r.int_acc:.2%}  (dna.quant.reference.run_integer; "
                   f"{r.int_acc - r.float_acc:+.2%} vs float)")
        click.echo(f"wrote           {r.weights_path}, {r.design_path} (weights: "
                   f"{r.weights_path.name})")


# ---------------------------------------------------------------- plots

_METRIC = {"fps": ("fps", "predicted FPS"), "latency": ("latency_ms", "predicted latency (ms)"),
           "energy": ("energy_uj", "predicted energy (uJ/frame)"),
           "edp": ("edp_pj_s", "predicted EDP (pJ*s)")}


def plot_alpha(space, alpha: torch.Tensor, path: Path) -> None:
    """Heat-map of P(alpha) per searchable layer, argmax marked."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    probs = torch.softmax(alpha.double(), -1).numpy()
    fig, ax = plt.subplots(figsize=(1 + 0.7 * probs.shape[1], 1.2 + 0.4 * probs.shape[0]))
    im = ax.imshow(probs, cmap="viridis", vmin=0, vmax=max(probs.max(), 1e-9), aspect="auto")
    ax.set_xticks(range(len(space.ops)), space.ops, rotation=45, ha="right")
    ax.set_yticks(range(len(space.slots)), [s.name for s in space.slots])
    for i, j in enumerate(probs.argmax(1)):
        ax.text(j, i, f"{probs[i, j]:.2f}", ha="center", va="center", color="w", fontsize=7)
    ax.set_title("P(alpha) per layer (softmax of the final logits)")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_candidates(cands: list[dict], records: list[dict], design, objective: str,
                    path: Path) -> None:
    """Single-path supernet accuracy vs predicted hardware metric of every network seen."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    name = objective.split(",")[0].split("=")[0]
    key, label = _METRIC.get(name, _METRIC["fps"])
    fig, ax = plt.subplots(figsize=(6, 4.5))
    if cands:
        sc = ax.scatter([c[key] for c in cands], [c["acc"] for c in cands],
                        c=[c["epoch"] for c in cands], cmap="viridis", s=14, alpha=0.7,
                        label="sampled networks (DAS each)")
        fig.colorbar(sc, ax=ax, label="epoch")
    ax.plot([r["argmax_hw"][key] for r in records], [r["argmax_acc"] for r in records],
            "x-", color="grey", ms=5, lw=0.8, label="argmax network per epoch")
    final = {"fps": design.predicted["fps"],
             "latency_ms": design.predicted["latency_cycles"] / design.predicted["clock_mhz"]
             / 1e3, "energy_uj": design.predicted["energy_per_frame_pj"] / 1e6,
             "edp_pj_s": design.predicted["edp_pj_s"]}[key]
    ax.scatter([final], [records[-1]["argmax_acc"]], marker="*", s=200, color="red",
               label="derived design (final DAS)", zorder=5)
    if math.isfinite(final) and final > 0:
        from matplotlib.ticker import NullFormatter
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(f"{label}: inner DAS budget (dots, crosses), final DAS (star)")
    ax.set_ylabel("single-path accuracy (supernet weights)")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
