"""Datasets: the embedded digits default, CIFAR pickles and image folders, and their errors."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from dna.data import DataError, DataSpec, batches, load_dataset


def _write_cifar(root, name="cifar10", n=6, *, corrupt=None):
    """A tiny CIFAR-format tree: every batch holds n images (label i % classes)."""
    sub, key, files = (("cifar-10-batches-py", b"labels",
                        [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"])
                       if name == "cifar10" else
                       ("cifar-100-python", b"fine_labels", ["train", "test"]))
    folder = root / sub
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for f in files:
        data = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                key: [i % 10 for i in range(n)]}
        if corrupt == "shape" and f == files[0]:
            data[b"data"] = data[b"data"][:, :100]
        if corrupt == "key" and f == files[0]:
            del data[key]
        (folder / f).write_bytes(pickle.dumps(data))
    if corrupt == "garbage":
        (folder / files[0]).write_bytes(b"not a pickle")
    if corrupt == "missing":
        (folder / files[-1]).unlink()
    return folder


def test_digits_default_is_real_and_split():
    ds = load_dataset(DataSpec())
    assert ds.name == "digits" and ds.classes == 10
    assert ds.train_x.shape[1:] == (3, 16, 16) and ds.test_x.shape[1:] == (3, 16, 16)
    assert len(ds.train_y) + len(ds.test_y) == 1797
    assert 0.18 < len(ds.test_y) / 1797 < 0.22
    assert set(ds.test_y.tolist()) == set(range(10))  # stratified
    assert abs(float(ds.train_x.mean())) < 1e-4  # normalised on the training split
    again = load_dataset(DataSpec())
    assert torch.equal(ds.train_x, again.train_x)  # fixed split
    small = load_dataset(DataSpec(size=8, max_train=100))
    assert small.train_x.shape == (100, 3, 8, 8)


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
@pytest.mark.parametrize("nested", [True, False])
def test_cifar_from_local_pickles(tmp_path, name, nested):
    folder = _write_cifar(tmp_path, name)
    ds = load_dataset(DataSpec(name, str(tmp_path if nested else folder)))
    assert ds.classes == (10 if name == "cifar10" else 100)
    assert ds.train_x.shape == ((30 if name == "cifar10" else 6), 3, 32, 32)
    assert ds.test_x.shape == (6, 3, 32, 32)
    assert load_dataset(DataSpec(name, str(tmp_path), size=16)).train_x.shape[-1] == 16


@pytest.mark.parametrize("corrupt, message", [
    ("missing", r"test_batch: missing \(expected a CIFAR python-format batch file\)"),
    ("garbage", r"data_batch_1: not a readable CIFAR pickle"),
    ("shape", r"data_batch_1: b'data' is uint8 \(6, 100\), expected uint8 \(N, 3072\)"),
    ("key", r"data_batch_1: missing key b'labels'"),
])
def test_cifar_errors_name_the_file(tmp_path, corrupt, message):
    _write_cifar(tmp_path, corrupt=corrupt)
    with pytest.raises(DataError, match=message):
        load_dataset(DataSpec("cifar10", str(tmp_path)))


def test_cifar_missing_folder(tmp_path):
    with pytest.raises(DataError, match="no such directory"):
        load_dataset(DataSpec("cifar10", str(tmp_path / "nope")))
    with pytest.raises(DataError, match=r"expected cifar-10-batches-py/ \(with data_batch_1"):
        load_dataset(DataSpec("cifar10", str(tmp_path)))
    with pytest.raises(DataError, match="needs the directory"):
        load_dataset(DataSpec("cifar100"))


def _write_images(root, classes=("cat", "dog"), per_class=3):
    from PIL import Image
    rng = np.random.default_rng(1)
    for split in ("train", "val"):
        for c in classes:
            d = root / split / c
            d.mkdir(parents=True)
            for i in range(per_class):
                arr = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
                Image.fromarray(arr).save(d / f"{i}.png")


def test_imagefolder(tmp_path):
    _write_images(tmp_path)
    ds = load_dataset(DataSpec("imagefolder", str(tmp_path), size=12))
    assert ds.classes == 2 and ds.train_x.shape == (6, 3, 12, 12)
    assert ds.train_y.tolist() == [0, 0, 0, 1, 1, 1]


def test_imagefolder_errors(tmp_path):
    with pytest.raises(DataError, match=r"train: missing \(an image folder needs"):
        load_dataset(DataSpec("imagefolder", str(tmp_path)))
    (tmp_path / "train").mkdir()
    (tmp_path / "val").mkdir()
    with pytest.raises(DataError, match="no class folders"):
        load_dataset(DataSpec("imagefolder", str(tmp_path)))
    _write_images(tmp_path / "x")
    root = tmp_path / "x"
    (root / "val" / "bird").mkdir()
    with pytest.raises(DataError, match="same class folders; differing: bird"):
        load_dataset(DataSpec("imagefolder", str(root)))
    (root / "train" / "bird").mkdir()
    with pytest.raises(DataError, match=r"bird: no images"):
        load_dataset(DataSpec("imagefolder", str(root)))
    (root / "train" / "bird" / "0.png").write_bytes(b"garbage")
    (root / "val" / "bird" / "0.png").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"0.png: not a readable image"):
        load_dataset(DataSpec("imagefolder", str(root)))


def test_bad_names_and_sizes():
    with pytest.raises(DataError, match="data.name = 'mnist': expected one of digits"):
        load_dataset(DataSpec("mnist"))
    with pytest.raises(DataError, match="data.size = 2"):
        load_dataset(DataSpec(size=2))


def test_batches_shard_global_batches():
    gen = torch.Generator().manual_seed(0)
    whole = batches(10, 4, torch.Generator().manual_seed(0))
    r0 = batches(10, 4, gen, rank=0, world=2)
    r1 = batches(10, 4, torch.Generator().manual_seed(0), rank=1, world=2)
    assert len(whole) == len(r0) == len(r1) == 3
    for w, a, b in zip(whole, r0, r1):
        assert torch.equal(torch.cat([a, b]), w)
