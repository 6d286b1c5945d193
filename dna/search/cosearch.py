"""Network-accelerator co-search (DNA paper Alg. 1) and its baselines, as `run_search`.

Each epoch of strategy ``dna``:
  1. train the supernet weights w on one half of the training split (SGD, cosine lr),
     every step with a fresh Gumbel-softmax sample GS(alpha) at temperature tau_e;
  2. sample M networks from P(alpha), run DAS for each (dna.search.op_costs.DASRunner) and charge
     every candidate op its average cost over those M accelerators (Eq. 4);
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

import io
import json
import math
import os
import pickle
import time
import types
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import torch
import torch.distributed as dist
import torch.nn.functional as F

from dna.cost.target import load_target
from dna.data import DataSpec, batches, load_dataset
from dna.design import Design, make_design, save_design
from dna.errors import DnaError
from dna.fileio import write_atomic
from dna.search.das import parse_objective
from dna.search.op_costs import (
    DASRunner,
    alpha_entropy,
    candidates,
    hw_cost,
    hw_loss,
    macs_table,
    op_costs,
    result_metrics,
    single_path_score,
)
from dna.space.fbnet.space import (
    PRIMITIVES,
    Arch,
    FBNetSpace,
    SpaceConfig,
    Supernet,
    arch_to_network,
    argmax_arch,
    fbnet_space,
    gumbel_softmax,
    one_hot,
    sample_archs,
    temperature,
)

STRATEGIES = ("dna", "seq", "random")
CHECKPOINT, LOG, BEST = "checkpoint.pt", "search.jsonl", "best.json"


class ConfigError(DnaError):
    """A search configuration is invalid; the message lists every problem by field."""


@dataclass(frozen=True)
class SpaceSection:
    variant: str = "cifar"  # imagenet | cifar (strides, head)
    width: float = 0.5  # channel multiplier of the proxy
    depth: float = 0.25  # layers-per-group multiplier (0.25: one layer per group)
    ops: tuple[str, ...] = PRIMITIVES


@dataclass(frozen=True)
class DNSSection:
    epochs: int = 10
    warmup_epochs: int = 2  # epochs that train only the weights
    batch_size: int = 64  # global batch (split across DDP ranks)
    alpha_fraction: float = 0.2  # share of the training split that trains alpha (FBNet: 20%)
    samples: int = 10  # M: networks sampled from P(alpha) per epoch
    hw_weight: float = 1.0  # lambda of L_val + lambda * L_hw
    w_lr: float = 0.1
    w_momentum: float = 0.9
    w_weight_decay: float = 1e-4
    alpha_lr: float = 0.1
    alpha_weight_decay: float = 5e-4
    tau0: float = 5.0  # Gumbel-softmax temperature of epoch 0
    tau_decay: float = 0.7  # per epoch (FBNet: 0.956 over 90 epochs; the proxy is short)
    eval_images: int = 128  # alpha-split images scoring candidates' single paths
    time_budget_s: float | None = None  # fit the number of epochs to this wall time


@dataclass(frozen=True)
class DASSection:
    steps: int = 2  # per inner DAS call (one per sampled network)
    samples: int = 256  # accelerators per DAS step
    estimator: str = "reinforce"  # inner calls (cheap, unbiased)
    final_steps: int = 60  # DAS on the derived network
    final_samples: int = 256
    final_estimator: str = "dna"
    final_restarts: int = 3  # independent final DAS runs (seeds); the best is kept
    mapping_samples: int = 16  # random mappings per conv for the Eq. 4 op costs
    styles: tuple[str, ...] = ("multicycle", "pipeline")


@dataclass(frozen=True)
class SearchConfig:
    strategy: str = "dna"  # dna | seq | random
    seed: int = 0
    target: str = "zc706"
    precision: int = 8
    objective: str = "fps"  # fps | latency | energy | edp
    data: DataSpec = field(default_factory=lambda: DataSpec(size=16))
    space: SpaceSection = field(default_factory=SpaceSection)
    search: DNSSection = field(default_factory=DNSSection)
    das: DASSection = field(default_factory=DASSection)


def _check_type(value: Any, hint: Any) -> bool:
    """Whether a YAML value fits a config field's type hint."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        return any(_check_type(value, a) for a in args)
    if origin is Literal:
        return value in args
    if origin is tuple:
        return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
    if hint is type(None):
        return value is None
    if isinstance(value, bool) or hint is bool:
        return hint is bool and isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float))
    return isinstance(value, hint) if hint in (int, str) else False


def _hint_text(hint: Any) -> str:
    if get_origin(hint) is Literal:
        return "one of " + ", ".join(map(str, get_args(hint)))
    text = getattr(hint, "__name__", None) if get_origin(hint) is None else None
    return text or str(hint).replace("typing.", "").replace(" | None", " or null")


def _section(cls, data: Any, where: str, problems: list[str]):
    if data is None:
        return cls()
    if not isinstance(data, dict):
        problems.append(f"{where}: expected a mapping")
        return cls()
    hints, values = get_type_hints(cls), {}
    for key, value in data.items():
        if key not in hints:
            problems.append(f"{where}.{key}: unknown field (expected one of {', '.join(hints)})")
        elif hints[key] in (DataSpec, SpaceSection, DNSSection, DASSection):
            values[key] = _section(hints[key], value, f"{where}.{key}", problems)
        elif not _check_type(value, hints[key]):
            problems.append(f"{where}.{key} = {value!r}: expected {_hint_text(hints[key])}")
        else:
            values[key] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def config_from_dict(data: Any, where: str = "config") -> SearchConfig:
    """Validated `SearchConfig`; ConfigError lists every problem with its field path."""
    problems: list[str] = []
    cfg = _section(SearchConfig, data or {}, where, problems)
    if problems:
        raise ConfigError("; ".join(problems))
    s, d = cfg.search, cfg.das
    checks = [
        (cfg.strategy in STRATEGIES, (f"strategy = {cfg.strategy!r}: expected one of "
                                      f"{', '.join(STRATEGIES)}")),
        (cfg.precision in (8, 16), f"precision = {cfg.precision}: expected 8 or 16"),
        (s.epochs >= 1 and 0 <= s.warmup_epochs, "search.epochs >= 1, warmup_epochs >= 0"),
        (min(s.batch_size, s.samples, s.eval_images) >= 1,
         "search.batch_size, samples, eval_images: expected >= 1"),
        (min(d.steps, d.samples, d.final_steps, d.final_samples, d.mapping_samples,
             d.final_restarts) >= 1, ("das.steps, samples, final_steps, final_samples, "
                                      "final_restarts, mapping_samples: expected >= 1")),
        (0 < s.alpha_fraction < 1, "search.alpha_fraction: expected between 0 and 1"),
        (s.w_lr > 0 and s.alpha_lr > 0 and s.tau0 > 0 and 0 < s.tau_decay <= 1
         and s.hw_weight >= 0, "search: lrs and tau0 > 0, 0 < tau_decay <= 1, hw_weight >= 0"),
    ]
    problems = [f"{where}: {msg}" for ok, msg in checks if not ok]
    for what, fn in (("objective", lambda: parse_objective(cfg.objective)),
                     ("target", lambda: load_target(cfg.target)),
                     ("space", lambda: fbnet_space(SpaceConfig(cfg.space.variant,
                                                               cfg.space.width,
                                                               cfg.space.depth,
                                                               ops=cfg.space.ops)))):
        try:
            fn()
        except ValueError as e:
            problems.append(f"{where}.{what}: {e}")
    if problems:
        raise ConfigError("; ".join(problems))
    return cfg


def config_to_dict(cfg: SearchConfig) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(cfg)))


@dataclass
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


class DistContext:
    """Rank, world size and device; starts the process group under torchrun."""

    def __init__(self) -> None:
        if not dist.is_initialized() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        on = dist.is_initialized()
        self.rank, self.world = (dist.get_rank(), dist.get_world_size()) if on else (0, 1)
        nccl = on and dist.get_backend() == "nccl"
        self.device = (torch.device("cuda", int(os.environ.get("LOCAL_RANK", self.rank)))
                       if nccl else torch.device("cpu"))

    def share(self, obj: Any) -> Any:
        """Rank 0's `obj` on every rank."""
        if self.world == 1:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0, device=self.device)
        return box[0]

    def sync(self, tensors: list[torch.Tensor]) -> None:
        """Overwrite `tensors` with rank 0's values."""
        for t in tensors if self.world > 1 else ():
            dist.broadcast(t.data, src=0)


def _gen(seed: int, epoch: int, purpose: int) -> torch.Generator:
    return torch.Generator().manual_seed(zlib.crc32(f"{seed}/{epoch}/{purpose}".encode()))


def run_search(cfg: SearchConfig, out: str | Path, *, resume: bool = False,
               on_step: Callable[[int, int], None] | None = None,
               on_epoch: Callable[[dict, Supernet, torch.Tensor], None] | None = None
               ) -> SearchOutcome:
    """Run Alg. 1 (or a baseline) with `cfg`; write log, checkpoints and out/best.json."""
    out = Path(out)
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
    split = torch.randperm(len(data.train_y), generator=_gen(cfg.seed, -1, 0))
    n_w = len(split) - max(1, round(s.alpha_fraction * len(split)))
    w_idx, a_idx = split[:n_w], split[n_w:]
    ev_x, ev_y = data.train_x[a_idx[:s.eval_images]], data.train_y[a_idx[:s.eval_images]]
    runner = DASRunner(space, target, cfg.precision, cfg.objective, cfg.das.steps,
                       cfg.das.samples, cfg.das.estimator, cfg.seed, cfg.das.styles)
    cand = candidates(space)
    state = {"epoch": 0, "epochs": s.epochs, "records": [], "candidates": [], "wall_s": 0.0}
    if resume:
        state = _load_checkpoint(out, cfg, model, alpha, w_opt, a_opt)
    if dd.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / LOG, "".join(json.dumps(r) + "\n" for r in state["records"]))
    ddp = (torch.nn.parallel.DistributedDataParallel(model, device_ids=None if
                                                     dd.device.type == "cpu" else [dd.device])
           if dd.world > 1 else model)
    n_w = len(batches(len(w_idx), s.batch_size, None, world=dd.world))
    n_a = len(batches(len(a_idx), s.batch_size, None, world=dd.world))
    step = [0]

    def tick() -> None:
        step[0] += 1
        if on_step:
            on_step(step[0], state["epochs"] * (n_w + n_a))

    while state["epoch"] < state["epochs"]:
        epoch, started = state["epoch"], time.perf_counter()
        step[0] = epoch * (n_w + n_a)
        tau = temperature(epoch, s.tau0, s.tau_decay)
        for g in w_opt.param_groups:
            g["lr"] = 0.5 * s.w_lr * (1 + math.cos(math.pi * epoch / state["epochs"]))
        gen = _gen(cfg.seed, epoch, 0)
        model.train()
        loss_w = []
        for b in batches(len(w_idx), s.batch_size, gen, rank=dd.rank, world=dd.world):
            weights = gumbel_softmax(alpha.detach().cpu(), tau, gen).to(dd.device)
            i = w_idx[b]
            loss = F.cross_entropy(ddp(data.train_x[i].to(dd.device), weights),
                                   data.train_y[i].to(dd.device))
            w_opt.zero_grad()
            loss.backward()
            w_opt.step()
            loss_w.append(loss.item())
            tick()
        das_s = 0.0
        search_alpha = cfg.strategy != "random" and epoch >= s.warmup_epochs
        seen: list[dict] = []
        table = None
        if (cfg.strategy == "dna" and search_alpha) or cfg.strategy == "random":
            archs = sample_archs(space, alpha, s.samples, _gen(cfg.seed, epoch, 1))
            if dd.rank == 0:
                t0 = time.perf_counter()
                results = [runner.run(a) for a in archs]
                if cfg.strategy == "dna":
                    table = op_costs(space, cand, archs, [r.accelerator for r in results],
                                     target, cfg.precision, cfg.objective,
                                     mapping_samples=cfg.das.mapping_samples,
                                     seed=cfg.seed).table
                das_s += time.perf_counter() - t0
                seen = [{"arch": a.to_dict(), "epoch": epoch, **result_metrics(r)}
                        for a, r in zip(archs, results)]
            table = dd.share(table)
        elif cfg.strategy == "seq" and search_alpha:
            table = macs_table(space, cand, alpha)
        loss_a, loss_hw = [], []
        if search_alpha:
            for p in model.parameters():
                p.requires_grad_(False)
            for b in batches(len(a_idx), s.batch_size, gen, rank=dd.rank, world=dd.world):
                weights = gumbel_softmax(alpha.cpu(), tau, gen).to(dd.device)
                i = a_idx[b]
                ce = F.cross_entropy(model(data.train_x[i].to(dd.device), weights),
                                     data.train_y[i].to(dd.device))
                hw = hw_loss(weights, table)
                a_opt.zero_grad()
                (ce + s.hw_weight * hw).backward()
                if dd.world > 1:
                    dist.all_reduce(alpha.grad)
                    alpha.grad /= dd.world
                a_opt.step()
                loss_a.append(ce.item())
                loss_hw.append(hw.item())
                tick()
            for p in model.parameters():
                p.requires_grad_(True)
        dd.sync(list(model.state_dict().values()) + [alpha])
        record = None
        if dd.rank == 0:
            for cnd in seen:
                cnd["acc"], cnd["val_loss"] = single_path_score(
                    model, one_hot(space, space.arch(cnd["arch"])), ev_x, ev_y, dd.device)
            state["candidates"] += seen
            if cfg.strategy == "random":
                arch = _best_random(space, state["candidates"], cfg)
            else:
                arch = argmax_arch(space, alpha)
            t0 = time.perf_counter()
            res = runner.run(arch)
            das_s += time.perf_counter() - t0
            acc, val_loss = single_path_score(model, one_hot(space, arch), ev_x, ev_y,
                                              dd.device)
            t_all = time.perf_counter() - started
            t_sup = t_all - das_s
            record = {
                "epoch": epoch, "strategy": cfg.strategy, "temperature": tau,
                "lr": w_opt.param_groups[0]["lr"],
                "loss_train": _mean(loss_w), "loss_val": _mean(loss_a),
                "loss_hw": _mean(loss_hw),
                "loss_total": (_mean(loss_a) + s.hw_weight * _mean(loss_hw)
                               if loss_a else None),
                "alpha_entropy": alpha_entropy(alpha),
                "alpha": [[round(v, 5) for v in row] for row in alpha.detach().cpu().tolist()],
                "argmax": arch.to_dict(), "argmax_acc": acc, "argmax_val_loss": val_loss,
                "argmax_hw": result_metrics(res), "candidates": len(seen),
                "time_s": t_all, "time_supernet_s": t_sup, "time_das_s": das_s,
                "das_share": das_s / t_all, "das_calls": runner.calls, "das_cache_hits": runner.hits,
            }
        record = dd.share(record)
        state["records"].append(record)
        state["epoch"] += 1
        state["wall_s"] += record["time_s"]
        if s.time_budget_s:  # fit the epoch count to the budget (benchmarks)
            per = state["wall_s"] / state["epoch"]
            state["epochs"] = max(state["epoch"], min(10 * s.epochs,
                                                      int(s.time_budget_s / per)))
        if dd.rank == 0:
            with open(out / LOG, "a") as f:
                f.write(json.dumps(record) + "\n")
            _save_checkpoint(out, cfg, state, model, alpha, w_opt, a_opt)
        if on_epoch:
            on_epoch(record, model, alpha)
    return _finish(cfg, out, dd, space, runner, model, alpha, state)


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _best_random(space, cands: list[dict], cfg: SearchConfig) -> Arch:
    """Random search's pick: lowest val CE + lambda * hardware cost / mean cost."""
    costs = [hw_cost(c, cfg.objective) for c in cands]
    ref = sum(costs) / len(costs)
    best = min(range(len(cands)),
               key=lambda i: cands[i]["val_loss"] + cfg.search.hw_weight * costs[i] / ref)
    return space.arch(cands[best]["arch"])


def _finish(cfg, out, dd, space, runner, model, alpha, state) -> SearchOutcome:
    """Derive the network and its accelerator (DAS, final budget); write best.json, plots."""
    design = None
    if dd.rank == 0:
        arch = (space.arch(state["records"][-1]["argmax"]))
        res = runner.run(arch, steps=cfg.das.final_steps, samples=cfg.das.final_samples,
                         estimator=cfg.das.final_estimator, restarts=cfg.das.final_restarts)
        net = arch_to_network(arch, space)
        target = load_target(cfg.target)
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
        design = make_design(net, res.accelerator, target, cfg.precision, provenance=prov)
        save_design(design, out / BEST)
    design = dd.share(design)
    return SearchOutcome(design, out / BEST, space.arch(design.provenance["arch"]),
                         state["records"], state["candidates"], space,
                         alpha.detach().cpu().clone(), dd.rank)


def _save_checkpoint(out, cfg, state, model, alpha, w_opt, a_opt) -> None:
    buf = io.BytesIO()
    torch.save({"version": 1, "config": config_to_dict(cfg), "state": state,
                "model": model.state_dict(), "alpha": alpha.detach().cpu(),
                "w_opt": w_opt.state_dict(), "a_opt": a_opt.state_dict()}, buf)
    write_atomic(out / CHECKPOINT, buf.getvalue())


def _load_checkpoint(out, cfg, model, alpha, w_opt, a_opt) -> dict:
    path = out / CHECKPOINT
    if not path.is_file():
        raise ConfigError(f"{path}: no checkpoint to resume from (run without --resume)")
    try:
        ck = torch.load(path, map_location=alpha.device, weights_only=False)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as e:
        raise ConfigError(f"{path}: unreadable checkpoint ({type(e).__name__}: {e})") from None
    if ck.get("config") != config_to_dict(cfg):
        old, new = ck.get("config") or {}, config_to_dict(cfg)
        diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        raise ConfigError(f"{path}: made with a different configuration (differs in "
                          f"{', '.join(diff)}); resume with the same config or start afresh")
    model.load_state_dict(ck["model"])
    with torch.no_grad():
        alpha.copy_(ck["alpha"])
    w_opt.load_state_dict(ck["w_opt"])
    a_opt.load_state_dict(ck["a_opt"])
    return ck["state"]
