"""Baselines for DAS in the same index space, cost model and evaluation budget.

* `random_search`: uniform index vectors.
* `simulated_annealing`: parallel Metropolis chains; a move resamples a few parameters.
* `exhaustive`: every index vector of a space small enough to enumerate.
* `coordinate_descent`: greedy single-parameter moves from a start point (DAS's polish).

Every search counts cost-model evaluations (one per accelerator point) so budgets compare
directly with `das_search`'s `steps x samples`, and returns the same `SearchResult`.
"""
from __future__ import annotations

import math
import time
from typing import Callable

import torch

from dna.cost.target import Target
from dna.search.evaluator import (
    Evaluator,
    LimitError,
    Limits,
    NoFeasibleDesign,
    Objective,
    SearchResult,
    StepInfo,
    finish,
    limits_for,
    minimal_index,
    parse_objective,
    search_space,
    single_threaded,
)
from dna.space.gads.index import STYLES, IndexSpace
from dna.space.gads.tensor import tensor_space
from dna.workload.ir import Network

BATCH = 4096  # points per cost-model call


def make_evaluator(net: Network, target: Target, *, bits: int, objective: str | Objective,
                   styles: tuple[str, ...] = STYLES, limits: Limits | None = None,
                   space: IndexSpace | None = None) -> Evaluator:
    """An `Evaluator` over the default (or given) search space of `net` on `target`."""
    obj = parse_objective(objective) if isinstance(objective, str) else objective
    space = space or search_space(net, target, styles=styles)
    return Evaluator(tensor_space(space), target, bits, obj, limits or limits_for(target, bits))


def _uniform(sizes: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
    """(n, P) uniform choice indices."""
    return (torch.rand(n, len(sizes), generator=gen, dtype=torch.float64) * sizes).long()


def _progress(ev: Evaluator, budget: int, on_step: Callable | None) -> None:
    if on_step:
        on_step(StepInfo(ev.evaluations, budget, ev.best_metric()))


@single_threaded
def random_search(net: Network, target: Target, *, bits: int = 16, objective: str = "fps",
                  evaluations: int, seed: int = 0, styles: tuple[str, ...] = STYLES,
                  limits: Limits | None = None, space: IndexSpace | None = None,
                  on_step: Callable[[StepInfo], None] | None = None) -> SearchResult:
    """Best feasible point among `evaluations` uniform samples of the index space."""
    started = time.perf_counter()
    ev = make_evaluator(net, target, bits=bits, objective=objective, styles=styles,
                        limits=limits, space=space)
    gen = torch.Generator().manual_seed(seed)
    while ev.evaluations < evaluations:
        ev(_uniform(ev.ts.sizes, min(BATCH, evaluations - ev.evaluations), gen))
        _progress(ev, evaluations, on_step)
    return finish(ev, "random", started, seed)


def _penalised(s, penalty: float) -> torch.Tensor:
    """Annealing energy: log objective plus `penalty` per unit of relative budget excess."""
    return s.loss + penalty * s.violation


def _mutate(cur: torch.Tensor, sizes: torch.Tensor, gen: torch.Generator,
            moves: float) -> torch.Tensor:
    """Resample about `moves` (at least one) parameters of each row to a different choice."""
    n, p = cur.shape
    free = (sizes > 1).double()
    pick = torch.rand(n, p, generator=gen, dtype=torch.float64) < moves / free.sum()
    one = torch.multinomial(free.expand(n, -1), 1, generator=gen)  # (n, 1) a sure move
    pick.scatter_(1, one, True)
    pick &= sizes > 1
    shift = 1 + (torch.rand(n, p, generator=gen, dtype=torch.float64)
                 * (sizes - 1).clamp(min=1)).long()  # 1 .. size-1: never the same choice
    return torch.where(pick, (cur + shift) % sizes, cur)


@single_threaded
def simulated_annealing(net: Network, target: Target, *, bits: int = 16,
                        objective: str = "fps", evaluations: int, seed: int = 0,
                        styles: tuple[str, ...] = STYLES, limits: Limits | None = None,
                        space: IndexSpace | None = None, chains: int = 64,
                        temperature: tuple[float, float] = (0.5, 0.002), moves: float = 2.0,
                        penalty: float = 10.0, start: str = "uniform",
                        on_step: Callable[[StepInfo], None] | None = None) -> SearchResult:
    """`chains` parallel annealing chains from uniform starts, geometric cooling.

    Energy = log objective + `penalty` x relative budget excess; a move resamples about
    `moves` parameters. Each iteration costs `chains` evaluations. `start="minimal"`
    starts every chain at the cheapest design (DAS's warm start) instead.
    """
    started = time.perf_counter()
    ev = make_evaluator(net, target, bits=bits, objective=objective, styles=styles,
                        limits=limits, space=space)
    gen = torch.Generator().manual_seed(seed)
    chains = max(1, min(chains, evaluations))
    if start not in ("uniform", "minimal"):
        raise LimitError(f"start {start!r}: expected uniform or minimal")
    cur = (_uniform(ev.ts.sizes, chains, gen) if start == "uniform"
           else minimal_index(ev.ts).expand(chains, -1).clone())
    energy = _penalised(ev(cur), penalty)
    t0, t1 = temperature
    i = 0
    while ev.evaluations < evaluations:
        n = min(chains, evaluations - ev.evaluations)  # the last round may move fewer chains
        temp = t0 * (t1 / t0) ** (ev.evaluations / evaluations)
        prop = _mutate(cur[:n], ev.ts.sizes, gen, moves)
        e_new = _penalised(ev(prop), penalty)
        u = torch.rand(n, generator=gen, dtype=torch.float64)
        accept = (e_new <= energy[:n]) | (u < torch.exp(-(e_new - energy[:n]) / temp))
        cur[:n] = torch.where(accept[:, None], prop, cur[:n])
        energy[:n] = torch.where(accept, e_new, energy[:n])
        i += 1
        if i % 16 == 0 or ev.evaluations >= evaluations:
            _progress(ev, evaluations, on_step)
    return finish(ev, "annealing", started, seed)


@single_threaded
def exhaustive(net: Network, target: Target, *, bits: int = 16, objective: str = "fps",
               max_points: int = 2_000_000, styles: tuple[str, ...] = STYLES,
               limits: Limits | None = None, space: IndexSpace | None = None,
               on_step: Callable[[StepInfo], None] | None = None) -> SearchResult:
    """Evaluate every index vector; LimitError if the space has more than `max_points`."""
    started = time.perf_counter()
    ev = make_evaluator(net, target, bits=bits, objective=objective, styles=styles,
                        limits=limits, space=space)
    sizes = ev.ts.sizes
    total = math.prod(int(s) for s in sizes)
    if total > max_points:
        raise LimitError(f"the space has {total:.3g} points; exhaustive enumeration is "
                         f"limited to {max_points:,}")
    radix = torch.ones_like(sizes)
    radix[:-1] = torch.flip(torch.cumprod(torch.flip(sizes[1:], [0]), 0), [0])
    for start in range(0, total, BATCH):
        n = torch.arange(start, min(total, start + BATCH))[:, None]
        ev((n // radix) % sizes)
        _progress(ev, total, on_step)
    return finish(ev, "exhaustive", started, 0)


def coordinate_descent(ev: Evaluator, start: torch.Tensor, budget: int,
                       gen: torch.Generator | None = None) -> torch.Tensor:
    """Greedy polish of the feasible point `start` within `budget` evaluations.

    Each round evaluates every single-parameter change (a random subset if the budget is
    short), then moves to the better of: the best improving change, or the best improving
    change of every layer (and of the hardware) applied together. Returns the last point.
    """
    gen = gen or torch.Generator().manual_seed(0)
    sizes = ev.ts.sizes
    layer_of = _layer_groups(ev)
    end = ev.evaluations + budget
    cur = start.clone()
    cur_loss = float(ev(cur[None]).loss[0])
    while ev.evaluations < end - 1:
        p_idx, c_idx = _single_moves(cur, sizes)
        room = end - ev.evaluations - 1
        if len(p_idx) > room:
            keep = torch.randperm(len(p_idx), generator=gen)[:room]
            p_idx, c_idx = p_idx[keep], c_idx[keep]
        cand = cur.expand(len(p_idx), -1).clone()
        cand[torch.arange(len(p_idx)), p_idx] = c_idx
        loss = torch.cat([_feasible_loss(ev(cand[i:i + BATCH]))
                          for i in range(0, len(cand), BATCH)] or [torch.zeros(0)])
        better = loss < cur_loss - 1e-12
        if not bool(better.any()):
            break
        best = int(loss.argmin())
        combined = cur.clone()
        groups = layer_of[p_idx]
        for g in groups[better].unique():
            sel = better & (groups == g)
            j = int(torch.where(sel, loss, math.inf).argmin())
            combined[p_idx[j]] = c_idx[j]
        comb_loss = float(_feasible_loss(ev(combined[None]))[0])
        if comb_loss < float(loss[best]):
            cur, cur_loss = combined, comb_loss
        else:
            cur[p_idx[best]] = c_idx[best]
            cur_loss = float(loss[best])
    return cur


def _single_moves(cur: torch.Tensor, sizes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(parameter, choice) of every change of one parameter of `cur` to another choice."""
    p_idx = torch.repeat_interleave(torch.arange(len(sizes)), sizes)
    c_idx = torch.cat([torch.arange(int(s)) for s in sizes])
    keep = c_idx != cur[p_idx]
    return p_idx[keep], c_idx[keep]


def _feasible_loss(s) -> torch.Tensor:
    return torch.where(s.feasible, s.loss, torch.full_like(s.loss, math.inf))


def _layer_groups(ev: Evaluator) -> torch.Tensor:
    """(P,) layer of each mapping parameter; -1 for hardware parameters."""
    names = [p.name for p in ev.ts.space.params]
    return torch.tensor([int(n[6:n.index("]")]) if p.group == "mapping" else -1
                         for n, p in zip(names, ev.ts.space.params)])


def compare(net: Network, target: Target, *, bits: int, objective: str, evaluations: int,
            seed: int, styles: tuple[str, ...] = STYLES, limits: Limits | None = None
            ) -> dict[str, SearchResult | None]:
    """Random search and annealing with `evaluations` each (None where nothing feasible)."""
    out: dict[str, SearchResult | None] = {}
    for name, fn in (("random", random_search), ("annealing", simulated_annealing)):
        try:
            out[name] = fn(net, target, bits=bits, objective=objective,
                           evaluations=evaluations, seed=seed, styles=styles, limits=limits)
        except NoFeasibleDesign:
            out[name] = None
    return out
