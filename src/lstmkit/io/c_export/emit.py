"""Write the plan as C text: ``<name>.h`` (sizes, the state struct, the API) and ``<name>.c``
(the runtime of ``templates/kernels.c``, the weights as ``static const`` arrays, the model's
``init`` / ``reset`` / ``step`` / ``run``, the job functions of ``templates/jobs.c``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from . import code
from . import jobs as jobs_mod
from .jobs import c_comment
from .plan import CONV_PADDING, Plan
from .quantize import attention_arrays, cell_arrays, conv_arrays, dense_arrays, embedding_arrays

__all__ = ["PER_LINE", "Output", "template", "c_array", "write"]

PER_LINE = 8  # numbers per line of an array


@dataclass
class Output:
    header: str
    source: str
    state_floats: int  # sizeof(state) / 4
    work_floats_per_step: int  # run's work memory per time step (0: streams)
    weight_bytes: int  # the const arrays: weights, scales, biases
    table_bytes: int  # the job tables (labels, vocabulary, scalers)
    layer_bytes: list[tuple[str, int]] = field(default_factory=list)  # (layer, bytes)


def template(name: str) -> str:
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def c_array(ctype: str, name: str, a: np.ndarray, dims: str) -> list[str]:
    a = np.asarray(a).reshape(-1)
    if a.dtype == np.int8:
        vals = [str(int(v)) for v in a]
    else:
        vals = [str(v) + "f" for v in a.astype(np.float32)]
    rows = [", ".join(vals[k : k + PER_LINE]) for k in range(0, len(vals), PER_LINE)]
    return [f"static const {ctype} {name}[{dims}] = {{", *("    " + r + "," for r in rows), "};"]


def _weights(plan: Plan, int8: bool) -> tuple[list[str], list[tuple[str, int]]]:
    lines: list[str] = []
    sizes: list[tuple[str, int]] = []
    wbytes = 1 if int8 else 4
    for cl in plan.layers:
        if cl.kind == "activation" or cl.kind == "masking" or cl.pool in ("max", "mean"):
            continue
        n0 = 0
        lines.append("")
        if cl.kind in ("conv", "pool"):
            n0 = _conv_or_attention(cl, int8, lines)
        elif cl.kind == "embedding":
            a = embedding_arrays(cl, int8)
            V, E = a["W"].shape
            lines.append(
                f"/* layer {cl.index} '{c_comment(cl.name)}': {cl.describe()} — row v = E[v, :] */"
            )
            lines += c_array("lk_w", f"l{cl.index}_E", a["W"], f"{V} * {E}")
            n0 += a["W"].size * wbytes
            if int8:
                lines += c_array("float", f"l{cl.index}_s", a["s"], str(V))
                n0 += 4 * V
        elif cl.kind == "dense":
            a = dense_arrays(cl, int8)
            N, D = a["W"].shape
            lines.append(
                f"/* layer {cl.index} '{c_comment(cl.name)}': {cl.describe()} on {D} inputs */"
            )
            lines.append("/* row j = W[:, j] */")
            lines += c_array("lk_w", f"l{cl.index}_W", a["W"], f"{N} * {D}")
            n0 += a["W"].size * wbytes
            s = b = "0"
            if int8:
                lines += c_array("float", f"l{cl.index}_s", a["s"], str(N))
                s, n0 = f"l{cl.index}_s", n0 + 4 * N
            if a["b"] is not None:
                lines += c_array("float", f"l{cl.index}_b", a["b"], str(N))
                b, n0 = f"l{cl.index}_b", n0 + 4 * N
            lines.append(
                f"static const lk_dense l{cl.index} = {{{D}, {N}, l{cl.index}_W, {s}, {b}}};"
            )
        else:
            lname = c_comment(cl.name)
            lines.append(f"/* layer {cl.index} '{lname}': {cl.describe()} on {cl.d_in} inputs */")
            for cell, name in zip(cl.cells, code.cell_names(cl), strict=True):
                a = cell_arrays(cell, int8)
                rows, cols = a["W"].shape
                gates = {"lstm": "i, f, g, o", "gru": "z, r, n", "rnn": "one block"}[cell.kind]
                half = {"f": "forward half: ", "b": "backward half: "}.get(name[-1], "")
                lines.append(
                    f"/* {half}row j = [W_x[:, j] ; W_h[:, j]], j = gate block ({gates}) × "
                    f"{cell.H} + unit */"
                )
                lines += c_array("lk_w", f"{name}_W", a["W"], f"{rows} * {cols}")
                n0 += a["W"].size * wbytes
                sx = sh = "0"
                if int8:
                    lines += c_array("float", f"{name}_sx", a["sx"], str(rows))
                    lines += c_array("float", f"{name}_sh", a["sh"], str(rows))
                    sx, sh, n0 = f"{name}_sx", f"{name}_sh", n0 + 8 * rows
                lines += c_array("float", f"{name}_b", a["b"], str(a["b"].size))
                n0 += 4 * a["b"].size
                lines.append(
                    f"static const lk_cell {name} = {{{cell.D}, {cell.H}, {name}_W, {sx}, {sh}, "
                    f"{name}_b}};"
                )
        sizes.append((f"{cl.index} {cl.describe()}", n0))
    return lines, sizes


def _conv_or_attention(cl, int8: bool, lines: list[str]) -> int:
    """The arrays and the lk_conv / lk_att of a Conv1D or AttentionPooling1D; → bytes."""
    k, conv = cl.index, cl.kind == "conv"
    a = conv_arrays(cl, int8) if conv else attention_arrays(cl, int8)
    N, K = a["W"].shape
    lname = c_comment(cl.name)
    lines.append(f"/* layer {k} '{lname}': {cl.describe()} on {cl.d_in} inputs */")
    what = "W[:, :, o] (tap j, channel c at j·C + c)" if conv else "W[:, a]"
    lines.append(f"/* row {'o' if conv else 'a'} = {what} */")
    lines += c_array("lk_w", f"l{k}_W", a["W"], f"{N} * {K}")
    n0 = a["W"].size * (1 if int8 else 4)
    s = b = "0"
    if int8:
        lines += c_array("float", f"l{k}_s", a["s"], str(N))
        s, n0 = f"l{k}_s", n0 + 4 * N
    if a["b"] is not None:
        lines += c_array("float", f"l{k}_b", a["b"], str(N))
        b, n0 = f"l{k}_b", n0 + 4 * N
    if conv:
        ks, st, dil, pad = cl.conv
        p = CONV_PADDING[pad]
        lines.append(
            f"static const lk_conv l{k} = {{{cl.d_in}, {N}, {ks}, {st}, {dil}, {p}, l{k}_W, {s}, "
            f"{b}}}; /* padding {pad} */"
        )
        return n0
    lines += c_array("float", f"l{k}_v", a["v"], str(N))
    lines.append(f"static const lk_att l{k} = {{{cl.d_in}, {N}, l{k}_W, {s}, {b}, l{k}_v}};")
    return n0 + 4 * N


def _switches(feats: set, int8: bool, job_flags: set) -> list[str]:
    names = {
        "LK_USE_LSTM": "lstm" in feats,
        "LK_USE_GRU": "gru" in feats,
        "LK_USE_RNN": "rnn" in feats,
        "LK_USE_DENSE": "dense" in feats,
        "LK_USE_EMBED": "embed" in feats,
        "LK_USE_COPY": "copy" in feats,
        "LK_USE_SEQ": "seq" in feats,
        "LK_USE_MERGE": "merge" in feats,
        "LK_USE_REVERSE": "reverse" in feats,
        "LK_USE_RELU": "act_relu" in feats,
        "LK_USE_TANH": "act_tanh" in feats,
        "LK_USE_SIGMOID_ACT": "act_sigmoid" in feats,
        "LK_USE_SOFTMAX": "act_softmax" in feats,
        "LK_USE_MASKING": "masking" in feats,
        "LK_USE_CONV": "conv" in feats,
        "LK_USE_POOL_MAX": "pool_max" in feats,
        "LK_USE_POOL_MEAN": "pool_mean" in feats,
        "LK_USE_POOL_ATTENTION": "pool_attention" in feats,
    }
    names["LK_USE_SIGMOID"] = names["LK_USE_LSTM"] or names["LK_USE_GRU"] or "act_sigmoid" in feats
    out = [f"#define LK_INT8 {int(int8)}"]
    out += [f"#define {k} {int(v)}" for k, v in names.items()]
    out += [f"#define {k} 1" for k in sorted(job_flags)]
    return out


def _defines(P: str, rows: list) -> list[str]:
    return [f"#define {P}_{k} {v} /* {c} */" for k, v, c in rows]


def _indent(lines: list[str], n: int = 4) -> list[str]:
    return [" " * n + sub if sub else sub for line in lines for sub in line.split("\n")]


def write(plan: Plan, p: str, int8: bool, jobs: jobs_mod.Jobs, banner: str) -> Output:
    """→ the header and source text of the model named ``p``."""
    P = p.upper()
    banner = c_comment(banner)
    feats: set = set()
    step_lines, scratch = code.step_body(plan, int8, feats) if plan.streams else ([], {})
    if plan.streams:
        run_lines, W = code.run_streaming(plan, p), 0
        work = "0"
        work_per_step = 0
    else:
        run_lines, W = code.run_layerwise(plan, p, int8, feats)
        work_per_step = 2 * W + (1 if plan.masked else 0)
        work = f"({work_per_step}L * (T))"
    if plan.masked and plan.streams:
        step_lines = ["int keep;"] + step_lines
    # ---- the state struct
    states = [f for cl in plan.recurrent for f in code.state_vectors(cl)]
    fields = states + [("z", code.scratch_z(plan), "gate scratch of one step")]
    for name in sorted(scratch):
        fields.append((name, scratch[name], "scratch: the output of a layer without state"))
    fields += jobs_mod.state_fields(plan, jobs, work_per_step)
    state_floats = sum(n for _, n, _ in fields)
    struct = [f"    float {f}[{n}]; /* {c} */" for f, n, c in fields]
    weights, sizes = _weights(plan, int8)
    job_src, table_bytes = jobs_mod.source_lines(plan, p, jobs)
    inp, inps = (
        ("int id", "const int *ids") if plan.input_ids else ("const float *x", "const float *x")
    )
    out_rows = "(T)" if plan.returns_sequences else "1"
    api = [f"void {p}_init({p}_state *s);", f"void {p}_reset({p}_state *s);"]
    if plan.streams:
        api.append(f"int {p}_step({p}_state *s, {inp}, float *y);")
    api.append(f"int {p}_run({p}_state *s, {inps}, int T, float *y, float *work);")
    header = "\n".join(
        [
            f"/* {p}.h — {banner}",
            f" * Plain C99; the weights and the code are in {p}.c. README.md: API, RAM, flash. */",
            f"#ifndef {P}_H",
            f"#define {P}_H",
            "",
            "#ifdef __cplusplus",
            'extern "C" {',
            "#endif",
            "",
            *_defines(
                P,
                [
                    ("INPUT_IDS", int(plan.input_ids), "1: each step is one int id"),
                    ("INPUT_SIZE", plan.input_size, "floats per time step (ids: 1)"),
                    ("INPUT_VOCAB", plan.vocab_size, "ids are 0 … INPUT_VOCAB − 1"),
                    ("OUTPUT_SIZE", plan.output_size, "floats out per step / per sequence"),
                    ("RETURNS_SEQUENCES", int(plan.returns_sequences), "run: one output per step"),
                    ("CAN_STREAM", int(plan.streams), "0: no step: run only (whole sequences)"),
                    ("INT8", int(int8), "1: int8 weights, float activations"),
                    ("STATE_BYTES", 4 * state_floats, f"sizeof({p}_state)"),
                    ("WEIGHT_BYTES", sum(n for _, n in sizes), "the weight arrays in flash"),
                    ("RUN_WORK_FLOATS(T)", work, "the work memory run needs"),
                    (
                        "RUN_OUTPUT_FLOATS(T)",
                        f"({out_rows} * {P}_OUTPUT_SIZE)",
                        "run writes this to y",
                    ),
                ],
            ),
            "",
            "/* All the model remembers between steps, and its scratch: owned by the caller. */",
            "typedef struct {",
            *struct,
            f"}} {p}_state;",
            "",
            *api,
            "",
            *jobs_mod.header_lines(plan, p, jobs),
            "",
            "#ifdef __cplusplus",
            "}",
            "#endif",
            f"#endif /* {P}_H */",
            "",
        ]
    )
    reset = [f"lk_zero(s->{f}, {n});" for f, n, _ in states]
    init = [f"lk_zero(s->{f}, {n});" for f, n, _ in fields[len(states) :]] + [f"{p}_reset(s);"]
    src = [
        f"/* {p}.c — {banner}",
        " * The network's equations are in the comments of the kernels below (section 1);",
        " * section 2 holds the weights, section 3 the model's functions. */",
        f'#include "{p}.h"',
        "#include <math.h>",
        "",
        *_switches(feats, int8, jobs.flags),
        "",
        "/* ==== 1. the runtime ==== */",
        template("kernels.c").rstrip("\n"),
        "",
        "/* ==== 2. the weights ==== */",
        *weights,
        "",
        *job_src,
        "",
        f"/* sizeof({p}_state) is what the header says (compile-time check, C99) */",
        f"typedef char lk_state_size_check[sizeof({p}_state) == {P}_STATE_BYTES ? 1 : -1];",
        "",
        "/* ==== 3. the model ==== */",
        "/* Zero every state (h, c): the start of a new sequence. */",
        f"void {p}_reset({p}_state *s)",
        "{",
        *_indent(reset),
        "}",
        "",
        "/* Once, before first use: the scratch too. */",
        f"void {p}_init({p}_state *s)",
        "{",
        *_indent(init),
        "}",
        "",
    ]
    if plan.streams:
        src += [
            "/* One time step: x in (INPUT_SIZE floats, or an id), the states move on, y out",
            " * (OUTPUT_SIZE floats: the model's output for the sequence so far). y may be null",
            " * (feeding a prefix): the layers after the last recurrent one are then skipped.",
            " * Returns 0, or −1 for an id out of range (nothing changes then). */",
            f"int {p}_step({p}_state *s, {inp}, float *y)",
            "{",
            *_indent(step_lines),
            "}",
            "",
        ]
    src += [
        "/* A whole sequence of T steps (x: T × INPUT_SIZE, row-major), from fresh states, as",
        " * model.predict: y gets RUN_OUTPUT_FLOATS(T) floats; work: RUN_WORK_FLOATS(T) floats",
        " * (0: may be null).  Returns 0, or −1 (T < 1, or an id out of range). */",
        f"int {p}_run({p}_state *s, {inps}, int T, float *y, float *work)",
        "{",
        *_indent(run_lines),
        "}",
        "",
    ]
    jobs_c = template("jobs.c").replace("{{PU}}", P).replace("{{P}}", p)
    src += [jobs_c] if jobs.flags else []
    return Output(
        header=header,
        source="\n".join(src),
        state_floats=state_floats,
        work_floats_per_step=work_per_step,
        weight_bytes=sum(n for _, n in sizes),
        table_bytes=table_bytes,
        layer_bytes=sizes,
    )
