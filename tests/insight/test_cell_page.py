"""The cell-activation page: built from trace() of a tiny trained char model, checked in
a real headless Chromium (tests/_browser.py): it renders and the colours follow the cell."""

from __future__ import annotations

import numpy as np
import pytest
from tests._browser import browser

from lstmkit.inspect import char_activation_page, render_cell_page, trace
from lstmkit.layers import LSTM, Dense, Embedding
from lstmkit.model import Sequential
from lstmkit.optim import Adam

TEXT = (
    'she said "the cat (and the dog) sat." then "no (not (there))." he wrote: "a (b) c" and left. '
) * 4


@pytest.fixture(scope="module")
def char_model():
    vocab = sorted(set(TEXT))
    ids = np.array([vocab.index(ch) for ch in TEXT])
    model = Sequential(
        [
            Embedding(len(vocab), 8, seed=0),
            LSTM(16, return_sequences=True, seed=1),
            Dense(len(vocab), activation="softmax", seed=2),
        ]
    )
    model.compile(Adam(1e-2), "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    L = 40
    losses = []
    for _ in range(120):  # next-character prediction
        starts = rng.integers(0, len(ids) - L - 1, 16)
        x = np.stack([ids[s : s + L] for s in starts])
        y = np.stack([ids[s + 1 : s + L + 1] for s in starts])
        losses.append(float(model.train_on_batch(x, y)))
    assert losses[-1] < 0.7 * losses[0]  # it learned something
    return model, vocab, ids


def test_page_in_chromium_colours_follow_the_cell(char_model, tmp_path):
    model, vocab, ids = char_model
    text = TEXT[:90]
    x = ids[None, :90]
    path = tmp_path / "cells.html"
    page = char_activation_page(model, text, x, path=path, cell=0)
    assert "http" not in page.split("<body>")[1].lower()  # nothing fetched from anywhere
    c = trace(model, x)["lstm"].c[0]  # (T, 16) what the page must show
    k = 5
    with browser() as b:
        b.open(path)
        spans = b.find_all("#text span")
        assert len(spans) == len(text)
        assert b.js("return document.getElementById('text').textContent") == text
        assert b.js("return document.body.dataset.cell") == "0"

        def shown():
            return b.js(
                "return Array.from(document.querySelectorAll('#text span'))"
                ".map(s => [getComputedStyle(s).backgroundColor, +s.dataset.value])"
            )

        first = shown()
        np.testing.assert_allclose([v for _, v in first], c[:, 0], atol=1e-4)
        # the most strongly coloured character is the one with the largest |c|
        white = [sum(255 - int(p) for p in col[4:-1].split(",")) for col, _ in first]
        assert int(np.argmax(white)) == int(np.argmax(np.abs(c[:, 0])))
        b.select("#cell", str(k))
        second = shown()
        assert b.js("return document.body.dataset.cell") == str(k)
        np.testing.assert_allclose([v for _, v in second], c[:, k], atol=1e-4)
        assert [col for col, _ in first] != [col for col, _ in second]
        b.click("#next")
        assert b.js("return document.body.dataset.cell") == str(k + 1)
        assert b.console_errors() == []


def test_render_checks_its_inputs():
    with pytest.raises(ValueError, match="one activation row per character"):
        render_cell_page(list("abc"), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="cell expected"):
        render_cell_page(list("abc"), np.zeros((3, 2)), cell=2)
    page = render_cell_page(list("<a>"), np.zeros((3, 1)))
    assert '<span data-t="0">&lt;</span>' in page and "<a>" not in page.split("<body>")[1]
