"""The design file (`dna-design/1`): the one format every tool reads and writes.

JSON with: schema, target, precision, network (dna.workload.io form), accelerator
(dna.space.gads.io design-file form), predicted metrics, provenance and an optional reference to
quantised weights (`.npz` beside the file). Loading validates everything and reports every
problem with its field path; saving is atomic.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dna.cost.report import predicted_metrics, report
from dna.cost.target import (
    Target,
    TargetError,
    fixed_arch_problems,
    load_target,
    pe_budget_problems,
)
from dna.errors import DnaError
from dna.fileio import write_atomic
from dna.space.gads.io import accelerator_from_dict, accelerator_to_dict
from dna.space.gads.typed import Accelerator, SpaceError
from dna.workload.io import network_from_dict, network_to_dict
from dna.workload.ir import Network, WorkloadError

SCHEMA = "dna-design/1"
PRECISIONS = (8, 16)


class DesignError(DnaError):
    """A design file is unreadable or invalid; the message names the file and fields."""


@dataclass(frozen=True)
class Design:
    """A network, its accelerator on one target, and what the cost model predicts."""

    target: str  # built-in target name
    precision: int  # 8 or 16 bit weights and activations
    network: Network
    accelerator: Accelerator
    predicted: dict[str, Any]  # cost-model figures (see cost.report.predicted_metrics)
    provenance: dict[str, Any] = field(default_factory=dict)  # tool version, seed, config
    weights: str | None = None  # quantised weights .npz, relative to the design file


def make_design(net: Network, acc: Accelerator, target: Target, bits: int, *,
                provenance: dict[str, Any], weights: str | None = None) -> Design:
    """A design whose `predicted` block is computed by the cost model now."""
    pred = predicted_metrics(report(net, acc, target, bits))
    from dna import __version__
    prov = {"tool": f"dna {__version__}"} | provenance
    return Design(target.name, bits, net, acc, pred, prov, weights)


def design_to_dict(d: Design) -> dict[str, Any]:
    """Plain-data form of a design."""
    return {"schema": SCHEMA, "target": d.target, "precision": d.precision,
            "network": network_to_dict(d.network),
            "accelerator": accelerator_to_dict(d.accelerator), "predicted": d.predicted,
            "provenance": d.provenance, "weights": d.weights}


def save_design(d: Design, path: str | Path) -> None:
    """Write `d` to `path` atomically (temp file + rename)."""
    write_atomic(path, json.dumps(design_to_dict(d), indent=1, sort_keys=False) + "\n")


def load_design(path: str | Path) -> Design:
    """Read and validate a design file; DesignError lists every problem with its field."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise DesignError(f"{path}: no such design file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DesignError(f"{path}: malformed JSON: {e}") from None
    return design_from_dict(data, str(path))


def design_from_dict(data: Any, where: str) -> Design:
    """Validate the plain-data form; `where` (the file) prefixes every problem."""
    if not isinstance(data, dict):
        raise DesignError(f"{where}: expected a JSON object at the top level")
    problems = []
    if data.get("schema") != SCHEMA:
        problems.append(f"schema = {data.get('schema')!r}: expected {SCHEMA!r}")
    missing = [k for k in ("target", "precision", "network", "accelerator", "predicted")
               if k not in data]
    problems += [f"{k}: missing" for k in missing]
    if data.get("precision", 8) not in PRECISIONS:
        problems.append(f"precision = {data['precision']!r}: expected 8 or 16")
    for key in ("predicted", "provenance"):
        if key in data and not isinstance(data[key], dict):
            problems.append(f"{key}: expected an object")
    weights = data.get("weights")
    if weights is not None and not isinstance(weights, str):
        problems.append(f"weights = {weights!r}: expected a file name or null")
    target = net = acc = None
    if "target" in data:
        try:
            target = load_target(str(data["target"]))
        except TargetError as e:
            problems.append(f"target: {e}")
    if "network" in data:
        try:
            net = network_from_dict(data["network"], "network")
        except WorkloadError as e:
            problems.append(str(e))
    if net is not None and "accelerator" in data:
        bits = data.get("precision")
        budget = (None if target is None or bits not in PRECISIONS else
                  lambda chunks, style, w: pe_budget_problems([c.pes for c in chunks],
                                                              target, bits, w)
                  + fixed_arch_problems([(c.noc, c.unroll) for c in chunks], style, target, w))
        try:
            acc = accelerator_from_dict(data["accelerator"], net, budget=budget,
                                        max_pes=target.max_pes if target else None)
        except SpaceError as e:
            problems += e.problems
    if problems:
        raise DesignError(f"{where}: " + "; ".join(problems))
    return Design(target.name, data["precision"], net, acc, data["predicted"],
                  data.get("provenance", {}), weights)
