"""Network-accelerator co-search (DNA paper Alg. 1) and its baselines, as `run_search`.

Each epoch of strategy ``dna`` (dna.search.phases):
  1. train the supernet weights w on one half of the training split (SGD, cosine lr),
     every step with a fresh Gumbel-softmax sample GS(alpha) at temperature tau_e;
  2. sample M networks from P(alpha), run DAS for each (dna.search.op_costs.DASRunner) and
     charge every candidate op its average cost over those M accelerators (Eq. 4);
  3. train alpha on the other half (Adam): L = L_val + lambda * L_hw, L_hw = sum_lk
     GS(alpha)_lk cost_lk (Eq. 5);
  4. log the argmax network and the accelerator DAS finds for it; checkpoint.
The first `warmup_epochs` train only w (FBNet). At the end the network is argmax alpha per
layer and its accelerator comes from DAS with the final budget; both go to `out/best.json`.

Baselines (paper Table 4): ``seq`` (SEQ-Opt) searches the network with a MACs penalty in
place of Eq. 4 and runs DAS only on the result; ``random`` trains the supernet weights the
same way, draws M uniform networks per epoch, runs DAS on each and keeps the candidate with
the lowest val CE + lambda * cost / mean cost.

Under torchrun (WORLD_SIZE > 1) the weights train with DistributedDataParallel (gloo on CPU,
NCCL on GPUs), alpha gradients are all-reduced, rank 0 runs every DAS call and broadcasts the
cost table, and all state is broadcast from rank 0 after each epoch, so every rank holds the
same alpha, weights and design. Only rank 0 writes files.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from dna.cost.target import load_target
from dna.data import batches, load_dataset
from dna.design import Design, make_design, save_design
from dna.fileio import write_atomic
from dna.search.checkpoint import load_checkpoint, save_checkpoint
from dna.search.config import SearchConfig, config_to_dict
from dna.search.dist import DistContext
from dna.search.op_costs import DASRunner, candidates
from dna.search.phases import SearchRun, generator, run_epoch
from dna.space.fbnet.space import (
    Arch,
    FBNetSpace,
    SpaceConfig,
    arch_to_network,
    fbnet_space,
)
from dna.space.fbnet.supernet import Supernet

LOG, BEST = "search.jsonl", "best.json"


@dataclass(frozen=True)
class SearchOutcome:
    """What `run_search` returns (on every rank)."""

    design: Design
    design_path: Path
    arch: Arch
    records: list[dict[str, Any]]  # one per epoch, as in out/search.jsonl
    candidates: list[dict[str, Any]] = field(repr=False)  # networks DAS ran on, scored
    space: FBNetSpace | None = field(default=None, repr=False)
    alpha: torch.Tensor | None = field(default=None, repr=False)  # (L, K) final logits
    rank: int = 0  # this process's DDP rank; only rank 0 wrote files


def run_search(cfg: SearchConfig, out: str | Path, *, resume: bool = False,
               on_step: Callable[[int, int], None] | None = None,
               on_epoch: Callable[[dict, Supernet, torch.Tensor], None] | None = None
               ) -> SearchOutcome:
    """Run Alg. 1 (or a baseline) with `cfg`; write log, checkpoints and out/best.json.

    `on_step(done, total)` follows the supernet batches; `on_epoch(record, model, alpha)`
    gets every epoch's log record on every rank."""
    run = _start(cfg, Path(out), resume)
    done = [0]

    def tick() -> None:
        done[0] += 1
        if on_step:
            on_step(done[0], run.state["epochs"] * run.batches_per_epoch)

    while run.state["epoch"] < run.state["epochs"]:
        done[0] = run.state["epoch"] * run.batches_per_epoch
        record = run_epoch(run, tick)
        _end_epoch(run, record)
        if on_epoch:
            on_epoch(record, run.model, run.alpha)
    return _finish(run)


def _start(cfg: SearchConfig, out: Path, resume: bool) -> SearchRun:
    """Data, space, supernet, alpha, optimisers and splits; resumed from the checkpoint."""
    dd = DistContext()
    torch.manual_seed(cfg.seed)
    data = load_dataset(cfg.data)
    c, h, _ = data.image_shape
    space = fbnet_space(SpaceConfig(cfg.space.variant, cfg.space.width, cfg.space.depth,
                                    input_size=h, in_channels=c, classes=data.classes,
                                    ops=cfg.space.ops))
    target, s = load_target(cfg.target), cfg.search
    model = Supernet(space).to(dd.device)
    alpha = torch.zeros(len(space.slots), len(space.ops), device=dd.device, requires_grad=True)
    w_opt = torch.optim.SGD(model.parameters(), lr=s.w_lr, momentum=s.w_momentum,
                            weight_decay=s.w_weight_decay, nesterov=True)
    a_opt = torch.optim.Adam([alpha], lr=s.alpha_lr, betas=(0.5, 0.999),
                             weight_decay=s.alpha_weight_decay)
    split = torch.randperm(len(data.train_y), generator=generator(cfg.seed, -1, 0))
    n_w = len(split) - max(1, round(s.alpha_fraction * len(split)))
    w_idx, a_idx = split[:n_w], split[n_w:]
    runner = DASRunner(space, target, cfg.precision, cfg.objective, cfg.das.steps,
                       cfg.das.samples, cfg.das.estimator, cfg.seed, cfg.das.styles)
    cand = candidates(space)
    state = {"epoch": 0, "epochs": s.epochs, "records": [], "candidates": [], "wall_s": 0.0}
    if resume:
        state = load_checkpoint(out, cfg, model, alpha, w_opt, a_opt)
    if dd.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / LOG, "".join(json.dumps(r) + "\n" for r in state["records"]))
    ddp = (torch.nn.parallel.DistributedDataParallel(model, device_ids=None if
                                                     dd.device.type == "cpu" else [dd.device])
           if dd.world > 1 else model)
    per_epoch = sum(len(batches(len(idx), s.batch_size, None, world=dd.world))
                    for idx in (w_idx, a_idx))
    ev = a_idx[:s.eval_images]
    return SearchRun(cfg, out, dd, data, space, target, model, ddp, alpha, w_opt, a_opt,
                     w_idx, a_idx, data.train_x[ev], data.train_y[ev], runner, cand, state,
                     per_epoch)


def _end_epoch(run: SearchRun, record: dict[str, Any]) -> None:
    """Append the record, fit the epoch count to the time budget, log and checkpoint."""
    state, s = run.state, run.cfg.search
    state["records"].append(record)
    state["epoch"] += 1
    state["wall_s"] += record["time_s"]
    if s.time_budget_s:  # fit the epoch count to the budget (benchmarks)
        per = state["wall_s"] / state["epoch"]
        state["epochs"] = max(state["epoch"], min(10 * s.epochs, int(s.time_budget_s / per)))
    if run.dd.rank == 0:
        with open(run.out / LOG, "a") as f:
            f.write(json.dumps(record) + "\n")
        save_checkpoint(run.out, run.cfg, state, run.model, run.alpha, run.w_opt, run.a_opt)


def _finish(run: SearchRun) -> SearchOutcome:
    """Derive the network and its accelerator (DAS, final budget); write out/best.json."""
    cfg, state, space = run.cfg, run.state, run.space
    design = None
    if run.dd.rank == 0:
        arch = space.arch(state["records"][-1]["argmax"])
        res = run.runner.run(arch, steps=cfg.das.final_steps, samples=cfg.das.final_samples,
                             estimator=cfg.das.final_estimator,
                             restarts=cfg.das.final_restarts)
        last = state["records"][-1]
        prov = {"seed": cfg.seed, "strategy": cfg.strategy, "config": config_to_dict(cfg),
                "arch": arch.to_dict(), "space": {"variant": cfg.space.variant,
                                                  "width": cfg.space.width,
                                                  "depth": cfg.space.depth,
                                                  "log10_size": space.log10_size},
                "search": {"epochs": state["epoch"], "wall_s": state["wall_s"],
                           "das_s": sum(r["time_das_s"] for r in state["records"]),
                           "supernet_acc": last["argmax_acc"],
                           "das_evaluations": res.evaluations}}
        design = make_design(arch_to_network(arch, space), res.accelerator, run.target,
                             cfg.precision, provenance=prov)
        save_design(design, run.out / BEST)
    design = run.dd.share(design)
    return SearchOutcome(design, run.out / BEST, space.arch(design.provenance["arch"]),
                         state["records"], state["candidates"], space,
                         run.alpha.detach().cpu().clone(), run.dd.rank)
