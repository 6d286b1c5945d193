"""One epoch of the co-search (paper Alg. 1), phase by phase, on a `SearchRun`.

`run_epoch` trains the supernet weights (`train_weights`), charges the candidate ops their
hardware cost (`hw_costs`: Eq. 4 for ``dna``, MACs for ``seq``, DAS on random networks for
``random``), trains alpha (`train_alpha`: L_val + lambda * L_hw, Eq. 5) and scores the
epoch's network with single paths of the supernet (`epoch_record`). Every rank runs it;
rank 0 runs DAS and scores, and shares the results.
"""
from __future__ import annotations

import contextlib
import math
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from dna.cost.target import Target
from dna.data import Dataset, batches
from dna.search.config import SearchConfig
from dna.search.dist import DistContext
from dna.search.op_costs import (
    Candidates,
    DASRunner,
    hw_cost,
    hw_loss,
    macs_table,
    op_costs,
    result_metrics,
)
from dna.space.fbnet.space import Arch, FBNetSpace
from dna.space.fbnet.supernet import (
    Supernet,
    argmax_arch,
    gumbel_softmax,
    one_hot,
    sample_archs,
    temperature,
)


@dataclass(frozen=True, eq=False)
class SearchRun:
    """Everything one co-search holds; `state` is what the checkpoint saves besides tensors."""

    cfg: SearchConfig
    out: Path  # output folder
    dd: DistContext
    data: Dataset
    space: FBNetSpace
    target: Target
    model: Supernet
    ddp: torch.nn.Module  # `model`, wrapped in DistributedDataParallel when world > 1
    alpha: torch.Tensor  # (L, K) architecture logits
    w_opt: torch.optim.Optimizer  # SGD on the weights
    a_opt: torch.optim.Optimizer  # Adam on alpha
    w_idx: torch.Tensor  # training images that train the weights
    a_idx: torch.Tensor  # training images that train alpha
    ev_x: torch.Tensor  # (E, C, H, W) alpha-split images scoring single paths
    ev_y: torch.Tensor  # (E,)
    runner: DASRunner
    cand: Candidates
    state: dict[str, Any]  # epoch, epochs, records, candidates, wall_s
    batches_per_epoch: int  # weight + alpha batches of one epoch (progress)


def generator(seed: int, epoch: int, purpose: int) -> torch.Generator:
    """The random stream of (seed, epoch, purpose): the same on every rank and on resume."""
    return torch.Generator().manual_seed(zlib.crc32(f"{seed}/{epoch}/{purpose}".encode()))


def run_epoch(run: SearchRun, tick: Callable[[], None]) -> dict[str, Any]:
    """One epoch of Alg. 1 (or a baseline); returns its log record (on every rank)."""
    cfg, s, state = run.cfg, run.cfg.search, run.state
    epoch, started = state["epoch"], time.perf_counter()
    tau = temperature(epoch, s.tau0, s.tau_decay)
    for g in run.w_opt.param_groups:
        g["lr"] = 0.5 * s.w_lr * (1 + math.cos(math.pi * epoch / state["epochs"]))
    gen = generator(cfg.seed, epoch, 0)
    loss_w = train_weights(run, tau, gen, tick)
    search_alpha = cfg.strategy != "random" and epoch >= s.warmup_epochs
    table, seen, das_s = hw_costs(run, epoch, search_alpha)
    loss_a, loss_hw = train_alpha(run, table, tau, gen, tick) if search_alpha else ([], [])
    run.dd.sync(list(run.model.state_dict().values()) + [run.alpha])
    record = None
    if run.dd.rank == 0:
        record = epoch_record(run, epoch, tau, seen, (loss_w, loss_a, loss_hw), das_s,
                              started)
    return run.dd.share(record)


def train_weights(run: SearchRun, tau: float, gen: torch.Generator,
                  tick: Callable[[], None]) -> list[float]:
    """Train the supernet weights on their split, a fresh GS(alpha) sample per batch."""
    s, dd, data = run.cfg.search, run.dd, run.data
    run.model.train()
    losses = []
    for b in batches(len(run.w_idx), s.batch_size, gen, rank=dd.rank, world=dd.world):
        weights = gumbel_softmax(run.alpha.detach().cpu(), tau, gen).to(dd.device)
        i = run.w_idx[b]
        loss = F.cross_entropy(run.ddp(data.train_x[i].to(dd.device), weights),
                               data.train_y[i].to(dd.device))
        run.w_opt.zero_grad()
        loss.backward()
        run.w_opt.step()
        losses.append(loss.item())
        tick()
    return losses


def hw_costs(run: SearchRun, epoch: int, search_alpha: bool
             ) -> tuple[torch.Tensor | None, list[dict[str, Any]], float]:
    """(the (L, K) per-op cost table or None, the networks DAS ran on, DAS seconds)."""
    cfg, dd = run.cfg, run.dd
    seen: list[dict[str, Any]] = []
    table, das_s = None, 0.0
    if (cfg.strategy == "dna" and search_alpha) or cfg.strategy == "random":
        archs = sample_archs(run.space, run.alpha, cfg.search.samples,
                             generator(cfg.seed, epoch, 1))
        if dd.rank == 0:
            t0 = time.perf_counter()
            results = [run.runner.run(a) for a in archs]
            if cfg.strategy == "dna":
                table = op_costs(run.space, run.cand, archs, [r.accelerator for r in results],
                                 run.target, cfg.precision, cfg.objective,
                                 mapping_samples=cfg.das.mapping_samples, seed=cfg.seed).table
            das_s += time.perf_counter() - t0
            seen = [{"arch": a.to_dict(), "epoch": epoch, **result_metrics(r)}
                    for a, r in zip(archs, results)]
        table = dd.share(table)
    elif cfg.strategy == "seq" and search_alpha:
        table = macs_table(run.space, run.cand, run.alpha)
    return table, seen, das_s


def train_alpha(run: SearchRun, table: torch.Tensor | None, tau: float,
                gen: torch.Generator, tick: Callable[[], None]
                ) -> tuple[list[float], list[float]]:
    """Train alpha on its split with L_val + lambda * L_hw (Eq. 5); weights frozen."""
    s, dd, data = run.cfg.search, run.dd, run.data
    for p in run.model.parameters():
        p.requires_grad_(False)
    loss_a, loss_hw = [], []
    for b in batches(len(run.a_idx), s.batch_size, gen, rank=dd.rank, world=dd.world):
        weights = gumbel_softmax(run.alpha.cpu(), tau, gen).to(dd.device)
        i = run.a_idx[b]
        ce = F.cross_entropy(run.model(data.train_x[i].to(dd.device), weights),
                             data.train_y[i].to(dd.device))
        hw = hw_loss(weights, table)
        run.a_opt.zero_grad()
        (ce + s.hw_weight * hw).backward()
        dd.all_reduce_mean(run.alpha.grad)
        run.a_opt.step()
        loss_a.append(ce.item())
        loss_hw.append(hw.item())
        tick()
    for p in run.model.parameters():
        p.requires_grad_(True)
    return loss_a, loss_hw


def epoch_record(run: SearchRun, epoch: int, tau: float, seen: list[dict[str, Any]],
                 losses: tuple[list[float], list[float], list[float]], das_s: float,
                 started: float) -> dict[str, Any]:
    """Rank 0: score the candidates, pick the epoch's network, run DAS on it, log it all."""
    cfg, space = run.cfg, run.space
    for cnd in seen:
        cnd["acc"], cnd["val_loss"] = single_path_score(
            run.model, one_hot(space, space.arch(cnd["arch"])), run.ev_x, run.ev_y,
            run.dd.device)
    run.state["candidates"] += seen
    if cfg.strategy == "random":
        arch = best_random(space, run.state["candidates"], cfg)
    else:
        arch = argmax_arch(space, run.alpha)
    t0 = time.perf_counter()
    res = run.runner.run(arch)
    das_s += time.perf_counter() - t0
    acc, val_loss = single_path_score(run.model, one_hot(space, arch), run.ev_x, run.ev_y,
                                      run.dd.device)
    t_all = time.perf_counter() - started
    loss_w, loss_a, loss_hw = losses
    hw_weight = cfg.search.hw_weight
    return {
        "epoch": epoch, "strategy": cfg.strategy, "temperature": tau,
        "lr": run.w_opt.param_groups[0]["lr"],
        "loss_train": _mean(loss_w), "loss_val": _mean(loss_a), "loss_hw": _mean(loss_hw),
        "loss_total": _mean(loss_a) + hw_weight * _mean(loss_hw) if loss_a else None,
        "alpha_entropy": alpha_entropy(run.alpha),
        "alpha": [[round(v, 5) for v in row] for row in run.alpha.detach().cpu().tolist()],
        "argmax": arch.to_dict(), "argmax_acc": acc, "argmax_val_loss": val_loss,
        "argmax_hw": result_metrics(res), "candidates": len(seen),
        "time_s": t_all, "time_supernet_s": t_all - das_s, "time_das_s": das_s,
        "das_share": das_s / t_all, "das_calls": run.runner.calls,
        "das_cache_hits": run.runner.hits,
    }


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def best_random(space: FBNetSpace, cands: list[dict[str, Any]], cfg: SearchConfig) -> Arch:
    """Random search's pick: lowest val CE + lambda * hardware cost / mean cost."""
    costs = [hw_cost(c, cfg.objective) for c in cands]
    ref = sum(costs) / len(costs)
    best = min(range(len(cands)),
               key=lambda i: cands[i]["val_loss"] + cfg.search.hw_weight * costs[i] / ref)
    return space.arch(cands[best]["arch"])


def alpha_entropy(alpha: torch.Tensor) -> float:
    """Mean per-layer entropy of softmax(alpha) in nats (log K when uniform)."""
    p = torch.softmax(alpha.detach().double(), -1)
    return float(-(p * p.clamp_min(1e-30).log()).sum(-1).mean())


@contextlib.contextmanager
def batch_stat_bn(model: torch.nn.Module) -> Iterator[None]:
    """BN normalises with batch statistics and leaves its state alone (momentum 0, batch
    counter restored), for scoring single paths of a supernet whose running statistics
    belong to the mixture."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, m.training, m.num_batches_tracked.clone()) for m in bns]
    for m in bns:
        m.momentum, m.training = 0.0, True
    try:
        yield
    finally:
        for m, (mom, tr, n) in zip(bns, saved):
            m.momentum, m.training = mom, tr
            m.num_batches_tracked.copy_(n)


@torch.no_grad()
def single_path_score(model: Supernet, weights: torch.Tensor, x: torch.Tensor,
                      y: torch.Tensor, device: torch.device, batch: int = 256
                      ) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of the single path `weights` (one-hot rows) on x, y."""
    correct, loss = 0, 0.0
    with batch_stat_bn(model):
        for i in range(0, len(y), batch):
            xb, yb = x[i:i + batch].to(device), y[i:i + batch].to(device)
            logits = model(xb, weights.to(device), skip_zero=True)
            loss += float(F.cross_entropy(logits, yb, reduction="sum"))
            correct += int((logits.argmax(1) == yb).sum())
    return correct / max(len(y), 1), loss / max(len(y), 1)
