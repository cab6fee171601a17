"""Pictures of a trace and of a gradient flow (matplotlib, Agg backend, written to files).

* :func:`plot_gates` — heatmaps of i, f, g, o, c, h over time for one sequence;
* :func:`plot_saturation` — histograms of the gate values, with the fraction
  near 0 and near 1 in the titles (a saturated gate passes no gradient);
* :func:`plot_gradient_flow` — ‖∂L/∂h_t‖ (solid) and ‖∂L/∂c_t‖ (dashed) against t,
  log y-axis, one line per model: the vanishing-gradient picture.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

__all__ = ["plot_gates", "plot_gradient_flow", "plot_saturation"]
from ..io.atomic import atomic_write


def _save(fig, path) -> None:
    """PNG bytes in memory, written atomically (temp file + os.replace: never through a
    symlink, never half a file)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    atomic_write(path, buf.getvalue())


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_gates(tr, path, sample: int = 0, units=None, title=None):
    """Heatmaps (units × time) of the gates and states of one sequence of a Trace."""
    plt = _pyplot()
    keys = ["i", "f", "g", "o", "c", "h"]
    H = tr.c.shape[2]
    units = list(range(min(H, 32))) if units is None else list(units)
    fig, axes = plt.subplots(len(keys), 1, figsize=(10, 1.3 * len(keys) + 1), sharex=True)
    for ax, k in zip(axes, keys, strict=True):
        a = tr[k][sample][:, units].T  # (units, T)
        lo, hi = (
            (0, 1) if k in "ifo" else (-1, 1) if k in "gh" else (-np.abs(a).max(), np.abs(a).max())
        )
        im = ax.imshow(
            a,
            aspect="auto",
            cmap="RdBu_r" if k in "gch" else "viridis",
            vmin=lo,
            vmax=hi,
            interpolation="nearest",
        )
        ax.set_ylabel(k, rotation=0, labelpad=12)
        fig.colorbar(im, ax=ax, fraction=0.02, pad=0.01)
    axes[-1].set_xlabel("time step (input position)")
    fig.suptitle(title or f"{tr.name}: gates and states, sequence {sample}")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return Path(path)


def plot_saturation(tr, path, eps: float = 0.1, title=None):
    """Histograms of i, f, o with the fractions below eps and above 1 − eps."""
    plt = _pyplot()
    sat = tr.saturation(eps)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3))
    m = None if tr.mask is None else tr.mask.astype(bool)
    for ax, k in zip(axes, ("i", "f", "o"), strict=True):
        a = tr[k] if m is None else tr[k][m]
        ax.hist(a.ravel(), bins=50, range=(0, 1), color="C0")
        lo, hi = sat[k]
        ax.set_title(f"{k}: {lo:.0%} < {eps}, {hi:.0%} > {1 - eps:g}")
    fig.suptitle(title or f"{tr.name}: gate saturation")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return Path(path)


def plot_gradient_flow(flows: dict, path, title=None):
    """``flows``: {label: GradientFlow}. ‖∂L/∂h_t‖ solid, ‖∂L/∂c_t‖ dashed, log scale."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    tiny = np.finfo(np.float64).tiny
    for n, (label, gf) in enumerate(flows.items()):
        t = np.arange(len(gf.dh))
        ax.semilogy(t, np.maximum(gf.dh, tiny), color=f"C{n}", label=f"{label}  ‖∂L/∂h_t‖")
        if gf.dc is not None:
            ax.semilogy(
                t, np.maximum(gf.dc, tiny), color=f"C{n}", ls="--", label=f"{label}  ‖∂L/∂c_t‖"
            )
    ax.set_xlabel("time step t (loss at the last step)")
    ax.set_ylabel("gradient norm (log)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "gradient flow through time")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return Path(path)
