"""Cost-model throughput: (layer x accelerator) evaluations per second vs batch size.

Prints pairs/s of the vectorised model for batches of 1 ... 65,536 random accelerator
points on VGG16's 16 conv layers, next to the model as it was before issue #16
(benchmarks/_cost_model_before.py, a frozen copy) timed in the same run, run for run in
turn, with the ratio and whether every `Costs` field is bit-identical (torch.equal); the
latency of one single network-layer evaluation with the scalar twin
(tests/reference/scalar.py, against its frozen copy benchmarks/_scalar_before.py) and
with the vectorised model at batch 1; the same pairs evaluated by a naive per-point Python
loop over the scalar twin, as a ratio (results compared); pairs/s on points as DAS decodes
them (pipelines, several chunks, the non-conv ops), where the frozen copy has no twin; the
chunk size DAS's tuner picks on this machine (dna.search.evaluator.ChunkTuner); and a GPU
line when CUDA is present. The 1-minute load average is printed with the figures (the
machine may be shared).
One torch thread by default, as DAS runs (`dna.search.evaluator.single_threaded`); on a
shared machine two threads mostly measure the contention.

    python benchmarks/cost_model.py [--threads 1] [--quick]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import _cost_model_before as before
from benchmarks import _scalar_before as scalar_before
from dna.cost.model import Costs, evaluate
from dna.cost.target import load_target
from dna.search.evaluator import ChunkTuner, search_space
from dna.space.gads.batch import F64, LayerSet, MappingBatch, network_layers
from dna.space.gads.tensor import tensor_space
from dna.space.gads.typed import problem_of
from dna.workload.ir import DIMS
from dna.workload.zoo import get_network
from tests.reference.scalar import layer_cost

BATCHES = (1, 16, 256, 1024, 4096, 16384, 65536)


def random_points(layers: LayerSet, batch: int, gen: torch.Generator) -> MappingBatch:
    """`batch` random legal points: KYX-style spatial unroll, factors that cover each dim."""
    n_layers = len(layers)
    bounds = layers.bounds.expand(batch, n_layers, 7)
    spatial = torch.ones(batch, n_layers, 7, dtype=F64)
    spatial[..., 1] = 2.0 ** torch.randint(0, 6, (batch, 1), generator=gen)  # K
    spatial[..., 3] = 2.0 ** torch.randint(0, 4, (batch, 1), generator=gen)  # Y
    spatial[..., 4] = 2.0 ** torch.randint(0, 3, (batch, 1), generator=gen)  # X
    rf = torch.minimum(2.0 ** torch.randint(0, 3, (batch, n_layers, 7), generator=gen), bounds)
    left = torch.ceil(bounds / (spatial * rf))
    gb = torch.minimum(2.0 ** torch.randint(0, 5, (batch, n_layers, 7), generator=gen), left)
    dram = torch.ceil(bounds / (spatial * rf * gb))
    order = torch.rand(batch, n_layers, 3, 7, generator=gen).argsort(-1)
    return MappingBatch(factors=torch.stack([dram, gb, rf], -2), spatial=spatial, order=order,
                        chunk=torch.zeros(batch, n_layers, dtype=torch.int64),
                        chunk_pes=spatial[:, :1].prod(-1), pipeline=torch.zeros(batch,
                                                                                 dtype=bool))


def slice_point(m: MappingBatch, b: int, layer: int) -> MappingBatch:
    """Point b on one layer, as a batch of one."""
    return MappingBatch(factors=m.factors[b:b + 1, layer:layer + 1],
                        spatial=m.spatial[b:b + 1, layer:layer + 1],
                        order=m.order[b:b + 1, layer:layer + 1],
                        chunk=m.chunk[b:b + 1, layer:layer + 1],
                        chunk_pes=m.chunk_pes[b:b + 1], pipeline=m.pipeline[b:b + 1])


def scalar_args(m: MappingBatch, b: int, layer: int) -> tuple:
    """(factors, spatial, order) of point b on one layer, for tests.reference.scalar.layer_cost."""
    factors = tuple(tuple(int(f) for f in lv) for lv in m.factors[b, layer].tolist())
    spatial = tuple(int(s) for s in m.spatial[b, layer].tolist())
    order = tuple("".join(DIMS[i] for i in lv) for lv in m.order[b, layer].tolist())
    return factors, spatial, order


def one_layer(layers: LayerSet, i: int) -> LayerSet:
    return LayerSet(layers.names[i:i + 1], layers.bounds[i:i + 1], layers.stride[i:i + 1],
                    layers.follow_k[i:i + 1], layers.repeat[i:i + 1], layers.depthwise[i:i + 1])


def best_time_s(fn, repeats: int) -> float:
    """Fastest of `repeats` runs of fn(), after one warm-up."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def paired_times_s(new, old, repeats: int) -> tuple[float, float]:
    """Fastest of `repeats` runs of new() and of old(), run in turn (after a warm-up each)
    so that both see the same machine."""
    new(), old()
    t_new = t_old = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        new()
        t1 = time.perf_counter()
        old()
        t_new, t_old = min(t_new, t1 - t0), min(t_old, time.perf_counter() - t1)
    return t_new, t_old


def identical(a: Costs, b) -> bool:
    """Every field of two `Costs` equal (torch.equal: same values, same dtype)."""
    return all(torch.equal(getattr(a, f.name), getattr(b, f.name))
               for f in dataclasses.fields(Costs))


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def batch_table(layers: LayerSet, target, gen: torch.Generator, batches) -> None:
    """The pairs/s table, new against before, and the fastest batch."""
    n_layers = len(layers)
    print(f"{'batch':>8}{'pairs':>10}{'time ms':>10}{'pairs/s':>14}{'before':>14}"
          f"{'ratio':>8}  identical")
    best = (0.0, 0)
    for batch in batches:
        m = random_points(layers, batch, gen)
        repeats = 3 if batch > 4096 else 10
        t, t_old = paired_times_s(lambda m=m: evaluate(layers, m, target, 16),
                                  lambda m=m: before.evaluate(layers, m, target, 16), repeats)
        same = identical(evaluate(layers, m, target, 16), before.evaluate(layers, m, target, 16))
        rate = batch * n_layers / t
        best = max(best, (rate, batch))
        print(f"{batch:>8}{batch * n_layers:>10}{t * 1e3:>10.2f}{rate:>14,.0f}"
              f"{batch * n_layers / t_old:>14,.0f}{t_old / t:>8.2f}  {same}   ({load()})")
    print(f"fastest batch: {best[1]:,} points = {best[1] * n_layers:,} pairs, "
          f"{best[0]:,.0f} pairs/s")


def single_layer(layers: LayerSet, problems, target, gen: torch.Generator) -> None:
    """One network-layer evaluation: scalar twin and vectorised at batch 1, new and before."""
    single = one_layer(layers, 5)
    m1 = slice_point(random_points(layers, 1, gen), 0, 5)
    t1, t1_old = paired_times_s(lambda: evaluate(single, m1, target, 16),
                                lambda: before.evaluate(single, m1, target, 16), 200)
    args1 = scalar_args(m1, 0, 0)
    ts, ts_old = paired_times_s(lambda: layer_cost(problems[5], *args1, target, 16),
                                lambda: scalar_before.layer_cost(problems[5], *args1, target,
                                                                 16), 2000)
    same = (dataclasses.astuple(layer_cost(problems[5], *args1, target, 16))
            == dataclasses.astuple(scalar_before.layer_cost(problems[5], *args1, target, 16)))
    print(f"single network-layer evaluation: scalar twin {ts * 1e6:.1f} us (before "
          f"{ts_old * 1e6:.1f} us, x{ts_old / ts:.2f}, equal: {same}), vectorised at batch 1 "
          f"{t1 * 1e6:.1f} us (before {t1_old * 1e6:.1f} us, x{t1_old / t1:.2f}) ({load()})")


def naive_loop(layers: LayerSet, problems, target, gen: torch.Generator) -> None:
    """The same pairs by a per-point Python loop over the scalar twin, and batched."""
    n_naive, n_layers = 1024, len(layers)
    m = random_points(layers, n_naive, gen)
    pairs = [(problems[i], scalar_args(m, b, i)) for b in range(n_naive)
             for i in range(n_layers)]
    t0 = time.perf_counter()
    naive = [layer_cost(p, *a, target, 16).latency_cycles for p, a in pairs]
    t_naive = time.perf_counter() - t0
    t_batch = best_time_s(lambda: evaluate(layers, m, target, 16), 10)
    batched = evaluate(layers, m, target, 16).latency_cycles.flatten()
    same = torch.allclose(torch.tensor(naive, dtype=F64), batched, rtol=1e-12)
    print(f"naive per-point Python loop: {len(pairs):,} pairs in {t_naive:.2f} s = "
          f"{len(pairs) / t_naive:,.0f} pairs/s; vectorised {len(pairs) / t_batch:,.0f} "
          f"pairs/s on the same pairs: x{t_naive / t_batch:,.1f}; results agree: {same}")


def das_points(net, target, gen: torch.Generator) -> None:
    """Pairs/s on uniform DAS samples of VGG16 (pipeline and multi-cycle points, several
    chunks, the non-conv ops) at DAS's step batch, and the chunk size DAS's tuner picks for
    a warm-up batch on this machine."""
    ts = tensor_space(search_space(net, target))
    layers = ts.layers

    def decoded(batch: int) -> MappingBatch:
        idx = (torch.rand(batch, len(ts.sizes), generator=gen, dtype=F64) * ts.sizes).long()
        return ts.decode(idx)

    m = decoded(257)  # a DAS step: 256 samples and one recombined point
    t = best_time_s(lambda: evaluate(layers, m, target, 16), 10)
    print(f"DAS-decoded points (pipelines, several chunks, non-conv ops): batch {m.batch}: "
          f"{m.batch * len(layers) / t:,.0f} pairs/s ({load()})")
    tuner, warm = ChunkTuner(), decoded(8192)
    while tuner.chosen is None:  # a DAS warm-up batch on VGG16 has 23k-54k points
        tuner.evaluate(layers, warm, target, 16)
    rates = ", ".join(f"{c:,}: {1 / tuner.s_per_pair[c]:,.0f}" for c in tuner.choices)
    print(f"DAS chunk tuner on a warm-up batch of {warm.batch:,} points picks "
          f"{tuner.chosen:,} pairs per call (pairs/s by chunk: {rates}) ({load()})")


def gpu_line(layers: LayerSet, target, gen: torch.Generator, batch: int) -> None:
    """Pairs/s on the GPU at `batch` points, and whether the results equal the CPU's."""
    if not torch.cuda.is_available():
        print("GPU: no CUDA device")
        return
    dev = torch.device("cuda")
    m = random_points(layers, batch, gen)
    on = {f.name: getattr(layers, f.name) for f in dataclasses.fields(LayerSet)}
    layers_d = LayerSet(**{k: v.to(dev) if torch.is_tensor(v) else v for k, v in on.items()})
    m_d = MappingBatch(**{f.name: getattr(m, f.name).to(dev) for f in dataclasses.fields(m)
                          if getattr(m, f.name) is not None})

    def run():
        evaluate(layers_d, m_d, target, 16)
        torch.cuda.synchronize()

    t = best_time_s(run, 5)
    c, ref = evaluate(layers_d, m_d, target, 16), evaluate(layers, m, target, 16)
    same = all(torch.equal(getattr(c, f.name).cpu(), getattr(ref, f.name))
               for f in dataclasses.fields(Costs))
    print(f"GPU ({torch.cuda.get_device_name()}): batch {batch:,}: "
          f"{batch * len(layers) / t:,.0f} pairs/s; bit-identical to the CPU: {same}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="batches up to 4096, no naive loop")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    target = load_target("zc706")
    net = get_network("vgg16")
    # conv layers only: the frozen copy predates the non-conv ops' charge
    layers = dataclasses.replace(network_layers(net), ops=())
    problems = [problem_of(c) for c in net.convs]
    gen = torch.Generator().manual_seed(0)
    print(f"cost model on VGG16 ({len(layers)} conv layers), zc706, 16 bit, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} cores, {load()}")
    with torch.inference_mode():
        batch_table(layers, target, gen, [b for b in BATCHES if b <= 4096 or not args.quick])
        single_layer(layers, problems, target, gen)
        if not args.quick:
            naive_loop(layers, problems, target, gen)
            das_points(net, target, gen)
        gpu_line(layers, target, gen, 65536)


if __name__ == "__main__":
    main()
