"""Conformance, layers: Keras 3's own layer tests and docstrings, run in Keras and in lstmkit.

Sources: keras/src/layers/rnn/{lstm,gru,simple_rnn,bidirectional,time_distributed}_test.py,
layers/core/{dense,embedding,masking}_test.py, layers/convolutional/conv_test.py,
layers/pooling/*_test.py, layers/merging/merging_test.py,
layers/normalization/layer_normalization_test.py, layers/reshaping/repeat_vector_test.py,
and the "Working with RNNs" and "Masking and padding" guides.
"""

import numpy as np
import pytest
from tests.keras.harness import data, keras, layer_case, model_case, np_, same

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

SEQ = np.arange(72).reshape((3, 6, 4)).astype("float32")  # lstm_test.py::test_correctness


def _const(lib, **kw):
    I = lib.initializers  # noqa: E741
    return dict(
        kernel_initializer=I.Constant(0.01),
        recurrent_initializer=I.Constant(0.02),
        bias_initializer=I.Constant(0.03),
        **kw,
    )


# ------------------------------------------- recurrent layers: Keras' test_correctness
# constant initialisers, no weight copying: lstmkit's initialisers and cells are under test
CORRECTNESS = {
    "lstm": ("LSTM", {}),
    "lstm_go_backwards": ("LSTM", {"go_backwards": True}),
    "lstm_unroll": ("LSTM", {"unroll": True}),
    "lstm_no_unit_forget_bias": ("LSTM", {"unit_forget_bias": False}),
    "lstm_no_bias": ("LSTM", {"use_bias": False}),
    "lstm_implementation_1": ("LSTM", {"implementation": 1}),
    "gru": ("GRU", {}),
    "gru_reset_before": ("GRU", {"reset_after": False}),
    "gru_no_bias": ("GRU", {"use_bias": False}),
    "simple_rnn": ("SimpleRNN", {}),
    "simple_rnn_go_backwards": ("SimpleRNN", {"go_backwards": True}),
}


@pytest.mark.parametrize("case", sorted(CORRECTNESS))
def test_recurrent_correctness_constant_weights(case):
    cls, kw = CORRECTNESS[case]
    layer_case(lambda lib: getattr(lib.layers, cls)(3, **_const(lib, **kw)), SEQ / 72, copy=False)


# ------------------------------------------------- Keras' cell arguments (copied weights)
CELL_ARGS = {
    "lstm_relu": ("LSTM", {"activation": "relu"}),  # the forecasting tutorials' LSTM
    "lstm_hard_sigmoid": ("LSTM", {"recurrent_activation": "hard_sigmoid"}),
    "lstm_elu_tanh": ("LSTM", {"activation": "elu", "recurrent_activation": "tanh"}),
    "gru_relu_reset_before": ("GRU", {"activation": "relu", "reset_after": False}),
    "gru_softsign": ("GRU", {"activation": "softsign", "return_sequences": True}),
    "simple_rnn_relu": ("SimpleRNN", {"activation": "relu", "return_sequences": True}),
    "lstm_no_bias_relu": ("LSTM", {"activation": "relu", "use_bias": False}),
}


@pytest.mark.parametrize("case", sorted(CELL_ARGS))
def test_recurrent_cell_arguments(case):
    cls, kw = CELL_ARGS[case]
    layer_case(lambda lib: getattr(lib.layers, cls)(4, **kw), data(3, 6, 5, scale=0.7))


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "SimpleRNN"])
def test_return_state_outputs(cls):
    """lstm_test.py::test_pass_initial_state / Working with RNNs: return_state=True."""
    layer_case(
        lambda lib: getattr(lib.layers, cls)(3, return_sequences=True, return_state=True),
        data(2, 5, 4),
    )


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_initial_state(cls):
    """lstm_test.py::test_pass_initial_state: initial_state= given as arrays."""
    n = 2 if cls == "LSTM" else 1
    states = [data(2, 3, seed=k + 1) for k in range(n)]
    layer_case(lambda lib: getattr(lib.layers, cls)(3), data(2, 5, 4), initial_state=states)


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "SimpleRNN"])
def test_masked_sequences(cls):
    """lstm_test.py::test_masking: a (batch, time) mask; masked steps repeat the last output."""
    mask = np.array([[True, True, False, True, False], [True, True, True, False, False]])
    layer_case(
        lambda lib: getattr(lib.layers, cls)(3, return_sequences=True), data(2, 5, 4), mask=mask
    )


# ------------------------------------------------------------------------ shapes
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"return_sequences": True},
        {"return_state": True},
        {"return_sequences": True, "return_state": True},
    ],
    ids=["last", "sequences", "state", "sequences_state"],
)
@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_compute_output_shape_with_batch_axis(cls, kw):
    """Keras' shapes include the batch axis: (None, 5, 4) → (None, 5, 3) with sequences."""
    k, ours = (getattr(lib.layers, cls)(3, **kw) for lib in (keras, __import__("lstmkit")))
    want = k.compute_output_shape((None, 5, 4))
    got = ours.compute_output_shape((None, 5, 4))
    assert _shapes(got) == _shapes(want)


def _shapes(s):
    return (
        [tuple(x) for x in s]
        if isinstance(s, (list, tuple)) and s and isinstance(s[0], (list, tuple))
        else tuple(s)
    )


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_output_shape(merge_mode):
    """bidirectional_test.py::test_output_shape: every merge mode, with return_state."""
    import lstmkit

    for kw in ({}, {"return_sequences": True, "return_state": True}):
        k = keras.layers.Bidirectional(keras.layers.LSTM(3, **kw), merge_mode=merge_mode)
        ours = lstmkit.layers.Bidirectional(lstmkit.layers.LSTM(3, **kw), merge_mode=merge_mode)
        assert _shapes(ours.compute_output_shape((None, 5, 4))) == _shapes(
            k.compute_output_shape((None, 5, 4))
        )


def test_build_with_batch_axis_and_trainable_weights():
    """layer.build((None, T, D)) as Keras, and Keras' weight lists (lstm_test.py::test_basics)."""
    import lstmkit

    for cls in ("LSTM", "GRU", "SimpleRNN"):
        k, ours = keras.layers.__dict__[cls](3), getattr(lstmkit.layers, cls)(3)
        k.build((None, 2, 4))
        ours.build((None, 2, 4))
        assert [tuple(w.shape) for w in ours.trainable_weights] == [
            tuple(w.shape) for w in k.trainable_weights
        ]
        assert len(ours.non_trainable_weights) == len(k.non_trainable_weights) == 0


# ------------------------------------------------------------------ Bidirectional
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_merge_modes(merge_mode):
    layer_case(
        lambda lib: lib.layers.Bidirectional(
            lib.layers.LSTM(3, return_sequences=True), merge_mode=merge_mode
        ),
        data(2, 5, 4),
    )


def test_bidirectional_masked_sequence_output_is_zero():
    """Keras sets zero_output_for_mask in Bidirectional: masked steps of the sequence are 0."""
    mask = np.array([[True, True, True, False, False], [True, True, True, True, True]])
    layer_case(
        lambda lib: lib.layers.Bidirectional(lib.layers.GRU(3, return_sequences=True)),
        data(2, 5, 4),
        mask=mask,
    )


def test_bidirectional_backward_layer():
    """bidirectional_test.py::test_custom_backward_layer: backward_layer= a layer of its own."""
    layer_case(
        lambda lib: lib.layers.Bidirectional(
            lib.layers.LSTM(3, return_sequences=True),
            backward_layer=lib.layers.GRU(3, return_sequences=True, go_backwards=True),
        ),
        data(2, 5, 4),
    )


def test_bidirectional_return_state():
    layer_case(
        lambda lib: lib.layers.Bidirectional(lib.layers.LSTM(3, return_state=True)),
        data(2, 5, 4),
    )


# ----------------------------------------------------------------- Dense, Embedding
ACTIVATIONS = [
    "elu", "gelu", "selu", "softplus", "softsign", "swish", "silu", "hard_sigmoid",
    "hard_silu", "mish", "leaky_relu", "relu6", "log_softmax", "exponential", "tanh",
    "celu", "log_sigmoid", "hard_tanh", "tanh_shrink", "squareplus",
]  # fmt: skip


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_dense_activations(act):
    """dense_test.py with Keras' activation names (keras.activations)."""
    layer_case(lambda lib: lib.layers.Dense(3, activation=act), data(4, 5, scale=2.0))


def test_dense_without_bias_on_sequences():
    layer_case(lambda lib: lib.layers.Dense(3, use_bias=False), data(2, 4, 5))


def test_embedding_compute_mask_argument_order():
    """embedding_test.py::test_masking: compute_mask(inputs, mask) in Keras' order."""
    import lstmkit

    ids = np.array([[1, 2, 0, 0], [3, 0, 4, 0]])
    k = keras.layers.Embedding(5, 2, mask_zero=True)
    ours = lstmkit.layers.Embedding(5, 2, mask_zero=True)
    same(ours.compute_mask(ids), np_(k.compute_mask(ids)))
    same(ours.compute_mask(ids, None), np_(k.compute_mask(ids, None)))


def test_masking_layer():
    """masking_test.py: masked steps are zeroed and the mask is any(x != mask_value)."""
    import lstmkit

    x = data(2, 4, 3)
    x[0, 1] = 0.0
    x[1, 2:] = 0.0
    layer_case(lambda lib: lib.layers.Masking(mask_value=0.0), x)
    k, ours = keras.layers.Masking(), lstmkit.layers.Masking()
    same(ours.compute_mask(x), np_(k.compute_mask(x)))


def test_time_distributed_dense():
    """time_distributed_test.py::test_correctness: TimeDistributed(Dense)."""
    layer_case(lambda lib: lib.layers.TimeDistributed(lib.layers.Dense(3)), data(2, 5, 4))


# ----------------------------------------------------------------------- Conv, pooling
CONV = {
    "valid": {"kernel_size": 3},
    "same": {"kernel_size": 3, "padding": "same"},
    "causal_dilated": {"kernel_size": 2, "padding": "causal", "dilation_rate": 2},
    "strided_same": {"kernel_size": 3, "strides": 2, "padding": "same"},
    "groups_relu": {"kernel_size": 2, "groups": 2, "activation": "relu"},
}


@pytest.mark.parametrize("case", sorted(CONV))
def test_conv1d(case):
    """conv_test.py::test_conv1d (padding, strides, dilation, groups)."""
    layer_case(lambda lib: lib.layers.Conv1D(4, **CONV[case]), data(2, 7, 4))


POOL = {
    "max_valid": ("MaxPooling1D", {"pool_size": 2}),
    "max_same_strides": ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}),
    "avg_valid": ("AveragePooling1D", {"pool_size": 2, "strides": 1}),
    "avg_same": ("AveragePooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}),
    "global_avg": ("GlobalAveragePooling1D", {}),
    "global_avg_keepdims": ("GlobalAveragePooling1D", {"keepdims": True}),
    "global_max": ("GlobalMaxPooling1D", {}),
}


@pytest.mark.parametrize("case", sorted(POOL))
def test_pooling(case):
    cls, kw = POOL[case]
    layer_case(lambda lib: getattr(lib.layers, cls)(**kw), data(2, 7, 3))


def test_global_average_pooling_with_mask():
    """global_average_pooling_test.py::test_masking: the mean over unmasked steps only."""
    mask = np.array([[True, True, False, False, False], [True, True, True, True, True]])
    layer_case(lambda lib: lib.layers.GlobalAveragePooling1D(), data(2, 5, 3), mask=mask)


def _padded(seed=0):
    """(3, 6, 2) with trailing zero steps (what Masking masks), as in the masking guide."""
    x = data(3, 6, 2, seed=seed)
    x[0, 4:] = 0.0
    x[2, 2:] = 0.0
    return x


def _masked_model(lib, *middle, pool=None):
    """Input → Masking → middle → LSTM (→ pool) → Dense, functional."""
    inp = lib.Input(shape=(6, 2))
    h = lib.layers.Masking()(inp)
    for layer in middle:
        h = layer(h)
    h = lib.layers.LSTM(4, return_sequences=pool is not None)(h)
    if pool is not None:
        h = pool(h)
    return lib.Model(inp, lib.layers.Dense(2)(h))


def test_conv1d_drops_the_mask():
    """Keras' Conv1D does not support masking: the LSTM after it sees every step."""
    model_case(lambda lib: _masked_model(lib, lib.layers.Conv1D(3, 3, padding="same")), _padded())


def test_global_max_pooling_ignores_the_mask():
    """Keras 3's GlobalMaxPooling1D takes no mask: padded steps (0 after Masking → Dense
    with a zero bias) take part in the max, and win it where the real steps are < 0."""

    def make(lib):
        inp = lib.Input(shape=(6, 2))
        h = lib.layers.Dense(3, bias_initializer="zeros")(lib.layers.Masking()(inp))
        return lib.Model(inp, lib.layers.GlobalMaxPooling1D()(h))

    x = _padded(1)
    x[x != 0] -= 3.0  # real steps negative
    model_case(make, x)


def test_global_average_pooling_after_a_masked_lstm():
    """The masked mean over an LSTM's sequence (the mask flows Masking → LSTM → pooling)."""
    model_case(lambda lib: _masked_model(lib, pool=lib.layers.GlobalAveragePooling1D()), _padded(2))


def test_gaussian_noise_inference_and_mask():
    """gaussian_noise_test.py: identity at inference; the mask passes through it."""
    layer_case(lambda lib: lib.layers.GaussianNoise(0.3), data(2, 5, 3))
    model_case(lambda lib: _masked_model(lib, lib.layers.GaussianNoise(0.3)), _padded(3))


# ------------------------------------------------------------ RepeatVector, merging, norm
def test_repeat_vector():
    layer_case(lambda lib: lib.layers.RepeatVector(3), data(2, 4))


@pytest.mark.parametrize("cls", ["Concatenate", "Add", "Subtract", "Multiply", "Average"])
def test_merge_layers(cls):
    """merging_test.py: a list of tensors in, one out."""
    xs = [data(2, 3, 4, seed=1), data(2, 3, 4, seed=2)]
    layer_case(lambda lib: getattr(lib.layers, cls)(), xs)


def test_concatenate_time_axis_masks():
    """merging_test.py::test_concatenate_with_mask: Keras' rule for the masks."""
    import lstmkit

    xs = [data(2, 3, 4, seed=1), data(2, 3, 4, seed=2)]
    masks = [np.array([[1, 1, 0], [1, 0, 0]], bool), np.array([[1, 0, 0], [1, 1, 1]], bool)]
    for axis in (1, -1):
        k, ours = keras.layers.Concatenate(axis=axis), lstmkit.layers.Concatenate(axis=axis)
        same(ours(xs), np_(k(xs)))
        same(ours.compute_mask(xs, masks), np_(k.compute_mask(xs, masks)))


LAYERNORM = {
    "default": {},
    "no_center": {"center": False},
    "no_scale": {"scale": False, "epsilon": 1e-5},
    "axes_1_2": {"axis": [1, 2]},
    "rms_scaling": {"rms_scaling": True},
}


@pytest.mark.parametrize("case", sorted(LAYERNORM))
def test_layer_normalization(case):
    """layer_normalization_test.py (Keras' default ε = 1e-3), with random γ, β copied."""

    def make(lib):
        layer = lib.layers.LayerNormalization(**LAYERNORM[case])
        return layer

    k, ours = layer_case(make, data(2, 3, 4, scale=3.0))
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal(w.shape).astype("float32") for w in k.get_weights()]
    k.set_weights(ws)
    ours.set_weights(ws)
    x = data(2, 3, 4, seed=5)
    same(ours(x), np_(k(x)))


@pytest.mark.parametrize("sequences", [True, False])
def test_zero_output_for_mask(sequences):
    """rnn.py's zero_output_for_mask: masked steps output 0, the last output too if masked."""
    mask = np.array([[True, True, True, False], [True, True, True, True]])
    layer_case(
        lambda lib: lib.layers.LSTM(2, zero_output_for_mask=True, return_sequences=sequences),
        data(2, 4, 3),
        mask=mask,
    )
