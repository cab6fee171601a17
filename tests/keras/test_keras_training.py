"""Conformance, training: compile / fit / evaluate in Keras and in lstmkit from the same
weights; histories and trained weights agree to 1e-5 (float32).

Sources: keras/src/trainers/trainer_test.py (sample_weight, class_weight, metrics,
loss_weights), keras/src/optimizers/*_test.py (test_correctness of each optimizer),
optimizers/schedules/learning_rate_schedule_test.py, callbacks/learning_rate_scheduler_test.py,
regularizers_test.py, constraints_test.py, and the optimizers' documentation.
"""

import numpy as np
import pytest
from tests.keras.harness import data, keras, np_, same, train_case

import lstmkit

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

X = data(8, 5, 3)
Y = data(8, 1, seed=1)
Y2 = data(8, 2, seed=2)


def _lstm(lib, **kw):
    return lib.Sequential([lib.Input((5, 3)), lib.layers.LSTM(4, **kw), lib.layers.Dense(1)])


def _opt(name, **kw):
    return lambda lib: {"optimizer": getattr(lib.optimizers, name)(**kw), "loss": "mse"}


# ------------------------------------------------------------------------ optimizers
OPTIMIZERS = {
    "sgd": ("SGD", {"learning_rate": 0.1}),
    "sgd_momentum_nesterov": ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    "adam": ("Adam", {"learning_rate": 0.01}),
    "adam_amsgrad": ("Adam", {"learning_rate": 0.01, "amsgrad": True, "epsilon": 1e-3}),
    "adamw": ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1}),
    "rmsprop": ("RMSprop", {"learning_rate": 0.01}),
    "rmsprop_centered_momentum": (
        "RMSprop",
        {"learning_rate": 0.01, "centered": True, "momentum": 0.5},
    ),
    "adagrad": ("Adagrad", {"learning_rate": 0.1}),
    "adadelta": ("Adadelta", {"learning_rate": 1.0}),
    "adamax": ("Adamax", {"learning_rate": 0.02}),
    "nadam": ("Nadam", {"learning_rate": 0.01}),
    "sgd_weight_decay": ("SGD", {"learning_rate": 0.1, "weight_decay": 0.05}),
    "adam_clipnorm": ("Adam", {"learning_rate": 0.01, "clipnorm": 0.1}),
    "rmsprop_global_clipnorm": ("RMSprop", {"learning_rate": 0.01, "global_clipnorm": 0.05}),
    "sgd_clipvalue": ("SGD", {"learning_rate": 0.1, "clipvalue": 0.01}),
}


@pytest.mark.parametrize("case", sorted(OPTIMIZERS))
def test_optimizer_matches_keras(case):
    """lstmkit.optimizers.X (Keras' convention) trains as keras.optimizers.X."""
    name, kw = OPTIMIZERS[case]
    train_case(_lstm, _opt(name, **kw), X, Y, epochs=2)


def test_string_optimizer_keeps_torch_rules_but_convention_argument_gives_keras():
    """compile(optimizer="adam") keeps lstmkit's PyTorch rule (documented); the one argument
    convention="keras" gives Keras' numbers, and lstmkit.optim stays torch by default."""
    assert lstmkit.optim.Adam().convention == "torch"
    assert lstmkit.optimizers.Adam().convention == "keras"
    train_case(
        _lstm,
        lambda lib: {
            "optimizer": lib.optim.Adam(learning_rate=0.01, convention="keras")
            if lib is lstmkit
            else lib.optimizers.Adam(learning_rate=0.01),
            "loss": "mse",
        },
        X,
        Y,
    )


# ------------------------------------------------------------------------ schedules
SCHEDULES = {
    "exponential": ("ExponentialDecay", (0.1, 3, 0.5), {}),
    "exponential_staircase": ("ExponentialDecay", (0.1, 3, 0.5), {"staircase": True}),
    "inverse_time": ("InverseTimeDecay", (0.1, 2, 0.5), {}),
    "polynomial_cycle": ("PolynomialDecay", (0.1, 4), {"power": 2.0, "cycle": True}),
    "piecewise": ("PiecewiseConstantDecay", ([2, 5], [0.1, 0.05, 0.01]), {}),
    "cosine": ("CosineDecay", (0.1, 6), {"alpha": 0.1}),
    "cosine_warmup": ("CosineDecay", (0.0, 6), {"warmup_target": 0.1, "warmup_steps": 3}),
    "cosine_restarts": ("CosineDecayRestarts", (0.1, 3), {}),
}


@pytest.mark.parametrize("case", sorted(SCHEDULES))
def test_schedule_values(case):
    """learning_rate_schedule_test.py: the learning rate at steps 0..11."""
    name, args, kw = SCHEDULES[case]
    k = getattr(keras.optimizers.schedules, name)(*args, **kw)
    ours = getattr(lstmkit.optimizers.schedules, name)(*args, **kw)
    same([ours(s) for s in range(12)], [float(np_(k(s))) for s in range(12)])


def test_schedule_drives_sgd_momentum():
    """With a changing learning rate Keras' momentum (lr inside the buffer) differs from
    torch's; the Keras convention follows Keras."""
    train_case(
        _lstm,
        lambda lib: {
            "optimizer": lib.optimizers.SGD(
                learning_rate=lib.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5),
                momentum=0.9,
            ),
            "loss": "mse",
        },
        X,
        Y,
    )


def test_learning_rate_scheduler_callback():
    """learning_rate_scheduler_test.py: schedule(epoch, lr) sets the rate of each epoch."""

    def fit_kw(lib):
        def schedule(epoch, lr):
            return lr if epoch < 1 else lr * 0.5

        return {"callbacks": [lib.callbacks.LearningRateScheduler(schedule)]}

    *_, hk, hl = train_case(_lstm, _opt("SGD", learning_rate=0.1), X, Y, epochs=3, fit_kw=fit_kw)
    assert hl.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])


# ---------------------------------------------------------- sample / class weights, metrics
def test_sample_weight():
    """trainer_test.py::test_fit_with_sample_weight: Σ w·ℓ over the batch size."""
    sw = np.linspace(0.1, 2.0, 8).astype("float32")
    train_case(_lstm, _opt("SGD", learning_rate=0.1), X, Y, fit_kw={"sample_weight": sw})


def test_class_weight():
    """trainer_test.py::test_fit_with_class_weight (binary targets)."""
    y = (Y > 0).astype("float32")

    def comp(lib):
        return {"optimizer": lib.optimizers.SGD(0.1), "loss": "binary_crossentropy",
                "metrics": ["accuracy"]}  # fmt: skip

    def make(lib):
        return lib.Sequential(
            [lib.Input((5, 3)), lib.layers.LSTM(4), lib.layers.Dense(1, activation="sigmoid")]
        )

    train_case(make, comp, X, y, fit_kw={"class_weight": {0: 0.3, 1: 2.0}})


def test_metrics_mse_mae():
    train_case(
        _lstm,
        lambda lib: {
            "optimizer": lib.optimizers.SGD(0.1),
            "loss": "mse",
            "metrics": ["mse", "mae"],
        },  # fmt: skip
        X,
        Y,
    )


def test_softmax_categorical_crossentropy_accuracy():
    y = np.eye(3, dtype="float32")[np.arange(8) % 3]

    def make(lib):
        return lib.Sequential(
            [lib.Input((5, 3)), lib.layers.GRU(4), lib.layers.Dense(3, activation="softmax")]
        )

    train_case(
        make,
        lambda lib: {
            "optimizer": lib.optimizers.Adam(0.01),
            "loss": "categorical_crossentropy",
            "metrics": ["accuracy"],
        },  # fmt: skip
        X,
        y,
    )


def test_masked_sequence_training():
    """Embedding(mask_zero) → LSTM(return_sequences) → TimeDistributed: the mask weights the
    loss (padded steps do not count)."""
    ids = np.array([[3, 5, 2, 0], [1, 4, 4, 6], [7, 0, 0, 0], [2, 2, 1, 0]])
    y = data(4, 4, 1, seed=3)

    def make(lib):
        return lib.Sequential(
            [lib.Input((4,), dtype="int32"), lib.layers.Embedding(8, 3, mask_zero=True),
             lib.layers.LSTM(3, return_sequences=True),
             lib.layers.TimeDistributed(lib.layers.Dense(1))]
        )  # fmt: skip

    train_case(make, _opt("SGD", learning_rate=0.1), ids, y, batch_size=2)


def test_evaluate_with_sample_weight():
    k, ours, *_ = train_case(_lstm, _opt("SGD", learning_rate=0.1), X, Y, epochs=1)
    sw = np.linspace(0.2, 1.0, 8).astype("float32")  # Σ w ≠ n: Keras divides by n
    same(ours.evaluate(X, Y, sample_weight=sw), k.evaluate(X, Y, sample_weight=sw, verbose=0))


def test_train_on_batch_and_test_on_batch():
    k, ours = _lstm(keras), _lstm(lstmkit)
    ours.set_weights([np_(w) for w in k.get_weights()])
    for m, lib in ((k, keras), (ours, lstmkit)):
        m.compile(optimizer=lib.optimizers.RMSprop(0.01), loss="mae", metrics=["mse"])
    for _ in range(2):
        same(ours.train_on_batch(X, Y), k.train_on_batch(X, Y))
    same(ours.test_on_batch(X, Y), k.test_on_batch(X, Y))


# ------------------------------------------------------------- regularizers, constraints
def test_kernel_regularizers_in_loss_and_gradient():
    """regularizers_test.py: L2 / L1 / L1L2 penalties join the reported loss and the step."""

    def make(lib):
        R = lib.regularizers  # noqa: N806
        return lib.Sequential(
            [lib.Input((5, 3)),
             lib.layers.LSTM(4, kernel_regularizer=R.L2(0.01), recurrent_regularizer="l1",
                             bias_regularizer=R.L1L2(l1=0.01, l2=0.02)),
             lib.layers.Dense(1, kernel_regularizer="l2")]
        )  # fmt: skip

    train_case(make, _opt("SGD", learning_rate=0.1), X, Y)


def test_activity_regularizer():
    def make(lib):
        return lib.Sequential(
            [lib.Input((5, 3)), lib.layers.LSTM(4, activity_regularizer="l2"),
             lib.layers.Dense(1)]
        )  # fmt: skip

    train_case(make, _opt("SGD", learning_rate=0.1), X, Y)


def test_constraints_after_each_step():
    """constraints_test.py: MaxNorm / NonNeg applied after every update."""

    def make(lib):
        C = lib.constraints  # noqa: N806
        return lib.Sequential(
            [lib.Input((5, 3)),
             lib.layers.LSTM(4, kernel_constraint=C.MaxNorm(0.5)),
             lib.layers.Dense(1, kernel_constraint=C.NonNeg())]
        )  # fmt: skip

    train_case(make, _opt("SGD", learning_rate=0.5), X, Y)


def test_non_trainable_layer_is_left_alone():
    """trainable=False: the layer's weights stay, the rest trains as in Keras."""

    def make(lib):
        return lib.Sequential(
            [lib.Input((5, 3)), lib.layers.LSTM(4, trainable=False), lib.layers.Dense(1)]
        )

    k, ours, *_ = train_case(make, _opt("Adam", learning_rate=0.05), X, Y)
    assert len(ours.trainable_weights) == len(k.trainable_weights) == 2
    assert len(ours.non_trainable_weights) == len(k.non_trainable_weights) == 3


# ---------------------------------------------------------------- functional training
def test_multi_output_loss_weights_and_metrics():
    """trainer_test.py (multi-output): per-output losses, loss_weights, "<output>_<metric>"."""

    def make(lib):
        x = lib.Input((5, 3))
        h = lib.layers.LSTM(4)(x)
        return lib.Model(x, [lib.layers.Dense(1, name="a")(h), lib.layers.Dense(2, name="b")(h)])

    train_case(
        make,
        lambda lib: {
            "optimizer": lib.optimizers.SGD(0.1),
            "loss": ["mse", "mae"],
            "loss_weights": [1.0, 0.5],
            "metrics": [["mae"], ["mse"]],
        },  # fmt: skip
        X,
        [Y, Y2],
    )


def test_seq2seq_training():
    """The lstm_seq2seq example: rmsprop, categorical cross-entropy, teacher forcing."""
    from tests.keras.test_keras_models import _seq2seq

    xe, xd = data(6, 5, 5), data(6, 4, 6, seed=1)
    yd = np.eye(6, dtype="float32")[np.random.default_rng(2).integers(0, 6, (6, 4))]
    train_case(
        _seq2seq,
        lambda lib: {
            "optimizer": lib.optimizers.RMSprop(0.01),
            "loss": "categorical_crossentropy",
            "metrics": ["accuracy"],
        },  # fmt: skip
        [xe, xd],
        yd,
        batch_size=3,
    )


def test_validation_data_history():
    train_case(
        _lstm,
        _opt("Adam", learning_rate=0.01),
        X[:6],
        Y[:6],
        fit_kw={"validation_data": (X[6:], Y[6:])},
    )


def test_masked_sequence_metrics_and_batch_weighted_epoch_loss():
    """Masked sequence targets: "mae" over the unmasked steps; the epoch loss the batch-size
    weighted mean of the batch losses (Keras' loss tracker)."""
    ids = np.array([[3, 5, 2, 0], [1, 4, 0, 0], [7, 0, 0, 0], [2, 2, 1, 0]])
    y = data(4, 4, 1, seed=3)

    def make(lib):
        return lib.Sequential(
            [lib.Input((4,), dtype="int32"), lib.layers.Embedding(8, 3, mask_zero=True),
             lib.layers.GRU(3, return_sequences=True),
             lib.layers.TimeDistributed(lib.layers.Dense(1))]
        )  # fmt: skip

    k, ours, *_ = train_case(
        make,
        lambda lib: {"optimizer": lib.optimizers.SGD(0.1), "loss": "mse", "metrics": ["mae"]},
        ids,
        y,
        batch_size=3,
    )
    same(ours.evaluate(ids, y, batch_size=3), k.evaluate(ids, y, batch_size=3, verbose=0))


def test_attention_model_training():
    def make(lib):
        src, tgt = lib.Input((6, 3)), lib.Input((4, 2))
        enc = lib.layers.LSTM(4, return_sequences=True)(src)
        dec = lib.layers.LSTM(4, return_sequences=True)(tgt)
        ctx = lib.layers.AdditiveAttention()([dec, enc])
        return lib.Model([src, tgt], lib.layers.Dense(1)(lib.layers.Concatenate()([dec, ctx])))

    train_case(make, _opt("Adam", learning_rate=0.01), [data(6, 6, 3), data(6, 4, 2, seed=1)],
               data(6, 4, 1, seed=2), batch_size=3)  # fmt: skip
