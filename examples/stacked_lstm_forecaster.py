"""The stacked-LSTM forecaster of the Keras tutorials, run by lstmkit: only the imports changed.

Jason Brownlee's "How to Develop LSTM Models for Time Series Forecasting" (the "Stacked
LSTM" section, Keras) writes, for a univariate series split into windows of n_steps::

    model = Sequential()
    model.add(LSTM(50, activation='relu', return_sequences=True, input_shape=(n_steps, n_features)))
    model.add(LSTM(50, activation='relu'))
    model.add(Dense(1))
    model.compile(optimizer='adam', loss='mse')
    model.fit(X, y, epochs=200, verbose=0)

Below, that program as written, on a real series: the bundled Mauna Loa CO₂ record
(monthly, 1958–2001), standardised, differenced once (the trend removed), the last two
years held out. The program's lines between the marks are the tutorial's; the import
block is the only part that differs from Keras (each line says what Keras has).

    python examples/stacked_lstm_forecaster.py         # 200 epochs (~1 min); prints the RMSE
"""

import sys

import numpy as np

from lstmkit.data import datasets  # the bundled data (both programs read it the same way)

# isort: off
# --- imports: the only lines that differ from the Keras program --------------------------
from lstmkit.models import Sequential  # Keras: from keras.models import Sequential
from lstmkit.layers import LSTM, Dense  # Keras: from keras.layers import LSTM, Dense

# -------------------------------------------------------------------------------------------
# isort: on


# split a univariate sequence into samples (the tutorial's function)
def split_sequence(sequence, n_steps):
    X, y = list(), list()
    for i in range(len(sequence)):
        end_ix = i + n_steps
        if end_ix > len(sequence) - 1:
            break
        seq_x, seq_y = sequence[i:end_ix], sequence[end_ix]
        X.append(seq_x)
        y.append(seq_y)
    return np.array(X), np.array(y)


def co2_changes():
    """Monthly CO₂ (ppmv) → month-on-month changes, standardised on the training part."""
    ppmv = np.loadtxt(datasets.get("co2").path, delimiter=",", skiprows=1, usecols=1)
    d = np.diff(ppmv)
    mean, std = d[:-24].mean(), d[:-24].std()
    return ((d - mean) / std).astype("float32"), std


def main(epochs=200, n_steps=12, units=50, verbose=0):
    raw_seq, scale = co2_changes()
    X, y = split_sequence(raw_seq, n_steps)
    n_features = 1
    X = X.reshape((X.shape[0], X.shape[1], n_features))
    X_test, y_test = X[-24:], y[-24:]
    X, y = X[:-24], y[:-24]

    # --- the tutorial's program ---------------------------------------------------------
    model = Sequential()
    model.add(
        LSTM(units, activation="relu", return_sequences=True, input_shape=(n_steps, n_features))
    )
    model.add(LSTM(units, activation="relu"))
    model.add(Dense(1))
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, y, epochs=epochs, verbose=verbose)
    # --------------------------------------------------------------------------------------

    yhat = model.predict(X_test, verbose=0)[:, 0]
    rmse = float(np.sqrt(np.mean((yhat - y_test) ** 2)) * scale)
    naive = float(np.sqrt(np.mean((X_test[:, -1, 0] - y_test) ** 2)) * scale)
    print(f"next-month CO2 change, last 24 months: RMSE {rmse:.3f} ppmv (naive {naive:.3f})")
    return rmse, naive


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
