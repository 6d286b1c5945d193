"""RTL fidelity: the generated Verilog, simulated (cocotb + Verilator, DRAM at the
target's bandwidth and the cost model's latency), against the cost model's cycles.

    python benchmarks/rtl_fidelity.py            # the table: every layer, 3 NoCs
    python benchmarks/rtl_fidelity.py --random 3 # plus random (not model-chosen) mappings

Design points: for each layer and NoC, the cost model's fastest of 300 random mappings on
fixed 64-PE-class hardware (what a search on that hardware returns), the FBNet-style
test network with the same rule per layer, and what `dna das` picks for
examples/networks/fbnet_block.yaml (hardware and mappings, at most 64 PEs). Prints one table (op, NoC, predicted,
measured, ratio), then simulation speed and Verilator build times. Every output is
checked bit-exactly against the PyTorch integer reference on the way.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dna.cost.model import dram_latency_cycles
from dna.cost.target import load_target
from hwgen import api
from sim.points import (
    FIDELITY_HARDWARE,
    best_design,
    fbnet_net,
    random_design,
    single_conv,
)
from sim.report import op_cycles

TARGET = "asic45"
TOLERANCE = 0.05  # acceptance: |measured / predicted - 1| <= 5% per layer
LAYERS = [  # CIFAR-scale FBNet layers: name, in channels, map, out channels, kernel, kw
    ("conv3x3", 16, 16, 16, 3, {}),
    ("pw_expand", 16, 16, 48, 1, {}),
    ("dw3x3", 48, 16, 48, 3, {"groups": 48}),
    ("pw_project", 48, 16, 16, 1, {"act": None}),
    ("conv3x3_s2", 16, 16, 32, 3, {"stride": 2}),
]


def points(n_random: int, bits: int):
    """(label, design) pairs: model-chosen mappings, then random ones."""
    tgt = load_target(TARGET)
    for noc, ch in FIDELITY_HARDWARE.items():
        for name, c, hw, k, kern, kw in LAYERS:
            net = single_conv(name, c, hw, k, kern, **kw)
            yield f"{name}", noc, best_design(net, ch, tgt, bits, seed=1)
            for s in range(n_random):
                yield f"{name}~r{s}", noc, random_design(net, ch, tgt, bits, seed=100 + s)
        yield "fbnet", noc, best_design(fbnet_net(8, 32), ch, tgt, bits, seed=1)
    yield "das", "das", das_design(tgt, bits)


def das_design(tgt, bits: int):
    """What `dna das --network examples/networks/fbnet_block.yaml --max-pes 64` returns."""
    from dna.design import make_design
    from dna.search.das import das_search
    from dna.search.evaluator import limits_for
    from dna.workload.io import network_from_yaml
    net = network_from_yaml(ROOT / "examples" / "networks" / "fbnet_block.yaml")
    res = das_search(net, tgt, bits=bits, steps=1000, samples=256, seed=0,
                     limits=limits_for(tgt, bits, max_pes=64))
    return make_design(net, res.accelerator, tgt, bits, provenance={"kind": "das"})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--random", type=int, default=0, help="random mappings per layer and NoC")
    ap.add_argument("--bits", type=int, default=8, choices=(8, 16))
    ap.add_argument("--out", type=Path, default=None, help="where designs and builds go")
    args = ap.parse_args(argv)
    tgt = load_target(TARGET)
    latency = dram_latency_cycles(tgt.clock_mhz)
    out = args.out or Path(tempfile.mkdtemp(prefix="dna_fidelity_"))
    rows, builds, speeds, failures = [], [], [], []
    t0 = time.perf_counter()
    for i, (label, noc, design) in enumerate(points(args.random, args.bits)):
        ddir = api.emit(design, out=out / f"p{i:03d}", target=tgt, weights_seed=i).out_dir
        res = api.sim(ddir, seeds=(0,), latency=latency, cache_root=out / "builds",
                      max_cycles=2_000_000, run_dir=ddir / "sim_run")
        if not res.build.cached:
            builds.append((noc, res.build.seconds))
        if res.status != "PASS":
            failures.append(f"{label} {noc}: {res.status} {res.detail}")
            continue
        speeds.append(res.sim_speed())
        man = json.loads((ddir / "manifest.json").read_text())
        ops = op_cycles(man, res)  # every op: conv layers, adds, pooling
        for r in ops:  # a network's rows are tagged with the node name
            tag = label if len(ops) == 1 else f"{label}:{r.node}"
            rows.append((tag, r.noc or r.kind, r.predicted, r.measured, r.ratio))
    print(f"RTL fidelity on {TARGET}: {args.bits}-bit, DRAM {tgt.dram_bandwidth_gbps:g} GB/s, "
          f"latency {latency} cycles; predicted = dna.cost.model latency_cycles")
    head = f"{'op':<24}{'NoC':<6}{'predicted':>11}{'measured':>10}{'ratio':>8}"
    print(head)
    print("-" * len(head))
    for tag, noc, p, m, r in rows:
        flag = "" if abs(r - 1) <= TOLERANCE else "  <- outside 5%"
        print(f"{tag:<24}{noc:<6}{p:>11,.0f}{m:>10,}{r:>8.3f}{flag}")
    print("-" * len(head))
    within = sum(abs(r[4] - 1) <= TOLERANCE for r in rows)
    print(f"{within} of {len(rows)} ops within {TOLERANCE:.0%}; ratio min "
          f"{min(r[4] for r in rows):.3f}, max {max(r[4] for r in rows):.3f}")
    if speeds:
        print(f"simulation speed: {sum(speeds) / len(speeds):,.0f} cycles/s mean "
              f"(min {min(speeds):,.0f}, max {max(speeds):,.0f}) over {len(speeds)} runs")
    for noc, s in builds:
        print(f"verilator build ({noc} hardware): {s:.1f} s")
    print(f"total wall time {time.perf_counter() - t0:.0f} s; designs under {out}")
    for f in failures:
        print(f"FAIL {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
