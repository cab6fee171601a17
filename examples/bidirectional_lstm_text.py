"""Keras' "Bidirectional LSTM on IMDB" example, run by lstmkit: only the imports changed.

keras.io/examples/nlp/bidirectional_lstm_imdb (fchollet) classifies movie reviews with::

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(max_features, 128)(inputs)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(64))(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    ...
    x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=2, validation_data=(x_val, y_val))

Here the same program on a bundled text set (nothing is downloaded): sentences from two
Jane Austen novels, *Persuasion* (0) and *Sense and Sensibility* (1), as word ids by
frequency — the form ``keras.datasets.imdb.load_data(num_words=…)`` returns, id 0 for
padding, 1 for out-of-vocabulary. Between the marks: the example's program.

    python examples/bidirectional_lstm_text.py      # 2 epochs at the example's sizes (minutes)
"""

import sys
from collections import Counter

import numpy as np

# isort: off
# --- imports: the only lines that differ from the Keras program --------------------------
import lstmkit as keras  # Keras: import keras
from lstmkit import layers  # Keras: from keras import layers

# -------------------------------------------------------------------------------------------
# isort: on
from lstmkit.data import datasets  # the bundled data (both programs read it the same way)
from lstmkit.data.csv import read_table
from lstmkit.data.text import words


def load_data(num_words, seed=0):
    """(x_train, y_train), (x_val, y_val): lists of word ids, labels 0/1 (IMDB's form)."""
    t = read_table(datasets.get("austen").path)
    novel, text = t.strings("novel"), t.strings("text")
    keep = [k for k, n in enumerate(novel) if n in ("Persuasion", "Sense and Sensibility")]
    texts = [words(text[k].lower()) for k in keep]
    labels = np.array([novel[k] == "Sense and Sensibility" for k in keep], "float32")
    order = np.random.default_rng(seed).permutation(len(texts))
    texts, labels = [texts[k] for k in order], labels[order]
    cut = int(0.8 * len(texts))
    counts = Counter(w for s in texts[:cut] for w in s)
    index = {w: k + 2 for k, (w, _) in enumerate(counts.most_common(num_words - 2))}
    ids = [[index.get(w, 1) for w in s] for s in texts]
    return (ids[:cut], labels[:cut]), (ids[cut:], labels[cut:])


def main(max_features=20000, maxlen=200, embed=128, units=64, epochs=2, verbose=1):
    # --- the example's program --------------------------------------------------------------
    # Input for variable-length sequences of integers
    inputs = keras.Input(shape=(None,), dtype="int32")
    # Embed each integer in a 128-dimensional vector
    x = layers.Embedding(max_features, embed)(inputs)
    # Add 2 bidirectional LSTMs
    x = layers.Bidirectional(layers.LSTM(units, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(units))(x)
    # Add a classifier
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.summary()

    (x_train, y_train), (x_val, y_val) = load_data(num_words=max_features)
    print(len(x_train), "Training sequences")
    print(len(x_val), "Validation sequences")
    # Use pad_sequence to standardize sequence length:
    # this will truncate sequences longer than 200 words and zero-pad sequences shorter
    # than 200 words.
    x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
    x_val = keras.utils.pad_sequences(x_val, maxlen=maxlen)

    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(
        x_train,
        y_train,
        batch_size=32,
        epochs=epochs,
        validation_data=(x_val, y_val),
        verbose=verbose,
    )
    # ------------------------------------------------------------------------------------------
    print(f"validation accuracy: {history.history['val_accuracy'][-1]:.3f} (chance 0.5)")
    return history.history


if __name__ == "__main__":
    main(epochs=int(sys.argv[1]) if len(sys.argv) > 1 else 2)
