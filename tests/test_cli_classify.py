"""`lstmkit classify train|predict` in-process: time series and text on small slices of the
bundled data, bad input, and end-to-end runs on the full bundled sets."""

import csv
import gzip
import io
import json

import pytest

from cli_helpers import assert_user_error, run_cli
from lstmkit.data import datasets

QUICK = ["--epochs", "3", "--units", "8", "--quiet"]


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
