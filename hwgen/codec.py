"""Integer tensors as bytes: little-endian two's complement, a fixed number of bytes per
element. The data files of both backends (test vectors, weight images, DRAM images) and the
simulators' DRAM models use it."""
from __future__ import annotations

import numpy as np


def encode(values: np.ndarray, nbytes: int) -> bytes:
    """Little-endian two's complement, `nbytes` per element."""
    v = np.asarray(values, dtype=np.int64).reshape(-1)
    raw = v.astype("<i8").view(np.uint8).reshape(-1, 8)[:, :nbytes]
    return raw.tobytes()


def decode(data: bytes, nbytes: int) -> np.ndarray:
    """Inverse of `encode`: int64 array (sign-extended from `nbytes`)."""
    raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, nbytes)
    full = np.zeros((raw.shape[0], 8), dtype=np.uint8)
    full[:, :nbytes] = raw
    neg = raw[:, -1] >= 0x80
    full[neg, nbytes:] = 0xFF
    return full.view("<i8").reshape(-1).copy()
