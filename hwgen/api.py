"""Typed library entry points of the hardware generator."""
from __future__ import annotations

from hwgen.hls import emit as _hls  # noqa: F401  (registers the "fpga" backend)
from hwgen.rtl import emit as _rtl  # noqa: F401  (registers the "asic" backend)
