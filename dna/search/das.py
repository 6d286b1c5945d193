"""DAS: differentiable accelerator search over GADS (paper Sec. 3.4, Eq. 7).

Every index-form parameter s of GADS (dna.space.gads.index) gets logits gamma_s. A step
samples a batch of accelerators from softmax(gamma), decodes them straight to tensors
(dna.space.gads.tensor), evaluates them with the vectorised cost model (dna.search.evaluator) and
turns the hardware loss into a gradient on gamma. Estimators (`ESTIMATORS`):

* ``paper``: Eq. 7 as published. Hard Gumbel-softmax samples, straight-through gradient:
  each sample's loss (log objective + penalty x budget excess) times its sampled one-hots
  is backpropagated. No baseline, uniform start, temperature 5 -> 0.5.
* ``reinforce``: score-function gradient with a centred-rank baseline over the batch
  (infeasible samples rank below every feasible one, by how far they are over budget).
* ``dna`` (default): ``reinforce`` plus
  - per-layer credit: a layer's mapping parameters are ranked by that layer's own share of
    the loss (its PE-cycles or energy), not by the whole network's;
  - anchored sampling: part of the batch varies only the hardware parameters, part only
    the mappings, the rest of each such sample taken from the best point so far;
  - recombination: the best point's hardware with every layer's best sampled mapping;
  - a warm start (the cheapest design or the best of a short uniform warm-up seeds the
    logits); an exploration floor (hardware logits within +-hw_clamp, mapping logits
    clamped to about `explore` deviations per sample, 10% uniform samples); each style
    searched on its own share of the budget; a final coordinate polish of the best point.
  The benchmark (benchmarks/das.py) measures each addition against ``paper``.

The best feasible point ever evaluated is kept; an infeasible point is never returned
(`NoFeasibleDesign` instead). Deterministic for a seed. Pure computation: no I/O.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from dna.cost.target import Target
from dna.search.evaluator import (
    Evaluator,
    LimitError,
    Limits,
    NoFeasibleDesign,
    Objective,
    Scores,
    SearchResult,
    StepInfo,
    finish,
    limits_for,
    metric_of,
    minimal_index,
    parse_objective,
    search_space,
    single_threaded,
)
from dna.space.gads.index import STYLES, IndexSpace
from dna.space.gads.tensor import tensor_space
from dna.workload.ir import Network


@dataclass(frozen=True)
class DASConfig:
    """How DAS turns sampled losses into a gradient on the logits (see module docstring)."""

    gradient: Literal["straight-through", "score"]  # Eq. 7 Gumbel-softmax ST, or REINFORCE
    baseline: Literal["none", "rank"]  # "rank": centred ranks within the batch
    local_credit: bool = False  # rank a layer's mapping parameters by that layer's share
    anchor: bool = False  # part of the batch varies hardware only, part mapping only
    anchor_share: float = 1.0  # share of the batch anchored that way (the rest is free)
    uniform_share: float = 0.0  # share of the batch drawn uniformly (no gradient; they can
    #                             only become the best point, and so the anchor)
    recombine: bool = False  # evaluate the best hardware with each layer's best mapping
    warmup: float = 0.0  # share of the budget for uniform samples that seed the logits
    polish: float = 0.0  # share of the budget for a coordinate polish of the best point
    polish_starts: int = 1  # polish, while budget lasts, the best points of up to this many
    #                         distinct hardware configurations, best first
    per_style: bool = False  # search multicycle and pipeline apart (multicycle_share each)
    multicycle_share: float = 0.3  # budget share of the multicycle search when per_style
    lr: float = 0.1  # Adam learning rate on the mapping logits
    hw_lr: float = 0.1  # Adam learning rate on the hardware logits (style, chunks, NoC, PEs)
    hw_clamp: float = math.inf  # |hardware logits| <= this (keeps exploring chunk shapes)
    explore: float = 0.0  # mapping logits clamped so that a sample leaves the most likely
    #                      choice in about this many mapping parameters (0: no clamp)
    seed_prob: float = 0.9  # probability the warm start's choice keeps, mapping parameters
    hw_seed_prob: float = 0.9  # the same for hardware parameters
    tau: tuple[float, float] = (5.0, 0.5)  # Gumbel-softmax temperature, first -> last step
    penalty: float = 10.0  # straight-through loss per unit of relative budget excess


ESTIMATORS: dict[str, DASConfig] = {
    "paper": DASConfig("straight-through", "none", lr=0.05, hw_lr=0.05),
    "reinforce": DASConfig("score", "rank"),
    "dna": DASConfig("score", "rank", local_credit=True, anchor=True, recombine=True,
                     anchor_share=0.5, warmup=0.1, polish=0.2, per_style=True, hw_clamp=1.5,
                     explore=2.0, hw_seed_prob=0.5, uniform_share=0.1, polish_starts=8),
}


# Default budget: the cost of a step grows with the conv layers it evaluates, so the
# default is a fixed number of layer-steps: 3000 steps up to 16 conv layers (VGG16),
# proportionally fewer for deeper networks (MobileNetV2, 53 convs: 906); ~30 s each.
DEFAULT_LAYER_STEPS = 48_000
MAX_DEFAULT_STEPS = 3000


def default_steps(net: Network) -> int:
    """Search steps `dna das` uses when none are given (see DEFAULT_LAYER_STEPS)."""
    return max(1, min(MAX_DEFAULT_STEPS, math.ceil(DEFAULT_LAYER_STEPS / len(net.convs))))


@single_threaded
def das_search(net: Network, target: Target, *, bits: int = 16, objective: str | Objective =
               "fps", steps: int = 200, samples: int = 256, seed: int = 0,
               estimator: str | DASConfig = "dna", styles: tuple[str, ...] = STYLES,
               limits: Limits | None = None, space: IndexSpace | None = None,
               on_step: Callable[[StepInfo], None] | None = None) -> SearchResult:
    """Search an accelerator for `net` on `target` within `steps` x `samples` evaluations.

    `estimator` names one of `ESTIMATORS` (or is a `DASConfig`); `space` replaces the
    default search space (e.g. a restricted one). Raises NoFeasibleDesign when no
    evaluated point meets `limits` (default: the target's budgets).
    """
    started = time.perf_counter()
    if isinstance(estimator, str) and estimator not in ESTIMATORS:
        raise LimitError(f"estimator {estimator!r}: expected one of {', '.join(ESTIMATORS)}")
    cfg = ESTIMATORS[estimator] if isinstance(estimator, str) else estimator
    name = estimator if isinstance(estimator, str) else "custom"
    obj = parse_objective(objective) if isinstance(objective, str) else objective
    if steps < 1 or samples < 1:
        raise LimitError(f"steps = {steps}, samples = {samples}: both must be >= 1")
    limits = limits or limits_for(target, bits)
    budget = steps * samples
    if space is not None:
        parts = [(space, budget)]
    elif cfg.per_style and len(set(styles)) > 1 and target.fixed_arch is None:
        n_multi = int(cfg.multicycle_share * budget)
        parts = [(search_space(net, target, styles=("multicycle",)), n_multi),
                 (search_space(net, target, styles=("pipeline",)), budget - n_multi)]
    else:
        parts = [(search_space(net, target, styles=styles), budget)]
    gen = torch.Generator().manual_seed(seed)
    runs: list[Evaluator] = []
    for part, n in parts:
        done = sum(r.evaluations for r in runs)
        best = math.inf
        for r in runs:
            best = _better(obj, best, r.best_metric())
        ev = Evaluator(tensor_space(part), target, bits, obj, limits)
        progress = (None if on_step is None else
                    lambda e=ev, d=done, b=best: on_step(StepInfo(d + e.evaluations, budget,
                                                                  _better(obj, b,
                                                                          e.best_metric()))))
        _run(ev, cfg, n, samples, gen, progress)
        runs.append(ev)
    return _merge(runs, f"das:{name}", started, seed)


def _better(obj: Objective, a: float, b: float) -> float:
    """The better of two natural-unit objective values (FPS: higher; others: lower)."""
    if not math.isfinite(a):
        return b
    if not math.isfinite(b):
        return a
    higher = len(obj.weights) == 1 and obj.weights[0][0] == "fps"
    return max(a, b) if higher else min(a, b)


def _merge(runs: list[Evaluator], method: str, started: float, seed: int) -> SearchResult:
    """The result of the best run, with evaluations and history over all runs."""
    best = min(runs, key=lambda r: r.best_loss)
    if best.best_index is None:
        raise NoFeasibleDesign(f"no accelerator within the constraints among "
                               f"{sum(r.evaluations for r in runs)} evaluated; relax the "
                               f"limits or search longer")
    res = finish(best, method, started, seed)
    if len(runs) == 1:
        return res
    history, offset, best_loss = [], 0, math.inf
    for r in runs:
        for n, loss in r.history:
            best_loss = min(best_loss, loss)
            history.append((offset + n, metric_of(r.objective, best_loss,
                                                  r.target.clock_mhz)))
        offset += r.evaluations
    return dataclasses.replace(res, evaluations=offset, history=tuple(history))


def _run(ev: Evaluator, cfg: DASConfig, budget: int, samples: int, gen: torch.Generator,
         progress: Callable[[], None] | None) -> None:
    """One DAS run on `ev`'s space within `budget` evaluations."""
    sizes = ev.ts.sizes
    mask = torch.arange(ev.ts.max_choices) < sizes[:, None]  # (P, C) real choices
    layer_of = _param_layers(ev.ts.space)  # (P,) layer of a mapping parameter, -1 for hw
    theta = torch.zeros(mask.shape, dtype=torch.float64)
    if cfg.polish and cfg.polish_starts > 1:
        ev.keep_archive()
    n_warm = max(1, int(cfg.warmup * budget)) if cfg.warmup else 0
    if n_warm:
        idx = torch.cat([minimal_index(ev.ts)[None],
                         (torch.rand(n_warm - 1, len(sizes), generator=gen,
                                     dtype=torch.float64) * sizes).long()])
        s = ev(idx)
        _seed_logits(theta, idx[int(_rank_key(s.loss, s.feasible, s.violation).argmin())],
                     cfg, layer_of, sizes)
        progress and progress()
    theta.requires_grad_(True)
    opt = _Adam(theta, torch.where(layer_of >= 0, cfg.lr, cfg.hw_lr)[:, None])
    per_step = samples + int(cfg.anchor and cfg.recombine)
    n_steps = max(1, (budget - n_warm - int(cfg.polish * budget)) // per_step)
    hw = layer_of < 0
    clamp = _logit_clamp(sizes, hw, cfg.explore, cfg.hw_clamp)  # (P, 1)
    by_size = _BySize.of(sizes)
    for t in range(n_steps):
        logits = theta.masked_fill(~mask, -1e9)
        if cfg.gradient == "score":
            loss = _score_step(ev, logits, cfg, samples, gen, layer_of, by_size)
        else:
            tau = cfg.tau[0] * (cfg.tau[1] / cfg.tau[0]) ** (t / max(n_steps - 1, 1))
            loss = _straight_through_step(ev, logits, cfg, samples, gen, tau)
        theta.grad = None
        loss.backward()
        opt.step()
        with torch.no_grad():
            theta.copy_(theta.clamp(-clamp, clamp))
        progress and progress()
    if cfg.polish and ev.best_index is not None and budget > ev.evaluations:
        from dna.search.baselines import coordinate_descent
        starts = ev.archive_best(cfg.polish_starts) if cfg.polish_starts > 1 else []
        starts = starts or [ev.best_index]
        for start in starts:  # best first; each stops at its local optimum
            if budget - ev.evaluations < 2:
                break
            coordinate_descent(ev, start, budget - ev.evaluations, gen)
            progress and progress()


def _logit_clamp(sizes: torch.Tensor, hw: torch.Tensor, explore: float, hw_clamp: float
                 ) -> torch.Tensor:
    """(P, 1) logit bound c per parameter. Mapping parameters: with logits in [-c, c] the
    most likely of C choices is left with probability about (C-1) e^(-2c) = explore /
    (mapping parameters with a choice); hardware parameters: `hw_clamp`, or the same rule
    with one expected deviation if that is looser (spaces with little hardware to vary)."""
    free = sizes > 1
    c = torch.full((len(sizes),), math.inf, dtype=torch.float64)
    if explore > 0:
        n_map = max(int((~hw & free).sum()), 1)
        c = 0.5 * torch.log((sizes - 1).clamp(min=1).double() * n_map / explore)
        c = torch.where(hw, math.inf, c.clamp(min=0.5))
    n_hw = max(int((hw & free).sum()), 1)
    c_hw = (0.5 * torch.log((sizes - 1).clamp(min=1).double() * n_hw)).clamp(min=0.5)
    return torch.where(hw, torch.minimum(c_hw, torch.tensor(hw_clamp)), c)[:, None]


def centred_ranks(key: torch.Tensor) -> torch.Tensor:
    """Utilities in [-0.5, 0.5] along dim 0 (lowest key -> +0.5); ties share their mean."""
    b = key.shape[0]
    if key.dim() > 1 and b > 1 and not bool(key.isnan().any()):
        cols = key.reshape(b, -1).T.contiguous()  # (columns, b)
        ordered = cols.sort(-1).values
        less = torch.searchsorted(ordered, cols)  # how many are strictly better
        equal = torch.searchsorted(ordered, cols, right=True) - less
        less, equal = less.T.reshape(key.shape), equal.T.reshape(key.shape)
    else:  # pairwise counts (NaN keys compare unequal to all, as here)
        less = (key.unsqueeze(1) < key.unsqueeze(0)).sum(0)
        equal = (key.unsqueeze(1) == key.unsqueeze(0)).sum(0)
    rank = less + (equal - 1) / 2  # 0 = best
    return 0.5 - rank / max(b - 1, 1)


def _rank_key(loss: torch.Tensor, feasible: torch.Tensor, violation: torch.Tensor,
              tiebreak: torch.Tensor | None = None) -> torch.Tensor:
    """Sort key along dim 0: feasible points by loss, then infeasible ones by budget excess.

    `loss` is (S,) or (S, L); `feasible` and `violation` broadcast against it.
    """
    if tiebreak is not None:  # below any real loss difference, above exact ties
        loss = loss + 1e-9 * tiebreak
    worst = torch.where(feasible, loss, -math.inf).amax(0, keepdim=True)
    worst = torch.where(worst.isfinite(), worst, torch.zeros_like(worst))
    return torch.where(feasible, loss, worst + 1 + violation * 1e3)


def _param_layers(space: IndexSpace) -> torch.Tensor:
    """(P,) the conv layer a mapping parameter belongs to; -1 for hardware parameters."""
    return torch.tensor([int(p.name[6:p.name.index("]")]) if p.group == "mapping" else -1
                         for p in space.params])


def _seed_logits(theta: torch.Tensor, point: torch.Tensor, cfg: DASConfig,
                 layer_of: torch.Tensor, sizes: torch.Tensor) -> None:
    """Set `theta` in place so that each parameter samples `point`'s choice with
    probability seed_prob (hw_seed_prob for hardware) and the others uniformly."""
    prob = torch.where(layer_of >= 0, cfg.seed_prob, cfg.hw_seed_prob)
    odds = prob / (1 - prob) * (sizes - 1).clamp(min=1)
    theta.zero_()
    theta[torch.arange(len(sizes)), point] = odds.double().log()


class _Adam:
    """Adam on one tensor with a learning rate per row (hardware vs mapping logits)."""

    def __init__(self, param: torch.Tensor, lr: torch.Tensor, betas=(0.9, 0.999),
                 eps: float = 1e-8):
        self.param, self.lr, self.betas, self.eps = param, lr, betas, eps
        self.m = torch.zeros_like(param)
        self.v = torch.zeros_like(param)
        self.t = 0

    @torch.no_grad()
    def step(self) -> None:
        b1, b2 = self.betas
        self.t += 1
        g = self.param.grad
        self.m.mul_(b1).add_(g, alpha=1 - b1)
        self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
        m_hat = self.m / (1 - b1 ** self.t)
        v_hat = self.v / (1 - b2 ** self.t)
        self.param.sub_(self.lr * m_hat / (v_hat.sqrt() + self.eps))


@dataclass(frozen=True)
class _BySize:
    """The parameters in order of their number of choices, for `_sample`."""

    perm: torch.Tensor  # (P,) parameters, fewest choices first (stable)
    inverse: torch.Tensor  # (P,) position of each parameter in `perm`
    starts: tuple[int, ...]  # starts[c]: first position in `perm` with more than c + 1 choices

    @staticmethod
    def of(sizes: torch.Tensor) -> _BySize:
        perm = torch.argsort(sizes, stable=True)
        ordered = sizes[perm]
        starts = tuple(int(torch.searchsorted(ordered, c + 2))
                       for c in range(int(sizes.max()) - 1))
        return _BySize(perm, torch.argsort(perm), starts)


def _sample(logits: torch.Tensor, samples: int, gen: torch.Generator, by_size: _BySize
            ) -> torch.Tensor:
    """(S, P) choice indices drawn from softmax(logits) by inverse CDF: the number of
    cumulative probabilities below u x total (what searchsorted finds). The logits of
    choices past a parameter's own are -1e9 (probability 0), so its cumulative
    probabilities from its last choice on equal the total and none is below it: only the
    first choices - 1 are compared, on parameters grouped by their number of choices."""
    cdf = torch.softmax(logits.detach(), -1).cumsum(-1)  # (P, C)
    u = torch.rand(logits.shape[0], samples, generator=gen, dtype=cdf.dtype)
    cdf = cdf[by_size.perm]
    v = u[by_size.perm] * cdf[:, -1:]  # (P, S) in size order
    below = torch.zeros(v.shape, dtype=torch.uint8 if len(by_size.starts) < 256 else torch.int32)
    for c, start in enumerate(by_size.starts):  # rows from `start` have > c + 1 choices
        below[start:] += cdf[start:, c:c + 1] < v[start:]
    return torch.empty(samples, logits.shape[0], dtype=torch.int64).copy_(
        below[by_size.inverse].T)


def _score_step(ev: Evaluator, logits: torch.Tensor, cfg: DASConfig, samples: int,
                gen: torch.Generator, layer_of: torch.Tensor, by_size: _BySize
                ) -> torch.Tensor:
    """Surrogate loss whose gradient is the score-function estimate with a rank baseline.

    With `cfg.anchor` the batch has three groups, each ranked on its own: free samples,
    samples that vary only the hardware, and samples that vary only the mappings (the
    rest of each taken from the best point so far).
    """
    n_uni = int(cfg.uniform_share * samples)
    uni = (torch.rand(n_uni, len(layer_of), generator=gen, dtype=torch.float64)
           * ev.ts.sizes).long()
    samples -= n_uni
    idx = _sample(logits, samples, gen, by_size)  # (S, P)
    hw = layer_of < 0  # (P,)
    anchor = ev.best_index if cfg.anchor else None
    n_anch = int(cfg.anchor_share * samples) if anchor is not None else 0
    free, mid = samples - n_anch, samples - n_anch // 2
    if n_anch:
        idx[free:mid] = torch.where(hw, idx[free:mid], anchor)  # vary hardware only
        idx[mid:] = torch.where(hw, anchor, idx[mid:])  # vary mappings only
    s = ev(torch.cat([idx, uni]) if n_uni else idx)
    groups = [(slice(0, free), cfg.local_credit, True, True)]
    if n_anch:
        groups += [(slice(free, mid), False, True, False),
                   (slice(mid, samples), cfg.local_credit, False, True)]
    adv = _advantages(s, samples, groups, layer_of)  # (S, P)
    if n_anch and cfg.recombine:
        _recombine(ev, idx[mid:], s.layer_loss[mid:samples], s.feasible[mid:samples],
                   layer_of)
    logp = torch.log_softmax(logits, -1)[torch.arange(idx.shape[1]), idx]  # (S, P)
    return -(adv * logp).sum() / samples


def _advantages(s: Scores, samples: int, groups: list[tuple[slice, bool, bool, bool]],
                layer_of: torch.Tensor) -> torch.Tensor:
    """(samples, P) centred-rank advantages. Each group (rows, local, hw, mapping) is
    ranked on its own: by the network loss, or for mapping parameters (with `local`) by
    their own layer's share of it; parameters of a kind the group does not vary get 0."""
    n_layers = s.layer_loss.shape[1]
    net_col, zero_col = n_layers, n_layers + 1
    # (samples, L + 2) per-layer utilities, the network's, 0
    util = torch.zeros(samples, n_layers + 2, dtype=torch.get_default_dtype())
    adv = torch.empty(samples, len(layer_of), dtype=util.dtype)
    mapping = layer_of >= 0
    for rows, local, vary_hw, vary_map in groups:
        if rows.stop <= rows.start:
            continue
        util[rows, net_col] = centred_ranks(_rank_key(s.loss[rows], s.feasible[rows],
                                                      s.violation[rows], s.tiebreak[rows]))
        if local:
            util[rows, :n_layers] = centred_ranks(_rank_key(
                s.layer_loss[rows], s.feasible[rows, None], s.violation[rows, None]))
        cols = torch.where(mapping, layer_of if local else net_col, net_col)
        cols = torch.where(mapping, cols if vary_map else zero_col,
                           net_col if vary_hw else zero_col)  # (P,)
        torch.index_select(util[rows], 1, cols, out=adv[rows])
    return adv


def _recombine(ev: Evaluator, idx: torch.Tensor, layer_loss: torch.Tensor,
               feasible: torch.Tensor, layer_of: torch.Tensor) -> None:
    """Evaluate the samples' shared hardware with each layer's best feasible mapping."""
    if not bool(feasible.any()):
        return
    best = torch.where(feasible[:, None], layer_loss, math.inf).argmin(0)  # (L,)
    rows = torch.where(layer_of >= 0, best[layer_of.clamp(min=0)], 0)  # (P,)
    ev(idx[rows, torch.arange(idx.shape[1])][None])


def _straight_through_step(ev: Evaluator, logits: torch.Tensor, cfg: DASConfig,
                           samples: int, gen: torch.Generator, tau: float) -> torch.Tensor:
    """Eq. 7: loss x hard Gumbel-softmax one-hots (straight-through), over the samples."""
    u = torch.rand((samples, *logits.shape), generator=gen, dtype=logits.dtype)
    z = logits - torch.log(-torch.log(u.clamp(1e-12, 1 - 1e-12)))  # (S, P, C)
    idx = z.detach().argmax(-1)  # (S, P)
    s = ev(idx)
    if cfg.baseline == "rank":
        hw = -centred_ranks(_rank_key(s.loss, s.feasible, s.violation))
    else:
        hw = s.loss + cfg.penalty * s.violation
    y_soft = torch.softmax(z / tau, -1).gather(-1, idx[..., None]).squeeze(-1)  # (S, P)
    one_hot = 1 + y_soft - y_soft.detach()  # 1 forward, softmax gradient backward
    return (hw.detach()[:, None] * one_hot).sum() / samples
