"""Per-op cycle table of a simulation: measured against the cost model's prediction."""
from __future__ import annotations

from dataclasses import dataclass

from sim.runner import SimResult


@dataclass(frozen=True)
class OpCycles:
    """One op's cycles, measured and as the cost model predicts them."""

    index: int
    node: str
    kind: str
    noc: str | None
    predicted: float | None
    measured: int

    @property
    def ratio(self) -> float | None:
        return self.measured / self.predicted if self.predicted else None


def op_cycles(manifest: dict, result: SimResult) -> list[OpCycles]:
    """Pair every op of the manifest with its measured cycles (last seed run)."""
    ops = result.runs[-1].get("ops", []) if result.runs else []
    return [OpCycles(o["index"], o["node"], o["kind"], o["noc"], o["predicted_cycles"],
                     m["cycles"]) for o, m in zip(manifest["ops"], ops)]


def format_table(rows: list[OpCycles]) -> str:
    """The per-op table, with totals over the conv layers and over all ops."""
    head = f"{'op':>3} {'node':<22}{'kind':<6}{'noc':<5}{'predicted':>11}{'measured':>10}{'ratio':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        pred = f"{r.predicted:,.0f}" if r.predicted else "-"
        ratio = f"{r.ratio:.3f}" if r.ratio else "-"
        lines.append(f"{r.index:>3} {r.node[:22]:<22}{r.kind:<6}{r.noc or '-':<5}{pred:>11}"
                     f"{r.measured:>10,}{ratio:>8}")
    lines.append("-" * len(head))
    for label, part in (("conv layers", [r for r in rows if r.kind == "conv"]),
                        ("all ops", rows)):
        pred = sum(r.predicted or 0 for r in part)
        meas = sum(r.measured for r in part)
        lines.append(f"{'':>3} {label:<33}{pred:>11,.0f}{meas:>10,}"
                     f"{(meas / pred if pred else 0):>8.3f}")
    return "\n".join(lines)


@dataclass(frozen=True)
class FrameTiming:
    """Frames run back to back: the first frame's latency and the steady-state interval."""

    frames: int
    latency_cycles: int  # start to the first frame's end
    interval_cycles: float  # mean time between frame ends after the first
    predicted_latency: float
    predicted_interval: float


def frame_timing(manifest: dict, done_cycles: list[int]) -> FrameTiming:
    """From the cycle each frame ended (`frame_done_cycles` of a run, two frames or more)."""
    n = len(done_cycles)
    return FrameTiming(n, done_cycles[0], (done_cycles[-1] - done_cycles[0]) / (n - 1),
                       manifest["predicted_latency_cycles"],
                       manifest["predicted_frame_cycles"])


def format_frames(manifest: dict, done_cycles: list[int]) -> str:
    """Frame interval and latency, measured next to the model's."""
    t = frame_timing(manifest, done_cycles)
    return (f"{t.frames} frames: interval {t.interval_cycles:,.0f} cycles (model "
            f"frame_cycles {t.predicted_interval:,.0f}, ratio "
            f"{t.interval_cycles / t.predicted_interval:.3f}); first-frame latency "
            f"{t.latency_cycles:,} cycles (model latency_cycles {t.predicted_latency:,.0f}, "
            f"ratio {t.latency_cycles / t.predicted_latency:.3f})")


STALLS = (("mac", "MAC"), ("wait_i", "inputs"), ("wait_w", "weights"),
          ("wait_o_prep_dram", "psum DRAM"), ("wait_o_prep_port", "psum port"),
          ("wait_o_drain", "drain"))


def format_stalls(manifest: dict, probe: dict, inputs: int = 1) -> str:
    """Cycles of engine 0's compute unit per conv op: MACs, and waits by what was missing
    (an input or weight RF tile, a partial-sum tile still in DRAM or being reloaded into
    the accumulators, an accumulator slot not yet drained), summed over `inputs` runs."""
    head = f"{'op':>3} {'node':<22}" + "".join(f"{t:>11}" for _, t in STALLS)
    over = f", summed over {inputs} inputs" if inputs > 1 else ""
    lines = [f"compute-unit cycles of engine 0{over} (MAC, then waiting for ...)", head,
             "-" * len(head)]
    for o in manifest["ops"]:
        c = probe.get(str(o["index"]))
        if c is None:
            continue
        lines.append(f"{o['index']:>3} {o['node'][:22]:<22}"
                     + "".join(f"{c.get(k, 0):>11,}" for k, _ in STALLS))
    return "\n".join(lines)
