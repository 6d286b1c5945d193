"""Datasets for search and training, all loaded into memory as float tensors.

* ``digits`` (the embedded default, no download): scikit-learn's bundled UCI handwritten
  digits, 1,797 real 8x8 grey images of 0-9 (values 0..16). Upsampled bilinearly to
  `size` x `size`, repeated to 3 channels; a fixed stratified 80/20 train/test split.
* ``cifar10`` / ``cifar100``: the standard "python version" from a local directory `root`
  (either the extracted folder itself or its parent): cifar-10-batches-py/{data_batch_1..5,
  test_batch} or cifar-100-python/{train, test}, pickled dicts with b"data" (N, 3072) uint8
  and b"labels" (CIFAR-10) or b"fine_labels" (CIFAR-100). These are pickle files: only
  load datasets you trust.
* ``imagefolder``: an ImageNet-style tree root/train/<class>/*.{png,jpg,jpeg,bmp} and
  root/val/<class>/* (same class folders), resized to `size` x `size` RGB.

Every image is normalised per channel with the training split's mean and std. A missing or
malformed dataset raises `DataError` naming what was expected where.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from dna.errors import DnaError

DATASETS = ("digits", "cifar10", "cifar100", "imagefolder")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".gif", ".webp")


class DataError(DnaError):
    """A dataset is missing or malformed; the message names the file and what was expected."""


@dataclass(frozen=True)
class DataSpec:
    """Which dataset and how to shape it."""

    name: Literal["digits", "cifar10", "cifar100", "imagefolder"] = "digits"
    root: str | None = None  # directory of cifar10 / cifar100 / imagefolder
    size: int | None = None  # image rows = cols after resizing; None: digits 16, others native
    max_train: int | None = None  # keep only the first N training images (quick runs)


@dataclass(frozen=True)
class Dataset:
    """Normalised images and labels of a train and a held-out test split."""

    name: str
    train_x: torch.Tensor  # (N, 3, H, W) float32
    train_y: torch.Tensor  # (N,) int64
    test_x: torch.Tensor  # (M, 3, H, W) float32
    test_y: torch.Tensor  # (M,) int64
    classes: int

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])


def load_dataset(spec: DataSpec) -> Dataset:
    """Load, resize and normalise the dataset `spec` names."""
    if spec.name not in DATASETS:
        raise DataError(f"data.name = {spec.name!r}: expected one of {', '.join(DATASETS)}")
    if spec.size is not None and (not isinstance(spec.size, int) or spec.size < 4):
        raise DataError(f"data.size = {spec.size!r}: expected an integer >= 4")
    if spec.name == "digits":
        tx, ty, vx, vy, classes = _digits()
        size = spec.size or 16
    else:
        if not spec.root:
            raise DataError(f"data.root: dataset {spec.name!r} needs the directory it lies in")
        root = Path(spec.root).expanduser()
        if not root.is_dir():
            raise DataError(f"data.root = {str(root)!r}: no such directory (expected the "
                            f"{spec.name} dataset there)")
        if spec.name == "imagefolder":
            tx, ty, vx, vy, classes = _imagefolder(root, spec.size or 32)
        else:
            tx, ty, vx, vy, classes = _cifar(root, spec.name)
        size = spec.size or tx.shape[-1]
    if spec.max_train:
        tx, ty = tx[:spec.max_train], ty[:spec.max_train]
    tx, vx = _resize(tx, size), _resize(vx, size)
    mean = tx.mean(dim=(0, 2, 3), keepdim=True)
    std = tx.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
    return Dataset(spec.name, ((tx - mean) / std).contiguous(), ty,
                   ((vx - mean) / std).contiguous(), vy, classes)


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


def _digits():
    """UCI digits from scikit-learn (bundled, no download), stratified 80/20 split."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:  # pragma: no cover - scikit-learn is a dependency
        raise DataError("the digits dataset needs scikit-learn (pip install scikit-learn)") \
            from e
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32)[:, None].repeat(1, 3, 1, 1) / 16.0
    y = torch.tensor(d.target, dtype=torch.int64)
    gen = torch.Generator().manual_seed(0)
    test = torch.zeros(len(y), dtype=torch.bool)
    for c in range(10):  # every 5th image of each class (after a fixed shuffle) is test
        idx = (y == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        test[idx[::5]] = True
    perm = torch.randperm(len(y), generator=gen)
    x, y, test = x[perm], y[perm], test[perm]
    return x[~test], y[~test], x[test], y[test], 10


def _unpickle(path: Path) -> dict:
    if not path.is_file():
        raise DataError(f"{path}: missing (expected a CIFAR python-format batch file)")
    try:
        with open(path, "rb") as f:
            data = pickle.load(f, encoding="bytes")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            ImportError, IndexError, OSError) as e:  # truncated, not a pickle, ...
        raise DataError(f"{path}: not a readable CIFAR pickle ({type(e).__name__}: {e})") \
            from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a pickled dict, got {type(data).__name__}")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in data.items()}


def _cifar_batch(path: Path, label_key: str, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    d = _unpickle(path)
    for key in ("data", label_key):
        if key not in d:
            raise DataError(f"{path}: missing key b'{key}' (have {sorted(d)})")
    data = np.asarray(d["data"])
    labels = np.asarray(d[label_key])
    if data.ndim != 2 or data.shape[1] != 3072 or data.dtype != np.uint8:
        raise DataError(f"{path}: b'data' is {data.dtype} {data.shape}, expected uint8 "
                        f"(N, 3072) = 3 x 32 x 32 images")
    if labels.shape != (data.shape[0],) or labels.min() < 0 or labels.max() >= classes:
        raise DataError(f"{path}: b'{label_key}' must hold {data.shape[0]} labels in "
                        f"0..{classes - 1}")
    x = torch.from_numpy(data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0)
    return x, torch.from_numpy(labels.astype(np.int64))


def _cifar(root: Path, name: str):
    sub, label_key, classes, train, test = (
        ("cifar-10-batches-py", "labels", 10, [f"data_batch_{i}" for i in range(1, 6)],
         ["test_batch"]) if name == "cifar10" else
        ("cifar-100-python", "fine_labels", 100, ["train"], ["test"]))
    folder = root if (root / test[0]).exists() else root / sub
    if not folder.is_dir():
        raise DataError(f"data.root = {str(root)!r}: expected {sub}/ (with "
                        f"{', '.join(train + test)}) or those files directly")
    parts = [[_cifar_batch(folder / f, label_key, classes) for f in files]
             for files in (train, test)]
    (tx, ty), (vx, vy) = [(torch.cat([p[0] for p in ps]), torch.cat([p[1] for p in ps]))
                          for ps in parts]
    return tx, ty, vx, vy, classes


def _images(folder: Path, classes: list[str], size: int) -> tuple[torch.Tensor, torch.Tensor]:
    from PIL import Image, UnidentifiedImageError
    xs, ys = [], []
    for ci, cls in enumerate(classes):
        files = sorted(p for p in (folder / cls).iterdir()
                       if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(f"{folder / cls}: no images (expected files ending in "
                            f"{', '.join(IMAGE_SUFFIXES)})")
        for p in files:
            try:
                with Image.open(p) as im:
                    im = im.convert("RGB").resize((size, size), Image.BILINEAR)
                    xs.append(np.asarray(im, dtype=np.float32).transpose(2, 0, 1) / 255.0)
            except (UnidentifiedImageError, OSError) as e:
                raise DataError(f"{p}: not a readable image ({e})") from None
            ys.append(ci)
    return torch.from_numpy(np.stack(xs)), torch.tensor(ys, dtype=torch.int64)


def _imagefolder(root: Path, size: int):
    split_dirs = {}
    for split in ("train", "val"):
        d = root / split
        if not d.is_dir():
            raise DataError(f"{d}: missing (an image folder needs {root}/train/<class>/* and "
                            f"{root}/val/<class>/*)")
        split_dirs[split] = sorted(p.name for p in d.iterdir() if p.is_dir())
        if not split_dirs[split]:
            raise DataError(f"{d}: no class folders (expected {d}/<class>/<image files>)")
    if split_dirs["train"] != split_dirs["val"]:
        only = sorted(set(split_dirs["train"]) ^ set(split_dirs["val"]))
        raise DataError(f"{root}: train/ and val/ must have the same class folders; "
                        f"differing: {', '.join(only)}")
    classes = split_dirs["train"]
    tx, ty = _images(root / "train", classes, size)
    vx, vy = _images(root / "val", classes, size)
    return tx, ty, vx, vy, len(classes)


def batches(n: int, batch_size: int, gen: torch.Generator | None, *, rank: int = 0,
            world: int = 1, drop_last: bool = False) -> list[torch.Tensor]:
    """Index batches over range(n) (shuffled with `gen` if given). Under DDP each rank takes
    its slice of every global batch of `batch_size`, so ranks step together."""
    order = torch.randperm(n, generator=gen) if gen is not None else torch.arange(n)
    out = []
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        if drop_last and len(idx) < batch_size:
            break
        if len(idx) < world:
            break
        out.append(idx.tensor_split(world)[rank])
    return out
