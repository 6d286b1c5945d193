"""Does the supernet rank networks as training from scratch does? (paper's DNS premise)

Runs `dna search` on the embedded default (or --config), keeps the supernet as it stands
after the last epoch, then for the searched network and N-1 networks drawn uniformly from
the space: scores each single path with the supernet's weights on the held-out split
(`single_path_score`, batch-statistics BN, as the search's "argmax acc"), trains the
network from scratch briefly (`dna.train` recipe: SGD + cosine) and prints both
accuracies and Spearman's rank correlation between them.

    python benchmarks/supernet_rank.py [--archs 8] [--train-epochs 3] [--seed 0]
"""
from __future__ import annotations

import argparse
import time

import torch
from scipy.stats import spearmanr

from dna import api
from dna.data import load_dataset
from dna.search.config import load_config
from dna.search.dist import DistContext
from dna.search.phases import single_path_score
from dna.space.fbnet.space import arch_to_network
from dna.space.fbnet.supernet import Supernet, network_module, one_hot
from dna.train import _fit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=None, help="search config YAML [embedded default]")
    ap.add_argument("--archs", type=int, default=8, help="networks to rank")
    ap.add_argument("--train-epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="out/supernet_rank")
    args = ap.parse_args()
    cfg = load_config(args.config, overrides={"seed": args.seed})
    kept: dict[str, Supernet] = {}
    t0 = time.perf_counter()
    res = api.search(config=cfg, out_dir=args.out, plots=False,
                     on_epoch=lambda rec, model, alpha: kept.update(model=model))
    print(f"search: {len(res.records)} epochs, {time.perf_counter() - t0:.0f} s")
    space, model, ds = res.space, kept["model"], load_dataset(cfg.data)
    gen = torch.Generator().manual_seed(args.seed)
    archs = [res.arch] + [
        space.arch_from_indices(torch.randint(len(space.ops), (len(space.slots),),
                                              generator=gen).tolist())
        for _ in range(args.archs - 1)]
    rows = []
    for arch in archs:
        sup_acc, sup_loss = single_path_score(model, one_hot(space, arch), ds.test_x,
                                              ds.test_y, torch.device("cpu"))
        net = arch_to_network(arch, space)
        torch.manual_seed(args.seed)
        t1 = time.perf_counter()
        acc = _fit(network_module(net), ds, DistContext(), epochs=args.train_epochs,
                   batch_size=64, lr=0.05, momentum=0.9, weight_decay=5e-4, seed=args.seed,
                   on_epoch=None)
        rows.append((arch.key, net.macs / 1e6, sup_acc, sup_loss, acc))
        print(f"{arch.key:<48} {net.macs / 1e6:6.2f} MMAC  supernet {sup_acc:6.1%} "
              f"(CE {sup_loss:.2f})  scratch {acc:6.1%}  ({time.perf_counter() - t1:.0f} s)",
              flush=True)
    rho_acc = spearmanr([r[2] for r in rows], [r[4] for r in rows]).statistic
    rho_loss = spearmanr([-r[3] for r in rows], [r[4] for r in rows]).statistic
    print(f"Spearman(supernet acc, scratch acc) = {rho_acc:.3f}; "
          f"Spearman(-supernet CE, scratch acc) = {rho_loss:.3f} over {len(rows)} networks "
          f"(from scratch: {args.train_epochs} epochs; target >= 0.6)")


if __name__ == "__main__":
    main()
