"""DAS against random search and simulated annealing, and the estimator ablation.

For VGG16, AlexNet, MobileNetV2 and ResNet-18 (ImageNet, 16 bit, zc706: 900 DSP, 200 MHz,
objective FPS) prints DAS's best GOP/s and FPS, DSP and BRAM used and wall time (over
`--seeds` seeds); random search and annealing with the same number of cost-model
evaluations and with 10x more (annealing from uniform starts, and from the cheapest
design as DAS's warm start uses); then, on VGG16 and AlexNet, the paper's estimator (Eq. 7)
and each addition of ours switched on in turn, all on the same budget.

    python benchmarks/das.py [--steps N] [--samples 256] [--seeds 3]
                             [--networks vgg16,alexnet,mobilenetv2,resnet18] [--no-ablation]
    python benchmarks/das.py --sweep 1000,default --seeds 5
    python benchmarks/das.py --trajectory --networks vgg16 --seeds 2

`--trajectory` prints, per seed, a SHA-256 digest of every index batch DAS evaluates and
the scores it gets back (in call order), with the best GOP/s and wall time: a change that
claims to leave the search unchanged must leave the digest unchanged (issue #16).

`--sweep` prints only DAS's best GOP/s and wall time per seed at each step count
("default": what `dna das` uses, 48,000 / conv layers steps, at most 3000).

Reference points: paper Table 5, 291 GOP/s (VGG16, 723 DSP) and 272 GOP/s (AlexNet,
704 DSP); the DSP roofline is 900 x 2 x 200 MHz = 360 GOP/s.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import statistics
import time

import torch

from dna.cost.target import load_target
from dna.search.baselines import random_search, simulated_annealing
from dna.search.das import (
    ESTIMATORS,
    DASConfig,
    NoFeasibleDesign,
    SearchResult,
    das_search,
    default_steps,
)
from dna.search.evaluator import Evaluator, Scores
from dna.workload.zoo import get_network

DNA = ESTIMATORS["dna"]
# Each row switches on one more addition, from the paper's Eq. 7 to the default "dna".
ABLATION: list[tuple[str, DASConfig]] = [
    ("paper: Eq. 7, ST Gumbel-softmax", ESTIMATORS["paper"]),
    ("paper + warm start", dataclasses.replace(ESTIMATORS["paper"], warmup=0.1)),
    ("score function + rank baseline", ESTIMATORS["reinforce"]),
    ("  + warm start", dataclasses.replace(ESTIMATORS["reinforce"], warmup=0.1)),
    ("  + per-layer credit", dataclasses.replace(ESTIMATORS["reinforce"], warmup=0.1,
                                                 local_credit=True)),
    ("  + anchored halves, recombination",
     dataclasses.replace(DNA, per_style=False, polish=0.0, hw_clamp=float("inf"),
                         explore=0.0, hw_seed_prob=0.9, uniform_share=0.0,
                         anchor_share=1.0)),
    ("  + exploration floor (clamps, 10% uniform)",
     dataclasses.replace(DNA, per_style=False, polish=0.0)),
    ("  + each style on its own budget", dataclasses.replace(DNA, polish=0.0)),
    ("  + coordinate polish = dna", DNA),
]


def _run(fn, *args, **kwargs) -> tuple[SearchResult | None, float]:
    started = time.perf_counter()
    try:
        res = fn(*args, **kwargs)
    except NoFeasibleDesign:
        res = None
    return res, time.perf_counter() - started


def _row(label: str, evals: int, res: SearchResult | None, wall_s: float) -> str:
    if res is None:
        return f"  {label:<50}{evals:>10,}  {'no feasible point found':>40}{wall_s:>8.1f}"
    r = res.report
    shape = f"{r.style[:5]} {len(res.accelerator.chunks)}ch"
    return (f"  {label:<50}{evals:>10,}{r.gops:>9.1f}{r.fps:>9.2f}{r.dsp:>6.0f}"
            f"{r.bram18k:>6.0f}  {shape:<10}{wall_s:>8.1f}")


HEAD = (f"  {'search':<50}{'evals':>10}{'GOP/s':>9}{'FPS':>9}{'DSP':>6}{'BRAM':>6}  "
        f"{'style':<10}{'wall s':>8}")


def benchmark_network(name: str, steps: int | None, samples: int, seeds: int, ablation: bool
                      ) -> None:
    net, target = get_network(name, dataset="imagenet"), load_target("zc706")
    steps = steps or default_steps(net)
    budget = steps * samples
    print(f"\n{net.name}: {net.macs / 1e9:.3f} GMAC, {len(net.convs)} conv layers, zc706 "
          f"16 bit, budget {steps} steps x {samples} samples = {budget:,} evaluations")
    print(HEAD)
    das_runs = []
    for seed in range(seeds):
        res, wall = _run(das_search, net, target, steps=steps, samples=samples, seed=seed)
        das_runs.append((res, wall))
        print(_row(f"DAS (dna), seed {seed}", res.evaluations if res else budget, res, wall),
              flush=True)
    ok = [r.report.gops for r, _ in das_runs if r is not None]
    walls = [w for _, w in das_runs]
    if ok:
        print(f"  DAS over {seeds} seeds: GOP/s mean {statistics.mean(ok):.1f}, min "
              f"{min(ok):.1f}, max {max(ok):.1f}; wall s mean {statistics.mean(walls):.1f}, "
              f"max {max(walls):.1f}")
    evals = das_runs[0][0].evaluations if das_runs[0][0] else budget
    baselines = (("random", random_search, {}), ("annealing", simulated_annealing, {}),
                 ("annealing from cheapest", simulated_annealing, {"start": "minimal"}))
    for label, fn, kw in baselines:
        for mult in (1, 10):
            res, wall = _run(fn, net, target, evaluations=evals * mult, seed=0, **kw)
            print(_row(f"{label}, {mult}x DAS's evaluations", evals * mult, res, wall),
                  flush=True)
    if ablation:
        print("  estimator ablation (seed 0, same budget):")
        for label, cfg in ABLATION:
            res, wall = _run(das_search, net, target, steps=steps, samples=samples, seed=0,
                             estimator=cfg)
            print(_row(label, res.evaluations if res else budget, res, wall), flush=True)


def sweep(name: str, steps_list: list[int], samples: int, seeds: int) -> None:
    """DAS alone, per seed, at each budget: best GOP/s, style, wall time."""
    net, target = get_network(name, dataset="imagenet"), load_target("zc706")
    print(f"\n{net.name}: DAS (dna) budget sweep, {samples} samples per step")
    for steps in steps_list:
        steps = steps or default_steps(net)
        runs = [_run(das_search, net, target, steps=steps, samples=samples, seed=seed)
                for seed in range(seeds)]
        gops = [r.report.gops if r else 0.0 for r, _ in runs]
        cells = " ".join(f"{g:6.1f}{(r.report.style[0] if r else '-')}" for g, (r, _) in
                         zip(gops, runs))
        print(f"  {steps:>5} steps: GOP/s per seed {cells} | mean {statistics.mean(gops):.1f}, "
              f"min {min(gops):.1f}; wall s max {max(w for _, w in runs):.1f}", flush=True)


def trajectory(name: str, steps: int | None, samples: int, seeds: int) -> None:
    """Per seed: digest of every evaluated batch and its scores, best GOP/s, wall time."""
    net, target = get_network(name, dataset="imagenet"), load_target("zc706")
    steps = steps or default_steps(net)
    call = Evaluator.__call__
    for seed in range(seeds):
        digest, calls = hashlib.sha256(), 0

        def traced(ev: Evaluator, idx: torch.Tensor) -> Scores:
            nonlocal calls
            s = call(ev, idx)
            digest.update(idx.numpy().tobytes())
            for t in (s.loss, s.tiebreak, s.layer_loss, s.violation, s.feasible):
                digest.update(t.numpy().tobytes())
            calls += 1
            return s

        Evaluator.__call__ = traced
        try:
            res, wall = _run(das_search, net, target, steps=steps, samples=samples, seed=seed)
        finally:
            Evaluator.__call__ = call
        gops = f"{res.report.gops:.4f}" if res else "none"
        print(f"  {net.name} seed {seed}: {calls} batches, digest {digest.hexdigest()[:16]}, "
              f"GOP/s {gops}, wall {wall:.1f} s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=None,
                    help="DAS steps [default: dna das's, 48,000 / conv layers, at most 3000]")
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--networks", default="vgg16,alexnet,mobilenetv2,resnet18")
    ap.add_argument("--ablation-networks", default="vgg16,alexnet")
    ap.add_argument("--no-ablation", action="store_true")
    ap.add_argument("--sweep", default=None, metavar="STEPS,STEPS",
                    help="only DAS, per seed, at each of these step counts")
    ap.add_argument("--trajectory", action="store_true",
                    help="only DAS: digest of its evaluated batches and scores, per seed")
    args = ap.parse_args()
    if args.trajectory:
        for name in args.networks.split(","):
            trajectory(name, args.steps, args.samples, args.seeds)
        return
    if args.sweep:
        for name in args.networks.split(","):
            sweep(name, [0 if x == "default" else int(x) for x in args.sweep.split(",")],
                  args.samples, args.seeds)
        return
    print("DAS benchmark: zc706 (900 DSP, 1090 BRAM18K, 200 MHz, 12.8 GB/s), 16 bit, "
          "objective FPS. Paper Table 5: VGG16 291 GOP/s (723 DSP), AlexNet 272 GOP/s "
          "(704 DSP); DSP roofline 360 GOP/s.")
    abl = set(args.ablation_networks.split(",")) if not args.no_ablation else set()
    for name in args.networks.split(","):
        benchmark_network(name, args.steps, args.samples, args.seeds, name in abl)


if __name__ == "__main__":
    main()
