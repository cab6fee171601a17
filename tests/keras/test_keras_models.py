"""Conformance, models: Sequential and the functional API as Keras' guides write them.

Sources: "The Sequential model" and "The Functional API" guides, "Working with RNNs"
(encoder–decoder with initial_state, multi-input), the lstm_seq2seq example, and
keras/src/models/{sequential,functional}_test.py.
"""

import numpy as np
import pytest
from tests.keras.harness import copy_weights, data, keras, model_case, np_, same

import lstmkit

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def test_sequential_input_shape_argument():
    """LSTM(50, input_shape=(T, D)) as the first layer: the tutorials' first line."""
    model_case(
        lambda lib: lib.Sequential(
            [lib.layers.LSTM(5, activation="relu", input_shape=(6, 3)), lib.layers.Dense(1)]
        ),
        data(4, 6, 3),
    )


def test_sequential_with_input():
    """Keras 3's form: keras.Input(shape=…) first; the model is built at once."""

    def make(lib):
        return lib.Sequential(
            [lib.Input(shape=(6, 3)), lib.layers.GRU(4, return_sequences=True),
             lib.layers.GRU(2)]
        )  # fmt: skip

    k, ours = model_case(make, data(4, 6, 3))
    assert ours.built and ours.count_params() == k.count_params()


def test_stacked_bidirectional_with_embedding_mask():
    """Masking and padding guide: Embedding(mask_zero=True) → Bidirectional(LSTM) → Dense."""
    ids = np.array([[3, 5, 2, 0, 0], [1, 4, 4, 6, 2], [7, 0, 0, 0, 0]])

    def make(lib):
        return lib.Sequential(
            [lib.Input((5,), dtype="int32"), lib.layers.Embedding(8, 4, mask_zero=True),
             lib.layers.Bidirectional(lib.layers.LSTM(3, return_sequences=True)),
             lib.layers.LSTM(2), lib.layers.Dense(1, activation="sigmoid")]
        )  # fmt: skip

    model_case(make, ids)


def test_masking_layer_in_sequential():
    x = data(3, 5, 2)
    x[0, 3:] = 0.0
    x[2, 1:] = 0.0

    def make(lib):
        return lib.Sequential(
            [lib.Input((5, 2)), lib.layers.Masking(), lib.layers.LSTM(3, return_sequences=True),
             lib.layers.TimeDistributed(lib.layers.Dense(2))]
        )  # fmt: skip

    model_case(make, x)


def test_conv_pool_lstm():
    """A CNN-LSTM forecaster: Conv1D → MaxPooling1D → LSTM → Dense."""

    def make(lib):
        return lib.Sequential(
            [lib.Input((12, 2)), lib.layers.Conv1D(4, 3, activation="relu"),
             lib.layers.MaxPooling1D(2), lib.layers.LSTM(3), lib.layers.Dense(1)]
        )  # fmt: skip

    model_case(make, data(3, 12, 2))


def test_repeat_vector_autoencoder():
    """LSTM autoencoder: LSTM → RepeatVector(T) → LSTM(return_sequences) → TimeDistributed."""

    def make(lib):
        return lib.Sequential(
            [lib.Input((5, 2)), lib.layers.LSTM(4), lib.layers.RepeatVector(5),
             lib.layers.LSTM(4, return_sequences=True),
             lib.layers.TimeDistributed(lib.layers.Dense(2))]
        )  # fmt: skip

    model_case(make, data(3, 5, 2))


def test_layer_norm_and_pooling_head():
    def make(lib):
        return lib.Sequential(
            [lib.Input((6, 3)), lib.layers.LSTM(4, return_sequences=True),
             lib.layers.LayerNormalization(), lib.layers.GlobalAveragePooling1D(),
             lib.layers.Dense(2, activation="softmax")]
        )  # fmt: skip

    model_case(make, data(3, 6, 3))


def _seq2seq(lib, n_in=5, n_out=6, latent=4):
    """The lstm_seq2seq example's training model."""
    encoder_inputs = lib.Input(shape=(None, n_in))
    encoder = lib.layers.LSTM(latent, return_state=True)
    encoder_outputs, state_h, state_c = encoder(encoder_inputs)
    encoder_states = [state_h, state_c]
    decoder_inputs = lib.Input(shape=(None, n_out))
    decoder_lstm = lib.layers.LSTM(latent, return_sequences=True, return_state=True)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=encoder_states)
    decoder_dense = lib.layers.Dense(n_out, activation="softmax")
    decoder_outputs = decoder_dense(decoder_outputs)
    return lib.Model([encoder_inputs, decoder_inputs], decoder_outputs)


def test_seq2seq_encoder_decoder():
    model_case(_seq2seq, [data(3, 7, 5), data(3, 4, 6, seed=1)])


def test_multi_input_concatenate():
    """Functional API guide: two inputs, Concatenate, one output."""

    def make(lib):
        a, b = lib.Input((5, 3)), lib.Input((4,))
        h = lib.layers.LSTM(3)(a)
        z = lib.layers.Concatenate()([h, lib.layers.Dense(2, activation="tanh")(b)])
        return lib.Model([a, b], lib.layers.Dense(1)(z))

    model_case(make, [data(3, 5, 3), data(3, 4, seed=1)])


def test_multi_output_model():
    def make(lib):
        x = lib.Input((5, 3))
        h = lib.layers.GRU(4, return_sequences=True)(x)
        seq = lib.layers.TimeDistributed(lib.layers.Dense(2), name="seq")(h)
        last = lib.layers.Dense(1, name="last")(lib.layers.GlobalMaxPooling1D()(h))
        return lib.Model(x, [seq, last])

    model_case(make, data(3, 5, 3))


def test_bidirectional_merge_none_functional():
    def make(lib):
        x = lib.Input((5, 3))
        f, b = lib.layers.Bidirectional(lib.layers.LSTM(3), merge_mode=None)(x)
        return lib.Model(x, lib.layers.Add()([f, b]))

    model_case(make, data(3, 5, 3))


def test_residual_stack():
    """Skip connections: Add of an LSTM block's input and output."""

    def make(lib):
        x = lib.Input((6, 4))
        h = lib.layers.LSTM(4, return_sequences=True)(x)
        h = lib.layers.Add()([x, h])
        return lib.Model(x, lib.layers.LSTM(2)(lib.layers.LayerNormalization()(h)))

    model_case(make, data(3, 6, 4))


def test_inference_models_share_trained_layers():
    """lstm_seq2seq's inference: an encoder model and a step decoder model from the same
    layers; feeding states step by step equals the teacher-forced decoder."""
    xe, xd = data(2, 7, 5), data(2, 3, 6, seed=1)
    built = {}
    for name, lib in (("keras", keras), ("lstmkit", lstmkit)):
        enc_in = lib.Input((None, 5))
        _, h, c = (enc := lib.layers.LSTM(4, return_state=True))(enc_in)
        dec_in = lib.Input((None, 6))
        dec = lib.layers.LSTM(4, return_sequences=True, return_state=True)
        dense = lib.layers.Dense(6, activation="softmax")
        out, _, _ = dec(dec_in, initial_state=[h, c])
        train = lib.Model([enc_in, dec_in], dense(out))
        encoder_model = lib.Model(enc_in, [h, c])
        sh, sc = lib.Input((4,)), lib.Input((4,))
        o, h2, c2 = dec(dec_in, initial_state=[sh, sc])
        decoder_model = lib.Model([dec_in, sh, sc], [dense(o), h2, c2])
        built[name] = (train, encoder_model, decoder_model, enc)
    copy_weights(built["keras"][0].layers, built["lstmkit"][0].layers)
    for (k_train, k_enc, k_dec, _), (o_train, o_enc, o_dec, _) in [
        (built["keras"], built["lstmkit"])
    ]:
        same(o_train.predict([xe, xd]), np_(k_train.predict([xe, xd], verbose=0)))
        states = o_enc.predict(xe)
        same(states, np_(k_enc.predict(xe, verbose=0)))
        step = o_dec.predict([xd[:, :1], *states])
        same(step, np_(k_dec.predict([xd[:, :1], *states], verbose=0)))


def test_summary_counts_and_shapes_functional():
    k, ours = _seq2seq(keras), _seq2seq(lstmkit)
    assert ours.count_params() == k.count_params()
    assert [type(a).__name__ for a in ours.layers] == [type(a).__name__ for a in k.layers]
    lines = []
    ours.summary(print_fn=lines.append)
    assert f"Total params: {k.count_params():,}" in "\n".join(lines)


def test_predict_on_batch_and_call():
    def make(lib):
        return lib.Sequential([lib.Input((4, 2)), lib.layers.SimpleRNN(3), lib.layers.Dense(2)])

    k, ours = model_case(make, data(5, 4, 2))
    x = data(3, 4, 2, seed=3)
    same(ours.predict_on_batch(x), np_(k.predict_on_batch(x)))
    same(ours(x), np_(k(x)))


def test_functional_save_load_roundtrip_keeps_keras_numbers(tmp_path):
    k, ours = model_case(_seq2seq, [data(3, 7, 5), data(3, 4, 6, seed=1)])
    ours.save(tmp_path / "s2s.safetensors")
    back = lstmkit.load_model(tmp_path / "s2s.safetensors")
    x = [data(2, 5, 5, seed=4), data(2, 3, 6, seed=5)]
    same(back.predict(x), np_(k.predict(x, verbose=0)))


def test_save_weights_load_weights(tmp_path):
    k, ours = model_case(
        lambda lib: lib.Sequential([lib.Input((4, 3)), lib.layers.LSTM(3), lib.layers.Dense(1)]),
        data(3, 4, 3),
    )
    ours.save_weights(tmp_path / "m.weights.safetensors")
    fresh = lstmkit.Sequential(
        [lstmkit.Input((4, 3)), lstmkit.layers.LSTM(3), lstmkit.layers.Dense(1)]
    )
    fresh.load_weights(tmp_path / "m.weights.safetensors")
    same(fresh.predict(data(2, 4, 3, seed=7)), np_(k.predict(data(2, 4, 3, seed=7), verbose=0)))


@pytest.mark.parametrize("causal", [False, True])
def test_attention_encoder_decoder(causal):
    """The Attention layer's docs: [query, value] from two recurrent encoders, attention,
    Concatenate, a Dense head (Luong-style encoder–decoder)."""

    def make(lib):
        src, tgt = lib.Input((6, 3)), lib.Input((4, 2))
        enc = lib.layers.LSTM(4, return_sequences=True)(src)
        dec = lib.layers.GRU(4, return_sequences=True)(tgt)
        ctx = lib.layers.Attention(use_scale=True)([dec, enc], use_causal_mask=causal)
        out = lib.layers.Dense(3, activation="softmax")(lib.layers.Concatenate()([dec, ctx]))
        return lib.Model([src, tgt], out)

    model_case(make, [data(3, 6, 3), data(3, 4, 2, seed=1)])
