"""Look inside a recurrent network: gates, states and gradients over time.

    from lstmkit.inspect import trace, gradient_flow
    tr = trace(lstm_layer, x)          # tr.i, tr.f, tr.g, tr.o, tr.c, tr.h: (batch, time, units)
    gf = gradient_flow(layer, x, y)    # gf.dh[t] = ‖∂L/∂h_t‖, gf.dc[t] = ‖∂L/∂c_t‖ (a model:
                                       # {layer name: GradientFlow})
    char_activation_page(model, text, ids, path="cells.html")   # HTML, one cell's values per char

Everything here reads the arrays of the layers' own forward and backward passes
(their caches and core backward functions); nothing re-implements the cell.
"""

from .gradflow import GradientFlow, gradient_flow  # noqa: F401
from .html import char_activation_page, render_cell_page  # noqa: F401
from .plots import plot_gates, plot_gradient_flow, plot_saturation  # noqa: F401
from .trace import Trace, trace  # noqa: F401

__all__ = [
    "Trace",
    "trace",
    "GradientFlow",
    "gradient_flow",
    "char_activation_page",
    "render_cell_page",
    "plot_gates",
    "plot_gradient_flow",
    "plot_saturation",
]
