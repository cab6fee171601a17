"""The seed tutorial's Keras program, run by lstmkit: only the imports changed.

The tutorial (shared/seeds/004…, "5.1 使用TensorFlow构建LSTM模型") writes::

    import tensorflow as tf
    model = tf.keras.Sequential([
        tf.keras.layers.LSTM(128, return_sequences=True),
        tf.keras.layers.LSTM(64),
        tf.keras.layers.Dense(10, activation='softmax')
    ])
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
    model.fit(x_train, y_train, epochs=10)

Its x_train / y_train are left to the reader; here they are scikit-learn's
8×8 digits read as 8 time steps × 8 features (see lstmkit.demo.digits_sequences),
with a held-out, stratified 10 % test split (179 digits).
Needs scikit-learn: pip install 'lstmkit[examples]'.

    python examples/seed_keras_example.py            # 10 epochs, prints test accuracy
"""

import sys

from lstmkit.demo import digits_sequences  # the data (both programs read it the same way)

# isort: off
# --- imports: the only lines that differ from the Keras program --------------------------
import lstmkit as keras  # Keras: import keras

# -------------------------------------------------------------------------------------------
# isort: on


def main(epochs=10, verbose=1):
    (x_train, y_train), (x_test, y_test) = digits_sequences()

    # --- the seed's program (tf.keras → keras) ---------------------------------
    model = keras.Sequential(
        [
            keras.layers.LSTM(128, return_sequences=True),
            keras.layers.LSTM(64),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, verbose=verbose)
    # ---------------------------------------------------------------------------

    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy: {accuracy:.4f} ({len(x_test)} held-out digits)")
    return accuracy


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
