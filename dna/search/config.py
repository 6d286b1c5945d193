"""The co-search configuration (`dna search --config FILE`, examples/quickstart.yaml).

Loading validates, then builds: every field is checked against its type, then against its
rule (ranges, choices), then the fields that name things (objective, target, space) are
resolved. Every problem is collected and one `ConfigError` lists them all, each with its
field path, e.g. `tiny.yaml.search.epochs = 0: expected >= 1`.
"""
from __future__ import annotations

import copy
import json
import types
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml

from dna.cost.target import load_target
from dna.data import DataSpec
from dna.errors import DnaError
from dna.search.das import ESTIMATORS
from dna.search.evaluator import parse_objective
from dna.space.fbnet.space import PRIMITIVES, SpaceConfig, fbnet_space
from dna.space.gads.index import STYLES

STRATEGIES = ("dna", "seq", "random")


class ConfigError(DnaError):
    """A search configuration is invalid; the message lists every problem by field."""


@dataclass(frozen=True)
class SpaceSection:
    variant: str = "cifar"  # imagenet | cifar (strides, head)
    width: float = 0.5  # channel multiplier of the proxy
    depth: float = 0.25  # layers-per-group multiplier (0.25: one layer per group)
    ops: tuple[str, ...] = PRIMITIVES


@dataclass(frozen=True)
class DNSSection:
    epochs: int = 10
    warmup_epochs: int = 2  # epochs that train only the weights
    batch_size: int = 64  # global batch (split across DDP ranks)
    alpha_fraction: float = 0.2  # share of the training split that trains alpha (FBNet: 20%)
    samples: int = 10  # M: networks sampled from P(alpha) per epoch
    hw_weight: float = 1.0  # lambda of L_val + lambda * L_hw
    w_lr: float = 0.1
    w_momentum: float = 0.9
    w_weight_decay: float = 1e-4
    alpha_lr: float = 0.1
    alpha_weight_decay: float = 5e-4
    tau0: float = 5.0  # Gumbel-softmax temperature of epoch 0
    tau_decay: float = 0.7  # per epoch (FBNet: 0.956 over 90 epochs; the proxy is short)
    eval_images: int = 128  # alpha-split images scoring candidates' single paths
    time_budget_s: float | None = None  # fit the number of epochs to this wall time


@dataclass(frozen=True)
class DASSection:
    steps: int = 2  # per inner DAS call (one per sampled network)
    samples: int = 256  # accelerators per DAS step
    estimator: str = "reinforce"  # inner calls (cheap, unbiased)
    final_steps: int = 60  # DAS on the derived network
    final_samples: int = 256
    final_estimator: str = "dna"
    final_restarts: int = 3  # independent final DAS runs (seeds); the best is kept
    mapping_samples: int = 16  # random mappings per conv for the Eq. 4 op costs
    styles: tuple[str, ...] = ("multicycle", "pipeline")


@dataclass(frozen=True)
class SearchConfig:
    strategy: str = "dna"  # dna | seq | random
    seed: int = 0
    target: str = "zc706"
    precision: int = 8
    objective: str = "fps"  # fps | latency | energy | edp
    data: DataSpec = field(default_factory=lambda: DataSpec(size=16))
    space: SpaceSection = field(default_factory=SpaceSection)
    search: DNSSection = field(default_factory=DNSSection)
    das: DASSection = field(default_factory=DASSection)


_SECTIONS = (DataSpec, SpaceSection, DNSSection, DASSection)


def _at_least(lo: float) -> Callable[[Any], bool]:
    return lambda v: v >= lo  # False for NaN


def _one_of(options) -> Callable[[Any], bool]:
    return lambda v: v in options


# (field path, test, what a valid value is); checked only on fields of the right type
_RULES: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ("strategy", _one_of(STRATEGIES), f"expected one of {', '.join(STRATEGIES)}"),
    ("precision", _one_of((8, 16)), "expected 8 or 16"),
    ("data.size", lambda v: v is None or v >= 4, "expected >= 4 or null"),
    ("search.epochs", _at_least(1), "expected >= 1"),
    ("search.warmup_epochs", _at_least(0), "expected >= 0"),
    *((f"search.{k}", _at_least(1), "expected >= 1")
      for k in ("batch_size", "samples", "eval_images")),
    ("search.alpha_fraction", lambda v: 0 < v < 1, "expected between 0 and 1"),
    *((f"search.{k}", lambda v: v > 0, "expected > 0") for k in ("w_lr", "alpha_lr", "tau0")),
    ("search.tau_decay", lambda v: 0 < v <= 1, "expected 0 < tau_decay <= 1"),
    ("search.hw_weight", _at_least(0), "expected >= 0"),
    ("search.time_budget_s", lambda v: v is None or v > 0, "expected > 0 or null"),
    *((f"das.{k}", _at_least(1), "expected >= 1")
      for k in ("steps", "samples", "final_steps", "final_samples", "final_restarts",
                "mapping_samples")),
    *((f"das.{k}", _one_of(ESTIMATORS), f"expected one of {', '.join(ESTIMATORS)}")
      for k in ("estimator", "final_estimator")),
    ("das.styles", lambda v: bool(v) and set(v) <= set(STYLES),
     f"expected some of {', '.join(STYLES)}"),
)


def _check_type(value: Any, hint: Any) -> bool:
    """Whether a YAML value fits a config field's type hint."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        return any(_check_type(value, a) for a in args)
    if origin is Literal:
        return value in args
    if origin is tuple:
        return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
    if hint is type(None):
        return value is None
    if isinstance(value, bool) or hint is bool:
        return hint is bool and isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float))
    return isinstance(value, hint) if hint in (int, str) else False


def _hint_text(hint: Any) -> str:
    if get_origin(hint) is Literal:
        return "one of " + ", ".join(map(str, get_args(hint)))
    text = getattr(hint, "__name__", None) if get_origin(hint) is None else None
    return text or str(hint).replace("typing.", "").replace(" | None", " or null")


def _section(cls, data: Any, path: str, where: str, problems: list[str], bad: set[str]):
    """`cls` built from `data`; a field of the wrong type keeps its default and goes to
    `bad` (its dotted path) with a problem in `problems`."""
    if data is None:
        return cls()
    if not isinstance(data, dict):
        problems.append(f"{where}{path}: expected a mapping")
        bad.add(path.lstrip("."))
        return cls()
    hints, values = get_type_hints(cls), {}
    for key, value in data.items():
        at = f"{path}.{key}"
        if key not in hints:
            problems.append(f"{where}{at}: unknown field (expected one of {', '.join(hints)})")
        elif hints[key] in _SECTIONS:
            values[key] = _section(hints[key], value, at, where, problems, bad)
        elif not _check_type(value, hints[key]):
            problems.append(f"{where}{at} = {value!r}: expected {_hint_text(hints[key])}")
            bad.add(at.lstrip("."))
        else:
            values[key] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def _value(cfg: SearchConfig, path: str) -> Any:
    for part in path.split("."):
        cfg = getattr(cfg, part)
    return cfg


def _rule_problems(cfg: SearchConfig, where: str, bad: set[str]) -> list[str]:
    problems = []
    for path, ok, expected in _RULES:
        if path in bad or path.split(".")[0] in bad:
            continue
        v = _value(cfg, path)
        if not ok(v):
            shown = list(v) if isinstance(v, tuple) else v
            problems.append(f"{where}.{path} = {shown!r}: {expected}")
    return problems


def _name_problems(cfg: SearchConfig, where: str, bad: set[str]) -> list[str]:
    """Resolve data root, objective, target and space; a problem per field that fails."""
    sp = cfg.space
    checks = (("objective", lambda: parse_objective(cfg.objective)),
              ("target", lambda: load_target(cfg.target)),
              ("space", lambda: fbnet_space(SpaceConfig(sp.variant, sp.width, sp.depth,
                                                        ops=sp.ops))))
    problems = []
    if (not {"data", "data.name", "data.root"} & bad and cfg.data.name != "digits"
            and not cfg.data.root):
        problems.append(f"{where}.data.root: dataset {cfg.data.name!r} needs the directory "
                        f"it lies in")
    for what, resolve in checks:
        if what in bad or any(b.startswith(f"{what}.") for b in bad):
            continue
        try:
            resolve()
        except DnaError as e:
            problems.append(f"{where}.{what}: {e}")
    return problems


def config_from_dict(data: Any, where: str = "config") -> SearchConfig:
    """Validated `SearchConfig`; ConfigError lists every problem with its field path."""
    problems: list[str] = []
    bad: set[str] = set()
    cfg = _section(SearchConfig, data or {}, "", where, problems, bad)
    problems += _rule_problems(cfg, where, bad)
    problems += _name_problems(cfg, where, bad)
    if problems:
        raise ConfigError("; ".join(problems))
    return cfg


def config_to_dict(cfg: SearchConfig) -> dict[str, Any]:
    """Plain-data form (what the design file's provenance and the checkpoint hold)."""
    return json.loads(json.dumps(asdict(cfg)))


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping a config YAML file holds (empty for an empty file)."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as e:  # a directory, no permission, ...
        raise ConfigError(f"{path}: cannot read the config file ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: malformed YAML: {' '.join(str(e).split())}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data or {}


def load_config(source: str | Path | Mapping[str, Any] | SearchConfig | None = None, *,
                overrides: Mapping[str, Any] | None = None) -> SearchConfig:
    """A validated config from a YAML file, a plain-data mapping, a `SearchConfig` or the
    embedded default (None), with `overrides` ({"seed": 1, "search.epochs": 3}) applied."""
    if isinstance(source, SearchConfig):
        data, where = config_to_dict(source), "config"
    elif isinstance(source, (str, Path)):
        data, where = read_config_file(source), str(source)
    else:
        data, where = copy.deepcopy(dict(source or {})), "config"
    for key, value in (overrides or {}).items():
        section, _, name = key.rpartition(".")
        if not section:
            data[key] = value
        elif isinstance(data.get(section) or {}, dict):
            data[section] = {**(data.get(section) or {}), name: value}
    return config_from_dict(data, where)

