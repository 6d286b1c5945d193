"""DRAM words and runs of the GB tiles, clipped to the layer as the generated RTL's DMA
clips them (docs/cost_model.md section 2, "Clipping").

The DMA walks every run of a GB tile but moves only the elements inside the layer's
tensors (`templates/rtl/static/dna_dma_walk.v`): a run whose row lies outside the tensor
moves nothing, a run is cut to the tensor's columns, and reads zero-fill the rest in the
GB. Outside are the convolution's padding (input rows and columns before 0 or from the
input's size on) and the part of a tile past a layer bound (a tile extent that does not
divide the dim). Compute, GB and RF traffic stay whole tiles.

Per dim the clipped extents of the tiles are full tiles and one last partial tile (loop
dims), or, for input rows and columns, bands of a fixed length at an arithmetic
progression of offsets, cut at 0 and at the input's size. Both sum in closed form, and
every combination of a tensor's tile positions is visited equally often (each relevant
loop with bound > 1 lies above the tensor's reload point), so the totals over all visits
are exact: visits / positions x the sum over positions. Counts are float64 integers.
Works on per-dim tensors of any (broadcastable) shape: the model's (B, L) slices.
"""
from __future__ import annotations

import torch

from dna.space.gads.typed import window_band, window_rows


def _ramp(c: torch.Tensor, q: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """sum_{i < n} max(0, c - i q) for q >= 1: the m = min(n, ceil(c / q)) positive terms."""
    m = torch.minimum(torch.clamp(torch.ceil(c / q), min=0.0), n)
    return m * c - q * (m * (m - 1) / 2)


def _bands(a0: torch.Tensor, q: torch.Tensor, n: torch.Tensor, length: torch.Tensor,
           size: torch.Tensor, runs: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(elements inside [0, size), bands with any (if `runs`, else None)) of the n bands
    [a0 + i q, a0 + i q + length): the full length less the part before 0 and the part
    from `size` on."""
    a_end = a0 + (n - 1) * q + length - size  # overhang of the last band past the end
    inside = (n * length - (_ramp(-a0, q, n) - _ramp(-a0 - length, q, n))
              - (_ramp(a_end, q, n) - _ramp(a_end - length, q, n)))
    if not runs:
        return inside, None
    before = torch.clamp(torch.floor((-length - a0) / q) + 1, min=0.0)  # end at or before 0
    after = n - torch.clamp(torch.ceil((size - a0) / q), min=0.0)  # start at or after size
    nonempty = n - torch.minimum(before, n) - torch.clamp(after, min=0.0)
    return inside, nonempty


def _window_sums(e_y: torch.Tensor, e_r: torch.Tensor, f_y: torch.Tensor, f_r: torch.Tensor,
                 stride: torch.Tensor, pad: torch.Tensor, size: torch.Tensor, runs: bool
                 ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(input rows inside the input, bands (or windows) with any: if `runs`) summed over
    the GB tiles' (Y, R) positions, for tiles of e_y output rows and e_r kernel rows, f_y x f_r of them.
    A tile's rows are one band of window_rows(e_y, e_r) rows from y0 stride + r0 - pad, or,
    when stride > e_r leaves gaps, e_y windows of e_r rows: then the windows of all tiles
    form one progression (stride apart). Likewise columns (X, S)."""
    band = window_band(e_y, e_r, stride)
    q = torch.where(band, e_y * stride, stride)
    n = torch.where(band, f_y, f_y * e_y)
    length = torch.where(band, window_rows(e_y, e_r, stride, torch.minimum), e_r)
    j = torch.arange(int(f_r.max()), dtype=f_r.dtype, device=f_r.device)
    j = j.view(-1, *([1] * f_r.dim()))  # (J, ...) kernel-tile positions
    inside, nonempty = _bands(j * e_r - pad, q, n, length, size, runs)
    live = j < f_r
    return (torch.where(live, inside, 0.0).sum(0),
            None if nonempty is None else torch.where(live, nonempty, 0.0).sum(0))


def clipped(bounds, ext, f_dram, stride: torch.Tensor, pad: torch.Tensor, in_h: torch.Tensor,
            in_w: torch.Tensor, follow_k: torch.Tensor | None
            ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
    """(DRAM words, DRAM runs that move any, tile positions), each [inputs, weights,
    outputs], summed over the distinct GB tile positions of each tensor. `bounds`, `ext`
    (GB tile extents), `f_dram`: the 7 per-dim tensors (N K C Y X R S); `follow_k`: inputs
    indexed by K (depthwise), None when no layer's are. Runs as `model._dram_runs` lays
    them out: inputs one per stored row (per window with column gaps), weights per (k, c,
    r) with the dims a tile covers exactly merged, outputs per (n, k, y) or (n, k)."""
    # loop dims: f - 1 full tiles and a last partial one
    s = [torch.minimum(b, f * e) for b, e, f in zip(bounds, ext, f_dram)]  # summed extents
    z = [torch.minimum(f, torch.ceil(b / e)) for b, e, f in zip(bounds, ext, f_dram)]
    n, k, c, y, x, r, _ = range(7)
    # every stored row is a run (or x of them): the rows inside are what count
    rows, _ = _window_sums(ext[y], ext[r], f_dram[y], f_dram[r], stride, pad, in_h, False)
    cols, col_runs = _window_sums(ext[x], ext[6], f_dram[x], f_dram[6], stride, pad, in_w,
                                  True)
    if follow_k is None:
        s_ch, f_ch = s[c], f_dram[c]
    else:
        s_ch, f_ch = torch.where(follow_k, s[k], s[c]), torch.where(follow_k, f_dram[k],
                                                                       f_dram[c])
    nc = s[n] * s_ch
    words = [nc * rows * cols, s[k] * s[c] * s[r] * s[6], s[n] * s[k] * s[y] * s[x]]
    full = [e == b for b, e in zip(bounds, ext)]
    runs_w = torch.where(full[6], torch.where(full[r], torch.where(
        full[c], z[k], s[k] * z[c]), s[k] * s[c] * z[r]), s[k] * s[c] * s[r] * z[6])
    runs_o = s[n] * s[k] * torch.where(full[x], z[y], s[y]) * z[x]
    runs = [nc * rows * col_runs, runs_w, runs_o]
    fd = f_dram
    positions = [fd[n] * f_ch * fd[y] * fd[x] * fd[r] * fd[6], fd[k] * fd[c] * fd[r] * fd[6],
                 fd[n] * fd[k] * fd[y] * fd[x]]
    return words, runs, positions
