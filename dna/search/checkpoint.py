"""The co-search checkpoint (`out/checkpoint.pt`): written atomically after every epoch,
read by `dna search --resume`, refused when made with a different configuration."""
from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import torch

from dna.fileio import write_atomic
from dna.search.config import ConfigError, SearchConfig, config_to_dict

CHECKPOINT = "checkpoint.pt"
VERSION = 1


def save_checkpoint(out: Path, cfg: SearchConfig, state: dict[str, Any],
                    model: torch.nn.Module, alpha: torch.Tensor,
                    w_opt: torch.optim.Optimizer, a_opt: torch.optim.Optimizer) -> None:
    """Write the run state, supernet weights, alpha and both optimisers to out/checkpoint.pt."""
    buf = io.BytesIO()
    torch.save({"version": VERSION, "config": config_to_dict(cfg), "state": state,
                "model": model.state_dict(), "alpha": alpha.detach().cpu(),
                "w_opt": w_opt.state_dict(), "a_opt": a_opt.state_dict()}, buf)
    write_atomic(out / CHECKPOINT, buf.getvalue())


def load_checkpoint(out: Path, cfg: SearchConfig, model: torch.nn.Module,
                    alpha: torch.Tensor, w_opt: torch.optim.Optimizer,
                    a_opt: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore model, alpha and optimisers from out/checkpoint.pt; return the run state."""
    path = out / CHECKPOINT
    if not path.is_file():
        raise ConfigError(f"{path}: no checkpoint to resume from (run without --resume)")
    try:
        ck = torch.load(path, map_location=alpha.device, weights_only=False)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as e:
        raise ConfigError(f"{path}: unreadable checkpoint ({type(e).__name__}: {e})") from None
    if ck.get("config") != config_to_dict(cfg):
        old, new = ck.get("config") or {}, config_to_dict(cfg)
        diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        raise ConfigError(f"{path}: made with a different configuration (differs in "
                          f"{', '.join(diff)}); resume with the same config or start afresh")
    model.load_state_dict(ck["model"])
    with torch.no_grad():
        alpha.copy_(ck["alpha"])
    w_opt.load_state_dict(ck["w_opt"])
    a_opt.load_state_dict(ck["a_opt"])
    return ck["state"]
