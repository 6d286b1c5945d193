"""Typed library entry points; the CLI only parses arguments and calls these."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml

from dna.cost.report import Report, report
from dna.cost.target import Target, fixed_arch_problems, load_target, pe_budget_problems
from dna.design import PRECISIONS, Design, DesignError, load_design
from dna.errors import DnaError
from dna.space.gads.io import accelerator_from_spec
from dna.space.gads.typed import Accelerator, ChunkHW, SpaceError, check_accelerator
from dna.workload.io import network_from_yaml
from dna.workload.ir import Network, WorkloadError
from dna.workload.zoo import NETWORKS, get_network


class InputError(DnaError):
    """A user-supplied file or option is invalid; the message names it."""


def load_network(spec: str, *, dataset: Literal["imagenet", "cifar"] = "imagenet",
                 batch: int = 1) -> Network:
    """A built-in network by name, or a network YAML file by path."""
    if spec in NETWORKS:
        return get_network(spec, dataset=dataset, batch=batch)
    if Path(spec).suffix in (".yaml", ".yml") or Path(spec).exists():
        return network_from_yaml(spec)
    raise WorkloadError(f"unknown network {spec!r}: expected one of {', '.join(NETWORKS)} "
                        f"or a path to a network YAML file")


def load_accelerator(path: str | Path, net: Network, target: Target, bits: int) -> Accelerator:
    """Read a hand-written accelerator YAML file (see dna.space.gads.io) for `net` at `bits`."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such accelerator file") from None
    except yaml.YAMLError as e:
        raise InputError(f"{path}: malformed YAML: {' '.join(str(e).split())}") from None
    where = f"{path}: accelerator"
    try:
        acc = accelerator_from_spec(data, net, max_pes=target.max_pes, where=where)
    except SpaceError as e:
        raise InputError("; ".join(e.problems)) from None
    problems = pe_budget_problems([c.pes for c in acc.chunks], target, check_precision(bits),
                                  where)
    problems += fixed_arch_problems([(c.noc, c.unroll) for c in acc.chunks], acc.style,
                                    target, where)
    if not problems and target.fixed_arch is not None:
        fa = target.fixed_arch
        acc = Accelerator(acc.style, (ChunkHW(fa.noc, fa.unroll, fa.gb_words, fa.rf_words),),
                          acc.mappings)
        problems = check_accelerator(acc, net, where=where)
    if problems:
        raise InputError("; ".join(problems))
    return acc


def check_precision(bits: int) -> int:
    """`bits` if it is a supported precision, else InputError."""
    if bits not in PRECISIONS:
        raise InputError(f"precision {bits}: expected one of {PRECISIONS}")
    return bits


def evaluate(*, network: Network, accelerator: Accelerator, target: Target,
             precision: int) -> Report:
    """Cost-model report of `accelerator` running `network` on `target`."""
    return report(network, accelerator, target, check_precision(precision))


def evaluate_design(path: str | Path) -> tuple[Design, Report]:
    """Load a design file and evaluate it with the current cost model."""
    d = load_design(path)
    return d, report(d.network, d.accelerator, load_target(d.target), d.precision)


USER_ERRORS = (InputError, WorkloadError, SpaceError, DesignError, ValueError)
