"""``lstmkit export MODEL --c DIR``: a saved model as dependency-free C99, with what its job
needs around the network (read from the ``model.json`` sidecar beside the weights):

    forecast   one series' transform, seasonal indices, scaling and levels (the sidecar's
               ``series`` entry: the only one, or the --id-value of a panel)
                                                  → model_forecast(s, y, t, cov, fut, out)
    classify   the label names (series: the normalisation, the cut / padding to maxlen,
               the patching)
                                                  → model_labels[], model_classify(…)
    textgen    the vocabulary and a sampling loop  → model_tokens[], model_generate(…)
"""

from __future__ import annotations

import os

from ...errors import UserError
from ...io.c_export import ForecastSpec, export_c
from ..classify import sidecar as classify_sidecar
from ..forecast import sidecar as forecast_sidecar
from ..forecast.sidecar import one_series
from ..shared.modelfiles import SIDECAR, load_weights, read_sidecar, resolve_model_path
from ..shared.outdir import prepare_out_dir
from ..textgen import sidecar as textgen_sidecar

#: each job's check of its model.json against the weights (what goes into the C)
CHECKS = {
    "forecast": forecast_sidecar.check,
    "classify": classify_sidecar.check,
    "textgen": textgen_sidecar.check,
}


def forecast_spec(meta: dict, id_value: str | None = None) -> tuple[ForecastSpec, str]:
    """The forecast sidecar → (one series' windows as plain numbers, a description)."""
    v = one_series(meta, id_value)
    prep = v["prep"]
    spec = ForecastSpec(
        lookback=v["lookback"],
        horizon=v["horizon"],
        mu=prep.mu,
        sigma=prep.sigma,
        log=prep.log,
        seasonal=list(prep.s),
        last_t=v["steps"] - 1,
        cov_mean=v["cov"][0],
        cov_std=v["cov"][1],
        fut_mean=v["fut"][0],
        fut_std=v["fut"][1],
    )
    what = f"the forecast model of '{meta.get('target')}'"
    what += f", series {v['id']!r} of the panel" if meta.get("id") else ""
    return spec, f"{what} ({prep.describe()})"


def c_arguments(meta: dict | None, id_value: str | None = None) -> dict:
    """The sidecar of a job's model → the keyword arguments of ``export_c`` (``id_value``:
    the series of a forecast panel model)."""
    if not meta:
        if id_value is not None:
            raise UserError("--id-value is for a forecast model; this one has no model.json")
        return {}
    task = meta.get("lstmkit_task", meta.get("task"))
    if id_value is not None and task != "forecast":
        raise UserError(f"--id-value is for a forecast model; this one is a '{task}' model")
    if task == "forecast":
        spec, source = forecast_spec(meta, id_value)
        return {"forecast": spec, "source": source}
    if task == "classify":
        out = {"labels": list(meta["classes"]), "maxlen": int(meta.get("maxlen") or 0)}
        if meta.get("kind") == "series":  # a sidecar from before the recipe: global, patch 1
            out["normalize"] = meta.get("normalize", "global")
            out["patch"] = int(meta.get("patch", 1))
            if "scaler" in meta:
                out["input_scaler"] = (meta["scaler"]["mean"], meta["scaler"]["std"])
        out["source"] = f"a {meta.get('kind')} classifier of {len(meta['classes'])} classes"
        return out
    if task == "textgen":
        return {"vocab": list(meta["chars"]), "source": "a char-rnn (lstmkit textgen)"}
    return {}


def run_c(args) -> int:
    path = resolve_model_path(args.model)
    model = load_weights(path)
    meta = read_sidecar(path)
    task = meta.get("lstmkit_task", meta.get("task")) if meta else None
    if meta and task in CHECKS:  # every value that goes into the C checked, and its weights
        side = os.path.join(os.path.dirname(path) or ".", SIDECAR)
        meta = {**meta, **CHECKS[task](meta, model, side)}
    kwargs = c_arguments(meta, args.id_value)
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
    fc = kwargs.get("forecast")
    if fc is not None:
        p = args.name
        print(
            f"{p}_forecast(s, y, t, cov, fut, out): {kwargs['source']}; y = the last "
            f"{fc.lookback + 1} values, t = their last row ({p.upper()}_LAST_T = {fc.last_t} "
            "at the end of the model's data)"
        )
    return 0
