"""Distributed runs under torchrun: rank, world size and device, and sharing rank 0's state.

`dna search` and `dna train` run unchanged under `torchrun --nproc_per_node=N` (gloo on
CPU, NCCL on GPUs); every rank builds a `DistContext`, and only rank 0 writes files.
"""
from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist


class DistContext:
    """Rank, world size and device; starts the process group under torchrun."""

    def __init__(self) -> None:
        if not dist.is_initialized() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        on = dist.is_initialized()
        self.rank, self.world = (dist.get_rank(), dist.get_world_size()) if on else (0, 1)
        nccl = on and dist.get_backend() == "nccl"
        self.device = (torch.device("cuda", int(os.environ.get("LOCAL_RANK", self.rank)))
                       if nccl else torch.device("cpu"))

    def share(self, obj: Any) -> Any:
        """Rank 0's `obj` on every rank."""
        if self.world == 1:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0, device=self.device)
        return box[0]

    def sync(self, tensors: list[torch.Tensor]) -> None:
        """Overwrite `tensors` with rank 0's values."""
        for t in tensors if self.world > 1 else ():
            dist.broadcast(t.data, src=0)

    def all_reduce_mean(self, t: torch.Tensor) -> None:
        """Average `t` over the ranks in place."""
        if self.world > 1:
            dist.all_reduce(t)
            t /= self.world
