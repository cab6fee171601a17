"""Time labels: the styles read, the frequency (and season) they give, the labels that
continue them, and the warning when they are not understood."""

import numpy as np
import pytest

from lstmkit.apps.forecast import timeaxis
from lstmkit.errors import UserError


@pytest.mark.parametrize(
    "times, freq, season, want",
    [
        (["1999", "2000"], "yearly", 1, ["2001", "2002"]),
        (["2001-11", "2001-12"], "monthly", 12, ["2002-01", "2002-02"]),
        (["11/1993", "12/1993"], "monthly", 12, ["01/1994", "02/1994"]),
        (["1993/11", "1993/12"], "monthly", 12, ["1994/01", "1994/02"]),
        (["1959Q3", "1959Q4"], "quarterly", 4, ["1960Q1", "1960Q2"]),
        (["1970 Q3", "1970 Q4"], "quarterly", 4, ["1971 Q1", "1971 Q2"]),
        (["2010-11-01", "2010-12-01"], "monthly", 12, ["2011-01-01", "2011-02-01"]),
        (["2010-01-31", "2010-02-28"], "monthly", 12, ["2010-03-31", "2010-04-30"]),
        (["2010-04-01", "2010-07-01"], "quarterly", 4, ["2010-10-01", "2011-01-01"]),
        (["2010-12-20", "2010-12-27"], "weekly", 52, ["2011-01-03", "2011-01-10"]),
        (["2010-12-30", "2010-12-31"], "daily", 7, ["2011-01-01", "2011-01-02"]),
        (
            ["2010-12-31 22:00", "2010-12-31 23:00"],
            "hourly",
            24,
            ["2011-01-01 00:00", "2011-01-01 01:00"],
        ),
        (["1", "2"], None, None, ["3", "4"]),
    ],
)
def test_styles_frequency_and_continuation(times, freq, season, want):
    ax = timeaxis.parse(times)
    assert ax.understood and ax.warning is None
    assert ax.frequency() == (freq, season)
    labels, x = timeaxis.extend(ax, len(times), 2)
    assert labels == want
    assert np.all(np.diff(np.r_[timeaxis.positions(ax, 2), x]) > 0)


def test_time_format_and_its_refusal():
    ax = timeaxis.parse(["31.01.2020", "29.02.2020"], "%d.%m.%Y")
    assert ax.frequency() == ("monthly", 12)
    assert timeaxis.extend(ax, 2, 1)[0] == ["31.03.2020"]
    with pytest.raises(UserError, match=r"data row 2 is '2020-02-29'.*--time-format"):
        timeaxis.parse(["31.01.2020", "2020-02-29"], "%d.%m.%Y")


def test_unknown_labels_fall_back_to_positions_with_a_warning():
    ax = timeaxis.parse(["a", "b", "c"], column="when")
    assert not ax.understood and "'when'" in ax.warning and "--time-format" in ax.warning
    assert list(timeaxis.positions(ax, 3)) == [0, 1, 2]
    assert timeaxis.extend(ax, 3, 2)[0] == ["c+1", "c+2"]
