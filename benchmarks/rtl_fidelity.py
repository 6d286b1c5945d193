"""RTL fidelity: the generated Verilog, simulated (cocotb + Verilator, DRAM at the
target's bandwidth and the cost model's latency), against the cost model's cycles.

    python benchmarks/rtl_fidelity.py            # the table: every layer, 3 NoCs
    python benchmarks/rtl_fidelity.py --random 3 # plus random (not model-chosen) mappings
    python benchmarks/rtl_fidelity.py --networks # whole CIFAR-size networks (fast testbench)

Design points: for each layer and NoC, the cost model's fastest of 300 random mappings on
fixed 64-PE-class hardware (what a search on that hardware returns), the FBNet-style
test network with the same rule per layer, and what `dna das` picks for
examples/networks/fbnet_block.yaml (hardware and mappings, at most 64 PEs). Prints one table (op, NoC, predicted,
measured, ratio), then simulation speed and Verilator build times. Every output is
checked bit-exactly against the PyTorch integer reference on the way.

--networks: vgg16, resnet18 and mobilenetv2 at CIFAR size, and the FBNet network of a
`dna search` design (--search-design, default out/best.json from the main job), each on
the accelerator `dna das` picks at 8 bit on asic45 within 64 PEs, multi-cycle and pipeline
(--styles). Each design runs --frames frames back to back on the fast testbench (sim.fast:
Verilator with a C++ DRAM model); printed per design: every op's predicted and measured
cycles (the last frame's), the frame interval and first-frame latency next to the model's
frame_cycles and latency_cycles, bit-exactness, build and simulation times, cycles/s.
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
from sim.report import format_frames, format_table, op_cycles

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


NETWORKS = ("vgg16", "resnet18", "mobilenetv2")


def network_points(styles: list[str], search_design: Path, bits: int):
    """(label, style, design): DAS's pick for each network and style."""
    from dna.design import load_design, make_design
    from dna.search.das import das_search, default_steps
    from dna.search.evaluator import limits_for
    from dna.workload.zoo import get_network
    tgt = load_target(TARGET)
    nets = [(name, get_network(name, dataset="cifar")) for name in NETWORKS]
    if search_design.exists():
        nets.append(("fbnet", load_design(search_design).network))
    else:
        print(f"no {search_design}: the FBNet network of `dna search` is left out "
              f"(bash examples/main_job.sh writes it)")
    for name, net in nets:
        for style in styles:
            t0 = time.perf_counter()
            res = das_search(net, tgt, bits=bits, steps=default_steps(net),
                             samples=256, seed=0, styles=(style,),
                             limits=limits_for(tgt, bits, max_pes=64))
            print(f"das {name} {style}: {len(res.accelerator.chunks)} chunk(s), "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
            yield name, style, make_design(net, res.accelerator, tgt, bits,
                                           provenance={"kind": "das"})


def run_networks(args) -> int:
    """The --networks table."""
    from sim.report import frame_timing
    out = args.out or Path(tempfile.mkdtemp(prefix="dna_networks_"))
    summary, failures = [], []
    t0 = time.perf_counter()
    for i, (name, style, design) in enumerate(
            network_points(args.styles.split(","), args.search_design, args.bits)):
        ddir = api.emit(design, out=out / f"{name}_{style}", target=TARGET,
                        weights_seed=i).out_dir
        man = json.loads((ddir / "manifest.json").read_text())
        res = api.sim(ddir, seeds=(0,), fast=True, frames=args.frames,
                      max_cycles=int(args.frames * 3 * man["predicted_latency_cycles"]) + 10**5,
                      run_dir=ddir / "sim_run", cache_root=out / "builds",
                      progress=lambda line: print(f"  {line}", flush=True))
        b = res.build
        print(f"\n== {name} ({style}, {len(man['roms'])} engine(s)): {res.status} "
              f"{res.detail}; build {b.seconds:.0f} s, simulation {res.wall_s:.0f} s, "
              f"{res.sim_speed():,.0f} cycles/s", flush=True)
        if res.status != "PASS":
            failures.append(f"{name} {style}: {res.status} {res.detail}")
            summary.append((name, style, res.status, "-", "-", "-", "-", b.seconds,
                            res.wall_s, 0.0))
            continue
        ops = op_cycles(man, res)
        print(format_table(ops))
        t = frame_timing(man, res.runs[-1]["frame_done_cycles"])
        print(format_frames(man, res.runs[-1]["frame_done_cycles"]))
        convs = [r for r in ops if r.kind == "conv"]
        ok = sum(abs(r.ratio - 1) <= TOLERANCE for r in convs)
        worst = max(convs, key=lambda r: abs(r.ratio - 1))
        summary.append((name, style, "PASS", f"{ok}/{len(convs)}", f"{worst.ratio:.3f}",
                        f"{t.interval_cycles / t.predicted_interval:.3f}",
                        f"{t.latency_cycles / t.predicted_latency:.3f}", b.seconds,
                        res.wall_s, res.sim_speed()))
    head = (f"{'network':<13}{'style':<12}{'bit-exact':<10}{'convs 5%':>9}{'worst':>8}"
            f"{'interval':>10}{'latency':>9}{'build s':>9}{'sim s':>8}{'cycles/s':>11}")
    print(f"\nwhole networks on {TARGET}, {args.bits}-bit, {args.frames} frames each "
          f"(ratios measured / model)")
    print(head)
    print("-" * len(head))
    for n, st, ok, within, worst, iv, lat, bs, ws, cps in summary:
        print(f"{n:<13}{st:<12}{ok:<10}{within:>9}{worst:>8}{iv:>10}{lat:>9}{bs:>9.0f}"
              f"{ws:>8.0f}{cps:>11,.0f}")
    print(f"total wall time {time.perf_counter() - t0:.0f} s; designs under {out}")
    for f in failures:
        print(f"FAIL {f}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--random", type=int, default=0, help="random mappings per layer and NoC")
    ap.add_argument("--bits", type=int, default=8, choices=(8, 16))
    ap.add_argument("--out", type=Path, default=None, help="where designs and builds go")
    ap.add_argument("--networks", action="store_true",
                    help="whole CIFAR-size networks on DAS-picked designs (fast testbench)")
    ap.add_argument("--styles", default="multicycle,pipeline",
                    help="--networks: accelerator styles, comma-separated")
    ap.add_argument("--frames", type=int, default=2, help="--networks: frames per design")
    ap.add_argument("--search-design", type=Path, default=ROOT / "out" / "best.json",
                    help="--networks: design file of a `dna search` run (its network)")
    ap.add_argument("--fast", action="store_true",
                    help="the fast testbench (Verilator + C++) for the layer table too")
    args = ap.parse_args(argv)
    if args.networks:
        return run_networks(args)
    tgt = load_target(TARGET)
    latency = dram_latency_cycles(tgt.clock_mhz)
    out = args.out or Path(tempfile.mkdtemp(prefix="dna_fidelity_"))
    rows, builds, speeds, failures = [], [], [], []
    t0 = time.perf_counter()
    for i, (label, noc, design) in enumerate(points(args.random, args.bits)):
        ddir = api.emit(design, out=out / f"p{i:03d}", target=tgt, weights_seed=i).out_dir
        res = api.sim(ddir, seeds=(0,), latency=latency, cache_root=out / "builds",
                      max_cycles=2_000_000, run_dir=ddir / "sim_run", fast=args.fast)
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
