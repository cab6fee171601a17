"""What the jobs add around the network, checked against the model and written as C:
the classify job's label names (and, for series, its normalisation, cutting / padding and
patching: :mod:`lstmkit.apps.classify.series`), the forecast job's
windows and levels (:class:`ForecastSpec`), the textgen job's vocabulary and sampling loop.

The C functions are in ``templates/jobs.c``; here are their constants, the header's
declarations and the checks that the metadata fits the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from .plan import CExportError, Plan

__all__ = [
    "ForecastSpec",
    "NORMALIZE",
    "Jobs",
    "c_string",
    "c_comment",
    "raw_features",
    "state_fields",
    "check",
    "header_lines",
    "source_lines",
]


@dataclass
class ForecastSpec:
    """The forecast job's windows and levels for one series (sidecar format 2), as plain
    numbers. With z_k = w_k − s_{k mod m}, w = log y when ``log`` else y, and the origin t
    (the position of the last value, counted from the series' first row), the model reads
    for s = t−L+1 … t

        x_s = [(Δz_s − μ)/σ, (z_s − z_t)/(σ√L), (cov_s − μ_c)/σ_c, (fut_s − μ_f)/σ_f, 0]

    then, with future-known covariates, H more steps x = [0, 0, 0…, (fut_s − μ_f)/σ_f, 1]
    for s = t+1 … t+H, and its output h gives ŷ_{t+h} = T⁻¹(z_t + h·μ + σ·out_h + s_{t+h}).

    ``seasonal``: the m seasonal indices s_0 … s_{m−1} (empty: none); ``last_t``: the
    position of the last value of the series the model was fitted on (the default origin)."""

    lookback: int
    horizon: int
    mu: float
    sigma: float
    log: bool = False
    seasonal: Sequence[float] = ()
    last_t: int = 0
    cov_mean: Sequence[float] = ()
    cov_std: Sequence[float] = ()
    fut_mean: Sequence[float] = ()
    fut_std: Sequence[float] = ()

    @property
    def n_inputs(self) -> int:
        """Features per step: 2 + past covariates + future ones (+ the future-step flag)."""
        Cf = len(self.fut_mean)
        return 2 + len(self.cov_mean) + Cf + (1 if Cf else 0)


#: the classify job's series normalisations (apps/classify/series.py) → NORMALIZE in C
NORMALIZE = {"sequence": 1, "global": 2, "both": 3}


@dataclass
class Jobs:
    labels: list[str] | None = None
    scaler: tuple[np.ndarray, np.ndarray] | None = None  # classify series: (μ, σ) per feature
    maxlen: int = 0  # classify: the sequence length it pads / cuts to (0: as it comes)
    normalize: str | None = None  # classify series: sequence | global | both (None: no series)
    patch: int = 1  # classify series: raw steps folded into one model step
    forecast: ForecastSpec | None = None
    vocab: list[str] | None = None  # textgen: the token (character) of every id
    flags: set[str] = field(default_factory=set)  # LK_JOB_* switches for templates/jobs.c


def c_string(s: str) -> str:
    """A C string literal: printable ASCII as it is, the rest (UTF-8 bytes) in octal."""
    out = []
    for byte in s.encode("utf-8"):
        ch = chr(byte)
        if 32 <= byte < 127 and ch not in '"\\?':
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def c_comment(s: str) -> str:
    """Text safe inside a C comment: no comment start or end, no trigraph, one line."""
    s = " ".join(str(s).split())
    return s.replace("*/", "* /").replace("/*", "/ *").replace("??", "? ?")


def _floats(a: Iterable[float], kind: str = "float") -> str:
    suffix = "f" if kind == "float" else ""
    vals = [repr(float(np.float32(v))) if kind == "float" else repr(float(v)) for v in a]
    return ", ".join(v + suffix for v in vals)


def _vector(v: ArrayLike, what: str, n: int | None = None) -> np.ndarray:
    a = np.asarray(v, np.float64).reshape(-1)
    if (n is not None and len(a) != n) or not np.all(np.isfinite(a)):
        raise CExportError(
            f"export_c: the forecast's {what} must be {'' if n is None else f'{n} '}finite "
            f"numbers, got {len(a)}" + ("" if np.all(np.isfinite(a)) else " with NaN / inf")
        )
    return a


def _check_forecast(plan: Plan, fc: ForecastSpec) -> ForecastSpec:
    """The spec must fit the model (LSTM → Dense(H), F inputs per step) and be finite."""
    n_cov, n_fut = len(fc.cov_mean), len(fc.fut_mean)
    n_out, n_in = plan.output_size, plan.input_size
    if (
        plan.input_ids
        or n_in != fc.n_inputs
        or n_out != fc.horizon
        or plan.returns_sequences
        or not plan.streams
        or fc.lookback < 1
    ):
        raise CExportError(
            f"export_c: the forecast windows (lookback {fc.lookback}, horizon {fc.horizon}, "
            f"{n_cov} past and {n_fut} future covariates: {fc.n_inputs} inputs per step) do "
            f"not fit this model (input {n_in} per step, output {n_out}); expected the "
            "forecast job's LSTM → Dense(horizon)"
        )
    mu, sigma = (float(_vector([v], what)[0]) for v, what in ((fc.mu, "μ"), (fc.sigma, "σ")))
    if sigma <= 0:
        raise CExportError(f"export_c: the forecast's σ must be positive, got {sigma}")
    s = _vector(fc.seasonal, "seasonal indices")
    if len(s) == 1:
        raise CExportError("export_c: a season has at least 2 seasonal indices, got 1")
    if int(fc.last_t) < 0:
        raise CExportError(f"export_c: the forecast's last_t must be ≥ 0, got {fc.last_t}")
    std = [
        _vector(v, f"{k} spread", n)
        for v, k, n in (
            (fc.cov_std, "past covariates'", n_cov),
            (fc.fut_std, "future covariates'", n_fut),
        )
    ]
    if any(np.any(v <= 0) for v in std):
        raise CExportError("export_c: the covariates' spreads must be positive")
    return ForecastSpec(
        int(fc.lookback),
        int(fc.horizon),
        mu,
        sigma,
        bool(fc.log),
        s.tolist(),
        int(fc.last_t),
        _vector(fc.cov_mean, "past covariates' mean", n_cov).tolist(),
        std[0].tolist(),
        _vector(fc.fut_mean, "future covariates' mean", n_fut).tolist(),
        std[1].tolist(),
    )


def raw_features(jobs: Jobs, n_in: int) -> int:
    """Features per raw time step of the classify job's series (before normalising,
    "both": half the normalised ones; before patching)."""
    if jobs.scaler is not None:
        return len(jobs.scaler[0])
    return n_in // max(1, jobs.patch)


def _check_series(plan: Plan, jobs: Jobs) -> None:
    """The classify job's series preprocessing must fit the model; sets the flags."""
    how = jobs.normalize or "global"
    if how not in NORMALIZE:
        raise CExportError(
            f"export_c: normalize must be one of {', '.join(NORMALIZE)}, got {jobs.normalize!r}"
        )
    if plan.input_ids or jobs.labels is None:
        raise CExportError(
            "export_c: the input scaler / series normalisation is the classify job's: it needs "
            "labels and a model that reads float rows"
        )
    p, n_in = int(jobs.patch), plan.input_size
    if p < 1 or jobs.maxlen % p or (p > 1 and jobs.maxlen < 1):
        raise CExportError(
            f"export_c: patch must be ≥ 1 and maxlen a positive multiple of it, got patch "
            f"{jobs.patch} and maxlen {jobs.maxlen}"
        )
    if not plan.streams and jobs.maxlen < 1:
        raise CExportError(
            "export_c: a classifier that needs the whole sequence (Bidirectional, Conv1D, "
            "Masking, pooling) needs maxlen: its buffers are sized for maxlen steps"
        )
    if how != "sequence":
        if jobs.scaler is None:
            raise CExportError(f"export_c: normalize={how!r} needs the input scaler (μ, σ)")
        mean, std = (np.asarray(v, np.float64).reshape(-1) for v in jobs.scaler)
        if len(mean) != len(std) or np.any(std == 0) or not np.all(np.isfinite([*mean, *std])):
            raise CExportError(
                f"export_c: the input scaler needs a finite mean and a non-zero std per raw "
                f"feature, got {len(mean)} and {len(std)}"
            )
        jobs.scaler = (mean, std)
        jobs.flags.add("LK_JOB_SCALER")
    elif jobs.scaler is not None:
        raise CExportError("export_c: normalize='sequence' takes no input scaler")
    F = raw_features(jobs, n_in)
    per_step = p * F * (2 if how == "both" else 1)
    if F < 1 or per_step != n_in:
        raise CExportError(
            f"export_c: the input scaler needs a mean and a non-zero std for each of the "
            f"model's input features: {F} raw features, normalised {how!r} and {p} steps per "
            f"model step make {per_step} inputs, but the model reads {n_in} per step"
        )
    jobs.normalize = how
    jobs.flags.add("LK_JOB_SERIES")


def state_fields(plan: Plan, jobs: Jobs, work_floats_per_step: int) -> list:
    """Fields the job adds to the state struct: a classifier that runs layer by layer gets its
    input rows and its work memory there (sized for maxlen / patch steps)."""
    if plan.streams:
        return []
    if "LK_JOB_IDS_CLASSIFY" in jobs.flags:
        return [("cls_work", jobs.maxlen * work_floats_per_step, "classify: run's work memory")]
    if "LK_JOB_SERIES" not in jobs.flags:
        return []
    steps = jobs.maxlen // jobs.patch
    return [
        ("cls_x", steps * plan.input_size, f"classify: the {steps} model steps of a sequence"),
        ("cls_work", steps * work_floats_per_step, "classify: run's work memory"),
    ]


def check(plan: Plan, jobs: Jobs) -> Jobs:
    """The metadata must fit the model; sets ``jobs.flags``."""
    n_out = plan.output_size
    if jobs.labels is not None:
        if plan.returns_sequences or len(jobs.labels) != n_out:
            raise CExportError(
                f"export_c: labels must name each of the model's {n_out} outputs of its last "
                f"step (a classifier), got {len(jobs.labels)} labels"
                + (" for a model that returns sequences" if plan.returns_sequences else "")
            )
        jobs.flags.add("LK_JOB_LABELS")
        if plan.input_ids and plan.masked and (plan.streams or jobs.maxlen > 0):
            jobs.flags.add("LK_JOB_IDS_CLASSIFY")  # (run: work memory for maxlen ids)
    if jobs.scaler is not None or jobs.normalize is not None:
        _check_series(plan, jobs)
    if jobs.forecast is not None:
        jobs.forecast = _check_forecast(plan, jobs.forecast)
        jobs.flags.add("LK_JOB_FORECAST")
    if jobs.vocab is not None:
        V = plan.vocab_size
        if not plan.input_ids or len(jobs.vocab) != V or n_out != V or not plan.streams:
            raise CExportError(
                f"export_c: a vocabulary of {len(jobs.vocab)} tokens needs a model that reads "
                f"ids into an Embedding of that size and gives that many probabilities per "
                f"step (textgen), got ids {plan.input_ids}, vocabulary {V}, output {n_out}"
            )
        if any(not t for t in jobs.vocab) or len(set(jobs.vocab)) != len(jobs.vocab):
            raise CExportError("export_c: the vocabulary's tokens must be distinct and non-empty")
        jobs.flags.add("LK_JOB_TEXTGEN")
    return jobs


def header_lines(plan: Plan, p: str, jobs: Jobs) -> list[str]:
    """Macros and declarations for the header."""
    P = p.upper()
    out: list[str] = []
    f = jobs.flags
    if "LK_JOB_LABELS" in f:
        assert jobs.labels is not None  # check() sets the flag only with labels
        out += [
            f"#define {P}_N_LABELS {len(jobs.labels)}",
            f"extern const char *const {p}_labels[{P}_N_LABELS]; /* class k's name */",
            f"int {p}_argmax(const float *y); /* the most probable class of an output */",
        ]
    if f & {"LK_JOB_SERIES", "LK_JOB_IDS_CLASSIFY"}:
        inp = "const int *ids" if plan.input_ids else "const float *raw"
        out.append(f"#define {P}_MAXLEN {jobs.maxlen} /* steps a sequence is padded / cut to */")
    if "LK_JOB_SERIES" in f:
        F = raw_features(jobs, plan.input_size)
        how = {1: "per-sequence z", 2: "the training rows' scaler", 3: "both, side by side"}
        k = NORMALIZE[str(jobs.normalize)]
        out += [
            f"#define {P}_RAW_FEATURES {F} /* values per raw time step */",
            f"#define {P}_NORMALIZE {k} /* {how[k]} (1 sequence, 2 global, 3 both) */",
            f"#define {P}_PATCH {jobs.patch} /* raw steps per model step */",
            "/* raw: T rows of RAW_FEATURES values (oldest first) → probs (OUTPUT_SIZE); returns",
            " * the class id, or −1 for T < 1 */",
        ]
    if f & {"LK_JOB_SERIES", "LK_JOB_IDS_CLASSIFY"}:
        out.append(f"int {p}_classify({p}_state *s, {inp}, int T, float *probs);")
    if "LK_JOB_SCALER" in f:
        out.append(
            f"void {p}_scale(const float *raw, float *x); /* x = (raw − μ) / σ, RAW_FEATURES */"
        )
    if "LK_JOB_FORECAST" in f:
        fc = jobs.forecast
        assert fc is not None  # check() sets the flag only with a checked spec
        out += [
            f"#define {P}_LOOKBACK {fc.lookback} /* L: the window */",
            f"#define {P}_HORIZON {fc.horizon} /* H: values forecast */",
            f"#define {P}_COVARIATES {len(fc.cov_mean)} /* past covariates per step */",
            f"#define {P}_FUTURE_COVARIATES {len(fc.fut_mean)} /* future-known ones per step */",
            f"#define {P}_SEASON {len(fc.seasonal)} /* m (0: not deseasonalised) */",
            f"#define {P}_LOG {int(fc.log)} /* 1: the series is modelled as log y */",
            f"#define {P}_LAST_T {fc.last_t}L /* position of the last value the model saw */",
            "/* y: LOOKBACK + 1 raw values y_{t−L} … y_t (oldest first); t: the position of y_t",
            f" * (rows since the series' first; {P}_LAST_T at the end of the model's data, one",
            " * more per new value); cov: LOOKBACK rows × COVARIATES (steps t−L+1 … t) or null;",
            " * fut: (LOOKBACK + HORIZON) rows × FUTURE_COVARIATES (t−L+1 … t+H) or null;",
            " * out: HORIZON forecasts ŷ_{t+1} … ŷ_{t+H}.  Returns 0, or −1 (see model.c). */",
            f"int {p}_forecast({p}_state *s, const double *y, long t,",
            "    const double *cov, const double *fut, double *out);",
        ]
    if "LK_JOB_TEXTGEN" in f:
        assert jobs.vocab is not None  # check() sets the flag only with a vocabulary
        out += [
            f"#define {P}_VOCAB_SIZE {len(jobs.vocab)}",
            f"extern const char *const {p}_tokens[{P}_VOCAB_SIZE]; /* id → UTF-8 character */",
            f"int {p}_token_id(const char *s, int *nbytes);",
            f"int {p}_sample(const float *p, float temperature, unsigned long *rng);",
            f"int {p}_generate({p}_state *s, const char *prime, int n, float temperature,",
            f"{' ' * (len(p) + 14)}unsigned long *rng, char *out, int out_size);",
        ]
    return out


def source_lines(plan: Plan, p: str, jobs: Jobs) -> tuple[list[str], int]:
    """The constants of model.c the job functions use; → (lines, bytes of flash they take
    besides the pointer tables)."""
    out: list[str] = []
    nbytes = 0
    f = jobs.flags
    if "LK_JOB_LABELS" in f:
        assert jobs.labels is not None  # see header_lines
        names = ", ".join(c_string(s) for s in jobs.labels)
        out.append(f"const char *const {p}_labels[{p.upper()}_N_LABELS] = {{{names}}};")
        nbytes += sum(len(s.encode()) + 1 for s in jobs.labels)
    if "LK_JOB_SCALER" in f:
        assert jobs.scaler is not None  # see header_lines
        mean, std = jobs.scaler
        out.append(f"static const double lk_scale_mean[{len(mean)}] = {{{_floats(mean, 'd')}}};")
        out.append(f"static const double lk_scale_std[{len(std)}] = {{{_floats(std, 'd')}}};")
        nbytes += 16 * len(mean)
    if "LK_JOB_FORECAST" in f:
        fc = jobs.forecast
        assert fc is not None  # see header_lines
        out.append(f"static const double lk_fc_mu = {fc.mu!r}; /* μ: mean of Δz */")
        out.append(f"static const double lk_fc_sigma = {fc.sigma!r}; /* σ: spread of Δz */")
        nbytes += 16
        for arr, v, what in (
            ("lk_fc_season", fc.seasonal, "s_k, k = t mod m"),
            ("lk_cov_mean", fc.cov_mean, "μ_c"),
            ("lk_cov_std", fc.cov_std, "σ_c"),
            ("lk_fut_mean", fc.fut_mean, "μ_f"),
            ("lk_fut_std", fc.fut_std, "σ_f"),
        ):
            if len(v):
                out.append(
                    f"static const double {arr}[{len(v)}] = {{{_floats(v, 'd')}}}; /* {what} */"
                )
                nbytes += 8 * len(v)
    if "LK_JOB_TEXTGEN" in f:
        assert jobs.vocab is not None  # see header_lines
        toks = ", ".join(c_string(t) for t in jobs.vocab)
        out.append(f"const char *const {p}_tokens[{p.upper()}_VOCAB_SIZE] = {{{toks}}};")
        nbytes += sum(len(t.encode()) + 1 for t in jobs.vocab)
    return out, nbytes
