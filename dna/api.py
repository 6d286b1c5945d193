"""Typed library entry points: what the `dna` commands, the tests and the benchmarks call.

* `load_network`, `load_accelerator`, `evaluate`, `evaluate_design`: the cost model on a
  given network and accelerator, or on a design file;
* `das`: search an accelerator for one network on one target (DAS) and write its design;
* `search_config`, `search`: co-search a network and its accelerator (paper Alg. 1);
* `train`: train, quantise and save the weights of a design's network.

Every argument is keyword-only; bad input raises a `dna.errors.DnaError` subclass whose
message names the file and field. The CLIs only parse options, call these and print.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import torch
import yaml

from dna.cost.report import Report, report
from dna.cost.target import Target, fixed_arch_problems, load_target, pe_budget_problems
from dna.data import DataSpec
from dna.design import PRECISIONS, Design, load_design, make_design, save_design
from dna.errors import DnaError
from dna.plots import (
    ALPHA_PNG,
    CANDIDATES_PNG,
    plot_alpha,
    plot_candidates,
    plot_convergence,
)
from dna.search.baselines import compare
from dna.search.config import SearchConfig, load_config
from dna.search.cosearch import SearchOutcome, run_search
from dna.search.das import ESTIMATORS, das_search, default_steps
from dna.search.evaluator import SearchResult, StepInfo, limits_for, parse_objective
from dna.space.fbnet.supernet import Supernet
from dna.space.gads.io import accelerator_from_spec
from dna.space.gads.typed import Accelerator, ChunkHW, SpaceError, check_accelerator
from dna.train import TrainResult, train_design
from dna.workload.from_onnx import network_from_onnx
from dna.workload.io import network_from_yaml
from dna.workload.ir import Network, WorkloadError
from dna.workload.zoo import NETWORKS, get_network

DATASETS = ("imagenet", "cifar")
STYLE_CHOICES = {"both": ("multicycle", "pipeline"), "multicycle": ("multicycle",),
                 "pipeline": ("pipeline",)}


class InputError(DnaError):
    """A user-supplied file or option is invalid; the message names it."""


def check_choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    """`value` if it is one of `allowed`, else InputError naming `name`."""
    if value not in allowed:
        raise InputError(f"{name} {value!r}: expected one of {', '.join(allowed)}")
    return value


def check_precision(bits: int) -> int:
    """`bits` if it is a supported precision, else InputError."""
    if bits not in PRECISIONS:
        raise InputError(f"precision {bits}: expected one of {PRECISIONS}")
    return bits


# ---------------------------------------------------------------- evaluate

def load_network(spec: str, *, dataset: Literal["imagenet", "cifar"] = "imagenet",
                 batch: int = 1) -> Network:
    """A built-in network by name, or a network YAML, ONNX or design file (.json: the
    network `dna search` found) by path; a file brings its own input shape."""
    if spec in NETWORKS:
        return get_network(spec, dataset=dataset, batch=batch)
    if Path(spec).suffix == ".onnx":
        return network_from_onnx(spec)
    if Path(spec).suffix == ".json":
        from dna.design import load_design
        return load_design(spec).network
    if Path(spec).suffix in (".yaml", ".yml") or Path(spec).exists():
        return network_from_yaml(spec)
    raise WorkloadError(f"unknown network {spec!r}: expected one of {', '.join(NETWORKS)} "
                        f"or a path to a network YAML, ONNX or design (.json) file")


def load_accelerator(path: str | Path, net: Network, target: Target, bits: int) -> Accelerator:
    """Read a hand-written accelerator YAML file (see dna.space.gads.io) for `net` at `bits`."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such accelerator file") from None
    except yaml.YAMLError as e:
        raise InputError(f"{path}: malformed YAML: {' '.join(str(e).split())}") from None
    where = f"{path}: accelerator"
    try:
        acc = accelerator_from_spec(data, net, max_pes=target.max_pes, where=where)
    except SpaceError as e:
        raise InputError("; ".join(e.problems)) from None
    problems = pe_budget_problems([c.pes for c in acc.chunks], target, check_precision(bits),
                                  where)
    problems += fixed_arch_problems([(c.noc, c.unroll) for c in acc.chunks], acc.style,
                                    target, where)
    if not problems and target.fixed_arch is not None:
        fa = target.fixed_arch
        acc = Accelerator(acc.style, (ChunkHW(fa.noc, fa.unroll, fa.gb_words, fa.rf_words),),
                          acc.mappings)
        problems = check_accelerator(acc, net, where=where)
    if problems:
        raise InputError("; ".join(problems))
    return acc


def evaluate(*, network: Network, accelerator: Accelerator, target: Target,
             precision: int) -> Report:
    """Cost-model report of `accelerator` running `network` on `target`."""
    return report(network, accelerator, target, check_precision(precision))


def evaluate_design(path: str | Path) -> tuple[Design, Report]:
    """Load a design file and evaluate it with the current cost model."""
    d = load_design(path)
    return d, report(d.network, d.accelerator, load_target(d.target), d.precision)


# ---------------------------------------------------------------- das

@dataclass(frozen=True)
class Constraints:
    """Limits below the target's own budgets; None keeps the target's."""

    max_dsp: float | None = None  # DSP slices (FPGA)
    max_bram18k: float | None = None  # BRAM18K blocks (FPGA)
    max_lut: float | None = None  # LUTs (FPGA)
    max_area_mm2: float | None = None  # die area (ASIC)
    max_pes: float | None = None  # processing elements
    max_dram_gbps: float | None = None  # average DRAM bandwidth, GB/s

    def given(self) -> dict[str, float]:
        """The limits that are set, by name, as `limits_for` takes them."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}


@dataclass(frozen=True)
class DasOutcome:
    """What `das` returns."""

    design: Design  # the best feasible accelerator found, as a design (what `out` holds)
    result: SearchResult  # how DAS found it: evaluations, history, wall time
    baselines: dict[str, SearchResult | None] = field(default_factory=dict)  # with `plot`:
    #   random search and annealing on DAS's budget; None where nothing feasible was found
    design_path: Path | None = None  # where the design file was written
    plot_path: Path | None = None  # where the convergence plot was written


def das(*, network: str, target: str, out: str | Path | None = None,
        dataset: Literal["imagenet", "cifar"] = "imagenet", precision: Literal[8, 16] = 16,
        objective: str = "fps", seed: int = 0, steps: int | None = None, samples: int = 256,
        estimator: Literal["paper", "reinforce", "dna"] = "dna",
        style: Literal["both", "multicycle", "pipeline"] = "both",
        limits: Constraints = Constraints(), plot: str | Path | None = None,
        on_step: Callable[[str, StepInfo], None] | None = None) -> DasOutcome:
    """Search an accelerator for `network` on `target` (DAS, paper Sec. 3.4).

    `network` and `target` are built-in names or YAML files; `steps` defaults to
    `default_steps(network)`. With `out` the design file is written there; with `plot`,
    random search and annealing run on the same budget and best objective vs evaluations
    is plotted there (PNG). `on_step(label, info)` follows the search."""
    started = time.perf_counter()
    check_choice(dataset, DATASETS, "dataset")
    check_choice(estimator, tuple(ESTIMATORS), "estimator")
    styles = STYLE_CHOICES[check_choice(style, tuple(STYLE_CHOICES), "style")]
    bits = check_precision(precision)
    obj = parse_objective(objective)
    if (steps is not None and steps < 1) or samples < 1:
        raise InputError(f"steps = {steps}, samples = {samples}: both must be >= 1")
    tgt = load_target(target)
    net = load_network(network, dataset=dataset)
    steps = steps if steps is not None else default_steps(net)
    kw: dict[str, Any] = {"bits": bits, "objective": obj.name, "seed": seed, "styles": styles,
                          "limits": limits_for(tgt, bits, **limits.given())}
    label = f"DAS {net.name}"
    res = das_search(net, tgt, steps=steps, samples=samples, estimator=estimator,
                     on_step=None if on_step is None else lambda i: on_step(label, i), **kw)
    options = {"network": network, "dataset": dataset, "target": target, "precision": bits,
               "objective": obj.name, "steps": steps, "samples": samples,
               "estimator": estimator, "style": style, "limits": limits.given()}
    prov = {"command": "dna das", "seed": seed, "options": options, "estimator": estimator,
            "evaluations": res.evaluations, "search_wall_s": round(res.wall_s, 3),
            "best": {"metric": obj.name, "value": res.best}}
    others = {} if plot is None else _baselines(net, tgt, res, kw, plot)
    prov["wall_s"] = round(time.perf_counter() - started, 3)
    design = make_design(net, res.accelerator, tgt, bits, provenance=prov)
    if out is not None:
        save_design(design, out)
    return DasOutcome(design, res, others, None if out is None else Path(out),
                      None if plot is None else Path(plot))


def _baselines(net: Network, target: Target, res: SearchResult, kw: dict[str, Any],
               plot: str | Path) -> dict[str, SearchResult | None]:
    """Random search and annealing on DAS's budget; all three plotted to `plot`."""
    others = compare(net, target, evaluations=res.evaluations, **kw)
    plot_convergence([res, *[r for r in others.values() if r is not None]],
                     kw["objective"], plot, f"{net.name} on {target.name}, {kw['bits']} bit",
                     missing=[name for name, r in others.items() if r is None])
    return others


# ---------------------------------------------------------------- search

ConfigSource = str | Path | Mapping[str, Any] | SearchConfig | None


def search_config(*, config: ConfigSource = None,
                  strategy: Literal["dna", "seq", "random"] | None = None,
                  seed: int | None = None, epochs: int | None = None,
                  target: str | None = None, objective: str | None = None,
                  precision: Literal[8, 16] | None = None) -> SearchConfig:
    """The validated co-search config: `config` (a YAML file, its plain-data form, a
    `SearchConfig`, or None for the embedded default) with the given fields overridden.
    ConfigError lists every problem with its field path."""
    overrides = {k: v for k, v in (("strategy", strategy), ("seed", seed), ("target", target),
                                   ("objective", objective), ("precision", precision),
                                   ("search.epochs", epochs)) if v is not None}
    return load_config(config, overrides=overrides)


def search(*, config: ConfigSource = None, out_dir: str | Path = "out",
           strategy: Literal["dna", "seq", "random"] | None = None, seed: int | None = None,
           epochs: int | None = None, target: str | None = None, objective: str | None = None,
           precision: Literal[8, 16] | None = None, resume: bool = False, plots: bool = True,
           on_step: Callable[[int, int], None] | None = None,
           on_epoch: Callable[[dict, Supernet, torch.Tensor], None] | None = None
           ) -> SearchOutcome:
    """Co-search a network and its accelerator (Alg. 1, or the seq / random baselines).

    Writes out_dir/best.json (the design), search.jsonl (one record per epoch),
    checkpoint.pt (`resume` continues from it) and, with `plots`, alpha.png and
    candidates.png. Runs under torchrun too: every rank returns the outcome, rank 0 writes.
    `on_step(done, total)` follows the supernet batches, `on_epoch(record, model, alpha)`
    the epochs."""
    cfg = search_config(config=config, strategy=strategy, seed=seed, epochs=epochs,
                        target=target, objective=objective, precision=precision)
    outcome = run_search(cfg, out_dir, resume=resume, on_step=on_step, on_epoch=on_epoch)
    if plots and outcome.rank == 0:
        plot_alpha(outcome.space, outcome.alpha, Path(out_dir) / ALPHA_PNG)
        plot_candidates(outcome.candidates, outcome.records, outcome.design, cfg.objective,
                        Path(out_dir) / CANDIDATES_PNG)
    return outcome


# ---------------------------------------------------------------- train

def train(*, design: str | Path, epochs: int = 30, batch_size: int = 64, lr: float = 0.05,
          seed: int = 0,
          data: Literal["digits", "cifar10", "cifar100", "imagefolder"] | None = None,
          data_root: str | Path | None = None, size: int | None = None,
          per_channel: bool = False,
          on_epoch: Callable[[int, float, float], None] | None = None) -> TrainResult:
    """Train the design's network from scratch, quantise it to the design's precision and
    save `<design>.weights.npz` beside it; the design file is rewritten to reference it.

    `data` (with `data_root`, `size`) replaces the dataset the design was searched on;
    `on_epoch(epoch, loss, test_accuracy)` follows the epochs."""
    spec = None
    if data:
        spec = DataSpec(data, None if data_root is None else str(data_root), size)
    return train_design(design, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                        data=spec, per_channel=per_channel, on_epoch=on_epoch)
