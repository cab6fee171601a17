"""The self-contained HTML page of ``lstmkit explain`` (inline CSS, JS and SVG; no network).

The stylesheet and the script are ``page.css`` and ``page.js`` beside this module,
inlined into the page when it is written.

The page data (:func:`lstmkit.apps.explain.explain_data`) is embedded as JSON in
``<script type="application/json" id="lstm-data">`` and the words in
``id="lstm-texts"``; the script draws everything from them, so stepping
through time and choosing a unit need no server. Element ids a test can use:
``#prev``, ``#next``, ``#unit`` (a select), ``#step-label`` (``data-step`` = the
step shown), ``#stage-forget`` … ``#stage-output`` (each with a ``.sentence``).
"""

from __future__ import annotations

import html
import json
import re
from importlib.resources import files

from .text import TEXTS


def _json_for_script(obj) -> str:
    """JSON that cannot end the <script> element it sits in."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return s.replace("</", "<\\/").replace("<!--", "<\\!--")


EQ = {  # the same equations as the text form, in HTML
    "forget": ["f<sub>t</sub> = σ(W<sub>f</sub>·[h<sub>t−1</sub>, x<sub>t</sub>] + b<sub>f</sub>)"],
    "input": [
        "i<sub>t</sub> = σ(W<sub>i</sub>·[h<sub>t−1</sub>, x<sub>t</sub>] + b<sub>i</sub>)",
        "g<sub>t</sub> = tanh(W<sub>g</sub>·[h<sub>t−1</sub>, x<sub>t</sub>] + b<sub>g</sub>)",
    ],
    "cell": ["c<sub>t</sub> = f<sub>t</sub> ⊙ c<sub>t−1</sub> + i<sub>t</sub> ⊙ g<sub>t</sub>"],
    "output": [
        "o<sub>t</sub> = σ(W<sub>o</sub>·[h<sub>t−1</sub>, x<sub>t</sub>] + b<sub>o</sub>)",
        "h<sub>t</sub> = o<sub>t</sub> ⊙ tanh(c<sub>t</sub>)",
    ],
}


def _asset(name: str) -> str:
    """The page's stylesheet or script, shipped beside this module (package data)."""
    return files(__package__).joinpath(name).read_text(encoding="utf-8")


def _subs(text: str) -> str:
    """Escape, then write c_{t-1} / h_t with HTML subscripts (as the page's script does)."""
    s = html.escape(text, quote=False)
    s = re.sub(r"([A-Za-z]\u0303?)_\{([^}]*)\}", r"\1<sub>\2</sub>", s)
    return re.sub(r"([A-Za-z]\u0303?)_([a-z0-9])", r"\1<sub>\2</sub>", s)


def render_html(data: dict) -> str:
    """The page for :func:`lstmkit.apps.explain.explain_data`'s ``data``."""
    tx = TEXTS[data["lang"]]
    ui = tx["ui"]
    lay = data["layer"]
    about = (
        f"{ui['model']}: {html.escape(data['source'])} · {ui['layer']} {html.escape(lay['name'])} "
        f"({lay['number']}/{lay['of']}) · {lay['units']} {ui['units']} · "
        f"x<sub>t</sub> ∈ ℝ<sup>{lay['input_size']}</sup> · {ui['hover']}"
    )
    notes = []
    if data["source"] == "built-in":
        info = data["info"]
        notes.append(
            ui["builtin"].format(
                units=lay["units"],
                steps=info.get("train_steps", "?"),
                mae=f"{info.get('mae', float('nan')):.2f}",
            )
        )
    if lay["go_backwards"]:
        notes.append(ui["backwards"])
    title = f"{tx['title']} — {data['source']}"
    stages = "\n".join(
        f'<section class="stage" id="stage-{s}"></section>'
        for s in ("forget", "input", "cell", "output")
    )
    return f"""<!DOCTYPE html>
<html lang="{"zh-CN" if data["lang"] == "zh" else "en"}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,"><title>{html.escape(title)}</title>
<style>{_asset("page.css")}</style></head>
<body>
<header><h1>{html.escape(tx["title"])}</h1>
<p id="about">{about}</p>
{"".join(f'<p class="note">{_subs(n)}</p>' for n in notes)}</header>
<nav id="controls"><button id="prev" type="button">{html.escape(ui["prev"])}</button>
<span id="step-label" data-step="{data["step"]}"></span>
<button id="next" type="button">{html.escape(ui["next"])}</button>
<label>{html.escape(ui["unit"])} <select id="unit"></select></label></nav>
<section id="strip"></section>
<section><div id="state" class="stage" style="margin:8px 0"></div></section>
{stages}
<script type="application/json" id="lstm-data">{_json_for_script(data)}</script>
<script type="application/json" id="lstm-texts">{_json_for_script(tx)}</script>
<script type="application/json" id="lstm-eq">{_json_for_script(EQ)}</script>
<script>{_asset("page.js")}</script>
</body></html>
"""
