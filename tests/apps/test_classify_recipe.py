"""The classify recipe's parts: stratified validation, class weights, the training plan
(epochs from the step budget, when to validate, the epoch floor), EarlyStopping's
start_from_epoch, the series encoding (z-normalisation, patching, masking), and the
recipe learning a small real data set (a slice of the bundled Japanese Vowels) in
seconds, well above the majority class."""

import csv
import gzip
import io
import json

import numpy as np
import pytest
from tests.cli_helpers import run_cli

from lstmkit import LSTM, Dense, Sequential
from lstmkit.apps.classify import recipe
from lstmkit.apps.classify.config import ClassifyConfig
from lstmkit.apps.classify.series import encode_series, fit_series_meta, length_note, normalise
from lstmkit.callbacks import Callback, EarlyStopping
from lstmkit.data import datasets
from lstmkit.layers import Conv1D, GlobalMaxPooling1D


def test_stratified_split_keeps_every_class_in_proportion():
    y = np.array([0] * 50 + [1] * 30 + [2] * 20)
    fit, val = recipe.stratified_split(y, 0.2, seed=0)
    assert sorted(np.concatenate([fit, val])) == list(range(100))
    assert np.bincount(y[val]).tolist() == [10, 6, 4]
    again = recipe.stratified_split(y, 0.2, seed=0)
    assert np.array_equal(again[1], val) and np.array_equal(again[0], fit)
    fit, val = recipe.stratified_split(np.array([0, 0, 1]), 0.9, seed=0)
    assert set(y[fit]) == {0, 1} or set(np.array([0, 0, 1])[fit]) == {0, 1}  # one of each stays


def test_class_weights_and_weighted_targets():
    y = np.array([0, 0, 0, 1])
    w = recipe.class_weights(y, 3)
    assert w == pytest.approx([4 / (3 * 3), 4 / (3 * 1), 1.0])  # n / (C n_c); absent class: 1
    assert recipe.class_weights(y, 3, "none").tolist() == [1, 1, 1]
    T = recipe.weighted_targets(y, w)
    assert (
        T.shape == (4, 3) and T[3, 1] == pytest.approx(4 / 3) and T[0].sum() == pytest.approx(4 / 9)
    )
    # cross-entropy of the weighted targets = w_c · (−log p_c), gradient w_c (p − onehot)
    m = Sequential([LSTM(4), Dense(3, activation="softmax")], seed=0)
    m.compile("adam", "categorical_crossentropy")
    x = np.random.default_rng(0).standard_normal((4, 5, 2)).astype(np.float32)
    p = m.predict(x)
    want = np.mean(-w[y] * np.log(p[np.arange(4), y]))
    assert m.evaluate(x, T) == pytest.approx(want, rel=1e-5)


def test_plan_training():
    cfg = ClassifyConfig()
    small = recipe.plan_training(50, "series", cfg)
    assert small.validation == 0 and not small.early_stopping
    assert small.epochs == min(recipe.MAX_AUTO_EPOCHS, -(-recipe.STEP_BUDGET // 4))  # 4 steps
    big = recipe.plan_training(540, "series", cfg)
    assert big.validation == pytest.approx(0.2) and big.early_stopping
    assert big.epochs == max(recipe.MIN_AUTO_EPOCHS, -(-recipe.STEP_BUDGET // 27))  # 432 fit
    assert 1 <= big.min_epochs <= big.epochs
    cfg = ClassifyConfig(epochs=7, min_epochs=3, patience=2, early_stopping=False)
    p = recipe.plan_training(540, "series", cfg)
    assert (p.epochs, p.min_epochs, p.patience, p.early_stopping) == (7, 3, 2, False)


class Script(Callback):
    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


def test_early_stopping_start_from_epoch():
    x = np.random.default_rng(0).standard_normal((8, 3, 2)).astype(np.float32)
    y = np.zeros((8, 1), np.float32)
    vals = [1.0, 2.0, 3.0, 4.0, 5.0, 0.5, 6.0, 7.0, 8.0, 9.0]
    for start, ran, best in ((0, 3, 0), (4, 8, 5)):
        m = Sequential([LSTM(2), Dense(1)], seed=0)
        m.compile("sgd", "mse")
        es = EarlyStopping(patience=2, start_from_epoch=start)
        h = m.fit(x, y, epochs=10, verbose=0, callbacks=[Script(vals), es])
        assert (len(h.history["loss"]), es.best_epoch) == (ran, best)


def test_series_encoding():
    rng = np.random.default_rng(1)
    seqs = [rng.standard_normal((T, 2)) * 5 + 3 for T in (300, 250, 40)]
    meta = fit_series_meta(seqs, ["a", "b"], "auto", None)
    assert meta["normalize"] == "both" and meta["masked"] and meta["patch"] == 3
    assert meta["maxlen"] == 300
    X = encode_series(seqs, meta)
    assert X.shape == (3, 100, 3 * 4)  # 300 steps / patch 3, 3 · (2 z-normalised + 2 scaled)
    z = normalise(seqs, meta)[0][:, :2]
    assert np.allclose(z.mean(0), 0) and np.allclose(z.std(0), 1)
    assert np.all(X[2, :86] == 0) and np.any(X[2, 87:] != 0)  # 40 steps: front padding
    one = fit_series_meta([s[:, :1] for s in seqs], ["a"], "auto", 120)
    assert one["normalize"] == "sequence" and one["patch"] == 1 and one["maxlen"] == 120
    assert encode_series([s[:, :1] for s in seqs], one).shape == (3, 120, 1)
    assert "differ a lot" in length_note(seqs) and length_note(seqs[:2]) is None


def _vowel_slice(tmp_path, speakers=("1", "2", "3")):
    text = gzip.decompress(open(datasets.get("vowels").path, "rb").read()).decode()
    rows = list(csv.reader(io.StringIO(text)))
    head, body = rows[0], rows[1:]
    p = tmp_path / "vowels3.csv"
    with open(p, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(head)
        w.writerows(r for r in body if r[head.index("speaker")].endswith(speakers))
    return p


def test_the_recipe_learns_a_small_set_in_seconds(tmp_path, capsys):
    """Three speakers of Japanese Vowels (~90 training / ~120 test utterances, 12
    features, 7–29 steps): the default recipe (Conv1D, BiLSTM, max pooling, class
    weights, cosine decay) with a short run beats the majority class by far."""
    out = tmp_path / "o"
    rc, stdout, err = run_cli(
        capsys,
        "classify",
        "train",
        _vowel_slice(tmp_path),
        "--id",
        "utterance",
        "--label",
        "speaker",
        "--epochs",
        "12",
        "--quiet",
        "--out",
        out,
    )
    assert rc == 0, err
    m = json.loads((out / "metrics.json").read_text())
    assert len(m["classes"]) == 3 and m["n_validation"] == 0  # < 100: no held-out part
    assert m["accuracy"] > m["baselines"]["majority"] + 0.4, (m["accuracy"], m["baselines"])
    assert "1-NN DTW" in stdout and "this model" in stdout


def test_restore_masks_gives_an_older_model_file_its_mask_options():
    """A classify model saved before Conv1D(keep_mask) / GlobalMaxPooling1D(use_mask) loads
    with Keras' defaults (mask dropped / ignored); restore_masks sets them back."""
    meta = {"kind": "series", "classes": ["a", "b"], "masked": True, "features": ["x"]}
    model = recipe.build_model(meta, ClassifyConfig(kind="series", seed=0))
    convs = [la for la in model.layers if isinstance(la, Conv1D)]
    pools = [la for la in model.layers if isinstance(la, GlobalMaxPooling1D)]
    assert convs and pools and all(c.keep_mask for c in convs) and pools[0].use_mask
    for c in convs:
        c.keep_mask = False
    pools[0].use_mask = False  # as such a file loads
    recipe.restore_masks(model)
    assert all(c.keep_mask for c in convs) and pools[0].use_mask
