"""Figures for the jobs' pictures: matplotlib's object API on the Agg canvas (no pyplot,
no global backend switch, no display needed). matplotlib is imported when a picture is
drawn, not when a job module is imported."""

from __future__ import annotations

__all__ = ["new_figure"]


def new_figure(w: float = 10, h: float = 4.5):
    """A matplotlib Figure of w × h inches on an Agg canvas, ready for ``savefig``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100)
    FigureCanvasAgg(fig)
    return fig
