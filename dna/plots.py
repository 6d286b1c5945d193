"""PNG plots of searches, each written atomically (matplotlib, Agg backend).

`plot_convergence`: best objective vs cost-model evaluations of accelerator searches
(`dna das --plot`). `plot_alpha` and `plot_candidates`: P(alpha) per layer and accuracy vs
predicted hardware metric of the networks a co-search saw (`dna search`).
"""
from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from dna.design import Design
from dna.fileio import write_atomic
from dna.search.evaluator import METRIC_LABELS, SearchResult
from dna.space.fbnet.space import FBNetSpace

ALPHA_PNG, CANDIDATES_PNG = "alpha.png", "candidates.png"

# objective -> (key in result_metrics / log records, axis label)
_METRIC = {"fps": ("fps", "predicted FPS"), "latency": ("latency_ms", "predicted latency (ms)"),
           "energy": ("energy_uj", "predicted energy (uJ/frame)"),
           "edp": ("edp_pj_s", "predicted EDP (pJ*s)")}


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: str | Path, **savefig: Any) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", **savefig)
    _pyplot().close(fig)
    write_atomic(path, buf.getvalue())


def plot_convergence(results: Sequence[SearchResult], metric: str, path: str | Path,
                     title: str, *, missing: Sequence[str] = ()) -> None:
    """Best objective vs evaluations for each search; `missing` names searches that found
    no feasible point (noted on the plot)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for r in results:
        pts = [(n, b) for n, b in r.history if math.isfinite(b)]
        if pts:
            ax.step([p[0] for p in pts], [p[1] for p in pts], where="post", label=r.method)
    ax.set_xscale("log")
    ax.set_xlabel("cost-model evaluations")
    ax.set_ylabel(f"best {METRIC_LABELS.get(metric, 'loss')}")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    for name in missing:
        ax.plot([], [], " ", label=f"{name}: no feasible point")
    ax.legend()
    fig.tight_layout()
    _save(fig, path)


def plot_alpha(space: FBNetSpace, alpha: torch.Tensor, path: str | Path) -> None:
    """Heat-map of P(alpha) per searchable layer, argmax marked."""
    plt = _pyplot()
    probs = torch.softmax(alpha.double(), -1).numpy()  # (L, K)
    fig, ax = plt.subplots(figsize=(1 + 0.7 * probs.shape[1], 1.2 + 0.4 * probs.shape[0]))
    im = ax.imshow(probs, cmap="viridis", vmin=0, vmax=max(probs.max(), 1e-9), aspect="auto")
    ax.set_xticks(range(len(space.ops)), space.ops, rotation=45, ha="right")
    ax.set_yticks(range(len(space.slots)), [s.name for s in space.slots])
    for i, j in enumerate(probs.argmax(1)):
        ax.text(j, i, f"{probs[i, j]:.2f}", ha="center", va="center", color="w", fontsize=7)
    ax.set_title("P(alpha) per layer (softmax of the final logits)")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    _save(fig, path, dpi=120)


def plot_candidates(cands: list[dict], records: list[dict], design: Design, objective: str,
                    path: str | Path) -> None:
    """Single-path supernet accuracy vs predicted hardware metric of every network seen."""
    plt = _pyplot()
    name = objective.split(",")[0].split("=")[0]
    key, label = _METRIC.get(name, _METRIC["fps"])
    fig, ax = plt.subplots(figsize=(6, 4.5))
    if cands:
        sc = ax.scatter([c[key] for c in cands], [c["acc"] for c in cands],
                        c=[c["epoch"] for c in cands], cmap="viridis", s=14, alpha=0.7,
                        label="sampled networks (DAS each)")
        fig.colorbar(sc, ax=ax, label="epoch")
    ax.plot([r["argmax_hw"][key] for r in records], [r["argmax_acc"] for r in records],
            "x-", color="grey", ms=5, lw=0.8, label="argmax network per epoch")
    p = design.predicted
    final = {"fps": p["fps"], "latency_ms": p["latency_cycles"] / p["clock_mhz"] / 1e3,
             "energy_uj": p["energy_per_frame_pj"] / 1e6, "edp_pj_s": p["edp_pj_s"]}[key]
    ax.scatter([final], [records[-1]["argmax_acc"]], marker="*", s=200, color="red",
               label="derived design (final DAS)", zorder=5)
    if math.isfinite(final) and final > 0:
        from matplotlib.ticker import NullFormatter
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(f"{label}: inner DAS budget (dots, crosses), final DAS (star)")
    ax.set_ylabel("single-path accuracy (supernet weights)")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    _save(fig, path, dpi=120)
