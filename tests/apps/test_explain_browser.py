"""The explain page in a real headless Chromium (Debian's package, via tests/_browser.py)."""

from __future__ import annotations

import json

import pytest
from tests._browser import browser

from lstmkit.apps.explain import job as explain
from lstmkit.apps.explain.builtin import DEFAULT_TEXT, one_hot, train_bracket_counter
from lstmkit.apps.explain.html import render_html


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    model, info = train_bracket_counter(seed=0)
    d = explain.explain_data(
        model,
        one_hot(DEFAULT_TEXT),
        list(DEFAULT_TEXT),
        step=2,
        unit=info["counter"],
        source="built-in",
        info=info,
    )
    path = tmp_path_factory.mktemp("explain") / "page.html"
    path.write_text(render_html(d), encoding="utf-8")
    return path, d


def shown_step(b) -> int:
    return int(b.find("#step-label").get_attribute("data-step"))


def test_page_steps_and_units_in_chromium(page, tmp_path):
    path, d = page
    k = d["unit"]
    with browser(width=1280, height=1600) as b:
        b.open(path)
        assert b.console_errors() == []
        assert shown_step(b) == 2 and "t = 2 / 14" in b.text("#step-label")
        # the four stages are drawn, in the seeds' order, each with a curve or bars
        tops = [b.find(f"#stage-{s}").location["y"] for s in ("forget", "input", "cell", "output")]
        assert tops == sorted(tops)
        assert len(b.find_all("#stage-forget svg circle")) == d["layer"]["units"]
        # the sentence carries the chosen unit's own numbers (filled in by the script)
        assert f"f = {d['f'][1][k]:.3f}" in b.text("#stage-forget .sentence")
        shot2 = b.screenshot(tmp_path / "step2.png")

        b.click("#next")
        assert shown_step(b) == 3 and "t = 3 / 14" in b.text("#step-label")
        assert f"f = {d['f'][2][k]:.3f}" in b.text("#stage-forget .sentence")
        shot3 = b.screenshot(tmp_path / "step3.png")
        assert shot2 != shot3  # the picture changed with the step

        b.click("#prev")
        b.click("#prev")
        assert shown_step(b) == 1
        assert b.find("#prev").get_attribute("disabled") is not None  # cannot go before t = 1

        # clicking a token in the strip jumps there; the unit menu changes the followed unit
        b.find_all("#strip tr.tok td")[6].click()  # label cell, then t = 1…
        assert shown_step(b) == 6
        other = (k + 1) % d["layer"]["units"]
        b.select("#unit", str(other))
        assert f"unit {other}" in b.text("#step-label")
        titles = [c.get_attribute("title") for c in b.find_all("#stage-cell .cell.sel")]
        c_t = [t for t in titles if t.startswith(f"c_t[{other}] = ")]
        assert len(c_t) == 1 and abs(float(c_t[0].split("=")[1]) - d["c"][5][other]) < 1e-4
        assert b.console_errors() == []


def test_page_data_parses_in_the_browser(page):
    """The embedded JSON is what the script reads (same numbers as the file holds)."""
    path, d = page
    with browser() as b:
        b.open(path)
        got = b.js("return document.getElementById('lstm-data').textContent")
        assert json.loads(got)["c"] == d["c"]
        assert b.js("return document.querySelectorAll('.stage .sentence').length") == 4
