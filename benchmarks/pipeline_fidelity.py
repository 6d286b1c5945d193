"""Pipeline fidelity: DAS-picked pipeline designs, their RTL simulated over several frames
back to back (cocotb + Verilator, DRAM at the target's bandwidth and the model's latency),
the steady-state frame interval and the first frame's latency against the cost model's
`frame_cycles` and `latency_cycles` (docs/cost_model.md section 6, "Chunks running at
once"). Every frame's every node output is checked bit-exactly on the way.

    python benchmarks/pipeline_fidelity.py [--frames 4]
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

from dna import api as dna_api  # noqa: E402
from hwgen import api  # noqa: E402
from sim.report import frame_timing  # noqa: E402

# (network, max PEs, DAS seed): issue #13's design first
DESIGNS = (("examples/networks/fbnet_block.yaml", 96, 0),
           ("examples/networks/fbnet_block.yaml", 64, 1),
           ("examples/networks/tiny.yaml", 96, 0))
TOLERANCE = 0.05


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=4)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dna_pipe_"))
    print(f"{'design':<34}{'chunks':>7}{'interval':>10}{'model':>10}{'ratio':>7}"
          f"{'latency':>10}{'model':>10}{'ratio':>7}{'sim s':>7}")
    worst = 0.0
    for net, pes, seed in DESIGNS:
        out = dna_api.das(network=str(ROOT / net), target="asic45", precision=8,
                          style="pipeline", seed=seed, limits=dna_api.Constraints(max_pes=pes))
        label = f"{Path(net).stem} {pes} PEs seed {seed}"
        ddir = api.emit(out.design, out=work / label.replace(" ", "_"), target="asic45",
                        weights_seed=seed).out_dir
        t0 = time.perf_counter()
        res = api.sim(ddir, seeds=(seed,), frames=args.frames)
        wall = time.perf_counter() - t0
        if res.status != "PASS":
            print(f"{label:<34} {res.status}: {res.detail}")
            worst = float("inf")
            continue
        t = frame_timing(json.loads((ddir / "manifest.json").read_text()),
                         res.runs[0]["frame_done_cycles"])
        ri, rl = t.interval_cycles / t.predicted_interval, t.latency_cycles / t.predicted_latency
        worst = max(worst, abs(ri - 1), abs(rl - 1))
        print(f"{label:<34}{len(out.design.accelerator.chunks):>7}{t.interval_cycles:>10,.0f}"
              f"{t.predicted_interval:>10,.0f}{ri:>7.3f}{t.latency_cycles:>10,}"
              f"{t.predicted_latency:>10,.0f}{rl:>7.3f}{wall:>7.0f}")
    print(f"worst |ratio - 1| = {worst:.3f} (goal <= {TOLERANCE}); {args.frames} frames each, "
          f"all bit-exact" if worst != float("inf") else "a design failed")


if __name__ == "__main__":
    main()
