"""One accelerator's cost-model results as a typed report, a table and plain data."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from dna.cost.model import ENERGY_PARTS, evaluate
from dna.cost.nodes import is_plane, node_chunks, node_cost, op_nodes
from dna.cost.target import Target
from dna.space.gads.batch import encode, network_layers
from dna.space.gads.typed import Accelerator
from dna.workload.ir import Network

BOUNDS = ("compute", "dram", "gb")


@dataclass(frozen=True)
class LayerRow:
    """Cost-model figures of one conv layer."""

    name: str
    chunk: int
    noc: str
    macs: int
    latency_cycles: float
    compute_cycles: float
    dram_cycles: float
    gb_cycles: float
    bound: str  # compute | dram | gb
    utilisation: float  # true MACs / (compute cycles x PEs)
    dram_bytes: float
    energy_pj: float
    chunk_dsp: float
    chunk_bram18k: float


@dataclass(frozen=True)
class OpRow:
    """Cost-model figures of one non-conv op (dna.cost.nodes)."""

    name: str
    kind: str  # "plane" (pooling, shuffle) or "ew" (add, clamp)
    chunk: int
    latency_cycles: float
    dram_bytes: float
    energy_pj: float


@dataclass(frozen=True)
class Report:
    """Network-level cost-model figures of one accelerator on one target."""

    network: str
    target: str
    bits: int
    style: str
    clock_mhz: float
    pes: int
    macs: int
    layers: tuple[LayerRow, ...]
    ops: tuple[OpRow, ...]  # pooling, shuffle, adds, standalone clamps
    frame_cycles: float  # cycles between frames
    latency_cycles: float  # cycles through the whole network for one frame
    fps: float
    gops: float
    energy_per_frame_pj: float
    energy_breakdown_pj: dict[str, float]  # mac, rf, gb, dram (conv layers), ops
    edp_pj_s: float
    dsp: float
    bram18k: float
    lut: float
    area_mm2: float
    roofline_gops: float  # DSP roofline (FPGA) or PE-budget roofline (ASIC)
    roofline_fraction: float
    budget: dict[str, float]  # the target's limits
    feasible: bool


def roofline_gops(target: Target, bits: int) -> float:
    """Peak GOP/s the target's compute resources allow: 2 ops per MAC per cycle."""
    if target.kind == "fpga":
        macs_per_cycle = target.dsp / target.dsp_per_mac[bits]
    else:
        macs_per_cycle = target.max_pes
    return 2 * macs_per_cycle * target.clock_mhz * 1e6 / 1e9


def report(net: Network, acc: Accelerator, target: Target, bits: int) -> Report:
    """Evaluate `acc` running `net` on `target` and gather the figures."""
    c = evaluate(network_layers(net), encode([acc]), target, bits)
    rows = []
    for i, (conv, m) in enumerate(zip(net.convs, acc.mappings)):
        rows.append(LayerRow(
            name=conv.name, chunk=m.chunk, noc=acc.chunks[m.chunk].noc, macs=conv.macs,
            latency_cycles=c.latency_cycles[0, i].item(),
            compute_cycles=c.compute_cycles[0, i].item(),
            dram_cycles=c.dram_cycles[0, i].item(), gb_cycles=c.gb_cycles[0, i].item(),
            bound=BOUNDS[int(c.bound[0, i])], utilisation=c.utilisation[0, i].item(),
            dram_bytes=c.dram_bytes[0, i].item(), energy_pj=c.energy_pj[0, i].sum().item(),
            chunk_dsp=c.chunk_dsp[0, m.chunk].item(),
            chunk_bram18k=c.chunk_bram18k[0, m.chunk].item()))
    where = node_chunks(net, {m.layer: m.chunk for m in acc.mappings})
    ops = []
    for node in op_nodes(net):
        cost = node_cost(node, target, bits)
        ops.append(OpRow(node.name, "plane" if is_plane(node) else "ew", where[node.name],
                         cost.cycles, cost.dram_bytes, cost.energy_pj))
    roof = roofline_gops(target, bits)
    budget = ({"dsp": target.dsp, "bram18k": target.bram18k, "lut": target.lut}
              if target.kind == "fpga" else {"area_mm2": target.area_mm2})
    return Report(
        network=net.name, target=target.name, bits=bits, style=acc.style,
        clock_mhz=target.clock_mhz, pes=acc.pes, macs=net.macs, layers=tuple(rows),
        ops=tuple(ops),
        frame_cycles=c.frame_cycles[0].item(), latency_cycles=c.frame_latency_cycles[0].item(),
        fps=c.fps[0].item(), gops=c.gops[0].item(),
        energy_per_frame_pj=c.energy_per_frame_pj[0].item(),
        energy_breakdown_pj={**{k: c.energy_pj[0, :, j].sum().item()
                                for j, k in enumerate(ENERGY_PARTS)},
                             "ops": sum(o.energy_pj for o in ops)},
        edp_pj_s=c.edp_pj_s[0].item(), dsp=c.dsp[0].item(), bram18k=c.bram18k[0].item(),
        lut=c.lut[0].item(), area_mm2=c.area_mm2[0].item(), roofline_gops=roof,
        roofline_fraction=c.gops[0].item() / roof, budget=budget,
        feasible=bool(c.feasible[0]))


def report_to_dict(r: Report) -> dict:
    """Plain data (JSON-ready) form of a report."""
    return asdict(r)


def predicted_metrics(r: Report) -> dict:
    """The `predicted` block of a design file: network totals, per-layer cycles and the
    non-conv ops."""
    d = report_to_dict(r)
    d["layers"] = [{"name": row.name, "latency_cycles": row.latency_cycles,
                    "compute_cycles": row.compute_cycles, "bound": row.bound}
                   for row in r.layers]
    d["ops"] = [asdict(op) for op in r.ops]  # a list, as JSON reads it back
    for key in ("network", "target", "bits", "style", "budget"):
        d.pop(key)
    return d


def si_count(n: float, unit: str) -> str:
    """`n` with the SI prefix that keeps 4 significant digits: 15.47 GMAC, 1.234 MMAC."""
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.4g} {prefix}{unit}"
    return f"{n:.0f} {unit}"


def format_report(r: Report) -> str:
    """Human-readable per-layer table and totals."""
    head = (f"{'layer':<22}{'chunk':>5} {'noc':<5}{'MMAC':>9}{'cycles':>13}{'bound':>8}"
            f"{'util':>7}{'DSP':>6}{'BRAM':>6}{'DRAM MB':>9}{'energy uJ':>11}")
    lines = [f"{r.network} on {r.target} at {r.bits} bit, {r.style}, {r.pes} PEs, "
             f"{r.clock_mhz:g} MHz", head, "-" * len(head)]
    for row in r.layers:
        lines.append(f"{row.name[:22]:<22}{row.chunk:>5} {row.noc:<5}{row.macs / 1e6:>9.2f}"
                     f"{row.latency_cycles:>13,.0f}{row.bound:>8}{row.utilisation:>7.1%}"
                     f"{row.chunk_dsp:>6.0f}{row.chunk_bram18k:>6.0f}"
                     f"{row.dram_bytes / 1e6:>9.2f}{row.energy_pj / 1e6:>11.2f}")
    for op in r.ops:
        lines.append(f"{op.name[:22]:<22}{op.chunk:>5} {op.kind:<5}{'':>9}"
                     f"{op.latency_cycles:>13,.0f}{'':>8}{'':>7}{'':>6}{'':>6}"
                     f"{op.dram_bytes / 1e6:>9.2f}{op.energy_pj / 1e6:>11.2f}")
    lines.append("-" * len(head))
    e = r.energy_breakdown_pj
    lines += [
        f"throughput     {r.fps:,.2f} FPS, {r.gops:,.1f} GOP/s "
        f"({si_count(r.macs, 'MAC')} per frame)",
        f"roofline       {r.roofline_gops:,.1f} GOP/s; this design reaches "
        f"{r.roofline_fraction:.1%} of it",
        f"latency        {r.latency_cycles:,.0f} cycles = "
        f"{r.latency_cycles / r.clock_mhz / 1e3:,.3f} ms per frame",
        f"energy         {r.energy_per_frame_pj / 1e6:,.1f} uJ per frame (MAC "
        f"{e['mac'] / 1e6:,.1f}, RF {e['rf'] / 1e6:,.1f}, GB {e['gb'] / 1e6:,.1f}, "
        f"DRAM {e['dram'] / 1e6:,.1f}, other ops {e['ops'] / 1e6:,.1f}); "
        f"EDP {r.edp_pj_s:.3g} pJ*s",
    ]
    if "dsp" in r.budget:
        lines.append(f"resources      DSP {r.dsp:,.0f} of {r.budget['dsp']:,}, BRAM18K "
                     f"{r.bram18k:,.0f} of {r.budget['bram18k']:,}, LUT {r.lut:,.0f} of "
                     f"{r.budget['lut']:,}")
    else:
        lines.append(f"area           {r.area_mm2:.2f} mm^2 of {r.budget['area_mm2']:g} mm^2")
    lines.append(f"feasible       {'yes' if r.feasible else 'NO: over the target budget'}")
    return "\n".join(lines)
