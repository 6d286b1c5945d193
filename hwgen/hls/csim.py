"""C-simulation of an emitted HLS project with g++ (no Vivado needed).

Compiles the project's kernel and testbench with g++ and one of two header sets, runs the
testbench on the project's data files and reads its verdict: the output stream and every
node's tensor compared bit for bit with the PyTorch integer reference written at emit time.

Header sets: "compat" (default) builds with `g++ -std=c++14 -O2 -Wall -Werror`, our small
dna_hls_compat.h standing in for the vendor ap_int / hls::stream. "vendor" builds as
run_hls.tcl's csim_design does: its cflags (DNA_VENDOR_HLS defined, recorded in
project.json) and Xilinx's own ap_int.h / hls_stream.h on the include path
(hwgen.hls.vendor), plus -O2 and -Wall -Werror less the warnings listed in VENDOR_QUIET.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from hwgen.errors import HwgenError
from hwgen.hls.vendor import vendor_include_dir

HeaderSet = Literal["compat", "vendor"]
CXX_FLAGS = ("-std=c++14", "-O2", "-Wall", "-Werror")
VENDOR_CFLAGS = ("-std=c++14", "-DDNA_VENDOR_HLS")  # run_hls.tcl's add_files -cflags
# g++ -Wall warnings of a vendor build that are not about the project's code (the compat
# build keeps all of them, as errors):
VENDOR_QUIET = (
    "-Wno-unknown-pragmas",  # `#pragma HLS ...`: read by Vivado's compiler, unknown to g++
    "-Wno-unused-label",  # loop labels name the loops in HLS reports
    # ap_private's default constructor reads its own unset word (etc/ap_private.h,
    # clearUnusedBits): flagged at every default-constructed ap_int
    "-Wno-uninitialized", "-Wno-maybe-uninitialized")
# build folder of each header set, inside the project (like Vivado's solution1/csim/build)
BUILD_DIRS = {"compat": "csim_build", "vendor": "csim_build_vendor"}
COMPILE_TIMEOUT_S = 900
RUN_TIMEOUT_S = 3600
_MISMATCH = re.compile(r"DNA-CSIM MISMATCH node=(?P<node>.+) index=(?P<index>\d+) "
                       r"n=(?P<n>\d+) c=(?P<c>\d+) y=(?P<y>\d+) x=(?P<x>\d+) "
                       r"expected=(?P<expected>-?\d+) got=(?P<got>-?\d+)$")
_STREAM_NOTE = re.compile(r"DNA-CSIM MISMATCH node=(?P<node>.+? \(out stream\)) (?P<note>.*)$")
_VERDICT = re.compile(r"DNA-CSIM (PASS|FAIL): (\d+) values of (\d+) tensors.*?(\d+) mismatches;"
                      r" dna_top ran ([\d.]+) s")


@dataclass(frozen=True)
class Mismatch:
    """One value that differs from the reference (or a stream-length problem in `note`)."""

    node: str
    index: int | None  # flat NCHW index in the node's tensor
    position: tuple[int, int, int, int] | None  # (n, c, y, x)
    expected: int | None
    got: int | None
    note: str = ""

    def __str__(self) -> str:
        if self.index is None:
            return f"{self.node}: {self.note}"
        n, c, y, x = self.position
        return (f"{self.node}[{self.index}] (n={n}, c={c}, y={y}, x={x}): expected "
                f"{self.expected}, got {self.got}")


@dataclass(frozen=True)
class CsimResult:
    """Verdict and timings of one C-simulation."""

    passed: bool
    values_checked: int
    tensors_checked: int
    mismatch_count: int
    mismatches: tuple[Mismatch, ...]  # the first ones the testbench printed
    compile_s: float
    run_s: float  # wall time of the testbench process
    kernel_s: float  # time inside dna_top, as the testbench measured it
    log: str
    headers: HeaderSet = "compat"  # which header set it was built with


def find_compiler() -> str:
    """The C++ compiler: $CXX if set, else g++ on PATH; HwgenError if there is none."""
    cxx = os.environ.get("CXX") or "g++"
    path = shutil.which(cxx)
    if path is None:
        raise HwgenError(f"C-simulation needs a C++14 compiler: {cxx!r} is not on PATH "
                         f"(install g++, or set CXX)")
    return path


def load_project(project: Path) -> dict:
    """project.json of an emitted HLS project; HwgenError if `project` is not one."""
    project = Path(project)
    if not project.is_dir():
        raise HwgenError(f"{project}: no such directory (emit a project first: dna-hwgen "
                         f"emit --design DESIGN --target zc706 --out {project})")
    manifest = project / "project.json"
    try:
        data = json.loads(manifest.read_text())
    except FileNotFoundError:
        raise HwgenError(f"{project}: not an HLS project written by dna-hwgen emit "
                         f"(no project.json)") from None
    except json.JSONDecodeError as e:
        raise HwgenError(f"{manifest}: malformed JSON: {e}") from None
    if not isinstance(data, dict) or data.get("schema") != "dna-hls-project/1":
        raise HwgenError(f"{manifest}: not a dna-hls-project/1 manifest")
    missing = [f for f in data.get("csim", {}).get("sources", []) if not (project / f).is_file()]
    if missing:
        raise HwgenError(f"{project}: missing source files {', '.join(missing)}")
    return data


def compile_command(manifest: dict, headers: HeaderSet, exe: Path,
                    extra_flags: tuple[str, ...] = ()) -> list[str]:
    """The g++ command line that builds the testbench of the project with `manifest`
    (its project.json) into `exe`, with `headers`."""
    sources = manifest["csim"]["sources"]
    if headers == "compat":
        return [find_compiler(), *CXX_FLAGS, *extra_flags, "-o", str(exe), *sources]
    cflags = manifest["csim"].get("vendor_cflags", list(VENDOR_CFLAGS))
    return [find_compiler(), *cflags, "-O2", "-Wall", "-Werror", *VENDOR_QUIET,
            "-isystem", str(vendor_include_dir()), *extra_flags, "-o", str(exe), *sources]


def run_csim(project: Path, *, extra_flags: tuple[str, ...] = (),
             headers: HeaderSet = "compat") -> CsimResult:
    """Compile and run the testbench of `project` with `headers`; the result says PASS or
    FAIL. `extra_flags` go to g++ after the standard ones (e.g. sanitizers)."""
    if headers not in BUILD_DIRS:
        raise HwgenError(f"unknown header set {headers!r}: {' or '.join(BUILD_DIRS)}")
    project = Path(project).resolve()  # g++ and the testbench run with cwd = project
    manifest = load_project(project)
    build = project / BUILD_DIRS[headers]
    exe = build / "csim"
    cmd = compile_command(manifest, headers, exe, extra_flags)
    build.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    cc = subprocess.run(cmd, cwd=project, capture_output=True, text=True, check=False,
                        timeout=COMPILE_TIMEOUT_S)
    compile_s = time.perf_counter() - t0
    (build / "compile.log").write_text(" ".join(cmd) + "\n" + cc.stdout + cc.stderr)
    if cc.returncode != 0:
        first = next((ln for ln in cc.stderr.splitlines() if "error" in ln), cc.stderr.strip())
        raise HwgenError(f"{project}: g++ ({headers} headers) failed, see "
                         f"{build / 'compile.log'}: {first}")
    t0 = time.perf_counter()
    run = subprocess.run([str(exe), manifest["csim"]["data_dir"]], cwd=project,
                         capture_output=True, text=True, check=False, timeout=RUN_TIMEOUT_S)
    run_s = time.perf_counter() - t0
    return replace(_parse(run.stdout + run.stderr, run.returncode, compile_s, run_s),
                   headers=headers)


def _parse(log: str, returncode: int, compile_s: float, run_s: float) -> CsimResult:
    mismatches = []
    for line in log.splitlines():
        if m := _MISMATCH.match(line.strip()):
            mismatches.append(Mismatch(m["node"], int(m["index"]),
                                       tuple(int(m[k]) for k in "ncyx"),
                                       int(m["expected"]), int(m["got"])))
        elif m := _STREAM_NOTE.match(line.strip()):
            mismatches.append(Mismatch(m["node"], None, None, None, None, m["note"]))
    v = _VERDICT.search(log)
    if v is None:  # crashed, or stopped on an empty stream
        tail = " | ".join(log.strip().splitlines()[-3:]) or f"exit code {returncode}"
        return CsimResult(False, 0, 0, 0, (Mismatch("testbench", None, None, None, None,
                                                    f"no verdict ({tail})"),),
                          compile_s, run_s, 0.0, log)
    return CsimResult(v[1] == "PASS" and returncode == 0, int(v[2]), int(v[3]), int(v[4]),
                      tuple(mismatches), compile_s, run_s, float(v[5]), log)
