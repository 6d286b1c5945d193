"""Banks of the global buffers (templates/rtl/static/dna_gbuf.v, dna_gbuf_o.v).

A buffer of NB banks with skew c keeps word a at row a // NB of bank
(a + c * (a // NB)) % NB: each row of NB words is rotated by c more banks than the one
before (skewed storage). The two kinds of access must each find their words in distinct
banks in one cycle:

* a DMA beat: L <= NB consecutive words from any address. It spans at most two rows;
  the words of the first row take banks [p, NB) and those of the next [c, c + L - NB + p)
  (both rotated by c * row), which are disjoint exactly when c <= NB - L.
* the array's lanes: lane l reads base + off_l, where off_l = sum_j LC[l][j] * lane_inc[j]
  is fixed for an op (the lane's PE coordinates times the op's lane increments) and base
  moves. With off = hi * NB + lo and base = q * NB + r, the bank is
  (r + lo + c * (q + hi + [r + lo >= NB])) % NB; q is common to all lanes, so whether
  two lanes collide depends only on r, and every r in [0, NB) is checked.

Addresses wrap at the buffer's address space (both slots for inputs and weights, one
slot for outputs, whose slot bit selects its own banks), and lanes past a tile's edge do
read past it: the skew must repeat there, c * rows ≡ 0 (mod NB), or a wrapped lane lands
on an unwrapped one's bank.

Offsets spaced by a power of two (a layout's row length) collide in unskewed banks until
NB exceeds their spread; a skew separates them with NB near the lane count. banks_for
picks the fewest banks (a power of two, at least the beat's words) and then the smallest
skew at which every conv op of the engine is conflict-free. Lanes reading the same word
share its bank's read.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def lane_offsets(lanes: Sequence[Sequence[int]], lane_inc: Sequence[int]) -> set[int]:
    """Distinct word offsets the lanes read in one cycle (lane coordinates x increments)."""
    return {sum(c * i for c, i in zip(coords, lane_inc)) for coords in lanes}


def conflict_free(offsets: set[int], banks: int, skew: int) -> bool:
    """True when, at every base address, distinct offsets fall in distinct banks."""
    offs = np.array(sorted(offsets), dtype=np.int64)
    lo, hi = offs % banks, offs // banks
    for n in (min(banks, 4), banks):  # a few base positions first: most skews fail there
        r = np.arange(n, dtype=np.int64)[:, None]  # the base's position in its row
        b = np.sort((r + lo + skew * (hi + (r + lo >= banks))) % banks, axis=1)
        if (b[:, 1:] == b[:, :-1]).any():
            return False
    return True


def slot_depth(words: int, banks: int) -> int:
    """Words per slot of a buffer that holds `words`: a power of two, two rows at least."""
    return max(1 << max(1, (words - 1).bit_length()), 2 * banks)


def banks_for(offset_sets: Iterable[set[int]], beat_words: int, words: int,
              slots: int) -> tuple[int, int]:
    """(NB, skew): the fewest banks, a power of two >= beat_words and >= each set's size,
    with a skew in [0, NB - beat_words] that repeats at the address space's wrap
    (`slots` x slot_depth(words, NB) words) at which every offset set is conflict-free;
    the smallest such skew. Terminates: with skew 0, some power of two above the
    offsets' spread separates them."""
    sets = [s for s in {frozenset(s) for s in offset_sets} if len(s) > 1]
    nb = 1
    while nb < max([beat_words] + [len(s) for s in sets]):
        nb *= 2
    while True:
        rows = slots * slot_depth(words, nb) // nb
        for skew in range(nb - beat_words + 1):
            if skew * rows % nb == 0 and all(conflict_free(s, nb, skew) for s in sets):
                return nb, skew
        nb *= 2
