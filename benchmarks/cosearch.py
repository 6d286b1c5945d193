"""DNA vs SEQ-Opt vs random search on the embedded default, at the same wall-clock budget.

For each seed: DNA (the embedded default config) runs first and sets the budget: the wall
time of its search epochs. SEQ-Opt (MACs penalty, DAS only at the end) and random search
(M uniform networks per epoch, DAS on each) then run with `search.time_budget_s` = that
budget, which fits their number of epochs to it. Every derived network gets the same final
DAS budget and is trained from scratch the same way (`dna.api.train`, SGD +
cosine, then int8/int16 quantisation); the table reports held-out accuracy (float and
integer) and the predicted FPS / energy of each design (paper Table 4, Fig. 7).

    python benchmarks/cosearch.py [--seeds 0] [--train-epochs 20] [--out out/bench]

To use more cores without sharing them, run one strategy per process with a fixed budget
(e.g. `taskset -c 2,3 python benchmarks/cosearch.py --strategy seq --budget-s 140`) and
print the table of all results.json files with `--combine DIR...`.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from dna import api
from dna.search.config import SearchConfig


def run_one(cfg: SearchConfig, out: Path, train_epochs: int) -> dict:
    t0 = time.perf_counter()
    res = api.search(config=cfg, out_dir=out, plots=False)
    search_s = time.perf_counter() - t0
    tr = api.train(design=res.design_path, epochs=train_epochs, seed=cfg.seed)
    p, net = res.design.predicted, res.design.network
    return {"strategy": cfg.strategy, "seed": cfg.seed, "epochs": len(res.records),
            "search_epochs_s": sum(r["time_s"] for r in res.records),
            "search_total_s": search_s,
            "das_s": sum(r["time_das_s"] for r in res.records),
            "arch": res.arch.key, "mmac": net.macs / 1e6, "kparams": net.params / 1e3,
            "float_acc": tr.float_acc, "int_acc": tr.int_acc, "fps": p["fps"],
            "energy_uj": p["energy_per_frame_pj"] / 1e6, "style": res.design.accelerator.style,
            "pes": res.design.accelerator.pes}


def table(rows: list[dict]) -> str:
    head = ("| strategy | seed | epochs | search s (DAS s) | network MMAC | float acc | "
            "int8 acc | predicted FPS | energy uJ | accelerator |")
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        lines.append(f"| {r['strategy']} | {r['seed']} | {r['epochs']} | "
                     f"{r['search_epochs_s']:.0f} ({r['das_s']:.1f}) | {r['mmac']:.3f} | "
                     f"{r['float_acc']:.2%} | {r['int_acc']:.2%} | {r['fps']:,.0f} | "
                     f"{r['energy_uj']:.1f} | {r['style']}, {r['pes']} PEs |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0", help="comma-separated seeds")
    ap.add_argument("--train-epochs", type=int, default=20)
    ap.add_argument("--out", default="out/bench")
    ap.add_argument("--strategy", choices=("dna", "seq", "random"),
                    help="run only this strategy (with --budget-s for seq/random)")
    ap.add_argument("--budget-s", type=float, help="search wall-clock budget of seq/random")
    ap.add_argument("--combine", nargs="+", metavar="DIR",
                    help="print the table of the results.json files in DIR... and exit")
    args = ap.parse_args()
    if args.combine:
        rows = [r for d in args.combine for r in json.loads((Path(d) / "results.json").read_text())]
        print(table(sorted(rows, key=lambda r: (r["seed"], "dsr".index(r["strategy"][0])))))
        return
    out = Path(args.out)
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        base = replace(SearchConfig(), seed=seed)
        if args.strategy:
            cfg = replace(base, strategy=args.strategy)
            if args.strategy != "dna":
                cfg = replace(cfg, search=replace(base.search, time_budget_s=args.budget_s))
            rows.append(run_one(cfg, out / f"{args.strategy}-{seed}", args.train_epochs))
            continue
        dna = run_one(base, out / f"dna-{seed}", args.train_epochs)
        rows.append(dna)
        budget = dna["search_epochs_s"]
        for strategy in ("seq", "random"):
            cfg = replace(base, strategy=strategy,
                          search=replace(base.search, time_budget_s=budget))
            rows.append(run_one(cfg, out / f"{strategy}-{seed}", args.train_epochs))
        print(table(rows[-3:]), flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    print("\nall runs\n" + table(rows))
    print(f"\nwrote {out / 'results.json'}")


if __name__ == "__main__":
    main()
