"""Co-search: config, Eq. 4/5 costs, determinism, kill + --resume, DDP, dna train; through
`dna.api.search` / `dna.api.train` and the `dna search` / `dna train` commands."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from dna import api
from dna.cli.main import main
from dna.cost.target import load_target
from dna.design import design_to_dict, load_design, make_design, save_design
from dna.search.config import (
    ConfigError,
    SearchConfig,
    config_from_dict,
    config_to_dict,
)
from dna.search.cosearch import run_search
from dna.search.op_costs import DASRunner, candidates, hw_loss, macs_table, op_costs
from dna.space.fbnet.space import SpaceConfig, arch_to_network, fbnet_space
from dna.space.fbnet.supernet import sample_archs
from dna.train import TrainError

ROOT = Path(__file__).resolve().parents[1]
TINY = {"seed": 3, "data": {"name": "digits", "size": 8, "max_train": 256},
        "search": {"epochs": 3, "warmup_epochs": 1, "samples": 3, "eval_images": 64,
                   "tau_decay": 0.7},
        "das": {"steps": 2, "samples": 32, "final_steps": 4, "final_samples": 64,
                "mapping_samples": 8}}
PROXY = SpaceConfig("cifar", width=0.25, depth=0.25, input_size=16)


def _strip(record: dict) -> dict:
    """A log record without wall times and DAS cache counters (a resumed run starts with an
    empty cache; DAS itself is seeded by the architecture, so its results do not change)."""
    return {k: v for k, v in record.items()
            if not k.startswith("time") and k not in ("das_share", "das_calls", "das_cache_hits")}


def _design_core(path) -> dict:
    d = design_to_dict(load_design(path))
    return {k: d[k] for k in ("network", "accelerator", "predicted", "precision", "target")}


def test_quickstart_yaml_is_the_embedded_default():
    data = yaml.safe_load((ROOT / "examples" / "quickstart.yaml").read_text())
    assert config_from_dict(data) == SearchConfig()


def test_config_errors_list_every_field():
    with pytest.raises(ConfigError) as e:
        config_from_dict({"strategy": "grid", "seed": "x", "search": {"epochs": 0, "bogus": 1},
                          "data": {"name": "mnist"}, "target": "vu9p"})
    msg = str(e.value)
    for part in ("config.seed = 'x': expected int", "config.search.bogus: unknown field",
                 "config.data.name = 'mnist': expected one of digits"):
        assert part in msg
    with pytest.raises(ConfigError) as e:
        config_from_dict({"strategy": "grid", "search": {"epochs": 0}, "target": "vu9p"})
    assert "strategy = 'grid'" in str(e.value) and "config.target: unknown target" in str(e.value)


def test_config_names_every_bad_field_in_every_section(tmp_path):
    data = {"search": {"epochs": 0, "tau_decay": 1.5}, "das": {"steps": "x"},
            "space": {"width": -1.0}}
    with pytest.raises(ConfigError) as e:
        config_from_dict(data)
    msg = str(e.value)
    for part in ("config.search.epochs = 0: expected >= 1", "config.search.tau_decay = 1.5",
                 "config.das.steps = 'x': expected int", "config.space: width = -1.0"):
        assert part in msg, msg
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    r = CliRunner().invoke(main, ["search", "--config", str(bad), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and r.output.count("\n") == 1 and r.output.startswith("error: ")
    assert f"{bad}.search.epochs = 0" in r.output and f"{bad}.das.steps = 'x'" in r.output
    assert not (tmp_path / "o").exists()


def test_search_config_sources_and_overrides(tmp_path):
    cfg = api.search_config(config=TINY, seed=9, epochs=5, strategy="seq")
    assert (cfg.seed, cfg.search.epochs, cfg.strategy, cfg.search.samples) == (9, 5, "seq", 3)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    assert (api.search_config(config=path) == api.search_config(config=TINY)
            == api.search_config(config=config_from_dict(TINY)))
    assert api.search_config() == SearchConfig()
    with pytest.raises(ConfigError, match="config.search: expected a mapping"):
        api.search_config(config={"search": [1]}, epochs=2)
    with pytest.raises(ConfigError, match="config.precision = 12: expected 8 or 16"):
        api.search_config(precision=12)


def test_cli_config_error_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("search: {epochs: -1}\n")
    r = CliRunner().invoke(main, ["search", "--config", str(bad), "--out", str(tmp_path)])
    assert r.exit_code == 2
    assert r.output.count("\n") == 1 and r.output.startswith("error: ")
    r = CliRunner().invoke(main, ["search", "--config", str(tmp_path / "nope.yaml")])
    assert r.exit_code == 2 and "no such config file" in r.output
    r = CliRunner().invoke(main, ["search", "--out", str(tmp_path / "o"), "--resume"])
    assert r.exit_code == 2 and "no checkpoint to resume from" in r.output


def test_op_costs_eq4_and_hw_loss_eq5():
    space = fbnet_space(PROXY)
    target = load_target("zc706")
    runner = DASRunner(space, target, 8, "fps", steps=2, samples=32)
    archs = sample_archs(space, torch.zeros(7, 9), 3, torch.Generator().manual_seed(0))
    accs = [runner.run(a).accelerator for a in archs]
    assert runner.calls == 3 and runner.run(archs[0]).accelerator == accs[0]
    assert runner.hits == 1
    cand = candidates(space)
    oc = op_costs(space, cand, archs, accs, target, 8, "fps", mapping_samples=8, seed=0)
    assert oc.table.shape == (7, 9) and (oc.table >= 0).all()
    skip = space.ops.index("skip")
    assert oc.table[0, skip] == 0  # identity (4 -> 4 channels, stride 1) is free
    assert (oc.table[1:, skip] > 0).all()  # skip needs a 1x1 conv where shapes change
    k3e1, k3e6 = space.ops.index("k3_e1"), space.ops.index("k3_e6")
    assert (oc.latency_cycles[:, k3e6] > oc.latency_cycles[:, k3e1]).all()
    # Eq. 4 is an average: the same accelerator M times gives that accelerator's costs
    one = op_costs(space, cand, archs[:1], accs[:1], target, 8, "energy",
                   mapping_samples=8, seed=0)
    two = op_costs(space, cand, archs[:1] * 2, accs[:1] * 2, target, 8, "energy",
                   mapping_samples=8, seed=0)
    assert torch.allclose(one.energy_pj, two.energy_pj)
    assert torch.allclose(one.table, two.table)
    w = torch.softmax(torch.randn(7, 9), -1)
    assert torch.isclose(hw_loss(w, oc.table), (w * oc.table).sum())
    macs = macs_table(space, cand, torch.zeros(7, 9))
    expected = float((torch.full((7, 9), 1 / 9) * macs).sum())  # + stem and head = 1
    fixed = sum(c.macs for c, li in zip(cand.convs, cand.slot) if li < 0)
    searchable = sum(c.macs for c, li in zip(cand.convs, cand.slot) if li >= 0) / 9
    assert expected == pytest.approx(searchable / (searchable + fixed), rel=1e-5)


def _records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "search.jsonl").read_text().splitlines()]


def test_search_is_deterministic_and_writes_a_valid_design(tmp_path):
    """The API and the command, same config and seed: the same records and design."""
    a = api.search(config=TINY, out_dir=tmp_path / "a", plots=False)
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    cli = CliRunner().invoke(main, ["search", "--config", str(config), "--out",
                                    str(tmp_path / "b"), "--quiet"])
    assert cli.exit_code == 0, cli.output
    assert [_strip(r) for r in a.records] == [_strip(r) for r in _records(tmp_path / "b")]
    assert _design_core(tmp_path / "a" / "best.json") == _design_core(tmp_path / "b" / "best.json")
    assert design_to_dict(a.design) == design_to_dict(load_design(a.design_path))
    assert a.design.predicted["feasible"] is True
    assert all((tmp_path / "b" / f).exists() for f in ("alpha.png", "candidates.png"))
    assert not (tmp_path / "a" / "alpha.png").exists()
    assert f"wrote    {tmp_path / 'b' / 'best.json'}" in cli.output
    d = load_design(tmp_path / "a" / "best.json")
    assert d.provenance["arch"] == a.arch.to_dict() and d.provenance["seed"] == 3
    assert d.network.input_shape.h == 8 and d.precision == 8
    log = [json.loads(line) for line in (tmp_path / "a" / "search.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [0, 1, 2]
    for r in log:
        for key in ("loss_train", "temperature", "alpha_entropy", "argmax_hw",
                    "time_supernet_s", "time_das_s", "das_share"):
            assert key in r
        assert r["temperature"] == pytest.approx(5.0 * 0.7 ** r["epoch"])
    assert log[0]["loss_val"] is None and log[1]["loss_val"] is not None  # warm-up epoch
    assert a.candidates and all("acc" in c and "fps" in c for c in a.candidates)


@pytest.mark.parametrize("strategy", ["seq", "random"])
def test_baselines_write_valid_designs(tmp_path, strategy):
    out = api.search(config=TINY, strategy=strategy, epochs=2, out_dir=tmp_path, plots=False)
    d = load_design(tmp_path / "best.json")
    assert d.provenance["strategy"] == strategy and d.predicted["fps"] > 0
    if strategy == "seq":
        assert out.candidates == []  # no DAS in the loop
    else:
        assert len(out.candidates) == 2 * 3
        assert out.arch.to_dict() in [c["arch"] for c in out.candidates]


def _cli(args):
    return [sys.executable, "-c", "from dna.cli.main import main; main()", *args]


def test_kill_mid_epoch_then_resume_matches_uninterrupted(tmp_path):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump({**TINY, "search": {**TINY["search"], "epochs": 4}}))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ref = tmp_path / "ref"
    subprocess.run(_cli(["search", "--config", str(cfg), "--out", str(ref), "--quiet"]),
                   env=env, check=True, capture_output=True, cwd=ROOT)
    run = tmp_path / "run"
    p = subprocess.Popen(_cli(["search", "--config", str(cfg), "--out", str(run), "--quiet"]),
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         cwd=ROOT)
    deadline = time.time() + 120
    while not (run / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)  # in epoch 1 (epoch 0 is checkpointed)
    p.wait()
    assert (run / "checkpoint.pt").exists() and not (run / "best.json").exists()
    done_before = len((run / "search.jsonl").read_text().splitlines())
    assert done_before < 4
    r = subprocess.run(_cli(["search", "--config", str(cfg), "--out", str(run), "--quiet",
                             "--resume"]), env=env, capture_output=True, text=True, cwd=ROOT,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert _design_core(run / "best.json") == _design_core(ref / "best.json")
    log = lambda d: [_strip(json.loads(x)) for x in (d / "search.jsonl").read_text().splitlines()]
    assert log(run) == log(ref)


def _ddp_worker(rank: int, world: int, tmp: str) -> None:
    import torch.distributed as dist
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{tmp}/pg", rank=rank,
                            world_size=world)
    digests = []

    def on_epoch(record, model, alpha):
        flat = torch.cat([t.detach().double().flatten() for t in model.state_dict().values()])
        digests.append({"epoch": record["epoch"], "alpha": alpha.detach().tolist(),
                        "weights": [float(flat.sum()), float((flat * flat).sum())],
                        "weights_sha256": hashlib.sha256(flat.numpy().tobytes()).hexdigest(),
                        "argmax": record["argmax"], "hw": record["argmax_hw"]})

    cfg = config_from_dict({**TINY, "search": {**TINY["search"], "batch_size": 32}})
    out = run_search(cfg, Path(tmp) / "out", on_epoch=on_epoch)
    digests.append({"design": json.dumps(design_to_dict(out.design), sort_keys=True)})
    Path(tmp, f"rank{rank}.json").write_text(json.dumps(digests))
    dist.destroy_process_group()


def test_ddp_two_ranks_agree_every_epoch(tmp_path):
    import torch.multiprocessing as mp
    mp.spawn(_ddp_worker, args=(2, str(tmp_path)), nprocs=2, join=True)
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    assert len(r0) == len(r1) == 4
    assert r0 == r1  # alpha, weights (and BN statistics), argmax design, final design
    assert len(list((tmp_path / "out").glob("best.json"))) == 1
    d = load_design(tmp_path / "out" / "best.json")
    assert json.dumps(design_to_dict(d), sort_keys=True) == r0[-1]["design"]


def _fixed_design(path: Path, op: str = "k3_e3", size: int = 8) -> None:
    """A design of the proxy space with `op` in every layer (small DAS), digits at size."""
    cfg = config_from_dict({"data": {"name": "digits", "size": size}})
    space = fbnet_space(SpaceConfig("cifar", 0.25, 0.25, input_size=size))
    arch = space.arch({s.name: op for s in space.slots})
    target = load_target("zc706")
    acc = DASRunner(space, target, 8, "fps", 2, 32).run(arch).accelerator
    save_design(make_design(arch_to_network(arch, space), acc, target, 8,
                            provenance={"config": config_to_dict(cfg),
                                        "arch": arch.to_dict()}), path)


def test_train_reaches_well_above_chance_and_int8_tracks_float(tmp_path):
    _fixed_design(tmp_path / "best.json")
    r = CliRunner().invoke(main, ["train", "--design", str(tmp_path / "best.json"),
                                  "--epochs", "4"])
    assert r.exit_code == 0, r.output
    d = load_design(tmp_path / "best.json")
    assert d.weights == "best.weights.npz" and (tmp_path / d.weights).exists()
    t = d.provenance["train"]
    assert t["float_acc"] > 0.6  # 10 classes: chance is 0.1
    assert abs(t["int_acc"] - t["float_acc"]) <= 0.03
    assert "int8 accuracy" in r.output
    from dna.quant.npz import load_npz
    assert load_npz(tmp_path / d.weights, d.network).bits == 8


def test_train_errors(tmp_path):
    _fixed_design(tmp_path / "best.json")
    r = CliRunner().invoke(main, ["train", "--design", str(tmp_path / "best.json"),
                                  "--epochs", "1", "--data", "digits", "--size", "16"])
    assert r.exit_code == 2
    assert "takes 3x8x8 images but dataset 'digits' gives 3x16x16" in r.output
    r = CliRunner().invoke(main, ["train", "--design", str(tmp_path / "none.json")])
    assert r.exit_code == 2 and "no such design file" in r.output
    with pytest.raises(TrainError, match="epochs = 0"):
        api.train(design=tmp_path / "best.json", epochs=0)
