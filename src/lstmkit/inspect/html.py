"""A self-contained HTML page that colours every character of a text by one cell's activation.

The view of Karpathy, Johnson & Fei-Fei, "Visualizing and understanding
recurrent networks" (2015): pick a cell of a trained character model, and each
input character is shaded by the value that cell takes right after reading it
(red > 0, blue < 0, white ≈ 0). Some cells turn out to track quotes, line
length or bracket depth.

The page has no external resources (inline CSS and JS, data as JSON in the
page); the values come from :func:`lstmkit.inspect.trace`, i.e. from the
model's own forward pass.

    page = char_activation_page(model, "some text", ids, path="cells.html")
"""

from __future__ import annotations

import html
import json

import numpy as np

from ..io.atomic import atomic_write
from .trace import trace

__all__ = ["char_activation_page", "render_cell_page"]

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
#text { font-family: ui-monospace, monospace; white-space: pre-wrap; line-height: 1.7;
        font-size: 15px; border: 1px solid #ddd; padding: 0.8em; }
#text span { padding: 1px 0; }
.controls { margin: 0.8em 0; }
.legend span { display: inline-block; width: 2.2em; text-align: center; font-size: 12px; }
"""

_JS = """
const D = JSON.parse(document.getElementById('data').textContent);
const spans = Array.from(document.querySelectorAll('#text span'));
function colour(v) {                       // v in [-1, 1]: blue … white … red
  const a = Math.min(1, Math.abs(v));
  const k = Math.round(255 * (1 - a));
  return v >= 0 ? `rgb(255, ${k}, ${k})` : `rgb(${k}, ${k}, 255)`;
}
function show(cell) {
  const vals = D.values.map(row => row[cell]);
  const scale = D.normalise ? Math.max(1e-12, ...vals.map(Math.abs)) : 1;
  spans.forEach((s, t) => {
    s.style.backgroundColor = colour(vals[t] / scale);
    s.title = `t=${t} ${JSON.stringify(D.chars[t])} ${D.state}[${cell}] = ${vals[t].toFixed(3)}`;
    s.dataset.value = vals[t];
  });
  document.getElementById('cell-label').textContent =
    `${D.layer}: ${D.state}[${cell}]` + (D.normalise ? ` (scaled by ${scale.toFixed(3)})` : '');
  document.body.dataset.cell = cell;
}
const sel = document.getElementById('cell');
sel.addEventListener('change', () => show(parseInt(sel.value)));
document.getElementById('prev').addEventListener('click', () => {
  sel.value = (parseInt(sel.value) + D.units - 1) % D.units; show(parseInt(sel.value)); });
document.getElementById('next').addEventListener('click', () => {
  sel.value = (parseInt(sel.value) + 1) % D.units; show(parseInt(sel.value)); });
show(D.cell);
"""


def render_cell_page(
    chars, values, cell: int = 0, title="cell activations", layer="lstm", state="c", normalise=None
) -> str:
    """HTML for ``chars`` (list of T strings) coloured by ``values`` (T, units).

    ``normalise`` (default: True for c, which is unbounded; False for h and gates,
    which are in [-1, 1]) divides each cell's values by their largest magnitude."""
    values = np.asarray(values, np.float64)
    T, H = values.shape
    if len(chars) != T:
        raise ValueError(
            f"expected one activation row per character: {len(chars)} characters, "
            f"values of shape {values.shape}"
        )
    if not 0 <= cell < H:
        raise ValueError(f"cell expected in [0, {H}), got {cell}")
    norm = (state == "c") if normalise is None else bool(normalise)
    data = {
        "chars": list(chars),
        "values": np.round(values, 5).tolist(),
        "units": H,
        "cell": int(cell),
        "layer": layer,
        "state": state,
        "normalise": norm,
    }
    blob = json.dumps(data).replace("</", "<\\/")  # safe inside <script>
    spans = "".join(f'<span data-t="{t}">{html.escape(ch)}</span>' for t, ch in enumerate(chars))
    options = "".join(
        f'<option value="{k}"{" selected" if k == cell else ""}>{k}</option>' for k in range(H)
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>{_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p>Each character is coloured by the value the chosen unit takes right after the network
has read it: <span style="background:rgb(255,80,80)">&nbsp;positive&nbsp;</span>
<span style="background:rgb(80,80,255)">&nbsp;negative&nbsp;</span>. Hover for the value.</p>
<div class="controls">
  <button id="prev">&larr;</button>
  <label>unit <select id="cell">{options}</select></label>
  <button id="next">&rarr;</button>
  <strong id="cell-label"></strong>
</div>
<div id="text">{spans}</div>
<script type="application/json" id="data">{blob}</script>
<script>{_JS}</script>
</body></html>
"""


def char_activation_page(
    model,
    text: str,
    inputs,
    path=None,
    layer=None,
    state: str = "c",
    cell: int | None = None,
    title=None,
) -> str:
    """Trace ``model`` on ``inputs`` (one sequence: (1, T) ids or (1, T, V) one-hot for
    the T characters of ``text``) and render the page for one LSTM layer (default: the
    first) and one ``state`` ("c", "h" or a gate "i", "f", "g", "o"). The initial cell
    shown is ``cell`` or the unit with the largest variance over the text.
    Returns the HTML; writes it to ``path`` when given."""
    traces = trace(model, inputs)
    if not isinstance(traces, dict):
        traces = {traces.name: traces}
    name = layer if layer is not None else next(iter(traces))
    if name not in traces:
        raise ValueError(f"layer expected one of {list(traces)}, got {name!r}")
    values = traces[name][state][0]  # (T, units)
    if len(text) != values.shape[0]:
        raise ValueError(f"text has {len(text)} characters but the inputs {values.shape[0]} steps")
    if cell is None:
        cell = int(np.argmax(values.var(axis=0)))
    page = render_cell_page(
        list(text), values, cell, title or f"{name}: {state} over the text", layer=name, state=state
    )
    if path is not None:
        atomic_write(path, page.encode("utf-8"))
    return page
