"""Per-op hardware costs for the co-search (paper Eq. 4, 5): DAS runs on sampled networks.

`DASRunner` runs DAS (dna.search.das) on the networks sampled from P(alpha), cached by
architecture; `op_costs` charges every candidate op its average cost on the accelerators
those runs found (Eq. 4), and `hw_loss` weighs that table with GS(alpha) (Eq. 5). SEQ-Opt
charges MACs instead (`macs_table`).

Eq. 4. For each of the M networks sampled from P(alpha), DAS finds an accelerator hw_m.
Every candidate op O_lk is then charged its cost on every hw_m, averaged over m:

    cost_lk = 1/M sum_m Cost(O_lk, hw_m)

Cost(O_lk, hw_m) runs each conv of O_lk on the PE array (NoC, unroll) that hw_m gives
layer l of network m (its depthwise convs on the array of network m's depthwise conv at
layer l, the others on the array of its 1x1 convs; a layer network m computes without a
conv borrows the nearest layer's array) with the best of `mapping_samples` random mappings
(loop orders, tiles; buffers sized to the tiles), evaluated by the vectorised cost model.
All M accelerators and all candidate convs go through the cost model in one call.

The metric is latency cycles for the fps and latency objectives (a sum over layers stands
in for the pipeline's slowest chunk, as FBNet's latency table does) and energy for energy.
Each is divided by the mean total of the M sampled networks (stem and head included), so
L_hw = sum_l sum_k w_lk cost_lk (Eq. 5) is ~1 for a typical sampled network and lambda is
dimensionless; edp charges latency/L_ref + energy/E_ref (the first-order change of
log EDP) and a mix such as fps=1,energy=0.5 the weighted sum of its parts. Each conv takes
the mapping that minimises the objective's log.
"""
from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass

import torch

from dna.cost.model import evaluate
from dna.cost.target import Target
from dna.search.das import NoFeasibleDesign, SearchResult, das_search, parse_objective
from dna.space.fbnet.space import (
    Arch,
    FBNetSpace,
    arch_to_network,
    candidate_convs,
    head_nodes,
    stem_nodes,
)
from dna.space.gads.batch import F64, MappingBatch, layer_set
from dna.space.gads.tensor import LEHMER_RADIX, PERMS
from dna.space.gads.typed import Accelerator, problem_of
from dna.workload.ir import Conv, Shape

FIXED = -1  # slot index of the stem and head convs


@dataclass
class DASRunner:
    """DAS for architectures of one space, cached by architecture; times every call."""

    space: FBNetSpace
    target: Target
    bits: int
    objective: str
    steps: int  # DAS steps per call
    samples: int  # accelerators per DAS step
    estimator: str = "dna"
    seed: int = 0
    styles: tuple[str, ...] = ("multicycle", "pipeline")
    time_s: float = 0.0  # wall time spent in DAS and in cost tables
    calls: int = 0
    hits: int = 0

    def __post_init__(self) -> None:
        self.cache: dict[tuple, SearchResult] = {}

    def run(self, arch: Arch, *, steps: int | None = None, samples: int | None = None,
            estimator: str | None = None, restarts: int = 1) -> SearchResult:
        """Best accelerator DAS finds for `arch` in `restarts` independent runs
        (deterministic: seeded by the arch)."""
        steps, samples = steps or self.steps, samples or self.samples
        estimator = estimator or self.estimator
        key = (arch.key, steps, samples, estimator, restarts)
        if key in self.cache:
            self.hits += 1
            return self.cache[key]
        started = time.perf_counter()
        net = arch_to_network(arch, self.space)
        seed = (zlib.crc32(arch.key.encode()) + 7919 * self.seed) % 2**31
        best = None
        for r in range(restarts):
            res = self._one(net, steps, samples, estimator, seed + 1009 * r)
            if best is None or (hw_cost(result_metrics(res), self.objective)
                                < hw_cost(result_metrics(best), self.objective)):
                best = res
        self.calls += 1
        self.time_s += time.perf_counter() - started
        self.cache[key] = best
        return best

    def _one(self, net, steps: int, samples: int, estimator: str, seed: int) -> SearchResult:
        for attempt in range(4):  # tiny budgets can miss every feasible point: grow them
            try:
                return das_search(net, self.target, bits=self.bits, objective=self.objective,
                                  steps=steps, samples=samples * 2 ** attempt,
                                  seed=seed + attempt, estimator=estimator,
                                  styles=self.styles)
            except NoFeasibleDesign:
                if attempt == 3:
                    raise
        raise AssertionError("unreachable")


@dataclass(frozen=True)
class Candidates:
    """Every conv of every candidate op plus the fixed stem/head convs, in one LayerSet."""

    convs: tuple[Conv, ...]
    slot: torch.Tensor  # (J,) layer index, FIXED for stem/head
    op: torch.Tensor  # (J,) op index (0 for FIXED)
    depthwise: torch.Tensor  # (J,) bool
    name: tuple[str, ...]  # conv name in a derived network ("g2.b0.pw", "stem.conv", ...)


def candidates(space: FBNetSpace) -> Candidates:
    cands = candidate_convs(space)
    fixed = [n for n in stem_nodes(space) if isinstance(n, Conv)]
    last = space.slots[-1]
    h = (last.in_shape.h - 1) // last.stride + 1
    fixed += [n for n in head_nodes(space, "x", Shape(1, last.out_channels, h, h))
              if isinstance(n, Conv)]
    convs = tuple(c for _, _, c in cands) + tuple(fixed)
    return Candidates(
        convs=convs,
        slot=torch.tensor([li for li, _, _ in cands] + [FIXED] * len(fixed)),
        op=torch.tensor([ki for _, ki, _ in cands] + [0] * len(fixed)),
        depthwise=torch.tensor([c.is_depthwise for c in convs]),
        name=tuple(c.name for c in convs))


def _chunk_spatial(acc: Accelerator) -> list[tuple[int, ...]]:
    return [c.spatial() for c in acc.chunks]


def _arrays(space: FBNetSpace, cand: Candidates, arch: Arch, acc: Accelerator
            ) -> torch.Tensor:
    """(J, 7) PEs per dim of the array each candidate conv runs on under `acc`."""
    net = arch_to_network(arch, space)
    spatial = _chunk_spatial(acc)
    of = {m.layer: spatial[m.chunk] for m in acc.mappings}  # conv name -> array
    dw_names = {c.name for c in net.convs if c.is_depthwise}
    n = len(space.slots)
    per_slot: dict[bool, list] = {True: [None] * n, False: [None] * n}
    for li, slot in enumerate(space.slots):
        for name, arr in of.items():
            if name.startswith(slot.name + "."):
                dw = name in dw_names
                if per_slot[dw][li] is None:
                    per_slot[dw][li] = arr
    any_array = of.get("stem.conv") or next(iter(of.values()))
    for dw in (True, False):  # borrow from the nearest layer that has one
        table = per_slot[dw]
        for li in range(n):
            if table[li] is None:
                near = sorted((abs(lj - li) + 0.5 * (lj > li), lj) for lj in range(n)
                              if per_slot[dw][lj] is not None)
                table[li] = per_slot[dw][near[0][1]] if near else any_array
    rows = []
    for j, name in enumerate(cand.name):
        li = int(cand.slot[j])
        rows.append(of[name] if li == FIXED else per_slot[bool(cand.depthwise[j])][li])
    return torch.tensor(rows, dtype=F64)


def _random_mappings(bounds: torch.Tensor, spatial: torch.Tensor, samples: int,
                     gen: torch.Generator) -> MappingBatch:
    """`samples` random mappings per (accelerator, conv), each conv in its own chunk.

    bounds (J, 7); spatial (A, J, 7) -> batch of A * samples points over J layers. Every
    accelerator gets the same random draws (common random numbers), so the M accelerators
    differ only by their arrays, not by the luck of their samples."""
    a, j = spatial.shape[:2]
    sp = spatial.long().repeat_interleave(samples, 0)  # (B, J, 7)
    b = sp.shape[0]
    bound = bounds.long()
    n_choices = torch.floor(torch.log2(bounds)).long() + 1 + (bound & (bound - 1) != 0).long()
    pick = (torch.rand(samples, j, 2, 7, generator=gen, dtype=F64)
            * n_choices[:, None]).long().repeat(a, 1, 1, 1)  # (B, J, 2, 7) tile choices
    req = torch.minimum(2 ** pick, bound[:, None])  # gb, rf requests: powers of 2 or bound
    f_rf = torch.minimum(req[:, :, 1], bound)
    f_gb = torch.minimum(req[:, :, 0], -torch.div(-bound, sp * f_rf, rounding_mode="floor"))
    f_dram = -torch.div(-bound, f_gb * sp * f_rf, rounding_mode="floor")
    picks = (torch.rand(samples, j, 3, 7, generator=gen, dtype=F64)
             * torch.arange(7, 0, -1, dtype=F64)).long().repeat(a, 1, 1, 1)  # loop orders
    return MappingBatch(
        factors=torch.stack([f_dram, f_gb, f_rf], -2).to(F64),
        spatial=sp.to(F64),
        order=PERMS[(picks * LEHMER_RADIX).sum(-1)],
        chunk=torch.arange(j).expand(b, j).contiguous(),
        chunk_pes=sp.prod(-1).to(F64),
        pipeline=torch.ones(b, dtype=torch.bool))


@dataclass(frozen=True)
class OpCosts:
    """Eq. 4 averaged, normalised per-op costs and what they came from."""

    table: torch.Tensor  # (L, K) normalised cost of each candidate op
    latency_cycles: torch.Tensor  # (L, K) mean latency of each op over the M accelerators
    energy_pj: torch.Tensor  # (L, K) mean energy of each op


def _per_op(space: FBNetSpace, cand: Candidates, per_conv: torch.Tensor
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, J) per-conv values -> (A, L, K) per-op sums and (A,) fixed stem/head sums."""
    a = per_conv.shape[0]
    op_tab = torch.zeros(a, len(space.slots) * len(space.ops), dtype=F64)
    searchable = cand.slot != FIXED
    flat = (cand.slot * len(space.ops) + cand.op)[searchable]
    op_tab.index_add_(1, flat, per_conv[:, searchable])
    return op_tab.view(a, len(space.slots), len(space.ops)), per_conv[:, ~searchable].sum(-1)


def op_costs(space: FBNetSpace, cand: Candidates, archs: list[Arch],
             accs: list[Accelerator], target: Target, bits: int, objective: str, *,
             mapping_samples: int, seed: int) -> OpCosts:
    """Eq. 4: every candidate op's cost on each of the M accelerators, averaged."""
    gen = torch.Generator().manual_seed(seed)
    spatial = torch.stack([_arrays(space, cand, a, h) for a, h in zip(archs, accs)])
    layers = layer_set([problem_of(c) for c in cand.convs])
    m = _random_mappings(layers.bounds, spatial, mapping_samples, gen)
    c = evaluate(layers, m, target, bits)
    shape = (len(archs), mapping_samples, len(cand.convs))
    lat, en = c.latency_cycles.view(shape), c.energy_pj.sum(-1).view(shape)
    weights = parse_objective(objective).weights
    uses = {"fps": ("lat",), "latency": ("lat",), "energy": ("en",), "edp": ("lat", "en")}
    key = sum(w * sum({"lat": lat, "en": en}[u].clamp_min(1e-30).log() for u in uses[m])
              for m, w in weights)  # (A, S, J): the objective's log, per conv
    best = key.argmin(1, keepdim=True)  # (A, 1, J): best mapping per conv
    lat, en = lat.gather(1, best).squeeze(1), en.gather(1, best).squeeze(1)  # (A, J)
    per_op, refs = {}, {}
    idx = torch.tensor([space.indices(a) for a in archs])  # (A, L) sampled ops
    for u, val in (("lat", lat), ("en", en)):
        op_tab, fixed = _per_op(space, cand, val)
        total = op_tab.gather(2, idx[..., None]).squeeze(-1).sum(-1) + fixed  # (A,)
        per_op[u], refs[u] = op_tab.mean(0), float(total.mean())  # Eq. 4: mean over M
    table = sum(w * sum(per_op[u] / refs[u] for u in uses[m]) for m, w in weights)
    lat_mean, en_mean = per_op["lat"], per_op["en"]
    return OpCosts(table.float(), lat_mean, en_mean)


def macs_table(space: FBNetSpace, cand: Candidates, alpha: torch.Tensor) -> torch.Tensor:
    """SEQ-Opt: (L, K) MACs of each op over the expected MACs under P(alpha)."""
    macs = torch.tensor([c.macs for c in cand.convs], dtype=F64)[None]
    op, fixed = _per_op(space, cand, macs)
    probs = torch.softmax(alpha.detach().double().cpu(), -1)
    ref = float((probs * op[0]).sum() + fixed[0])
    return (op[0] / ref).float()


def hw_loss(weights: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Eq. 5: L_hw = sum_l sum_k w_lk cost_lk."""
    return (weights * table.to(weights.device)).sum()


def result_metrics(res: SearchResult) -> dict[str, float]:
    """Predicted figures of a DAS result for logs and plots."""
    r = res.report
    return {"fps": r.fps, "latency_ms": r.latency_cycles / r.clock_mhz / 1e3,
            "energy_uj": r.energy_per_frame_pj / 1e6, "edp_pj_s": r.edp_pj_s,
            "style": r.style, "pes": r.pes}


def hw_cost(metrics: dict[str, float], objective: str) -> float:
    """Lower-is-better hardware figure of a DAS result: prod_i metric_i ^ weight_i."""
    value = {"fps": 1.0 / metrics["fps"], "latency": metrics["latency_ms"],
             "energy": metrics["energy_uj"], "edp": metrics["edp_pj_s"]}
    return math.exp(sum(w * math.log(value[m]) for m, w in parse_objective(objective).weights))
