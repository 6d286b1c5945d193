"""`dna train`: train a design's network from scratch, quantise it with the one contract
(dna.quant) and save the integer weights beside the design file.

The float model is `dna.space.fbnet.supernet.network_module(design.network)`: one
Conv2d + BatchNorm2d per IR conv (the classifier: Conv2d with bias), so it computes exactly
the IR. Training: SGD (Nesterov momentum) with a cosine learning rate per step. Then BN is
folded into the convs, `dna.quant.calibrate.quantize_network` calibrates on training
images, and the quantised model's accuracy is measured with
`dna.quant.reference.run_integer` - the integer reference the generated hardware is checked
against. The .npz (`<design>.weights.npz`) is written atomically and the design file is
rewritten (atomically) with `weights` naming it.

Runs under torchrun with DistributedDataParallel like `dna search`; rank 0 writes.
"""
from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from dna.data import DataError, Dataset, DataSpec, batches, load_dataset
from dna.design import load_design, save_design
from dna.errors import DnaError
from dna.quant.calibrate import quantize_input, quantize_network
from dna.quant.npz import save_npz
from dna.search.dist import DistContext
from dna.space.fbnet.supernet import network_module
from dna.workload.ir import Network


class TrainError(DnaError):
    """Training options are invalid; the message names them."""


@dataclass(frozen=True)
class TrainResult:
    """Accuracies on the held-out split and where the weights went."""

    float_acc: float  # float model (BN in eval mode)
    int_acc: float  # quantised model through dna.quant.reference.run_integer
    bits: int
    epochs: int
    test_images: int
    weights_path: Path
    design_path: Path
    train_s: float


def _data_spec(design, data: DataSpec | None, where: Path) -> DataSpec:
    if data is not None:
        return data
    cfg = (design.provenance.get("config") or {}).get("data")
    if not isinstance(cfg, dict):
        raise DataError(f"{where}: provenance.config.data names no dataset; pass --data")
    try:
        return DataSpec(**cfg)
    except TypeError as e:
        raise DataError(f"{where}: provenance.config.data is malformed ({e})") from None


def _check_fits(net: Network, ds: Dataset, where: Path) -> None:
    want = (net.input_shape.c, net.input_shape.h, net.input_shape.w)
    if ds.image_shape != want:
        raise DataError(f"{where}: the network takes {want[0]}x{want[1]}x{want[2]} images but "
                        f"dataset {ds.name!r} gives {'x'.join(map(str, ds.image_shape))}")
    if net.output.out_shape.c != ds.classes:
        raise DataError(f"{where}: the network has {net.output.out_shape.c} outputs but "
                        f"dataset {ds.name!r} has {ds.classes} classes")


@torch.no_grad()
def float_accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                   device: torch.device, batch: int = 256) -> float:
    model.eval()
    correct = sum(int((model(x[i:i + batch].to(device)).flatten(1).argmax(1).cpu()
                       == y[i:i + batch]).sum()) for i in range(0, len(y), batch))
    return correct / max(len(y), 1)


def integer_accuracy(qnet, x: torch.Tensor, y: torch.Tensor, batch: int = 128) -> float:
    """Accuracy of the quantised network run by dna.quant.reference.run_integer on float images x."""
    from dna.quant.reference import run_integer
    out = qnet.network.output.name
    correct = 0
    for i in range(0, len(y), batch):
        xq = quantize_input(x[i:i + batch], qnet.input_scale, qnet.bits)
        logits = run_integer(qnet, xq)[out].flatten(1)  # (N, classes) int64
        correct += int((logits.argmax(1) == y[i:i + batch]).sum())
    return correct / max(len(y), 1)


def train_design(design_path: str | Path, *, epochs: int = 30, batch_size: int = 64,
                 lr: float = 0.05, momentum: float = 0.9, weight_decay: float = 5e-4,
                 seed: int = 0, data: DataSpec | None = None, calib_images: int = 512,
                 per_channel: bool = False,
                 on_epoch: Callable[[int, float, float], None] | None = None) -> TrainResult:
    """Train, quantise, save `<design>.weights.npz` and rewrite the design to reference it."""
    path = Path(design_path)
    design = load_design(path)
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise TrainError(f"epochs = {epochs}, batch_size = {batch_size}, lr = {lr}: "
                         f"expected >= 1, >= 1, > 0")
    net = design.network
    ds = load_dataset(_data_spec(design, data, path))
    _check_fits(net, ds, path)
    dd = DistContext()
    torch.manual_seed(seed)
    model = network_module(net).to(dd.device)
    started = time.perf_counter()
    acc = _fit(model, ds, dd, epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum,
               weight_decay=weight_decay, seed=seed, on_epoch=on_epoch)
    train_s = time.perf_counter() - started
    model = model.cpu().eval()
    qnet = quantize_network(net, model.folded_weights(), ds.train_x[:calib_images],
                            design.precision, per_channel=per_channel)
    int_acc = integer_accuracy(qnet, ds.test_x, ds.test_y)
    weights = path.with_name(path.stem + ".weights.npz")
    if dd.rank == 0:
        save_npz(qnet, weights)
        prov = dict(design.provenance)
        prov["train"] = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
                         "float_acc": acc, "int_acc": int_acc, "per_channel": per_channel,
                         "test_images": len(ds.test_y), "world_size": dd.world}
        save_design(replace(design, weights=weights.name, provenance=prov), path)
    if dd.world > 1:
        dist.barrier()
    return TrainResult(acc, int_acc, design.precision, epochs, len(ds.test_y), weights, path,
                       train_s)


def _fit(model: torch.nn.Module, ds: Dataset, dd: DistContext, *, epochs: int,
         batch_size: int, lr: float, momentum: float, weight_decay: float, seed: int,
         on_epoch: Callable[[int, float, float], None] | None) -> float:
    """Train `model` on ds's training split (DDP when world > 1); the final test accuracy."""
    ddp = (torch.nn.parallel.DistributedDataParallel(
        model, device_ids=None if dd.device.type == "cpu" else [dd.device])
        if dd.world > 1 else model)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                          weight_decay=weight_decay, nesterov=True)
    n_steps = epochs * len(batches(len(ds.train_y), batch_size, None, world=dd.world))
    step, acc = 0, 0.0
    for epoch in range(epochs):
        model.train()
        gen = torch.Generator().manual_seed(zlib.crc32(f"train/{seed}/{epoch}".encode()))
        losses = []
        for b in batches(len(ds.train_y), batch_size, gen, rank=dd.rank, world=dd.world):
            for g in opt.param_groups:
                g["lr"] = 0.5 * lr * (1 + math.cos(math.pi * step / n_steps))
            loss = F.cross_entropy(ddp(ds.train_x[b].to(dd.device)).flatten(1),
                                   ds.train_y[b].to(dd.device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            step += 1
        if dd.world > 1:  # BN running statistics are per rank: take rank 0's
            for t in model.state_dict().values():
                dist.broadcast(t.data, src=0)
        acc = float_accuracy(model, ds.test_x, ds.test_y, dd.device)
        if on_epoch:
            on_epoch(epoch, sum(losses) / max(len(losses), 1), acc)
    return acc
