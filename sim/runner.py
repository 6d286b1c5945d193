"""Build and run the cocotb testbench of a generated design on a registered simulator
(sim.simulators: verilator, the default, or icarus).

* Builds are cached by the content of the Verilog (comments stripped, so the design hash
  in the headers does not count) with a file lock: designs that share hardware and only
  differ in their op programs (ROM images, read at run time) share one build. The cache
  is `<design>/sim_build` unless a cache root (argument or $DNA_SIM_CACHE) is given.
* `cocotb_tools.runner`'s `Runner.test()` calls `sys.exit` when a test fails under pytest;
  the testbench never fails (it reports through a JSON result file) and we run it with
  PYTEST_CURRENT_TEST unset, catching SystemExit and runner errors as a crashed run.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sim.simulators import SimError, Simulator, get_simulator, sim_env

__all__ = ["Build", "SimError", "SimResult", "build", "build_key", "cache_dir", "cached_build",
           "dram_defaults", "run"]
TIMESCALE = ("1ps", "1ps")


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines()
                     if not line.lstrip().startswith("//"))


def build_key(design_dir: Path, waves: bool, sim: Simulator) -> str:
    """Cache key: Verilog sources (no comments), the simulator's options and install."""
    man = json.loads((design_dir / "manifest.json").read_text())
    h = hashlib.sha256(f"{sim.cache_key()}{waves}".encode())
    for rel in man["sources"] + ["rtl/dna_cfg.vh"]:
        h.update(rel.encode())
        h.update(_strip_comments((design_dir / rel).read_text()).encode())
    h.update(sim.identity().encode())
    return h.hexdigest()[:20]


@dataclass(frozen=True)
class Build:
    """A built simulator."""

    build_dir: Path
    seconds: float  # simulator compile time, e.g. Verilator + C++ (0 when reused)
    cached: bool
    simulator: str  # its name in sim.simulators


def cache_dir(design_dir: Path, cache_root: str | Path | None) -> Path:
    """Where builds of `design_dir` are cached: the argument, $DNA_SIM_CACHE, or
    design_dir/sim_build."""
    return Path(cache_root or os.environ.get("DNA_SIM_CACHE")
                or design_dir / "sim_build").resolve()


def cached_build(cache_root: Path, key: str, simulator: str,
                 make: Callable[[Path, Path], None]) -> Build:
    """The build `key` under `cache_root`, made by make(build_dir, log) unless a finished
    one is there; a file lock keeps concurrent runs from building it twice."""
    bdir = cache_root / key
    cache_root.mkdir(parents=True, exist_ok=True)
    with open(cache_root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (bdir / "done").exists():
            return Build(bdir, 0.0, True, simulator)
        shutil.rmtree(bdir, ignore_errors=True)
        t0 = time.perf_counter()
        make(bdir, cache_root / f"{key}.build.log")
        (bdir / "done").write_text("ok\n")
        return Build(bdir, time.perf_counter() - t0, False, simulator)


def build(design_dir: str | Path, *, cache_root: str | Path | None = None,
          waves: bool = False, simulator: str = "verilator") -> Build:
    """Build (or reuse) the `simulator` model of `design_dir`."""
    from cocotb_tools.runner import get_runner
    sim = get_simulator(simulator)
    design_dir = Path(design_dir).resolve()
    man = json.loads((design_dir / "manifest.json").read_text())

    def make(bdir: Path, log: Path) -> None:
        try:
            get_runner(sim.name).build(
                sources=[design_dir / s for s in man["sources"]],
                includes=[design_dir / "rtl"], hdl_toplevel=man["top"], build_dir=bdir,
                build_args=list(sim.build_args), waves=waves, timescale=TIMESCALE,
                log_file=log)
        except (RuntimeError, SystemExit) as e:
            raise SimError(f"{sim.name.capitalize()} build failed ({e}); "
                           f"log: {log}") from None

    with sim_env(sim, build=True):
        return cached_build(cache_dir(design_dir, cache_root),
                            build_key(design_dir, waves, sim), sim.name, make)


@dataclass(frozen=True)
class SimResult:
    """One simulator run over one or more input seeds."""

    status: str  # PASS, FAIL, TIMEOUT, CRASH
    runs: tuple[dict, ...] = ()  # per seed, from the testbench
    build: Build | None = None
    wall_s: float = 0.0  # simulator process, start to end
    log: Path | None = None
    detail: str = ""
    probe: dict = field(default_factory=dict)  # per op: why the compute unit waited

    @property
    def cycles(self) -> int:
        return self.runs[-1]["cycles"] if self.runs else 0

    def sim_speed(self) -> float:
        """Simulated cycles per second of wall time inside the testbench."""
        cyc = sum(r.get("sim_cycles", 0) for r in self.runs)
        wall = sum(r.get("wall_s", 0.0) for r in self.runs)
        return cyc / wall if wall else 0.0


def run(design_dir: str | Path, *, seeds: tuple[int, ...] = (0,), latency: int | None = None,
        beats_per_cycle: float | None = None, backpressure_seed: int | None = None,
        waves: bool = False, cache_root: str | Path | None = None,
        max_cycles: int = 2_000_000, run_dir: str | Path | None = None,
        probe: bool = False, simulator: str = "verilator", frames: int = 1) -> SimResult:
    """Build if needed, then simulate every seed and check every output bit-exactly.

    beats_per_cycle: DRAM bandwidth in bus beats per cycle (default: the target's, from
    the manifest). latency: DRAM latency in cycles (default: the cost model's, at the
    manifest's clock). simulator: a name in sim.simulators. frames: frames per seed, run
    back to back (frame n takes input seed + n).
    """
    design_dir = Path(design_dir).resolve()
    man = json.loads((design_dir / "manifest.json").read_text())
    b = build(design_dir, cache_root=cache_root, waves=waves, simulator=simulator)
    latency, beats_per_cycle = dram_defaults(man, latency, beats_per_cycle)
    rdir = Path(run_dir or tempfile.mkdtemp(prefix="dna_sim_")).resolve()
    rdir.mkdir(parents=True, exist_ok=True)
    for rom in man["roms"]:
        shutil.copy(design_dir / rom, rdir / Path(rom).name)
    job = {"design_dir": str(design_dir), "seeds": list(seeds), "latency": latency,
           "beats_per_cycle": beats_per_cycle, "backpressure_seed": backpressure_seed,
           "max_cycles": max_cycles, "result": str(rdir / "result.json"), "probe": probe,
           "frames": frames}
    (rdir / "job.json").write_text(json.dumps(job))
    return _simulate(get_simulator(simulator), b, man["top"], rdir, waves)


def dram_defaults(man: dict, latency: int | None,
                  beats_per_cycle: float | None) -> tuple[int, float]:
    """DRAM latency (cycles) and bandwidth (bus beats per cycle) of a run: the arguments,
    else the cost model's latency at the manifest's clock and the target's bandwidth."""
    if latency is None:
        from dna.cost.model import dram_latency_cycles
        latency = dram_latency_cycles(man["clock_mhz"])
    if beats_per_cycle is None:
        bpc = man["dram_bandwidth_gbps"] * 1e3 / man["clock_mhz"]
        beats_per_cycle = min(1.0, bpc / man["bus_bytes"])
    return latency, beats_per_cycle


def _simulate(sim: Simulator, b: Build, top: str, rdir: Path, waves: bool) -> SimResult:
    """Run the testbench on the job in `rdir` and read its result file."""
    from cocotb_tools.runner import get_runner
    log = rdir / "sim.log"
    t0 = time.perf_counter()
    with sim_env(sim, build=False):
        try:
            get_runner(sim.name).test(
                test_module="sim.tb_engine", hdl_toplevel=top, hdl_toplevel_lang="verilog",
                build_dir=b.build_dir, test_dir=rdir, waves=waves,
                plusargs=sim.plusargs(rdir, waves),
                extra_env={"DNA_SIM_JOB": str(rdir / "job.json"),
                           "COCOTB_LOG_LEVEL": "WARNING"},
                results_xml=str(rdir / "results.xml"), log_file=log, timescale=TIMESCALE)
        except (RuntimeError, SystemExit) as e:
            return SimResult("CRASH", (), b, time.perf_counter() - t0, log,
                             f"simulator failed ({e}); log: {log}")
    wall = time.perf_counter() - t0
    res_path = rdir / "result.json"
    if not res_path.exists():
        return SimResult("CRASH", (), b, wall, log, f"no result written; log: {log}")
    data = json.loads(res_path.read_text())
    runs = tuple(data["runs"])
    status = "PASS" if runs and all(r["status"] == "PASS" for r in runs) else \
        (runs[-1]["status"] if runs else "CRASH")
    detail = next((r.get("mismatch") or r.get("detail", "") for r in runs
                   if r["status"] != "PASS"), "")
    return SimResult(status, runs, b, wall, log, detail or "", data.get("probe", {}))
