"""Banks of the input and weight global buffers (templates/rtl/static/dna_gbuf.v).

A buffer of NB banks keeps word a in bank a % NB. In one cycle the array fill unit reads,
for each lane l, the word at base + off_l, where off_l = sum_j LC[l][j] * lane_inc[j] is
fixed for an op (the lane's PE coordinates times the op's lane increments) and base
moves. Two lanes conflict when they read different words of one bank; since base is
common to all lanes, that happens for some base exactly when two distinct offsets are
equal modulo NB. So NB is the smallest power of two, at least the DMA's words per beat
(each beat writes consecutive words, one per bank), at which every conv op of the engine
has distinct offsets in distinct residues. Lanes reading the same word share one read.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence


def lane_offsets(lanes: Sequence[Sequence[int]], lane_inc: Sequence[int]) -> set[int]:
    """Distinct word offsets the lanes read in one cycle (lane coordinates x increments)."""
    return {sum(c * i for c, i in zip(coords, lane_inc)) for coords in lanes}


def conflict_free(offsets: set[int], banks: int) -> bool:
    """True when distinct offsets fall in distinct banks of `banks` (word a: a % banks)."""
    return len({o % banks for o in offsets}) == len(offsets)


def banks_for(offset_sets: Iterable[set[int]], min_banks: int) -> int:
    """Smallest power of two >= min_banks (and >= each set's size) at which every offset
    set is conflict-free. Terminates: offsets are distinct integers, so some power of two
    above their spread separates them."""
    sets = list(offset_sets)
    nb = 1
    while nb < max([min_banks] + [len(s) for s in sets]):
        nb *= 2
    while not all(conflict_free(s, nb) for s in sets):
        nb *= 2
    return nb
