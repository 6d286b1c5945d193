"""Cost-model throughput: (layer x accelerator) evaluations per second vs batch size.

Prints pairs/s of the vectorised model for batches of 1 ... 65,536 random accelerator
points on VGG16's 16 conv layers; the latency of one single network-layer evaluation with
the scalar twin (tests/reference/scalar.py) and with the vectorised model at batch 1; and the same
pairs evaluated by a naive per-point Python loop over the scalar twin, in the same run, as a
ratio (results compared).

    python benchmarks/cost_model.py [--threads 2]
"""
from __future__ import annotations

import argparse
import time

import torch

from dna.cost.model import evaluate
from dna.cost.target import load_target
from dna.space.gads.batch import F64, LayerSet, MappingBatch, network_layers
from dna.space.gads.typed import problem_of
from dna.workload.ir import DIMS
from dna.workload.zoo import get_network
from tests.reference.scalar import layer_cost


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    target = load_target("zc706")
    net = get_network("vgg16")
    layers = network_layers(net)
    problems = [problem_of(c) for c in net.convs]
    gen = torch.Generator().manual_seed(0)
    n_layers = len(layers)
    print(f"cost model on VGG16 ({n_layers} conv layers), zc706, 16 bit, "
          f"{torch.get_num_threads()} threads")
    print(f"{'batch':>8}{'pairs':>10}{'time ms':>10}{'pairs/s':>14}")
    with torch.inference_mode():
        for batch in (1, 16, 256, 4096, 65536):
            m = random_points(layers, batch, gen)
            t = best_time_s(lambda: evaluate(layers, m, target, 16), 3 if batch > 4096 else 10)
            print(f"{batch:>8}{batch * n_layers:>10}{t * 1e3:>10.2f}"
                  f"{batch * n_layers / t:>14,.0f}")
        single = one_layer(layers, 5)
        m1 = slice_point(random_points(layers, 1, gen), 0, 5)
        t1 = best_time_s(lambda: evaluate(single, m1, target, 16), 200)
        args1 = scalar_args(m1, 0, 0)
        ts = best_time_s(lambda: layer_cost(problems[5], *args1, target, 16), 2000)
        print(f"single network-layer evaluation: scalar twin {ts * 1e6:.1f} us, "
              f"vectorised at batch 1 {t1 * 1e6:.1f} us")

        n_naive = 1024
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

if __name__ == "__main__":
    main()
