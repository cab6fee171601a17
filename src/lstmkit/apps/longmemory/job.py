"""``lstmkit longmemory``: the classic long-memory tasks, LSTM against GRU and SimpleRNN.

Each model (same width, same optimiser, same training batches, same test set)
is trained step by step with ``Sequential.train_on_batch`` on fresh batches of
the task (:mod:`lstmkit.data.synthetic`), evaluated on a fixed test set every
``eval_every`` steps, and stopped when it solves the task (or after ``steps``).

    adding   x (B, T, 2) numbers and two markers → their sum. Error = test MSE;
             solved when MSE < 0.01 or ≥ 95 % of answers within 0.04
             (Hochreiter & Schmidhuber 1997). Predicting the mean gives ≈ 0.167.
    copy     K = 5 symbols, a delay of T blanks, a "go" marker → repeat the symbols.
             Error = fraction of recalled symbols wrong; solved below 5 %.
    order    temporal order of two X/Y symbols hidden in a length-T stream → 4 classes.
             Error = classification error; solved below 5 %.

Written to ``--out``: ``longmemory.json`` (per model: learning curve, steps to
solve, final error, wall time), ``longmemory.png`` (test error against step,
log scale), ``gradient_flow.png`` (‖∂L/∂h_t‖, ‖∂L/∂c_t‖ of every trained model
on one test batch — the vanishing-gradient picture, measured) and
``gradient_flow_init.png`` (the same models before training), and for every
LSTM-like model ``gates_<model>.png`` (its gates and states over one test sequence).
"""

from __future__ import annotations

import os
import time

import numpy as np

from ...data import synthetic
from ...errors import UserError
from ...inspect.gradflow import gradient_flow
from ...inspect.plots import plot_gates, plot_gradient_flow
from ...inspect.trace import trace
from ...layers import GRU, LSTM, Dense, SimpleRNN, variants
from ...model import Sequential
from ...optim import Adam
from ..shared.outfiles import save_figure, write_json

CELLS = {"lstm": LSTM, "gru": GRU, "rnn": SimpleRNN}


def _variant_cells():
    return dict(variants.CELL_NAMES)


def cell_names():
    return list(CELLS) + list(_variant_cells())


def make_cell(kind: str, units: int, seed, return_sequences=False, unit_forget_bias=True):
    cells = {**CELLS, **_variant_cells()}
    if kind not in cells:
        raise UserError(f"--model expected one of {', '.join(cells)} or all, got {kind!r}")
    kw = dict(return_sequences=return_sequences, seed=seed)
    if kind not in ("gru", "rnn"):  # every LSTM-like cell has b_f
        kw["unit_forget_bias"] = unit_forget_bias
    return cells[kind](units, **kw)


# ------------------------------------------------------------------- the tasks
def task_spec(task: str, length: int):
    """(make(n, seed) -> x, y;  output layer args;  loss;  error(y_pred, y) -> (err, extra))."""
    if task == "adding":

        def error(p, y):
            solved, mse, within = synthetic.adding_solved(p, y)
            return mse, {"within_0.04": within, "solved": solved}

        return (
            (lambda n, s: synthetic.adding_problem(n, length, seed=s)),
            (1, None),
            "mse",
            error,
            False,
        )
    if task == "copy":
        K, A = 5, 8

        def error(p, y):
            acc = synthetic.copy_accuracy(p, y, K)
            return 1.0 - acc, {"recall_accuracy": acc, "solved": acc >= 0.95}

        return (
            (lambda n, s: synthetic.copy_task(n, length, A, K, seed=s)),
            (A + 2, "softmax"),
            "sparse_categorical_crossentropy",
            error,
            True,
        )
    if task == "order":

        def error(p, y):
            acc = float(np.mean(np.asarray(p).argmax(-1) == y))
            return 1.0 - acc, {"accuracy": acc, "solved": acc >= 0.95}

        return (
            (lambda n, s: synthetic.temporal_order(n, length, seed=s)),
            (4, "softmax"),
            "sparse_categorical_crossentropy",
            error,
            False,
        )
    raise UserError(f"TASK expected one of {', '.join(synthetic.TASKS)}, got {task!r}")


def build_model(task, length, kind, units, seed, unit_forget_bias=True, lr=1e-2):
    make, (n_out, act), loss, _, seq = task_spec(task, length)
    model = Sequential(
        [
            make_cell(kind, units, seed, return_sequences=seq, unit_forget_bias=unit_forget_bias),
            Dense(n_out, activation=act, seed=seed + 1),
        ]
    )
    model.compile(Adam(lr, clipnorm=1.0), loss)
    return model


def train_one(
    task,
    length,
    kind,
    steps=2000,
    seed=0,
    batch_size=64,
    units=64,
    lr=1e-2,
    eval_every=50,
    n_test=512,
    stop_when_solved=True,
    unit_forget_bias=True,
    return_model=False,
):
    """Train one model; returns its result dict (and the model with return_model=True).

    Batch k of training is ``make(batch_size, seed=[seed, k])`` — the same data for
    every model of a run; the test set is ``make(n_test, seed=[seed, 10**9])``.
    """
    make, _, _, error, _ = task_spec(task, length)
    model = build_model(task, length, kind, units, seed, unit_forget_bias, lr)
    x_test, y_test = make(n_test, [seed, 10**9])
    curve: dict[str, list] = {"step": [], "train_loss": [], "test_error": []}
    solved_at, losses, extra, diverged = None, [], {}, False
    t0 = time.perf_counter()
    for k in range(1, steps + 1):
        x, y = make(batch_size, [seed, k])
        loss = float(model.train_on_batch(x, y))
        losses.append(loss)
        if not np.isfinite(loss):  # diverged: stop, say so
            diverged = True
            break
        if k % eval_every == 0 or k == steps:
            err, extra = error(model(x_test), y_test)
            curve["step"].append(k)
            curve["train_loss"].append(float(np.mean(losses[-eval_every:])))
            curve["test_error"].append(float(err))
            if extra.get("solved") and solved_at is None:
                solved_at = k
                if stop_when_solved:
                    break
    res = {
        "model": kind,
        "steps_run": k,
        "solved": solved_at is not None,
        "steps_to_solve": solved_at,
        "diverged": diverged,
        "final_error": curve["test_error"][-1] if curve["test_error"] else None,
        "final": {kk: v for kk, v in extra.items() if kk != "solved"},
        "params": model.count_params(),
        "seconds": round(time.perf_counter() - t0, 2),
        "curve": curve,
    }
    return (res, model) if return_model else res


# ------------------------------------------------------------------ the report
def plot_curves(results: dict, task: str, length: int, path: str):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for n, (kind, r) in enumerate(results.items()):
        c = r["curve"]
        lbl = f"{kind}: " + (
            f"solved at {r['steps_to_solve']}"
            if r["solved"]
            else "diverged"
            if r["final_error"] is None
            else f"not solved ({r['final_error']:.3g})"
        )
        ax.semilogy(c["step"], np.maximum(c["test_error"], 1e-6), color=f"C{n}", label=lbl)
    thr = 0.01 if task == "adding" else 0.05
    ax.axhline(thr, color="k", ls=":", lw=1, label=f"solved below {thr}")
    ax.set_xlabel("training step")
    ax.set_ylabel("test MSE" if task == "adding" else "test error rate")
    ax.set_title(f"{task}, T = {length}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=90)
    plt.close(fig)


def gradient_flow_plot(models: dict, task: str, length: int, seed: int, path: str, when: str):
    """Per-step gradient norms of each model on one test batch, plotted; returns for each
    model ‖∂L/∂h_0‖ / ‖∂L/∂h_T‖ (and the same for c): how much gradient survives T steps."""

    make, _, loss, _, _ = task_spec(task, length)
    x, y = make(64, [seed, 10**9])
    flows = {k: next(iter(gradient_flow(m, x, y, loss=loss).values())) for k, m in models.items()}
    plot_gradient_flow(flows, path, title=f"gradient flow {when}, {task} T = {length}")

    def ratio(a):
        return None if a is None or not a[-1] > 0 else float(a[0] / a[-1])

    return {
        k: {"dh_first_over_last": ratio(f.dh), "dc_first_over_last": ratio(f.dc)}
        for k, f in flows.items()
    }


def gate_plots(models: dict, task: str, length: int, seed: int, out: str):
    """gates_<model>.png: heatmaps of i, f, g, o, c, h over one test sequence, for every
    trained LSTM-like model (from :func:`lstmkit.inspect.trace`)."""

    make = task_spec(task, length)[0]
    x, _ = make(1, [seed, 10**9])
    for kind, model in models.items():
        try:
            traces = trace(model, x)
        except ValueError:  # no LSTM-like layer (GRU, RNN)
            continue
        tr = next(iter(traces.values()))
        plot_gates(
            tr,
            os.path.join(out, f"gates_{kind}.png"),
            title=f"{kind} after training: gates and states over one {task} sequence",
        )


def run_experiment(
    task,
    length,
    models,
    steps,
    seed,
    out,
    batch_size=64,
    units=64,
    lr=1e-2,
    eval_every=50,
    unit_forget_bias=True,
    log=print,
):
    results, trained = {}, {}
    for kind in models:
        r, m = train_one(
            task,
            length,
            kind,
            steps,
            seed,
            batch_size,
            units,
            lr,
            eval_every,
            unit_forget_bias=unit_forget_bias,
            return_model=True,
        )
        results[kind], trained[kind] = r, m
        err = "n/a" if r["final_error"] is None else f"{r['final_error']:.4g}"
        state = (
            f"solved at step {r['steps_to_solve']}"
            if r["solved"]
            else ("diverged" if r["diverged"] else "not solved")
        )
        log(f"{kind:>9}: {state:<22} final error {err}  ({r['steps_run']} steps, {r['seconds']} s)")
    report = {
        "task": task,
        "length": length,
        "seed": seed,
        "max_steps": steps,
        "batch_size": batch_size,
        "units": units,
        "learning_rate": lr,
        "unit_forget_bias": unit_forget_bias,
        "models": results,
    }
    if out:
        plot_curves(results, task, length, os.path.join(out, "longmemory.png"))
        report["gradient_flow"] = gradient_flow_plot(
            trained, task, length, seed, os.path.join(out, "gradient_flow.png"), "after training"
        )
        gate_plots(trained, task, length, seed, out)
        init = {k: build_model(task, length, k, units, seed, unit_forget_bias, lr) for k in models}
        report["gradient_flow_at_init"] = gradient_flow_plot(
            init,
            task,
            length,
            seed,
            os.path.join(out, "gradient_flow_init.png"),
            "at initialisation",
        )
        write_json(os.path.join(out, "longmemory.json"), report)
    return report
