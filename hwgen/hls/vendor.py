"""Where the vendor HLS headers (Xilinx's `ap_int.h`, `ap_fixed.h`, `hls_stream.h`) are.

Vivado/Vitis HLS builds the generated project against its own headers (run_hls.tcl defines
DNA_VENDOR_HLS, src/dna_hls.h then includes them). Xilinx published the C-simulation models
of these types as open source (Apache-2.0, the licence text heads each file); the hls4ml
wheel ships them under `hls4ml/templates/vivado/ap_types/`, so `pip install --no-deps
hls4ml` is enough to compile with them here. The package is located with importlib and
never imported: none of hls4ml's own dependencies are needed.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from hwgen.errors import HwgenError

INCLUDE_ENV = "DNA_HLS_INCLUDE"  # a folder with the vendor headers (e.g. $XILINX_HLS/include)
HLS4ML_AP_TYPES = ("templates", "vivado", "ap_types")  # inside the hls4ml package
REQUIRED_HEADERS = ("ap_int.h", "hls_stream.h")  # what src/dna_hls.h includes
INSTALL_HINT = "pip install --no-deps hls4ml"


def vendor_include_dir() -> Path:
    """The folder holding the vendor headers: $DNA_HLS_INCLUDE if set, else the copy inside
    the installed hls4ml package; HwgenError saying how to install them if there is none."""
    env = os.environ.get(INCLUDE_ENV)
    if env:
        return _checked(Path(env), f"${INCLUDE_ENV}")
    spec = importlib.util.find_spec("hls4ml")  # a top-level name: located, not imported
    if spec is None or not spec.submodule_search_locations:
        raise HwgenError(f"the vendor HLS headers (ap_int.h, hls_stream.h) are not installed: "
                         f"{INSTALL_HINT} (or set {INCLUDE_ENV} to a folder with them)")
    folder = Path(next(iter(spec.submodule_search_locations))).joinpath(*HLS4ML_AP_TYPES)
    return _checked(folder, "the hls4ml package")


def _checked(folder: Path, origin: str) -> Path:
    missing = [h for h in REQUIRED_HEADERS if not (folder / h).is_file()]
    if missing:
        raise HwgenError(f"{folder} (from {origin}) lacks {', '.join(missing)}: "
                         f"{INSTALL_HINT}, or set {INCLUDE_ENV} to a folder with the vendor "
                         f"HLS headers")
    return folder


def vendor_headers_available() -> bool:
    """True if `vendor_include_dir` finds the headers (for tests that need them)."""
    try:
        vendor_include_dir()
    except HwgenError:
        return False
    return True
