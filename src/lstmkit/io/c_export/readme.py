"""The README written beside the C files: what the model is, its exact memory, its API."""

from __future__ import annotations

from .jobs import Jobs
from .plan import Plan

__all__ = ["readme"]


def _example(plan: Plan, p: str, jobs: Jobs) -> list[str]:
    P = p.upper()
    f = jobs.flags
    if "LK_JOB_FORECAST" in f:
        fc = jobs.forecast
        assert fc is not None  # jobs.check() sets the flag only with a checked spec
        cov = "cov" if fc.cov_mean else "0"
        fut = "fut" if fc.fut_mean else "0"
        lines = [
            f"static {p}_state s;",
            f"double y[{P}_LOOKBACK + 1];   /* the last values of the series, oldest first */",
        ]
        if fc.cov_mean:
            lines.append(f"double cov[{P}_LOOKBACK * {P}_COVARIATES];   /* their covariates */")
        if fc.fut_mean:
            lines.append(
                f"double fut[({P}_LOOKBACK + {P}_HORIZON) * {P}_FUTURE_COVARIATES];"
                "   /* known ahead */"
            )
        return lines + [
            f"double next[{P}_HORIZON];",
            f"long t = {P}_LAST_T;   /* the row of y[{P}_LOOKBACK]; + 1 per new value */",
            "/* ... fill y ... */",
            f"{p}_init(&s);",
            f"{p}_forecast(&s, y, t, {cov}, {fut}, next);"
            "   /* next[h] = the forecast h + 1 steps ahead */",
        ]
    if "LK_JOB_TEXTGEN" in f:
        return [
            f"static {p}_state s;",
            "char text[1024];",
            "unsigned long rng = 42;   /* any seed */",
            f"{p}_init(&s);",
            f'{p}_generate(&s, "The ", 300, 0.7f, &rng, text, sizeof text);',
        ]
    if "LK_JOB_SERIES" in f:
        return [
            f"static {p}_state s;",
            f"float probs[{P}_OUTPUT_SIZE];",
            f"/* raw: T rows of {P}_RAW_FEATURES features, as in the training CSV */",
            f"{p}_init(&s);",
            f"int k = {p}_classify(&s, raw, T, probs);   /* {p}_labels[k] names the class */",
        ]
    x = "id" if plan.input_ids else "x"
    if plan.streams:
        lines = [
            f"static {p}_state s;",
            f"float y[{P}_OUTPUT_SIZE];",
            f"{p}_init(&s);",
            f"for (;;) {{   /* a stream: one step per new {'id' if plan.input_ids else 'input'} */",
            f"    /* ... read {x} ... */",
            f"    {p}_step(&s, {x}, y);   /* y: the output for the sequence so far */",
            "}",
        ]
        return lines
    return [
        f"static {p}_state s;",
        f"static float work[{P}_RUN_WORK_FLOATS(100)], y[{P}_RUN_OUTPUT_FLOATS(100)];",
        f"{p}_init(&s);",
        f"{p}_run(&s, {'ids' if plan.input_ids else 'x'}, 100, y, work);   /* T = 100 steps */",
    ]


def readme(plan: Plan, p: str, int8: bool, jobs: Jobs, res, source: str) -> str:
    P = p.upper()
    kind = "int8 weights, per-channel symmetric; float32 activations" if int8 else "float32"
    n = plan.input_size
    inputs = (
        f"one id per step, 0 … {plan.vocab_size - 1}"
        if plan.input_ids
        else f"{n} float{'s' if n > 1 else ''} per step"
    )
    lines = [
        f"# {p}: {source or 'an lstmkit model'} as C99",
        "",
        f"Written by `lstmkit.io.export_c` ({kind}). `{p}.h` and `{p}.c` are plain C99: no",
        "allocation, nothing of the C library but `<math.h>` (link with `-lm`), the weights",
        f"`static const` arrays. The equations are in the comments of the kernels in `{p}.c`.",
        "",
        "## The model",
        "",
        "| layer | weights (bytes) |",
        "|---|---:|",
        *[f"| {name} | {n:,} |" for name, n in res.layers],
        "",
        f"Input: {inputs}. Output: {plan.output_size} floats "
        + ("per step." if plan.returns_sequences else "per sequence (after its last step).")
        + f" The model's weights were {plan.source_dtype}; here they are "
        + ("int8 codes and float32 scales." if int8 else "float32."),
        "",
        "## Memory (exact)",
        "",
        f"- **flash**: {res.weight_bytes:,} bytes of weights"
        + (f" + {res.table_bytes:,} bytes of job tables" if res.table_bytes else "")
        + " (the const arrays), plus the code.",
        f"- **RAM**: `sizeof({p}_state)` = {res.state_bytes:,} bytes — every state and all "
        "the scratch; the caller owns it (a static, a stack variable, a struct member). The "
        "compile fails if the size were any other (a check in the source). The code has no "
        "RAM of its own (no static variables).",
    ]
    if plan.streams:
        lines.append("- `run` needs no other memory (`work` may be null).")
    else:
        w = res.run_work_floats_per_step
        lines.append(
            f"- `run` needs `{P}_RUN_WORK_FLOATS(T)` = {w} × T floats ({4 * w} × T bytes) of work"
            " memory from the caller."
        )
    arrays = (
        f" (and `{p}_forecast` {4 * plan.input_size + 4 * plan.output_size} bytes of arrays)"
        if "LK_JOB_FORECAST" in jobs.flags
        else f" (and `{p}_generate` {4 * plan.output_size} bytes of arrays)"
        if "LK_JOB_TEXTGEN" in jobs.flags
        else ""
    )
    lines.append(f"- stack: the model's functions keep only scalars there{arrays}.")
    if res.m4_size:
        m = res.m4_size
        lines += [
            "",
            f"Measured for a Cortex-M4 ({m['compiler']}, `-O2 -mcpu=cortex-m4 -mthumb "
            f"-mfpu=fpv4-sp-d16 -mfloat-abi=hard`, `arm-none-eabi-size {p}.o`): text "
            f"{m['text']:,} bytes (flash: code + weights), data {m['data']:,}, bss "
            f"{m['bss']:,}; stack at most {m['stack']:,} bytes (the sum of every function's "
            "frame, `-fstack-usage`; nothing recurses). RAM in all: the state above + the stack.",
        ]
    lines += [
        "",
        "## API",
        "",
        "```c",
        f'#include "{p}.h"',
        "",
        f"void {p}_init({p}_state *s);    /* once */",
        f"void {p}_reset({p}_state *s);   /* start a new sequence: zero every h, c */",
    ]
    inp = "int id" if plan.input_ids else "const float *x"
    if plan.streams:
        lines.append(
            f"int {p}_step({p}_state *s, {inp}, float *y);   /* one time step; y may be null */"
        )
    inps = "const int *ids" if plan.input_ids else "const float *x"
    lines += [
        f"int {p}_run({p}_state *s, {inps}, int T, float *y, float *work);   /* = predict */",
        "```",
        "",
        (
            f"`{p}_step` feeds one time step and writes the model's output for the sequence so "
            "far (for a model that returns sequences: this step's output); with `y` null it "
            "skips the layers after the last recurrent one (feeding a prefix). "
            if plan.streams
            else "This model has a Bidirectional, go_backwards, Masking, Conv1D or pooling "
            "layer: it needs the whole sequence, so there is `run` but no `step`. "
        )
        + f"`{p}_run` starts from zero states, as `model.predict` does; both return 0, or −1 "
        "for a bad input (an id out of range, T < 1).",
        "",
        "Example:",
        "",
        "```c",
        *_example(plan, p, jobs),
        "```",
    ]
    if jobs.flags:
        lines += ["", "The job's functions (see the comments in the header and the source):", ""]
        for flag, text in (
            ("LK_JOB_LABELS", f"`{p}_labels[k]` names class k; `{p}_argmax(y)`."),
            (
                "LK_JOB_SERIES",
                f"`{p}_classify(s, raw, T, probs)` normalises the sequence ({jobs.normalize}), "
                f"keeps its last {jobs.maxlen} steps and pads the front with zero steps up to "
                f"{jobs.maxlen}"
                + (f", folds {jobs.patch} steps into one model step" if jobs.patch > 1 else "")
                + " and classifies it, as `lstmkit classify predict` does"
                + (
                    f" (its input rows and `run`'s work memory are in `{p}_state`)."
                    if not plan.streams
                    else "."
                ),
            ),
            ("LK_JOB_SCALER", f"`{p}_scale(raw, x)` standardises one raw step (global μ, σ)."),
            (
                "LK_JOB_IDS_CLASSIFY",
                f"`{p}_classify(s, ids, T, probs)` classifies a text given as word ids.",
            ),
            (
                "LK_JOB_FORECAST",
                f"`{p}_forecast(s, y, t, cov, fut, out)`: the next {P}_HORIZON values from the "
                f"last {P}_LOOKBACK + 1, transformed, deseasonalised and scaled as the forecast "
                "job does (its windows and levels, in double): the LSTM's forecast, the `lstm` "
                "column of the job's forecast.csv (the statistical candidates and the lstm+ets "
                "ensemble the job may pick are not in C).",
            ),
            (
                "LK_JOB_TEXTGEN",
                f"`{p}_tokens[id]` (UTF-8), `{p}_token_id`, `{p}_sample(p, temperature, &rng)`,"
                f" `{p}_generate(s, prime, n, temperature, &rng, out, size)`.",
            ),
        ):
            if flag in jobs.flags:
                lines.append(f"- {text}")
    lines += [
        "",
        "## Build",
        "",
        "```sh",
        f"cc -std=c99 -O2 -c {p}.c && cc -o app app.c {p}.o -lm",
        f"arm-none-eabi-gcc -std=c99 -O2 -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 "
        f"-mfloat-abi=hard -c {p}.c",
        "```",
        "",
        "It compiles cleanly with `-std=c99 -Wall -Wextra -Werror -pedantic` (gcc and clang). "
        "tanh is a rational approximation (lstmkit's own float32 tanh, relative error ~3e-7); "
        "`-DLK_LIBM_TANH` uses the C library's `tanhf` instead. As for any C code, a compiler "
        "may turn the zeroing loops into calls of `memset` (freestanding toolchains provide it).",
    ]
    if int8:
        lines += [
            "",
            "## int8",
            "",
            "Each row of each weight matrix (one output unit of W_x, of W_h, of a Dense kernel, "
            "one Embedding vector) is stored as int8 codes q in [−127, 127] and one float "
            "scale s = max|row| / 127; the kernels compute s · Σ q·x in float. Biases and "
            "all activations stay float32. `lstmkit.io.c_export.dequantized_model(model)` "
            "computes the same in Python, to measure the task metric before shipping. On a "
            "Cortex-M4 an int8 multiply-add costs more instructions than a float one (each code "
            "is converted to float): int8 buys flash (about ¼), not speed.",
        ]
    return "\n".join(lines) + "\n"
