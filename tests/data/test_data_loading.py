"""CSV reading, windows, scaling, tokenisation and the bundled datasets."""

import gzip

import numpy as np
import pytest

from lstmkit.data import datasets
from lstmkit.data.csv import read_table, read_text
from lstmkit.data.scaling import StandardScaler
from lstmkit.data.text import OOV, PAD, CharVocab, WordVocab, words
from lstmkit.data.windows import make_windows
from lstmkit.errors import UserError


def test_read_table_columns_and_numbers(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("t,x,y\n1,2.5,a\n2,-3,b\n")
    t = read_table(p)
    assert t.columns == ["t", "x", "y"]
    np.testing.assert_array_equal(t.numeric("x"), [2.5, -3.0])
    assert t.strings("y") == ["a", "b"]


def test_read_table_gz_and_semicolon(tmp_path):
    p = tmp_path / "a.csv.gz"
    p.write_bytes(gzip.compress(b"x;y\n1;2\n3;4\n"))
    np.testing.assert_array_equal(read_table(p).numeric("y"), [2.0, 4.0])


@pytest.mark.parametrize(
    "content, call, needle",
    [
        ("x,y\n1,2\n3,oops\n", "y", "'oops'"),
        ("x,y\n1,2\n3,\n", "y", "empty cell"),
        ("x,y\n1,2\n", "z", "column 'z' not found"),
    ],
)
def test_read_table_bad_cells_name_row_and_value(tmp_path, content, call, needle):
    p = tmp_path / "a.csv"
    p.write_text(content)
    with pytest.raises(UserError, match=needle):
        read_table(p).numeric(call)


def test_non_numeric_error_names_the_row(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("x\n1\n2\nthree\n")
    with pytest.raises(UserError, match=r"data row 3 \(line 4\)"):
        read_table(p).numeric("x")


@pytest.mark.parametrize(
    "content, needle",
    [
        ("", "empty"),
        ("x,y\n", "no data rows"),
        ("x,y\n1,2,3\n", "expected 2 fields"),
        ("x,x\n1,2\n", "duplicates"),
    ],
)
def test_read_table_structure_errors(tmp_path, content, needle):
    p = tmp_path / "a.csv"
    p.write_text(content)
    with pytest.raises(UserError, match=needle):
        read_table(p)


def test_missing_file_and_binary_file(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        read_text(tmp_path / "nope.txt")
    p = tmp_path / "b.bin"
    p.write_bytes(b"\xff\xfe\x00\x81abc")
    with pytest.raises(UserError, match="not UTF-8"):
        read_text(p)


def test_windows_align_inputs_and_targets():
    series = np.arange(10.0)
    X, Y = make_windows(series, series * 10, lookback=3, horizon=2)
    assert X.shape == (6, 3, 1) and Y.shape == (6, 2)
    for k in range(6):
        np.testing.assert_array_equal(X[k, :, 0], series[k : k + 3])
        np.testing.assert_array_equal(Y[k], series[k + 3 : k + 5] * 10)
    with pytest.raises(ValueError, match="at least"):
        make_windows(series[:4], series[:4], 3, 2)


def test_scaler_round_trip_and_dict():
    x = np.random.default_rng(0).normal(5, 3, (50, 2))
    x[:, 1] = 7.0  # a constant feature
    sc = StandardScaler().fit(x)
    z = sc.transform(x)
    np.testing.assert_allclose(z[:, 0].mean(), 0, atol=1e-12)
    np.testing.assert_allclose(z[:, 0].std(), 1, atol=1e-12)
    np.testing.assert_allclose(z[:, 1], 0)
    sc2 = StandardScaler.from_dict(sc.to_dict())
    np.testing.assert_allclose(sc2.inverse_transform(sc2.transform(x)), x)


def test_word_and_char_vocab():
    assert words("Mr. Darcy's ball!") == ["mr", ".", "darcy's", "ball", "!"]
    v = WordVocab.build(["a b a", "b c a"], min_count=2)
    ids = v.encode(["a b zzz", "a"], maxlen=4)
    assert ids.shape == (2, 4)
    assert ids[0, 2] == OOV and ids[1, 1] == PAD and ids[0, 0] == v.ids["a"]
    cv = CharVocab.build("hello")
    assert cv.decode(cv.encode("hole")) == "hole" and len(cv) == 4


@pytest.mark.parametrize("name", sorted(datasets.DATASETS))
def test_bundled_datasets_are_there_with_source_and_licence(name):
    d = datasets.get(name)
    assert d.source and d.licence
    if d.kind in ("corpus", "lexicon"):  # lexicon: cmudict, read by lstmkit.data.cmudict
        assert len(read_text(d.path)) > 100_000
    else:
        t = read_table(d.path)
        for col in d.columns.values():
            t.index(col)
        assert len(t) > 100


def test_unknown_dataset_is_a_user_error():
    with pytest.raises(UserError, match="expected one of"):
        datasets.get("nope")
