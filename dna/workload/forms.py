"""What a tensor of an imported graph (torch.fx or ONNX) holds in IR terms, the
reshapes both importers accept (a map flattened before the head, channel shuffle as
view (n, g, c/g, h, w) -> transpose -> view (n, c, h, w)) and unique node names."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from dna.workload.ir import Shape


@dataclass(frozen=True)
class IRValue:
    """An imported tensor: the IR node whose output it is, in one of four forms."""

    name: str  # IR node (or "input") whose output this is
    shape: Shape  # IR shape (n, c, h, w) of that output
    # map: (n, c, h, w); flat: (n, c*h*w); split: (n, g, c/g, h, w); shuffled: (n, c/g, g, h, w)
    form: Literal["map", "flat", "split", "shuffled"] = "map"
    groups: int = 1  # g of split / shuffled
    conv: bool = False  # a conv's own output (a following BatchNorm folds into it)

    def torch_shape(self) -> tuple[int, ...]:
        n, c, h, w, g = self.shape.n, self.shape.c, self.shape.h, self.shape.w, self.groups
        return {"map": (n, c, h, w), "flat": (n, c * h * w), "split": (n, g, c // g, h, w),
                "shuffled": (n, c // g, g, h, w)}[self.form]


def view_as(v: IRValue, out: Sequence[int], shuffle: Callable[[IRValue], str]
            ) -> IRValue | None:
    """`v` viewed with shape `out` (torch view/reshape, ONNX Reshape), or None if that is no
    form the IR has. Completing a shuffle calls `shuffle(v)`, which adds the Shuffle node
    and returns its name."""
    n, c, h, w = v.shape.n, v.shape.c, v.shape.h, v.shape.w
    out = tuple(out)
    if v.form in ("map", "flat", "split") and out == (n, c, h, w):
        return IRValue(v.name, v.shape)
    if v.form in ("map", "flat") and out == (n, c * h * w):
        return IRValue(v.name, v.shape, "flat")
    if v.form == "map" and len(out) == 5 and out[0] == n and out[1] * out[2] == c \
            and out[3:] == (h, w):
        return IRValue(v.name, v.shape, "split", out[1])
    if v.form == "shuffled" and out == (n, c, h, w):
        return IRValue(shuffle(v), v.shape)
    return None


def unique_name(base: str, used: set[str]) -> str:
    """`base`, or `base_1`, `base_2`, ... whichever is not in `used`; added to `used`."""
    name, k = base, 0
    while name in used:
        k += 1
        name = f"{base}_{k}"
    used.add(name)
    return name
