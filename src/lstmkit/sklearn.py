"""scikit-learn estimators around an lstmkit model: ``LSTMRegressor`` and ``LSTMClassifier``.

    from lstmkit.sklearn import LSTMRegressor
    reg = LSTMRegressor(units=16, epochs=30).fit(X, y)       # X (n, T, D) or (n, T·F)
    reg.predict(X_new)

Input: sequences X of shape (n_samples, time, features). A 2-D X — what every
scikit-learn transformer and ``Pipeline`` passes along — is read as
(n_samples, time · n_features) and reshaped to (n_samples, time, n_features), with
``n_features=1`` by default: each row is a window of a univariate series, one
feature per step. Its width must be a multiple of ``n_features`` and stay the
same at predict time (``n_features_in_`` is that width, as in scikit-learn). A 3-D
X may change its time length between fit and predict; its last axis may not.

The network: ``n_layers`` recurrent layers (``cell`` = "lstm", "gru" or "rnn", each
``units`` wide, ``bidirectional`` optional, all but the last returning sequences)
and a Dense head — linear for regression (targets standardised inside, so
learning rates need no tuning per scale), softmax for classification. Trained
with Adam on mean squared error / sparse categorical cross-entropy. With
``random_state`` an int, fit is deterministic.

scikit-learn is an optional extra: ``pip install lstmkit[sklearn]``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from .layers import GRU, LSTM, Bidirectional, Dense, Layer, SimpleRNN
from .model import Sequential
from .optim import Adam

__all__ = ["LSTMClassifier", "LSTMRegressor"]

_CELLS = ("lstm", "gru", "rnn")


class _LSTMBase(BaseEstimator):
    def __init__(
        self,
        units=16,
        n_layers=1,
        cell="lstm",
        bidirectional=False,
        n_features=1,
        dropout=0.0,
        epochs=50,
        batch_size=32,
        learning_rate=0.01,
        dtype="float64",
        random_state=None,
        verbose=0,
    ):
        self.units = units
        self.n_layers = n_layers
        self.cell = cell
        self.bidirectional = bidirectional
        self.n_features = n_features
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.non_deterministic = self.random_state is None
        return tags

    # ------------------------------------------------------------ input
    def _sequences(self, X, y=None, fit=False):
        """X → (n, T, D) array of self.dtype (and y checked, when given)."""
        dt = np.float64 if self.dtype == "float64" else np.float32
        if fit and y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        if isinstance(X, (list, tuple)):
            X = np.asarray(X)
        nd = X.ndim if isinstance(X, np.ndarray) else 2  # others: scikit-learn's checks
        if nd == 3:
            X = check_array(X, allow_nd=True, dtype=[np.float64, np.float32], input_name="X")
            if fit:
                self._input_ndim, self.n_features_in_ = 3, X.shape[2]
            elif self._input_ndim != 3 or X.shape[2] != self.n_features_in_:
                raise ValueError(
                    f"{type(self).__name__} was fitted on "
                    f"{f'(n, time, {self.n_features_in_})' if self._input_ndim == 3 else '2-D'} "
                    f"sequences, got shape {X.shape}"
                )
            X3 = X
        else:
            if not fit and self._input_ndim != 2:
                raise ValueError(
                    f"{type(self).__name__} was fitted on 3-D sequences "
                    f"(n, time, {self.n_features_in_}); got a {nd}-D input"
                )
            X = validate_data(self, X, reset=fit, dtype=[np.float64, np.float32])
            F = int(self.n_features)
            if F < 1 or X.shape[1] % F:
                raise ValueError(
                    f"{type(self).__name__}: a 2-D X is read as (n_samples, time · "
                    f"n_features); its width {X.shape[1]} is not a multiple of "
                    f"n_features={self.n_features}"
                )
            if fit:
                self._input_ndim = 2
            X3 = X.reshape(X.shape[0], X.shape[1] // F, F)
        if y is not None:
            check_consistent_length(X3, y)
        return np.ascontiguousarray(X3, dtype=dt)

    # ------------------------------------------------------------ model
    def _check_params(self):
        if self.cell not in _CELLS:
            raise ValueError(f"cell must be one of {_CELLS}, got {self.cell!r}")
        for name in ("units", "n_layers", "epochs", "batch_size", "n_features"):
            v = getattr(self, name)
            if not (isinstance(v, (int, np.integer)) and v >= 1):
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")

    def _seed(self):
        rs = self.random_state
        if rs is None:
            return None
        if isinstance(rs, np.random.RandomState):
            return int(rs.randint(2**31 - 1))
        return int(rs)

    def _build_and_fit(self, X3, y, n_out, activation, loss):

        cls = {"lstm": LSTM, "gru": GRU, "rnn": SimpleRNN}[self.cell]
        layers: list[Layer] = []
        for k in range(self.n_layers):
            cell = cls(
                int(self.units),
                return_sequences=k < self.n_layers - 1,
                dropout=float(self.dropout),
                dtype=self.dtype,
            )
            layers.append(Bidirectional(cell) if self.bidirectional else cell)
        layers.append(Dense(n_out, activation=activation, dtype=self.dtype))
        seed = self._seed()
        model = Sequential(layers, seed=seed)
        model.compile(optimizer=Adam(learning_rate=float(self.learning_rate)), loss=loss)
        self.history_ = model.fit(
            X3,
            y,
            batch_size=int(self.batch_size),
            epochs=int(self.epochs),
            verbose=self.verbose,
            seed=seed,
        ).history
        self.model_ = model
        return self


class LSTMRegressor(RegressorMixin, _LSTMBase):
    """Sequence → value(s) regression with an LSTM (or GRU / RNN) and a linear Dense head.
    y: (n,) or (n, n_outputs). See the module docstring for the input shapes."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y):
        self._check_params()
        X3 = self._sequences(X, y, fit=True)
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        self._y_1d = y.ndim == 1
        Y = y.reshape(len(y), -1)  # (n, n_outputs)
        self._y_mean, self._y_std = Y.mean(axis=0), Y.std(axis=0)
        self._y_std[self._y_std == 0] = 1.0
        Yz = ((Y - self._y_mean) / self._y_std).astype(X3.dtype)
        return self._build_and_fit(X3, Yz, Y.shape[1], None, "mse")

    def predict(self, X):
        check_is_fitted(self, "model_")
        X3 = self._sequences(X)
        Y = self.model_.predict(X3, batch_size=256).astype(np.float64) * self._y_std + self._y_mean
        return Y.ravel() if self._y_1d else Y


class LSTMClassifier(ClassifierMixin, _LSTMBase):
    """Sequence classification with an LSTM (or GRU / RNN) and a softmax head.
    y: (n,) labels of any type (``classes_`` keeps them). See the module docstring."""

    def fit(self, X, y):
        self._check_params()
        X3 = self._sequences(X, y, fit=True)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        enc = LabelEncoder().fit(y)
        if len(enc.classes_) < 2:
            raise ValueError(
                f"LSTMClassifier needs samples of at least 2 classes in y; got 1 "
                f"class: {enc.classes_[0]!r}"
            )
        self.classes_ = enc.classes_
        ids = enc.transform(y)
        return self._build_and_fit(
            X3, ids, len(self.classes_), "softmax", "sparse_categorical_crossentropy"
        )

    def predict_proba(self, X):
        check_is_fitted(self, "model_")
        return self.model_.predict(self._sequences(X), batch_size=256).astype(np.float64)

    def predict(self, X):
        check_is_fitted(self, "model_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
