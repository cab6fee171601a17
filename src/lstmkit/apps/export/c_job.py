"""``lstmkit export MODEL --c DIR``: a saved model as dependency-free C99, with what its job
needs around the network (read from the ``model.json`` sidecar beside the weights):

    forecast   the difference scaling and levels   → model_forecast(s, y, cov, out)
    classify   the label names (series: the feature scaler and the padding to maxlen)
                                                  → model_labels[], model_classify(…)
    textgen    the vocabulary and a sampling loop  → model_tokens[], model_generate(…)
"""

from __future__ import annotations

from ...io.c_export import ForecastSpec, export_c
from ..shared.modelfiles import load_weights, read_sidecar, resolve_model_path
from ..shared.outdir import prepare_out_dir


def c_arguments(meta: dict | None) -> dict:
    """The sidecar of a job's model → the keyword arguments of ``export_c``."""
    if not meta:
        return {}
    task = meta.get("lstmkit_task", meta.get("task"))
    if task == "forecast":
        cov = meta.get("cov_scaler") or {"mean": [], "std": []}
        spec = ForecastSpec(
            lookback=int(meta["lookback"]),
            horizon=int(meta["horizon"]),
            diff_mean=float(meta["diff_mean"]),
            diff_std=float(meta["diff_std"]),
            cov_mean=cov["mean"] if meta.get("covariates") else [],
            cov_std=cov["std"] if meta.get("covariates") else [],
        )
        return {"forecast": spec, "source": f"the forecast model of '{meta.get('target')}'"}
    if task == "classify":
        out = {"labels": list(meta["classes"]), "maxlen": int(meta.get("maxlen") or 0)}
        if meta.get("kind") == "series":
            out["input_scaler"] = (meta["scaler"]["mean"], meta["scaler"]["std"])
        out["source"] = f"a {meta.get('kind')} classifier of {len(meta['classes'])} classes"
        return out
    if task == "textgen":
        return {"vocab": list(meta["chars"]), "source": "a char-rnn (lstmkit textgen)"}
    return {}


def run_c(args) -> int:
    path = resolve_model_path(args.model)
    model = load_weights(path)
    kwargs = c_arguments(read_sidecar(path))
    kwargs.setdefault("source", path)
    out = prepare_out_dir(args.c, "export-c", args.force)
    res = export_c(model, out, name=args.name, quantize=args.quantize, **kwargs)
    kind = "int8 weights" if args.quantize else "float32"
    print(f"wrote {res.header}, {res.source}, {res.readme} ({kind})")
    print(
        f"RAM: {res.state_bytes:,} bytes of state"
        + ("" if res.streams else f" + {4 * res.run_work_floats_per_step} × T bytes for run")
        + f"; flash: {res.weight_bytes + res.table_bytes:,} bytes of weights and tables"
        + (f", {res.m4_size['text']:,} bytes of text on a Cortex-M4" if res.m4_size else "")
    )
    return 0
