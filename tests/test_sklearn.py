"""lstmkit.sklearn: scikit-learn's own estimator checks, Pipeline, GridSearchCV, 3-D input."""

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from lstmkit.sklearn import LSTMClassifier, LSTMRegressor  # noqa: E402

# small and quick, but able to pass scikit-learn's "it learns" checks
CHECKED = [
    LSTMRegressor(units=8, epochs=40, learning_rate=0.02, random_state=0),
    LSTMClassifier(units=8, epochs=40, learning_rate=0.02, random_state=0),
]
# No check is expected to fail: scikit-learn's checks feed 2-D arrays, which the estimators
# read as (n_samples, time) windows of one feature (see lstmkit.sklearn), so every check
# applies. What the checks cannot see — 3-D input, a time length that changes between fit
# and predict, n_features — is tested below. (Skips, if any, are scikit-learn's own: no
# pandas / SCIPY_ARRAY_API in this environment.)
EXPECTED_FAILED: dict = {}


@parametrize_with_checks(CHECKED, expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _sine_windows(n=160, T=12, seed=0):
    rng = np.random.default_rng(seed)
    t0 = rng.uniform(0, 2 * np.pi, n)
    steps = t0[:, None] + 0.4 * np.arange(T + 1)[None, :]
    s = 3.0 * np.sin(steps) + 10.0 + 0.05 * rng.standard_normal(steps.shape)
    return s[:, :T], s[:, T]  # windows (n, T), next value (n,)


def test_pipeline_on_univariate_windows_learns():
    X, y = _sine_windows()
    pipe = make_pipeline(StandardScaler(), LSTMRegressor(units=8, epochs=30, random_state=0))
    pipe.fit(X[:120], y[:120])
    r2 = pipe.score(X[120:], y[120:])
    print(f"\nPipeline(StandardScaler, LSTMRegressor) held-out R² = {r2:.4f}")
    assert r2 > 0.9, r2


def test_grid_search_picks_and_refits():
    X, y = _sine_windows(n=80, T=8)
    gs = GridSearchCV(
        LSTMRegressor(epochs=10, random_state=0), {"units": [2, 8], "cell": ["lstm", "gru"]}, cv=2
    )
    gs.fit(X, y)
    assert gs.best_params_["units"] in (2, 8) and gs.best_params_["cell"] in ("lstm", "gru")
    assert np.isfinite(gs.best_score_)
    assert gs.best_estimator_.get_params()["units"] == gs.best_params_["units"]
    assert gs.predict(X).shape == (80,)


def test_3d_sequences_and_variable_time_length():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((120, 10, 2))
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)  # sign of a sum over time
    clf = LSTMClassifier(units=8, epochs=30, random_state=0, bidirectional=True).fit(X, y)
    acc = clf.score(X, y)
    assert acc > 0.9, acc
    assert clf.n_features_in_ == 2
    longer = rng.standard_normal((7, 25, 2))  # another time length is fine
    assert clf.predict(longer).shape == (7,)
    assert clf.predict_proba(longer).sum(axis=1) == pytest.approx(np.ones(7))
    with pytest.raises(ValueError, match=r"fitted on \(n, time, 2\) sequences"):
        clf.predict(rng.standard_normal((3, 10, 3)))
    with pytest.raises(ValueError, match="fitted on 3-D sequences"):
        clf.predict(rng.standard_normal((3, 20)))


def test_2d_input_with_n_features_is_reshaped():
    rng = np.random.default_rng(2)
    X3 = rng.standard_normal((40, 5, 3))
    y = X3[:, -1, 1]
    a = LSTMRegressor(units=4, epochs=3, n_features=3, random_state=0).fit(X3.reshape(40, 15), y)
    b = LSTMRegressor(units=4, epochs=3, random_state=0).fit(X3, y)
    np.testing.assert_allclose(a.predict(X3.reshape(40, 15)), b.predict(X3), atol=1e-12)
    with pytest.raises(ValueError, match="not a multiple of n_features=4"):
        LSTMRegressor(n_features=4).fit(X3.reshape(40, 15), y)
    with pytest.raises(ValueError, match="cell must be one of"):
        LSTMRegressor(cell="transformer").fit(X3, y)
