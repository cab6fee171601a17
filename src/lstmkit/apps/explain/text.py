"""The words of ``lstmkit explain`` (English and Chinese) and its terminal form.

The Chinese follows the seed tutorials' vocabulary: 遗忘门 (forget gate), 输入门
(input gate), 候选值 (candidate, the seeds' C̃_t — our g_t), 细胞状态 (cell state),
输出门 (output gate), 隐藏状态 (hidden state). The equations are the same in both.

A sentence may name values of the chosen unit k at step t: {k} {f} {cprev} {fc}
{i} {g} {ig} {c} {o} {tc} {h} {pct} (the HTML page fills them in with JavaScript
the same way :func:`fill` does here).
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

EQUATIONS = {  # plain-text forms; the page has HTML forms of the same
    "forget": ["f_t = σ(W_f·[h_{t-1}, x_t] + b_f)"],
    "input": ["i_t = σ(W_i·[h_{t-1}, x_t] + b_i)", "g_t = tanh(W_g·[h_{t-1}, x_t] + b_g)"],
    "cell": ["c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t"],
    "output": ["o_t = σ(W_o·[h_{t-1}, x_t] + b_o)", "h_t = o_t ⊙ tanh(c_t)"],
}

# per language: title, stages (stage → (heading, sentence)), ui (key → label)
TEXTS: dict[str, dict[str, Any]] = {
    "en": {
        "title": "LSTM, one step at a time",
        "stages": {
            "forget": (
                "1 · Forget gate",
                "The forget gate decides how much of the old cell state c_{t-1} each unit "
                "keeps (0 = forget everything, 1 = keep everything): unit {k} has f = {f}, "
                "so it keeps {pct}% and its memory {cprev} becomes {fc}.",
            ),
            "input": (
                "2 · Input gate and candidate",
                "tanh proposes a candidate g_t between −1 and 1 and the input gate i_t "
                "decides how much of it is written into the cell: unit {k} writes "
                "{i} × {g} = {ig}.",
            ),
            "cell": (
                "3 · Cell state update",
                "The new cell state is what was kept plus what was written: for unit {k}, "
                "{fc} + {ig} = {c}.",
            ),
            "output": (
                "4 · Output gate",
                "The output gate o_t decides how much of the squashed memory tanh(c_t) "
                "leaves as the hidden state h_t, the layer's output passed on to the next "
                "step: unit {k} lets out {o} × {tc} = {h}.",
            ),
        },
        "ui": {
            "prev": "◀ previous step",
            "next": "next step ▶",
            "step": "time step",
            "unit": "unit",
            "input": "input",
            "layer": "layer",
            "units": "units",
            "model": "model",
            "strip": "the chosen unit over all time steps (hover for values, click to jump)",
            "pre": "pre-activation z",
            "all_units": "other units",
            "chosen": "chosen unit",
            "kept": "kept",
            "written": "written",
            "old": "old",
            "new": "new",
            "backwards": (
                "This layer reads the input backwards; steps are shown in its reading order."
            ),
            "candidate": "g_t is the candidate the seed texts call C̃_t.",
            "builtin": "This LSTM ({units} units) was trained just now ({steps} batches of 32 "
            "strings) to count brackets: after each character a Dense layer reads h_t "
            "and says how many brackets are open (mean error {mae}). Follow the unit "
            "whose cell state c_t moves one way on “(”, back on “)” and stays put on "
            "a letter: it counts.",
            "hover": "hover a cell for its value; click a cell to follow that unit",
        },
    },
    "zh": {
        "title": "LSTM 逐步图解",
        "stages": {
            "forget": (
                "① 遗忘门",
                "遗忘门决定旧的细胞状态 c_{t-1} 保留多少（0 表示“完全遗忘”，1 表示“完全保留”）："
                "单元 {k} 的 f = {f}，保留 {pct}%，记忆 {cprev} 变成 {fc}。",
            ),
            "input": (
                "② 输入门与候选值",
                "tanh 层创建候选值 g_t（在 −1 到 1 之间），"
                "输入门 i_t 决定把多少候选值写入细胞状态："
                "单元 {k} 写入 {i} × {g} = {ig}。",
            ),
            "cell": (
                "③ 更新细胞状态",
                "新的细胞状态 = 保留的旧记忆 + 添加的候选记忆：单元 {k} 为 {fc} + {ig} = {c}。",
            ),
            "output": (
                "④ 输出门",
                "输出门 o_t 决定经过 tanh 压缩的细胞状态有多少作为隐藏状态 h_t 输出，"
                "并传递到下一个时间步："
                "单元 {k} 输出 {o} × {tc} = {h}。",
            ),
        },
        "ui": {
            "prev": "◀ 上一步",
            "next": "下一步 ▶",
            "step": "时间步",
            "unit": "单元",
            "input": "输入",
            "layer": "层",
            "units": "个单元",
            "model": "模型",
            "strip": "所选单元在所有时间步上的值（悬停查看数值，点击跳转）",
            "pre": "激活前的值 z",
            "all_units": "其他单元",
            "chosen": "所选单元",
            "kept": "保留",
            "written": "写入",
            "old": "旧",
            "new": "新",
            "backwards": "这一层从后往前读取输入；时间步按它的读取顺序显示。",
            "candidate": "g_t 就是教程中的候选值 C̃_t。",
            "builtin": "这个 LSTM（{units} 个单元）刚刚用 {steps} 批（每批 32 个字符串）"
            "训练好，任务是数括号："
            "每读一个字符，Dense 层根据 h_t 说出还有几个括号没有闭合（平均误差 {mae}）。"
            "找一找哪个单元的细胞状态 c_t 遇到“(”朝一个方向变化、遇到“)”变回来、"
            "遇到字母保持不变：它就是计数器。",
            "hover": "把鼠标移到格子上查看数值；点击格子可跟踪该单元",
        },
    },
}


def sigmoid(z: float) -> float:
    return 0.5 * math.tanh(0.5 * z) + 0.5


def step_values(data: dict, step: int) -> dict:
    """Vectors (lists over units) of time step ``step`` (1-based) from the page data."""
    t = step - 1
    v = {k: data[k][t] for k in ("i", "f", "g", "o", "c", "h", "z_i", "z_f", "z_g", "z_o")}
    v["cprev"] = data["c0"] if t == 0 else data["c"][t - 1]
    v["hprev"] = data["h0"] if t == 0 else data["h"][t - 1]
    v["fc"] = [a * b for a, b in zip(v["f"], v["cprev"], strict=True)]  # f ⊙ c_{t-1}
    v["ig"] = [a * b for a, b in zip(v["i"], v["g"], strict=True)]  # i ⊙ g
    v["tc"] = [math.tanh(c) for c in v["c"]]  # tanh(c_t)
    return v


def fill(sentence: str, v: dict, k: int) -> str:
    """Put unit k's numbers into a sentence's {name} slots (other braces, as in c_{t-1}, stay)."""
    nums = {n: f"{v[n][k]:.3f}" for n in ("f", "cprev", "fc", "i", "g", "ig", "c", "o", "tc", "h")}
    nums.update(k=str(k), pct=f"{100 * v['f'][k]:.0f}")
    return re.sub(r"\{(\w+)\}", lambda m: nums.get(m.group(1), m.group(0)), sentence)


COLUMNS = {  # (header, key in step_values) per stage
    "forget": [("z_f", "z_f"), ("f_t", "f"), ("c_{t-1}", "cprev"), ("f⊙c_{t-1}", "fc")],
    "input": [("z_i", "z_i"), ("i_t", "i"), ("z_g", "z_g"), ("g_t", "g"), ("i⊙g", "ig")],
    "cell": [("f⊙c_{t-1}", "fc"), ("i⊙g", "ig"), ("c_t", "c")],
    "output": [("z_o", "z_o"), ("o_t", "o"), ("tanh(c_t)", "tc"), ("h_t", "h")],
}


def _width(s: str) -> int:
    """Terminal columns of s (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def render_text(data: dict, max_units: int = 16) -> str:
    """The four stages of the chosen step as tables (units as rows, ▶ marks the chosen unit)."""
    tx = TEXTS[data["lang"]]
    ui = tx["ui"]
    step, k, H, T = data["step"], data["unit"], data["layer"]["units"], data["T"]
    v = step_values(data, step)
    lo = max(0, min(k - max_units // 2, H - max_units))
    units = range(lo, min(H, lo + max_units))
    lay = data["layer"]
    out = [
        f"{tx['title']} — {ui['layer']} {lay['name']} ({H} {ui['units']}), "
        f"{ui['step']} {step}/{T}, {ui['unit']} {k}"
    ]
    if data["source"] == "built-in":
        info = data["info"]
        out.append(
            ui["builtin"].format(
                units=H,
                steps=info.get("train_steps", "?"),
                mae=f"{info.get('mae', float('nan')):.2f}",
            )
        )
    if lay["go_backwards"]:
        out.append(ui["backwards"])
    toks = [t if len(t) <= 6 else t[:5] + "…" for t in data["tokens"]]
    lo_t = max(0, step - 1 - 20)
    shown = toks[lo_t : lo_t + 40]
    line = " ".join(shown)
    caret = sum(_width(s) + 1 for s in shown[: step - 1 - lo_t])
    out += [f"{ui['input']}: {line}", " " * (_width(ui["input"]) + 2 + caret) + "^"]
    for stage in ("forget", "input", "cell", "output"):
        title, sentence = tx["stages"][stage]
        out += ["", f"{title}    " + "    ".join(EQUATIONS[stage])]
        cols = COLUMNS[stage]
        out.append(
            "   "
            + " " * (6 - _width(ui["unit"]))
            + ui["unit"]
            + "".join(f"{h:>12}" for h, _ in cols)
        )
        for u in units:
            mark = " ▶ " if u == k else "   "
            out.append(mark + f"{u:>6}" + "".join(f"{v[key][u]:>12.4f}" for _, key in cols))
        if len(units) < H:
            out.append(f"   ({units.start}…{units.stop - 1} of {H}; --unit picks the rows)")
        out.append(fill(sentence, v, k))
    return "\n".join(out)
