"""`dna search` and `dna train`: parse options, call dna.api.search / dna.api.train, print.

Both run unchanged under `torchrun --nproc_per_node=N -m dna.cli ...` (DDP; only rank 0
prints and writes files).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from dna import api
from dna.cli.errors import user_errors
from dna.cost.target import target_names
from dna.data import DATASETS
from dna.plots import ALPHA_PNG, CANDIDATES_PNG
from dna.search.config import STRATEGIES
from dna.search.cosearch import LOG


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
@click.option("--target", metavar="NAME|FILE",
              help=f"Override the target ({', '.join(target_names())}, or a target YAML file).")
@click.option("--objective", help="Override the objective (fps, latency, energy, edp).")
@click.option("--precision", type=int, help="Override the precision (8 or 16).")
@click.option("--resume", is_flag=True, help="Continue from DIR/checkpoint.pt.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors
def search(config_path, out, strategy, seed, epochs, target, objective, precision, resume,
           quiet):
    """Co-search a network and its accelerator; writes DIR/best.json (a design file)."""
    cfg = api.search_config(config=config_path or None, strategy=strategy, seed=seed,
                            epochs=epochs, target=target, objective=objective,
                            precision=precision)
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

    outcome = api.search(config=cfg, out_dir=out, resume=resume, on_step=on_step,
                         on_epoch=on_epoch)
    if bar is not None:
        bar.render_finish()
    if outcome.rank != 0:
        return
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
    click.echo(f"wrote    {outcome.design_path}, {Path(out) / LOG}, "
               f"{Path(out) / ALPHA_PNG}, {Path(out) / CANDIDATES_PNG}")


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
    rank0 = int(_env("RANK", 0)) == 0

    def on_epoch(e: int, loss: float, acc: float) -> None:
        if rank0:
            click.echo(f"epoch {e + 1:>3}/{epochs}  loss {loss:.4f}  test accuracy {acc:.2%}")

    r = api.train(design=design_path, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                  data=data_name, data_root=data_root, size=size, per_channel=per_channel,
                  on_epoch=on_epoch)
    if rank0:
        click.echo(f"float accuracy  {r.float_acc:.2%}  ({r.test_images} test images, "
                   f"{r.train_s:.1f} s)")
        click.echo(f"int{r.bits} accuracy  {r.int_acc:.2%}  (dna.quant.reference.run_integer; "
                   f"{r.int_acc - r.float_acc:+.2%} vs float)")
        click.echo(f"wrote           {r.weights_path}, {r.design_path} (weights: "
                   f"{r.weights_path.name})")
