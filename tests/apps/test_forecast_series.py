"""CSV → series: missing values, unsorted rows, duplicate stamps, irregular spacing, gaps,
future rows, panels — each handled as documented or refused naming what and where."""

import numpy as np
import pytest

from lstmkit.apps.forecast.series import load_panel
from lstmkit.data.csv import read_table
from lstmkit.errors import UserError


def _table(tmp_path, rows, header="month,y"):
    p = tmp_path / "t.csv"
    p.write_text(header + "\n" + "\n".join(rows) + "\n")
    return read_table(p)


def _months(n, start=2000):
    return [f"{start + k // 12}-{k % 12 + 1:02d}" for k in range(n)]


def test_missing_values_are_interpolated_and_counted(tmp_path):
    rows = [
        f"{m},{'' if k in (3, 4) else 'NA' if k == 9 else k}" for k, m in enumerate(_months(20))
    ]
    (s,) = load_panel(_table(tmp_path, rows), "y", "month")
    np.testing.assert_allclose(s.y, np.arange(20.0))  # linear in between
    assert s.missing == 3 and any("interpolated 3 missing" in n for n in s.notes)


def test_too_many_missing_is_refused_with_the_count(tmp_path):
    rows = [f"{m},{'' if k % 3 == 1 else k}" for k, m in enumerate(_months(30))]
    with pytest.raises(UserError, match=r"has 10 missing values out of 30 \(33 %\).*--max-missing"):
        load_panel(_table(tmp_path, rows), "y", "month")
    assert load_panel(_table(tmp_path, rows), "y", "month", max_missing=0.4)[0].missing == 10


def test_garbage_is_not_a_missing_value(tmp_path):
    rows = [f"{m},{'abc' if k == 5 else k}" for k, m in enumerate(_months(10))]
    with pytest.raises(UserError, match=r"data row 6 \(line 7\), got 'abc'"):
        load_panel(_table(tmp_path, rows), "y", "month")


def test_unsorted_rows_are_sorted_with_a_note(tmp_path):
    rows = [f"{m},{k}" for k, m in enumerate(_months(12))]
    rows[4], rows[5] = rows[5], rows[4]
    (s,) = load_panel(_table(tmp_path, rows), "y", "month")
    np.testing.assert_array_equal(s.y, np.arange(12.0))
    assert s.times[:6] == _months(6)
    assert any("not in time order (data row 6, '2000-05'" in n for n in s.notes)


def test_duplicate_time_stamps_are_refused_naming_both_rows(tmp_path):
    rows = [f"{m},{k}" for k, m in enumerate(_months(12))]
    rows[7] = rows[6]
    with pytest.raises(UserError, match=r"'2000-07' twice \(data rows 7 and 8\)"):
        load_panel(_table(tmp_path, rows), "y", "month")


def test_irregular_spacing_is_refused_and_a_gap_is_filled(tmp_path):
    days = ["2020-01-01", "2020-01-08", "2020-01-15", "2020-01-18", "2020-01-25"]
    rows = [f"{d},{k}" for k, d in enumerate(days)]
    with pytest.raises(UserError, match=r"most steps are 7 day.*data rows 3 and 4 .* are 3 apart"):
        load_panel(_table(tmp_path, rows, "date,y"), "y", "date")
    months = _months(12)
    del months[5]  # 2000-06 absent
    rows = [f"{m},{k if k < 5 else k + 1}" for k, m in enumerate(months)]
    (s,) = load_panel(_table(tmp_path, rows), "y", "month")
    np.testing.assert_allclose(s.y, np.arange(12.0))
    assert s.times[5] == "2000-06" and s.missing == 1
    assert any("1 time step(s)" in n and "after '2000-05'" in n for n in s.notes)


def test_future_rows_carry_future_covariates(tmp_path):
    rows = [f"{m},{k if k < 10 else ''},{k % 3}" for k, m in enumerate(_months(13))]
    (s,) = load_panel(
        _table(tmp_path, rows, "month,y,promo"), "y", "month", future_covariates=["promo"]
    )
    assert len(s.y) == 10 and s.future_rows == 3 and s.fut[-1, 0] == 12 % 3
    rows[-1] = rows[-1][: rows[-1].rindex(",") + 1]  # a future row without its covariate
    with pytest.raises(UserError, match=r"'promo' is empty in future row 3"):
        load_panel(
            _table(tmp_path, rows, "month,y,promo"), "y", "month", future_covariates=["promo"]
        )
    (s,) = load_panel(_table(tmp_path, rows, "month,y,promo"), "y", "month")
    assert len(s.y) == 10 and any("3 trailing row(s)" in n for n in s.notes)


def test_a_panel_is_split_by_id_in_order_of_appearance(tmp_path):
    rows = [
        f"{m},{sid},{k * (j + 1)}"
        for k, m in enumerate(_months(8))
        for j, sid in enumerate(["b", "a"])
    ]
    ss = load_panel(_table(tmp_path, rows, "month,store,y"), "y", "month", id_col="store")
    assert [s.name for s in ss] == ["b", "a"]
    np.testing.assert_array_equal(ss[1].y, 2 * np.arange(8.0))
