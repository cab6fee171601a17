"""The generated functions of model.c: ``step`` (one time step) and ``run`` (a sequence).

Buffers: ``x`` (the caller's input, read only), each recurrent layer's state ``s->h<k>`` (read
only to the layers after it), two scratch vectors ``s->a``, ``s->b`` for the layers without
state, and ``y`` (the caller's output). :func:`step_body` walks the layers once and says, for
each, which buffer it reads and which it writes; the layers after the last recurrent one (the
head) only run when the caller asks for an output (``y`` not null).

A model that cannot stream (a Bidirectional or go_backwards layer) gets :func:`run_body`:
layer after layer over the whole sequence, in the caller's ``work`` (two T × widest-layer
buffers, ping-pong, and the mask).
"""

from __future__ import annotations

import numpy as np

from .plan import CLayer, Plan

__all__ = [
    "STEP_FN",
    "ACT_FN",
    "MERGE_MODE",
    "state_vectors",
    "cell_names",
    "scratch_z",
    "step_body",
    "run_streaming",
    "run_layerwise",
]

STEP_FN = {"lstm": "lk_lstm_step", "gru": "lk_gru_step", "rnn": "lk_rnn_step"}
ACT_FN = {
    "relu": "lk_relu",
    "tanh": "lk_tanh",
    "sigmoid": "lk_sigmoid_all",
    "softmax": "lk_softmax",
}
MERGE_MODE = {"sum": 1, "mul": 2, "ave": 3}


def state_vectors(cl: CLayer) -> list[tuple[str, int, str]]:
    """The state fields of one recurrent layer: (field, size, comment)."""
    out = []
    for cell, tag in zip(cl.cells, ("f", "b") if cl.merge else ("",), strict=True):
        half = {"f": " (forward half)", "b": " (backward half)", "": ""}[tag]
        out.append((f"h{cl.index}{tag}", cell.H, f"layer {cl.index}{half}: h"))
        if cell.kind == "lstm":
            out.append((f"c{cl.index}{tag}", cell.H, f"layer {cl.index}{half}: c"))
    return out


def cell_names(cl: CLayer) -> list[str]:
    return [f"l{cl.index}f", f"l{cl.index}b"] if cl.merge else [f"l{cl.index}"]


def scratch_z(plan: Plan) -> int:
    """Floats of gate scratch the widest cell needs: LSTM 4H, GRU 6H (a and u), RNN H."""
    per = {"lstm": 4, "gru": 6, "rnn": 1}
    n = max(per[c.kind] * c.H for cl in plan.recurrent for c in cl.cells)
    att = [cl.v.size for cl in plan.layers if cl.v is not None]
    return max([n, *att])  # AttentionPooling1D: u_t (A floats)


def _act(cl: CLayer, buf: str, n: str, feats: set) -> list[str]:
    if cl.act == "linear":
        return []
    feats.add(f"act_{cl.act}")
    return [f"{ACT_FN[cl.act]}({buf}, {n});"]


def _embed(cl: CLayer, int8: bool, id_: str, dst: str, feats: set) -> str:
    feats.add("embed")
    s = f"l{cl.index}_s" if int8 else "0"
    return f"lk_embed(l{cl.index}_E, {s}, {cl.d_out}, {id_}, {dst});"


def step_body(plan: Plan, int8: bool, feats: set) -> tuple[list[str], dict]:
    """→ (the C lines of ``step``, {scratch field: floats}). ``feats`` collects the kernels used."""
    last_rec = max(k for k, cl in enumerate(plan.layers) if cl.kind == "recurrent")
    scratch: dict[str, int] = {}
    lines: list[str] = []
    if plan.input_ids:
        lines += [
            f"if (id < 0 || id >= {plan.vocab_size}) /* ids are 0 … {plan.vocab_size - 1} */",
            "    return -1;",
        ]
    if plan.masked:
        lines.append("keep = id != 0; /* mask_zero: id 0 is padding, the states carry through */")
    cur = "x"
    head: list[str] = []

    def other(width: int) -> str:
        name = "b" if cur == "s->a" else "a"
        scratch[name] = max(scratch.get(name, 0), width)
        return f"s->{name}"

    for k, cl in enumerate(plan.layers):
        out = lines if k <= last_rec else head
        last = k == len(plan.layers) - 1
        out.append(f"/* layer {cl.index}: {cl.describe()} */")
        if cl.kind == "embedding":
            dst = "y" if last else other(cl.d_out)
            out.append(_embed(cl, int8, "id", dst, feats))
        elif cl.kind == "dense":
            feats.add("dense")
            dst = "y" if last else other(cl.d_out)
            out.append(f"lk_dense_apply(&l{cl.index}, {cur}, {dst});")
            out += _act(cl, dst, str(cl.d_out), feats)
        elif cl.kind == "activation":
            dst = cur
            if cur == "x" or cur.startswith("s->h"):
                dst = "y" if last else other(cl.d_out)
                feats.add("copy")
                out.append(f"lk_copy({dst}, {cur}, {cl.d_out});")
            out += _act(cl, dst, str(cl.d_out), feats)
        else:
            cell = cl.cells[0]
            feats.add(cell.kind)
            c = f"s->c{cl.index}" if cell.kind == "lstm" else "0"
            call = f"{STEP_FN[cell.kind]}(&l{cl.index}, {cur}, s->h{cl.index}, {c}, s->z);"
            out.append(("if (keep)\n    " if plan.masked else "") + call)
            dst = f"s->h{cl.index}"
        cur = dst
    if cur != "y":
        feats.add("copy")
        head.append(f"lk_copy(y, {cur}, {plan.output_size});")
    lines.append("if (!y) /* no output wanted: the layers after the last recurrent one wait */")
    lines.append("    return 0;")
    return lines + head + ["return 0;"], scratch


def run_streaming(plan: Plan, prefix: str) -> list[str]:
    """``run`` of a model that streams: reset, then ``step`` T times."""
    inp = "ids[t]" if plan.input_ids else f"x + (long)t * {plan.input_size}"
    if plan.returns_sequences:
        y = f"y + (long)t * {plan.output_size}"
    else:
        y = "t == T - 1 ? y : 0"
    return [
        "int t;",
        "(void)work; /* streams: no work memory */",
        "if (T < 1)",
        "    return -1;",
        f"{prefix}_reset(s);",
        "for (t = 0; t < T; ++t)",
        f"    if ({prefix}_step(s, {inp}, {y}) != 0)",
        "        return -1;",
        "return 0;",
    ]


def _seq_layer(cl: CLayer, int8: bool, cur: str, dst: str, R: str, M: str, feats: set) -> list:
    """The C lines of a Masking, Conv1D or pooling layer over R rows (M: the mask or "0")."""
    k = cl.index
    if cl.kind == "masking":
        feats.add("masking")
        mv = np.float32(cl.mask_value)
        if float(mv) != cl.mask_value:  # no float32 input equals it: nothing is masked
            return [f"for (t = 0; t < {R}; ++t)", "    M[t] = 1.0f; /* mask_value is no float */"]
        y = "0" if cl.mask_value == 0.0 else dst
        return [f"lk_masking({cur}, {R}, {cl.d_in}, {float(mv)!r}f, M, {y});"]
    if cl.kind == "conv":
        feats.add("conv")
        lines = [
            f"{R} = lk_conv1d(&l{k}, {cur}, {R}, {dst});",
            f"if ({R} < 1) /* shorter than the kernel's span */",
            "    return -1;",
        ]
        act = _act(cl, f"{dst} + (long)t * {cl.d_out}", str(cl.d_out), feats)
        if act:
            lines += [f"for (t = 0; t < {R}; ++t)", "    " + act[0]]
        return lines
    feats.add(f"pool_{cl.pool}")
    if cl.pool == "attention":
        return [f"lk_pool_att(&l{k}, {cur}, {R}, {M}, s->z, {dst});"]
    return [f"lk_pool_{cl.pool}({cur}, {R}, {cl.d_in}, {M}, {dst});"]


def run_layerwise(plan: Plan, prefix: str, int8: bool, feats: set) -> tuple[list[str], int]:
    """``run`` layer by layer over the whole sequence; → (C lines, widest layer W): the work
    memory is 2·T·W floats (+ T for the mask). The rows are T, or ``n`` after a Conv1D
    (valid padding and strides shorten the sequence)."""
    feats.add("seq")
    W = max(max(cl.d_out for cl in plan.layers), max(2 * cl.cells[0].H for cl in plan.recurrent))
    W = max(W, plan.input_size)
    R = "n" if any(cl.kind == "conv" for cl in plan.layers) else "T"
    used, body = set(), []
    cur, masked, rows_one = "x", False, False

    def other() -> str:
        name = "B" if cur == "A" else "A"
        used.add(name)
        return name

    for cl in plan.layers:
        body.append(f"/* layer {cl.index}: {cl.describe()} */")
        rows = "1" if rows_one else R
        if cl.kind == "embedding":
            dst = other()
            body += [
                "for (t = 0; t < T; ++t) {",
                f"    if (ids[t] < 0 || ids[t] >= {plan.vocab_size})",
                "        return -1;",
                "    " + _embed(cl, int8, "ids[t]", f"{dst} + (long)t * {cl.d_out}", feats),
            ]
            if cl.mask_zero:
                used.add("M")
                masked = True
                body.append("    M[t] = ids[t] != 0 ? 1.0f : 0.0f; /* mask_zero */")
            body.append("}")
        elif cl.kind in ("masking", "conv", "pool"):
            if cl.kind == "masking":
                used.add("M")
                masked = True
            # Masking(0) or a mask_value no float equals: the rows pass unchanged
            same = cl.kind == "masking" and (
                cl.mask_value == 0.0 or float(np.float32(cl.mask_value)) != cl.mask_value
            )
            dst = cur if same else other()
            body += _seq_layer(cl, int8, cur, dst, rows, "M" if masked else "0", feats)
            if not cl.keeps_mask:
                masked = False
            rows_one = rows_one or cl.kind == "pool"
        elif cl.kind == "dense":
            feats.add("dense")
            dst = other()
            body.append(f"for (t = 0; t < {rows}; ++t) {{")
            body.append(
                f"    lk_dense_apply(&l{cl.index}, {cur} + (long)t * {cl.d_in}, "
                f"{dst} + (long)t * {cl.d_out});"
            )
            body += [
                "    " + a for a in _act(cl, f"{dst} + (long)t * {cl.d_out}", str(cl.d_out), feats)
            ]
            body.append("}")
        elif cl.kind == "activation":
            dst = cur
            if cur == "x":
                dst = other()
                feats.add("copy")
                body.append(f"lk_copy({dst}, x, {rows} * {cl.d_in});")
            body.append(f"for (t = 0; t < {rows}; ++t) {{")
            body += [
                "    " + a for a in _act(cl, f"{dst} + (long)t * {cl.d_out}", str(cl.d_out), feats)
            ]
            body.append("}")
        else:
            dst = other()
            feats.add("copy")
            H = cl.cells[0].H
            stride = 2 * H if cl.merge else H
            m = "M" if masked else "0"
            for cell, name, col in zip(cl.cells, cell_names(cl), (0, H), strict=False):
                feats.add(cell.kind)
                tag = name[len(f"l{cl.index}") :]
                c = f"s->c{cl.index}{tag}" if cell.kind == "lstm" else "0"
                flags = f"{int(cell.reverse)}, {int(cl.return_sequences)}, {int(cell.flip)}"
                flags += " /* reverse, all, flip */"
                body.append(
                    f"lk_seq({STEP_FN[cell.kind]}, &{name}, {cur}, {rows}, {m}, {flags}, "
                    f"s->h{cl.index}{tag}, {c}, s->z, {dst}, {stride}, {col});"
                )
            if cl.merge and cl.merge != "concat":
                feats.add("merge")
                out_rows = rows if cl.return_sequences else "1"
                body.append(
                    f"lk_merge({dst}, {out_rows}, {H}, {MERGE_MODE[cl.merge]}); /* {cl.merge} */"
                )
            if not cl.return_sequences:
                rows_one, masked = True, False  # the time axis (and the mask with it) ends here
            elif masked and cl.cells[0].reverse and not cl.merge:
                feats.add("reverse")
                body.append(
                    f"lk_reverse(M, {rows}); /* go_backwards: the mask in processing order */"
                )
        cur = dst
    rows = "1" if rows_one else R
    feats.add("copy")
    body.append(f"lk_copy(y, {cur}, {rows} * {plan.output_size});")
    decl = ["int t;"] if any("for (t" in line for line in body) else []
    if R == "n":
        decl.append("int n = T; /* rows: a Conv1D may shorten the sequence */")
    if "A" in used:
        decl.append("float *A = work;")
    if "B" in used:
        decl.append(f"float *B = work + (long)T * {W};")
    if "M" in used:
        decl.append(f"float *M = work + 2L * T * {W}; /* M[t] = 0 where step t is padding */")
    if not used:
        decl.append("(void)work;")
    head = ["if (T < 1)", "    return -1;", f"{prefix}_reset(s);"]
    return decl + head + body + ["return 0;"], W
