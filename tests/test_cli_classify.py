"""`lstmkit classify train|predict` in-process: time series and text on small slices of the
bundled data, bad input, input handling (order columns found by name, dates, features and
classes printed, a warning on very different lengths), the baselines beside the result,
early-stopping options, and end-to-end runs on the full bundled sets."""

import csv
import gzip
import io
import json

import numpy as np
import pytest

from cli_helpers import assert_user_error, run_cli
from lstmkit.apps.classify.config import ClassifyConfig
from lstmkit.apps.classify.examples import read_examples
from lstmkit.apps.classify.report import baseline_lines
from lstmkit.data import datasets

QUICK = ["--epochs", "3", "--units", "8", "--quiet"]


def _waves(tmp_path, order="t", n=24, T=20, dates=False, shuffle=True, lengths=None):
    """Two classes of short series (a sine and a ramp), one row per step, rows shuffled
    within each sequence so that only the order column puts them right."""
    rng = np.random.default_rng(0)
    p = tmp_path / "waves.csv"
    with open(p, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", order, "x", "label"])
        for k in range(n):
            L = T if lengths is None else lengths[k % len(lengths)]
            t = np.arange(L)
            x = np.sin(t / 2) if k % 2 else t / L
            rows = list(zip(t, x + 0.05 * rng.standard_normal(L), strict=True))
            if shuffle:
                rows = [rows[j] for j in rng.permutation(L)]
            for step, v in rows:
                when = str(np.datetime64("2024-01-01") + int(step)) if dates else int(step)
                w.writerow([f"s{k}", when, f"{v:.5f}", "wave" if k % 2 else "ramp"])
    return p


def _rows(name):
    text = gzip.decompress(open(datasets.get(name).path, "rb").read()).decode()
    return list(csv.reader(io.StringIO(text)))


def _vowels(tmp_path, n_utt=60, drop=None, relabel=False):
    rows = _rows("vowels")
    head, body = rows[0], rows[1:]
    keep = sorted({r[0] for r in body})
    keep = set(keep[: n_utt // 2] + keep[-n_utt // 2 :])  # some train, some test
    p = tmp_path / "vowels.csv"
    with open(p, "w", newline="") as f:
        w = csv.writer(f)
        cols = [k for k, c in enumerate(head) if c != drop]
        w.writerow([head[k] for k in cols])
        for j, r in enumerate(b for b in body if b[0] in keep):
            if relabel and j == 3:
                r = r[:-2] + ["speaker9", r[-1]]
            w.writerow([r[k] for k in cols])
    return p


def _austen(tmp_path, n=300, blank=False):
    rows = _rows("austen")
    p = tmp_path / "austen.csv"
    with open(p, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for t, lab in rows[1 : n + 1]:
            w.writerow(["" if blank else t, lab])
    return p


def test_classify_series_train_and_predict(tmp_path, capsys):
    out = tmp_path / "out"
    rc, stdout, _ = run_cli(
        capsys,
        "classify",
        "train",
        _vowels(tmp_path),
        "--id",
        "utterance",
        "--label",
        "speaker",
        "--out",
        out,
        *QUICK,
    )
    assert rc == 0, stdout
    m = json.loads((out / "metrics.json").read_text())
    cm = m["confusion_matrix"]
    assert sum(map(sum, cm)) == m["n_test"] and len(cm) == len(m["classes"])
    assert m["accuracy"] == pytest.approx(sum(cm[k][k] for k in range(len(cm))) / m["n_test"])
    for f in ("confusion.png", "predictions.csv", "model.safetensors", "model.json"):
        assert (out / f).stat().st_size > 0
    assert "confusion matrix" in stdout and "precision" in stdout
    rc, stdout, _ = run_cli(
        capsys,
        "classify",
        "predict",
        out,
        _vowels(tmp_path, drop="speaker"),
        "--out",
        tmp_path / "pred",
    )
    assert rc == 0, stdout
    pred = list(csv.reader(open(tmp_path / "pred" / "predictions.csv")))
    assert len(pred) == 61 and all(r[2] in m["classes"] for r in pred[1:])


def test_classify_text_train_and_predict(tmp_path, capsys):
    data, out = _austen(tmp_path), tmp_path / "out"
    rc, stdout, _ = run_cli(capsys, "classify", "train", data, "--out", out, *QUICK)
    assert rc == 0, stdout
    meta = json.loads((out / "model.json").read_text())
    assert meta["kind"] == "text" and meta["vocab"]
    rc, stdout, _ = run_cli(capsys, "classify", "predict", out / "model.safetensors", data)
    assert rc == 0 and "accuracy:" in stdout


def test_classify_text_directory_input(tmp_path, capsys):
    rows = _rows("austen")[1:]
    for k, (text, label) in enumerate(rows[:60]):
        d = tmp_path / "texts" / label.replace(" ", "_")
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{k}.txt").write_text(text)
    rc, stdout, _ = run_cli(
        capsys, "classify", "train", tmp_path / "texts", "--out", tmp_path / "o", *QUICK
    )
    assert rc == 0, stdout
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["n_test"] == 12 and set(m["classes"]) == {r[1].replace(" ", "_") for r in rows[:60]}


def test_classify_series_directory_input(tmp_path, capsys):
    rows = _rows("vowels")
    head = rows[0]
    by_utt = {}
    for r in rows[1:]:
        by_utt.setdefault(r[0], []).append(r)
    for utt in sorted(by_utt)[:40] + sorted(by_utt)[-40:]:
        rs = by_utt[utt]
        d = tmp_path / "seqs" / rs[0][-2]
        d.mkdir(parents=True, exist_ok=True)
        with open(d / f"{utt}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(head[2:14])
            w.writerows(r[2:14] for r in rs)
    rc, stdout, _ = run_cli(
        capsys, "classify", "train", tmp_path / "seqs", "--out", tmp_path / "o", *QUICK
    )
    assert rc == 0, stdout
    meta = json.loads((tmp_path / "o" / "model.json").read_text())
    assert meta["kind"] == "series" and meta["features"] == head[2:14]
    assert "80 sequences" in stdout


@pytest.mark.parametrize(
    "case",
    [
        "missing_file",
        "missing_column",
        "non_numeric",
        "empty_text",
        "two_labels",
        "other_task_model",
        "unwritable_out",
        "one_class",
    ],
)
def test_classify_bad_input(tmp_path, capsys, case):
    args = [
        "classify",
        "train",
        _vowels(tmp_path),
        "--id",
        "utterance",
        "--label",
        "speaker",
        "--out",
        tmp_path / "o",
        *QUICK,
    ]
    if case == "missing_file":
        args[2], needles = tmp_path / "nope.csv", ["no such file"]
    elif case == "missing_column":
        args[6], needles = "talker", ["column 'talker' not found"]
    elif case == "non_numeric":
        p = tmp_path / "v.csv"
        p.write_text(_vowels(tmp_path).read_text().replace(",0,", ",zero,", 1))
        args[2], needles = p, ["expected a number", "'zero'"]
    elif case == "empty_text":
        args = ["classify", "train", _austen(tmp_path, blank=True), "--out", tmp_path / "o"]
        needles = ["no text"]
    elif case == "two_labels":
        args[2], needles = _vowels(tmp_path, relabel=True), ["one label", "speaker9"]
    elif case == "other_task_model":
        (tmp_path / "m").mkdir()
        (tmp_path / "m" / "model.safetensors").write_bytes(b"x")
        (tmp_path / "m" / "model.json").write_text('{"lstmkit_task": "textgen"}')
        args = ["classify", "predict", tmp_path / "m", _vowels(tmp_path)]
        needles = ["'textgen' model", "'classify'"]
    elif case == "unwritable_out":
        (tmp_path / "f").write_text("x")
        args[8], needles = tmp_path / "f", ["is a file"]
    elif case == "one_class":
        p = tmp_path / "one.csv"
        p.write_text("id,x,label\n" + "".join(f"{k // 3},{k},a\n" for k in range(30)))
        args = ["classify", "train", p, "--out", tmp_path / "o", *QUICK]
        needles = ["at least 2 different labels"]
    rc, _, err = run_cli(capsys, *args)
    assert_user_error(rc, err, *needles)
    assert not (tmp_path / "o").exists() or case == "unwritable_out"  # no output for bad input


@pytest.mark.slow
def test_classify_end_to_end_bundled_vowels(tmp_path, capsys):
    rc, stdout, _ = run_cli(
        capsys, "classify", "train", "--dataset", "vowels", "--out", tmp_path / "v", "--quiet"
    )
    assert rc == 0
    m = json.loads((tmp_path / "v" / "metrics.json").read_text())
    assert m["n_test"] == 370 and m["accuracy"] > 0.9, m["accuracy"]  # 9 classes: chance ≈ 0.11


@pytest.mark.slow
def test_classify_end_to_end_bundled_austen_text(tmp_path, capsys):
    rc, stdout, _ = run_cli(
        capsys,
        "classify",
        "train",
        "--dataset",
        "austen",
        "--out",
        tmp_path / "a",
        "--quiet",
        "--epochs",
        "6",
    )
    assert rc == 0
    m = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert m["n_test"] == 720 and m["accuracy"] > 0.45, m["accuracy"]  # 3 classes: chance 0.33


@pytest.mark.parametrize("name", ["t", "time", "Step", "timestamp", "date"])
def test_order_column_found_by_name_and_not_a_feature(tmp_path, capsys, name):
    dates = name in ("timestamp", "date")
    data, out = _waves(tmp_path, order=name, dates=dates), tmp_path / "o"
    rc, stdout, err = run_cli(
        capsys, "classify", "train", data, "--out", out, "--epochs", "2", "--units", "8"
    )
    assert rc == 0, err
    meta = json.loads((out / "model.json").read_text())
    assert meta["features"] == ["x"] and meta["columns"]["order"] == name
    assert "features: x (1)" in stdout and f"order = {name!r}" in stdout
    assert "classes (training count): ramp" in stdout
    # the rows were shuffled in the file: sorted by the order column, ramps rise again
    ex = read_examples(str(data), ClassifyConfig())
    ramp = ex.seqs[ex.labels.index("ramp")][:, 0]
    assert np.all(np.diff(ramp) > -0.3) and ramp[-1] > ramp[0] + 0.5


def test_baselines_beside_the_result_and_the_verdict(tmp_path, capsys):
    out = tmp_path / "o"
    rc, stdout, _ = run_cli(
        capsys,
        "classify",
        "train",
        _waves(tmp_path),
        "--out",
        out,
        "--epochs",
        "1",
        "--units",
        "8",
        "--quiet",
    )
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["baselines"]) == {"majority", "1-NN Euclidean", "1-NN DTW"}
    assert "test accuracy beside the baselines:" in stdout and "1-NN DTW" in stdout
    if m["accuracy"] < m["baselines"]["1-NN DTW"] - 0.5 / m["n_test"]:
        assert "BELOW the 1-NN DTW baseline" in stdout
    lines = "\n".join(baseline_lines(0.5, {"majority": 0.5, "1-NN Euclidean": 0.9}, 10))
    assert "no better than always answering the most common class" in lines
    assert "BELOW the 1-NN Euclidean baseline (0.9000)" in lines
    assert "AT the" not in baseline_lines(0.95, {"1-NN DTW": 0.9}, 100)[-1]
    assert "only AT the 1-NN DTW" in baseline_lines(0.9, {"1-NN DTW": 0.9}, 100)[-1]


def test_early_stopping_options(tmp_path, capsys):
    data = _waves(tmp_path, n=130, T=12)  # 104 training sequences: a validation part by default
    cases = {
        "default": (["--epochs", "6"], 21, 6),  # stratified 20 %; patience 20 > 6 epochs
        "patience": (
            ["--epochs", "6", "--patience", "1", "--min-epochs", "0", "--learning-rate", "1e-9"],
            21,
            None,  # nothing improves at lr 1e-9: stops after one epoch without improvement
        ),
        "no-es": (["--epochs", "5", "--no-early-stopping"], 0, 5),  # all train, all epochs
        "no-es-val": (["--epochs", "4", "--no-early-stopping", "--validation", "0.25"], 26, 4),
    }
    for name, (extra, n_val, ran) in cases.items():
        out = tmp_path / name
        rc, _, err = run_cli(
            capsys, "classify", "train", data, "--out", out, "--units", "8", "--quiet",
            "--no-baselines", *extra,
        )  # fmt: skip
        assert rc == 0, err
        m = json.loads((out / "metrics.json").read_text())
        assert m["n_validation"] == n_val, (name, m["n_validation"])
        if ran is None:
            assert m["epochs"] < 6, m["epochs"]
        else:
            assert m["epochs"] == ran, (name, m["epochs"])


def test_length_warning_and_masking(tmp_path, capsys):
    data, out = _waves(tmp_path, lengths=[5, 30]), tmp_path / "o"
    rc, stdout, err = run_cli(capsys, "classify", "train", data, "--out", out, *QUICK)
    assert rc == 0, err
    assert "warning: sequence lengths differ a lot (5 … 30 steps" in err
    meta = json.loads((out / "model.json").read_text())
    assert meta["masked"] is True
    rc, _, err = run_cli(
        capsys, "classify", "train", _waves(tmp_path), "--out", tmp_path / "p", *QUICK
    )
    assert rc == 0 and "differ a lot" not in err


@pytest.mark.parametrize(
    "bad, needle",
    [
        (["--epochs", "0"], "--epochs expected an integer 1..1000000"),
        (["--patience", "0"], "--patience expected an integer 1..1000000"),
        (["--validation", "1.5"], "--validation expected a finite number [0, 1)"),
        (["--dropout", "1"], "--dropout expected a finite number [0, 1)"),
        (["--noise", "-1"], "--noise expected a finite number 0..100"),
        (["--dtw-window", "2"], "--dtw-window expected a finite number 0..1"),
    ],
)
def test_bad_numbers_refused_before_anything_is_written(tmp_path, capsys, bad, needle):
    rc, _, err = run_cli(
        capsys, "classify", "train", _waves(tmp_path), "--out", tmp_path / "o", *bad
    )
    assert_user_error(rc, err, needle)
    assert not (tmp_path / "o").exists()


def test_bad_order_column(tmp_path, capsys):
    p = tmp_path / "bad.csv"
    p.write_text("id,date,x,label\na,2024-01-01,1,u\na,someday,2,u\nb,2024-01-01,1,v\n")
    rc, _, err = run_cli(capsys, "classify", "train", p, "--out", tmp_path / "o")
    assert_user_error(rc, err, "order column 'date'", "'someday'", "data row 2")


def test_predict_reads_a_sidecar_from_before_the_recipe(tmp_path, capsys):
    """A model.json written before normalize/patch/masked existed: global scaling, no patch."""
    out = tmp_path / "o"
    data = _waves(tmp_path)
    rc, *_ = run_cli(
        capsys,
        "classify",
        "train",
        data,
        "--out",
        out,
        "--normalize",
        "global",
        "--no-conv",
        *QUICK,
    )
    assert rc == 0
    meta = json.loads((out / "model.json").read_text())
    assert meta["patch"] == 1
    for k in ("normalize", "patch", "masked"):
        meta.pop(k)
    (out / "model.json").write_text(json.dumps(meta))
    rc, stdout, err = run_cli(capsys, "classify", "predict", out, data)
    assert rc == 0, err
    assert "accuracy:" in stdout
