"""What DAS and the baselines share: objectives, limits, scoring, the evaluator, results.

An `Evaluator` decodes index batches of the search space straight to tensors
(dna.space.gads.tensor), runs the vectorised cost model, scores every point (objective loss,
per-layer shares, budget violation), counts cost-model evaluations and keeps the best
feasible point. `finish` turns that point into a typed, re-checked `SearchResult`.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from dna.cost.model import Costs, concat, evaluate, rows
from dna.cost.report import Report, report
from dna.cost.target import Target
from dna.errors import DnaError
from dna.space.gads.batch import LayerSet, MappingBatch
from dna.space.gads.index import STYLES, IndexSpace, index_space, restrict
from dna.space.gads.tensor import TensorSpace
from dna.space.gads.typed import Accelerator, ChunkHW, check_accelerator
from dna.workload.ir import Network


def single_threaded(fn: Callable) -> Callable:
    """Run `fn` with one torch intra-op thread, then restore the setting.

    A search runs thousands of small batched ops; extra intra-op threads only add
    synchronisation. Measured on the 2-core machine with other jobs running: VGG16, 100
    DAS steps of 256 samples, 1.0 s on one thread against 35-54 s on two.
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(before)
    return wrapper


METRICS = ("fps", "latency", "energy", "edp")

# Cost-model chunk sizes (layer x point pairs per call) a search tries on its machine.
CHUNK_CHOICES = (4096, 8192, 16384, 32768)


class ChunkTuner:
    """Runs large batches through the cost model in the chunk size that is fastest on this
    machine. The first chunks of large batches try each of `choices` `trials` times, on
    real points (nothing is evaluated twice), and the fastest per pair (best of its trials,
    which a shared machine needs) is kept. Chunking changes no result, only the speed.
    Batches of less than two chunks run in one call (a DAS step of 257 points on VGG16:
    4,112 pairs)."""

    def __init__(self, choices: tuple[int, ...] = CHUNK_CHOICES, trials: int = 3):
        self.choices, self.trials = choices, trials
        self.s_per_pair = {c: math.inf for c in choices}  # best time per pair seen
        self.timed = {c: 0 for c in choices}  # full chunks timed

    @property
    def pairs(self) -> int:
        """The chunk size to use now: a choice still to time, else the fastest."""
        for c in self.choices:
            if self.timed[c] < self.trials:
                return c
        return min(self.choices, key=self.s_per_pair.__getitem__)

    @property
    def chosen(self) -> int | None:
        """The fastest choice once all are timed, else None."""
        return self.pairs if all(n >= self.trials for n in self.timed.values()) else None

    def evaluate(self, layers: LayerSet, m: MappingBatch, target: Target, bits: int) -> Costs:
        """`dna.cost.model.evaluate`, chunked as fast as this machine allows."""
        n_layers = max(len(layers), 1)
        if m.batch * n_layers < 2 * self.pairs:
            return evaluate(layers, m, target, bits, chunk_pairs=m.batch * n_layers)
        parts, start = [], 0
        while start < m.batch:
            pairs = self.pairs
            n = max(1, pairs // n_layers)
            part = rows(m, slice(start, start + n))
            t0 = time.perf_counter()
            parts.append(evaluate(layers, part, target, bits, chunk_pairs=pairs))
            if part.batch == n:  # a full chunk: its time per pair counts
                self.timed[pairs] += 1
                self.s_per_pair[pairs] = min(self.s_per_pair[pairs],
                                             (time.perf_counter() - t0) / (n * n_layers))
            start += n
        return concat(parts)


class LimitError(DnaError):
    """A constraint value is malformed or no accelerator can meet it."""


class NoFeasibleDesign(DnaError):
    """The search evaluated no accelerator within the constraints."""


@dataclass(frozen=True)
class Objective:
    """Minimise sum_i weight_i * log(metric_i); fps is handled as frame cycles."""

    weights: tuple[tuple[str, float], ...]  # (metric, weight), metric in METRICS

    @property
    def name(self) -> str:
        if len(self.weights) == 1:
            return self.weights[0][0]
        return ",".join(f"{m}={w:g}" for m, w in self.weights)


def parse_objective(spec: str) -> Objective:
    """'fps', 'energy', ... or a weighted mix 'fps=1,energy=0.5'."""
    out = []
    for part in spec.split(","):
        name, _, w = part.strip().partition("=")
        if name not in METRICS:
            raise LimitError(f"objective {spec!r}: unknown metric {name!r}, expected one of "
                             f"{', '.join(METRICS)} (or a mix like fps=1,energy=0.5)")
        try:
            weight = float(w) if w else 1.0
        except ValueError:
            raise LimitError(f"objective {spec!r}: weight {w!r} is not a number") from None
        if not weight > 0:
            raise LimitError(f"objective {spec!r}: weight of {name} must be > 0")
        out.append((name, weight))
    return Objective(tuple(out))


@dataclass(frozen=True)
class Limits:
    """Budgets an accelerator must meet; None = not limited."""

    dsp: float | None = None  # FPGA DSP slices
    bram18k: float | None = None  # FPGA BRAM18K blocks
    lut: float | None = None  # FPGA LUTs
    area_mm2: float | None = None  # ASIC die area
    pes: float | None = None  # PEs in all chunks
    dram_gbps: float | None = None  # average DRAM bandwidth at the design's frame rate


def limits_for(target: Target, bits: int, **user: float | None) -> Limits:
    """The target's budgets, tightened by user limits (max_dsp=..., max_dram_gbps=...)."""
    if bits not in target.mac_pj:
        raise LimitError(f"precision {bits}: expected one of {sorted(target.mac_pj)}")
    fpga = target.kind == "fpga"
    base = {"dsp": target.dsp if fpga else None, "bram18k": target.bram18k if fpga else None,
            "lut": target.lut if fpga else None, "area_mm2": None if fpga else target.area_mm2,
            "pes": target.max_pes, "dram_gbps": None}
    for key, value in user.items():
        name = key.removeprefix("max_")
        if name not in base:
            raise LimitError(f"unknown limit {key!r}: expected max_ + one of {sorted(base)}")
        if value is None:
            continue
        if not value > 0:
            raise LimitError(f"--{key.replace('_', '-')} = {value:g}: must be > 0")
        if base[name] is None and name != "dram_gbps":
            raise LimitError(f"--{key.replace('_', '-')}: {target.name} is an "
                             f"{target.kind.upper()} target and has no {name} budget")
        base[name] = value if base[name] is None else min(base[name], value)
    limits = Limits(**base)
    if fpga and limits.dsp < math.ceil(target.dsp_per_mac[bits]):
        raise LimitError(f"DSP limit {limits.dsp:g}: one PE at {bits} bit needs "
                         f"{math.ceil(target.dsp_per_mac[bits])} DSP; no accelerator fits")
    if fpga and limits.lut < target.lut_base + target.lut_per_pe[bits]:
        raise LimitError(f"LUT limit {limits.lut:g}: the shell and one PE need "
                         f"{target.lut_base + target.lut_per_pe[bits]:g}; no accelerator fits")
    return limits


@dataclass(frozen=True)
class Scores:
    """Search view of a batch of evaluated accelerators."""

    loss: torch.Tensor  # (B,) objective loss, sum w * log(metric); lower is better
    tiebreak: torch.Tensor  # (B,) orders points of equal loss (fps: latency through all chunks)
    layer_loss: torch.Tensor  # (B, L) each layer's linearised share of the loss
    violation: torch.Tensor  # (B,) sum of relative excess over each limit; 0 = feasible
    feasible: torch.Tensor  # (B,) bool


def score(c: Costs, pes: torch.Tensor, layer_pes: torch.Tensor, objective: Objective,
          limits: Limits) -> Scores:
    """Objective loss, per-layer shares and constraint violation of evaluated points.

    `pes` (B,) is the PEs of all chunks, `layer_pes` (B, L) those of each layer's chunk.
    A layer's share is the first-order part of d log(total) it accounts for: its energy
    over the total, or its PE-cycles (latency x its chunk's PEs) over the total's, which
    measures how well the mapping uses the PEs whatever their number.
    """
    lat = c.latency_cycles * layer_pes  # (B, L) PE-cycles
    energy_l = c.energy_pj.sum(-1)  # (B, L)
    pes_f = pes[:, None]
    frame, through = c.frame_cycles[:, None], c.frame_latency_cycles[:, None]
    terms = {"fps": [(frame, lat, pes_f)], "latency": [(through, lat, pes_f)],
             "energy": [(c.energy_per_frame_pj[:, None], energy_l, 1.0)],
             "edp": [(through, lat, pes_f), (c.energy_per_frame_pj[:, None], energy_l, 1.0)]}
    loss = torch.zeros_like(c.fps)
    layer = torch.zeros_like(lat)
    for name, w in objective.weights:
        for total, per_layer, scale in terms[name]:
            loss = loss + w * total[:, 0].log()
            layer = layer + w * per_layer / (total * scale).mean()
    use = {"dsp": c.dsp, "bram18k": c.bram18k, "lut": c.lut, "area_mm2": c.area_mm2,
           "pes": pes, "dram_gbps": c.dram_bytes.sum(-1) * c.fps / 1e9}
    viol = torch.zeros_like(loss)
    for name, used in use.items():
        limit = getattr(limits, name)
        if limit is not None:
            viol = viol + torch.relu(used / limit - 1)
    feasible = (viol == 0) & c.feasible
    viol = torch.where(feasible | (viol > 0), viol, torch.full_like(viol, 1e-9))
    return Scores(loss, c.frame_latency_cycles.log(), layer, viol, feasible)


def metric_of(objective: Objective, loss: float, clock_mhz: float) -> float:
    """The objective in its natural unit (FPS, ms, uJ, pJ*s) from a loss; mixes: the loss."""
    if len(objective.weights) != 1 or not math.isfinite(loss):
        return loss
    name, w = objective.weights[0]
    total = math.exp(loss / w)
    return {"fps": clock_mhz * 1e6 / total, "latency": total / clock_mhz / 1e3,
            "energy": total / 1e6, "edp": total}[name]


METRIC_LABELS = {"fps": "FPS", "latency": "latency ms", "energy": "energy uJ/frame",
                 "edp": "EDP pJ*s"}


class Evaluator:
    """Decodes and evaluates index batches, counts evaluations, keeps the best feasible."""

    def __init__(self, ts: TensorSpace, target: Target, bits: int, objective: Objective,
                 limits: Limits):
        self.ts, self.target, self.bits = ts, target, bits
        self.objective, self.limits = objective, limits
        self.evaluations = 0
        self.best_index: torch.Tensor | None = None  # (P,) best feasible point
        self.best_loss = math.inf
        self.history: list[tuple[int, float]] = []  # (evaluations, best loss so far)
        self.archive: dict[bytes, tuple[float, torch.Tensor]] | None = None  # see keep_archive
        self.chunks = ChunkTuner()  # cost-model chunk size of large batches

    def keep_archive(self) -> None:
        """From now on also keep the best feasible point of every distinct hardware (style,
        chunk assignment, PEs per dim of each layer's array); see `archive_best`."""
        self.archive = {}

    def archive_best(self, k: int) -> list[torch.Tensor]:
        """The best points of the `k` best distinct hardware configurations seen."""
        ranked = sorted((self.archive or {}).values(), key=lambda e: e[0])
        return [idx for _, idx in ranked[:k]]

    def _update_archive(self, m, loss: torch.Tensor, idx: torch.Tensor) -> None:
        worst_kept = (sorted(e[0] for e in self.archive.values())[63]
                      if len(self.archive) >= 64 else math.inf)
        # only points below the 64th best kept can enter; every point of a group's best
        # loss is among them, so the groups and their first best points are the same
        rows = torch.nonzero((loss < worst_kept) & loss.isfinite()).squeeze(1)  # feasible
        if not len(rows):
            return
        keys = torch.cat([m.spatial[rows].flatten(1), m.chunk[rows].to(m.spatial.dtype),
                          m.pipeline[rows, None].to(m.spatial.dtype)], 1)
        lf = loss[rows]
        uniq, inv = torch.unique(keys, dim=0, return_inverse=True)
        best = torch.full((len(uniq),), math.inf, dtype=loss.dtype).scatter_reduce(
            0, inv, lf, "amin")
        for g in range(len(uniq)):
            j = rows[int(((inv == g) & (lf == best[g])).nonzero()[0])]
            key = uniq[g].numpy().tobytes()
            if key not in self.archive or float(best[g]) < self.archive[key][0]:
                self.archive[key] = (float(best[g]), idx[j].clone())
        if len(self.archive) > 128:  # keep the 64 best
            self.archive = dict(sorted(self.archive.items(), key=lambda kv: kv[1][0])[:64])

    def __call__(self, idx: torch.Tensor) -> Scores:
        """Scores of the (B, P) index batch `idx`; updates the best feasible point."""
        m = self.ts.decode(idx)
        fa = self.target.fixed_arch
        if fa is not None:  # the target's buffers, not ones sized for the tiles
            shape = m.chunk_pes.shape + (3,)
            m = dataclasses.replace(
                m, gb_words=torch.tensor(fa.gb_words, dtype=m.factors.dtype).expand(shape),
                rf_words=torch.tensor(fa.rf_words, dtype=m.factors.dtype).expand(shape))
        c = self.chunks.evaluate(self.ts.layers, m, self.target, self.bits)
        s = score(c, m.chunk_pes.sum(-1), m.spatial.prod(-1), self.objective, self.limits)
        self.evaluations += idx.shape[0]
        loss = torch.where(s.feasible, s.loss, torch.full_like(s.loss, math.inf))
        i = int(loss.argmin())
        if loss[i] < self.best_loss:
            self.best_loss, self.best_index = float(loss[i]), idx[i].clone()
        if self.archive is not None:
            self._update_archive(m, loss, idx)
        self.history.append((self.evaluations, self.best_loss))
        return s

    def best_metric(self) -> float:
        """The best feasible objective so far in its natural unit (see `metric_of`)."""
        return metric_of(self.objective, self.best_loss, self.target.clock_mhz)


@dataclass(frozen=True)
class StepInfo:
    """Progress of a search, passed to `on_step` callbacks."""

    evaluations: int  # cost-model evaluations so far
    budget: int  # evaluations planned
    best: float  # best feasible objective in its natural unit (inf before any)


@dataclass(frozen=True)
class SearchResult:
    """Outcome of a search: the best feasible accelerator and how it was found."""

    method: str  # "das:<estimator>", "random", "annealing", "exhaustive"
    accelerator: Accelerator
    index: tuple[int, ...]  # its index vector in the search space
    report: Report  # cost-model report of `accelerator` (feasible)
    objective: Objective
    best: float  # objective in its natural unit (see metric_of)
    evaluations: int  # cost-model evaluations spent
    history: tuple[tuple[int, float], ...] = field(repr=False)  # (evaluations, best so far)
    wall_s: float = 0.0
    seed: int = 0


def search_space(net: Network, target: Target, *, styles: tuple[str, ...] = STYLES
                 ) -> IndexSpace:
    """The index space DAS and the baselines search: PE unrolls include the divisors of
    the layers' loop bounds; a target that fixes its architecture leaves only mappings."""
    bad = [s for s in styles if s not in STYLES]
    if bad or not styles:
        raise LimitError(f"styles {styles!r}: expected some of {', '.join(STYLES)}")
    fa = target.fixed_arch
    if fa is None:
        return index_space(net, max_pes=target.max_pes, styles=tuple(styles),
                           unroll="divisors")
    if "multicycle" not in styles:
        raise LimitError(f"target {target.name} fixes one multicycle engine; "
                         f"style {'/'.join(styles)} is not possible")
    space = index_space(net, max_pes=target.max_pes, styles=("multicycle",))
    unroll = fa.unroll + (1,) * (4 - len(fa.unroll))
    return restrict(space, {"chunk[0].noc": (fa.noc,)}
                    | {f"chunk[0].unroll[{j}]": (u,) for j, u in enumerate(unroll)})


def minimal_index(ts: TensorSpace) -> torch.Tensor:
    """(P,) the smallest value of every parameter: one PE, 1-word tiles, the first style,
    loop order and NoC; the cheapest design, feasible whenever any design is."""
    vals = ts.values.masked_fill(torch.arange(ts.max_choices) >= ts.sizes[:, None], math.inf)
    return vals.argmin(-1)


def typed_accelerator(ev: Evaluator, index: tuple[int, ...]) -> Accelerator:
    """The typed accelerator of an index vector, with the target's buffers if it fixes them."""
    acc = ev.ts.space.decode(index)
    fa = ev.target.fixed_arch
    if fa is None:
        return acc
    chunks = tuple(ChunkHW(c.noc, c.unroll, fa.gb_words, fa.rf_words) for c in acc.chunks)
    return Accelerator(acc.style, chunks, acc.mappings)


def finish(ev: Evaluator, method: str, started: float, seed: int) -> SearchResult:
    """Decode and report the best feasible point of `ev`; NoFeasibleDesign if none."""
    if ev.best_index is None:
        raise NoFeasibleDesign(f"no accelerator within the constraints among "
                               f"{ev.evaluations} evaluated; relax the limits or search longer")
    space = ev.ts.space
    index = tuple(int(i) for i in ev.best_index)
    acc = typed_accelerator(ev, index)
    problems = check_accelerator(acc, space.network, max_pes=space.max_pes)
    rep = report(space.network, acc, ev.target, ev.bits)
    if problems or not rep.feasible:  # the tensor decode and the typed path disagree
        raise RuntimeError(f"internal error: the best point is not a valid feasible "
                           f"design: {problems or 'over budget'}")
    clock = ev.target.clock_mhz
    hist = tuple((n, metric_of(ev.objective, b, clock)) for n, b in ev.history)
    return SearchResult(method, acc, index, rep, ev.objective, ev.best_metric(),
                        ev.evaluations, hist, time.perf_counter() - started, seed)


