"""What the jobs add around the network, checked against the model and written as C:
the classify job's label names (and its series scaler and padding), the forecast job's
difference scaling and levels, the textgen job's vocabulary and sampling loop.

The C functions are in ``templates/jobs.c``; here are their constants, the header's
declarations and the checks that the metadata fits the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .plan import CExportError, Plan


@dataclass
class ForecastSpec:
    """The forecast job's scaling: the model sees x_s = [(d_s − μ)/σ, (cov_s − μ_c)/σ_c] for the
    last ``lookback`` steps (d_s = y_s − y_{s−1}) and its output h is (ŷ_{t+h} − y_t − h·μ)/σ."""

    lookback: int
    horizon: int
    diff_mean: float
    diff_std: float
    cov_mean: Sequence[float] = ()
    cov_std: Sequence[float] = ()


@dataclass
class Jobs:
    labels: list[str] | None = None
    scaler: tuple[np.ndarray, np.ndarray] | None = None  # classify series: (μ, σ) per feature
    maxlen: int = 0  # classify: the sequence length it pads / cuts to (0: as it comes)
    forecast: ForecastSpec | None = None
    vocab: list[str] | None = None  # textgen: the token (character) of every id
    flags: set = field(default_factory=set)  # LK_JOB_* switches for templates/jobs.c


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


def _floats(a, kind="float") -> str:
    suffix = "f" if kind == "float" else ""
    vals = [repr(float(np.float32(v))) if kind == "float" else repr(float(v)) for v in a]
    return ", ".join(v + suffix for v in vals)


def check(plan: Plan, jobs: Jobs) -> Jobs:
    """The metadata must fit the model; sets ``jobs.flags``."""
    n_out, n_in = plan.output_size, plan.input_size
    if jobs.labels is not None:
        if plan.returns_sequences or len(jobs.labels) != n_out:
            raise CExportError(
                f"export_c: labels must name each of the model's {n_out} outputs of its last "
                f"step (a classifier), got {len(jobs.labels)} labels"
                + (" for a model that returns sequences" if plan.returns_sequences else "")
            )
        jobs.flags.add("LK_JOB_LABELS")
        if plan.input_ids and plan.masked and plan.streams:
            jobs.flags.add("LK_JOB_IDS_CLASSIFY")
    if jobs.scaler is not None:
        mean, std = (np.asarray(v, np.float64).reshape(-1) for v in jobs.scaler)
        if plan.input_ids or len(mean) != n_in or len(std) != n_in or np.any(std == 0):
            raise CExportError(
                f"export_c: the input scaler needs a mean and a non-zero std for each of the "
                f"model's {n_in} input features, got {len(mean)} and {len(std)}"
            )
        if not plan.streams or jobs.labels is None:
            raise CExportError(
                "export_c: the input scaler is the classify job's: it needs labels and a model "
                "that streams (no Bidirectional / go_backwards)"
            )
        jobs.scaler = (mean, std)
        jobs.flags.add("LK_JOB_SCALER")
    if jobs.forecast is not None:
        fc = jobs.forecast
        n_cov = len(fc.cov_mean)
        if (
            plan.input_ids
            or n_in != 1 + n_cov
            or len(fc.cov_std) != n_cov
            or n_out != fc.horizon
            or plan.returns_sequences
            or not plan.streams
            or fc.lookback < 1
            or fc.diff_std == 0
        ):
            raise CExportError(
                f"export_c: the forecast scaling (lookback {fc.lookback}, horizon "
                f"{fc.horizon}, {n_cov} covariates) does not fit this model (input {n_in} "
                f"per step, output {n_out}); expected the forecast job's LSTM → Dense(horizon)"
            )
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
    P, out = p.upper(), []
    f = jobs.flags
    if "LK_JOB_LABELS" in f:
        out += [
            f"#define {P}_N_LABELS {len(jobs.labels)}",
            f"extern const char *const {p}_labels[{P}_N_LABELS]; /* class k's name */",
            f"int {p}_argmax(const float *y); /* the most probable class of an output */",
        ]
    if f & {"LK_JOB_SCALER", "LK_JOB_IDS_CLASSIFY"}:
        inp = "const int *ids" if plan.input_ids else "const float *raw"
        out.append(f"#define {P}_MAXLEN {jobs.maxlen} /* steps a sequence is padded / cut to */")
        out.append(f"int {p}_classify({p}_state *s, {inp}, int T, float *probs);")
    if "LK_JOB_SCALER" in f:
        out.append(f"void {p}_scale(const float *raw, float *x); /* x = (raw − μ) / σ */")
    if "LK_JOB_FORECAST" in f:
        fc = jobs.forecast
        out += [
            f"#define {P}_LOOKBACK {fc.lookback}",
            f"#define {P}_HORIZON {fc.horizon}",
            f"#define {P}_COVARIATES {len(fc.cov_mean)}",
            "/* y: LOOKBACK + 1 values (oldest first); cov: LOOKBACK × COVARIATES raw or null;",
            " * out: HORIZON forecast values */",
            f"void {p}_forecast({p}_state *s, const double *y, const double *cov, double *out);",
        ]
    if "LK_JOB_TEXTGEN" in f:
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
    out, nbytes = [], 0
    f = jobs.flags
    if "LK_JOB_LABELS" in f:
        names = ", ".join(c_string(s) for s in jobs.labels)
        out.append(f"const char *const {p}_labels[{p.upper()}_N_LABELS] = {{{names}}};")
        nbytes += sum(len(s.encode()) + 1 for s in jobs.labels)
    if "LK_JOB_SCALER" in f:
        mean, std = jobs.scaler
        out.append(f"static const float lk_scale_mean[{len(mean)}] = {{{_floats(mean)}}};")
        out.append(f"static const float lk_scale_std[{len(std)}] = {{{_floats(std)}}};")
        nbytes += 8 * len(mean)
    if "LK_JOB_FORECAST" in f:
        fc = jobs.forecast
        out.append(f"static const double lk_diff_mean = {float(fc.diff_mean)!r};")
        out.append(f"static const double lk_diff_std = {float(fc.diff_std)!r};")
        nbytes += 16
        if len(fc.cov_mean):
            n = len(fc.cov_mean)
            out.append(f"static const double lk_cov_mean[{n}] = {{{_floats(fc.cov_mean, 'd')}}};")
            out.append(f"static const double lk_cov_std[{n}] = {{{_floats(fc.cov_std, 'd')}}};")
            nbytes += 16 * n
    if "LK_JOB_TEXTGEN" in f:
        toks = ", ".join(c_string(t) for t in jobs.vocab)
        out.append(f"const char *const {p}_tokens[{p.upper()}_VOCAB_SIZE] = {{{toks}}};")
        nbytes += sum(len(t.encode()) + 1 for t in jobs.vocab)
    return out, nbytes
