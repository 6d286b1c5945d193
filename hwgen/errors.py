"""Errors of the hardware generator."""
from __future__ import annotations

from dna.errors import DnaError


class HwgenError(DnaError):
    """A design this backend cannot build, or a bad generated directory; one clear line."""
