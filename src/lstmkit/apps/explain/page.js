// The script of the `lstmkit explain` page: draws everything from the JSON in
// #lstm-data / #lstm-texts / #lstm-eq (see html.py), so no server is needed.
"use strict";
const D = JSON.parse(document.getElementById("lstm-data").textContent);
const TX = JSON.parse(document.getElementById("lstm-texts").textContent);
const EQ = JSON.parse(document.getElementById("lstm-eq").textContent);
const H = D.layer.units, T = D.T, UI = TX.ui;
let step = D.step, unit = D.unit;
const sig = z => 0.5 * Math.tanh(0.5 * z) + 0.5;
const f3 = v => (Math.abs(v) < 5e-4 ? 0 : v).toFixed(3);
const el = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "html") e.innerHTML = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
};
const absmax = rows => Math.max(1, ...rows.flat().map(Math.abs));
const SCALE = {z_i: absmax(D.z_i), z_f: absmax(D.z_f), z_g: absmax(D.z_g), z_o: absmax(D.z_o),
               c: absmax([D.c, D.c0])};
// colours: signed values blue (−) → white → red (+); gates 0 → white → teal 1
function colour(v, kind, scale) {
  if (kind === "gate") {
    const a = Math.min(1, Math.max(0, v));
    return `rgb(${Math.round(255 - 254 * a)},${Math.round(255 - 153 * a)},${Math.round(255 - 161 * a)})`;
  }
  const s = Math.max(-1, Math.min(1, v / (scale || 1)));
  const c = s >= 0 ? [178, 24, 43] : [33, 102, 172], a = Math.abs(s);
  return `rgb(${Math.round(255 + (c[0] - 255) * a)},${Math.round(255 + (c[1] - 255) * a)},${Math.round(255 + (c[2] - 255) * a)})`;
}
const ink = (v, kind, scale) => (kind === "gate" ? v > 0.6 : Math.abs(v / (scale || 1)) > 0.6) ? "#fff" : "#111";

function values(s) {     // the vectors of step s (1-based), as in explain_text.step_values
  const t = s - 1, v = {};
  for (const k of ["i", "f", "g", "o", "c", "h", "z_i", "z_f", "z_g", "z_o"]) v[k] = D[k][t];
  v.cprev = t === 0 ? D.c0 : D.c[t - 1];
  v.hprev = t === 0 ? D.h0 : D.h[t - 1];
  v.fc = v.f.map((a, k) => a * v.cprev[k]);
  v.ig = v.i.map((a, k) => a * v.g[k]);
  v.tc = v.c.map(Math.tanh);
  return v;
}
function fill(sentence, v, k) {
  const n = {k: String(k), pct: (100 * v.f[k]).toFixed(0)};
  for (const key of ["f", "cprev", "fc", "i", "g", "ig", "c", "o", "tc", "h"]) n[key] = f3(v[key][k]);
  return sentence.replace(/\{(\w+)\}/g, (m, key) => (key in n ? n[key] : m));
}

// "c_{t-1}" → c<sub>t-1</sub>, "h_t" → h<sub>t</sub>, after escaping the text
const esc = s => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const subs = s => esc(s).replace(/([A-Za-z]\u0303?)_\{([^}]*)\}/g, "$1<sub>$2</sub>").replace(/([A-Za-z]\u0303?)_([a-z0-9])/g, "$1<sub>$2</sub>");

function vrow(label, vec, kind, scale, name) {
  const cells = el("div", {class: "cells" + (H > 32 ? " small" : "")});
  vec.forEach((x, k) => {
    cells.append(el("div", {class: "cell" + (k === unit ? " sel" : ""), title: `${name}[${k}] = ${x.toPrecision(5)}`,
      style: `background:${colour(x, kind, scale)};color:${ink(x, kind, scale)}`,
      onclick: () => { unit = k; render(); }}, H > 32 ? "" : f3(x)));
  });
  return el("div", {class: "vrow"}, el("div", {class: "vlab", html: label}), cells);
}

// the layer's input x_t (not per unit: no unit is selected here)
function xrow(x) {
  const s = Math.max(1, ...D.x.flat().map(Math.abs));
  const cells = el("div", {class: "cells" + (x.length > 32 ? " small" : "")});
  x.forEach((a, k) => cells.append(el("div", {class: "cell", style: `cursor:default;background:${colour(a, "signed", s)};color:${ink(a, "signed", s)}`,
    title: `x_t[${k}] = ${a.toPrecision(5)}`}, x.length > 32 ? "" : f3(a))));
  return el("div", {class: "vrow"}, el("div", {class: "vlab", html: `x<sub>t</sub> “${esc(D.tokens[step - 1])}”`}), cells);
}

// the squashing curve with every unit's pre-activation marked (the chosen unit in red)
function curve(fn, zs, title) {
  const W = 270, Hh = 150, pad = 26, R = Math.min(12, Math.max(4, Math.ceil(Math.max(...zs.map(Math.abs)))));
  const lo = fn === "sigma" ? 0 : -1, f = fn === "sigma" ? sig : Math.tanh;
  const X = z => pad + (Math.max(-R, Math.min(R, z)) + R) / (2 * R) * (W - 2 * pad);
  const Y = a => Hh - pad - (a - lo) / (1 - lo) * (Hh - 2 * pad);
  let path = "";
  for (let n = 0; n <= 120; n++) { const z = -R + 2 * R * n / 120; path += (n ? "L" : "M") + X(z).toFixed(1) + "," + Y(f(z)).toFixed(1); }
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", W); svg.setAttribute("height", Hh); svg.setAttribute("class", "curve");
  const add = (tag, a, text) => { const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(a)) e.setAttribute(k, v); if (text !== undefined) e.textContent = text; svg.append(e); return e; };
  add("line", {x1: pad, x2: W - pad, y1: Y(0), y2: Y(0), stroke: "#bbb"});
  add("line", {x1: X(0), x2: X(0), y1: pad - 6, y2: Hh - pad, stroke: "#bbb"});
  add("path", {d: path, fill: "none", stroke: "#333", "stroke-width": 2});
  add("text", {x: W / 2, y: 13, "text-anchor": "middle"}, title);
  add("text", {x: pad, y: Hh - 8}, String(-R)); add("text", {x: W - pad, y: Hh - 8, "text-anchor": "end"}, String(R));
  add("text", {x: X(0) + 3, y: Y(1) + 3}, "1"); add("text", {x: X(0) + 3, y: Y(lo) - 2}, String(lo));
  add("text", {x: W / 2, y: Hh - 8, "text-anchor": "middle", fill: "#888"}, UI.pre);
  zs.forEach((z, k) => { if (k !== unit) add("circle", {cx: X(z), cy: Y(f(z)), r: 3.5, fill: "#7a8ca3", "fill-opacity": 0.55},
    ).append(Object.assign(document.createElementNS(ns, "title"), {textContent: `${UI.unit} ${k}: z = ${f3(z)} → ${f3(f(z))}`})); });
  const z = zs[unit], a = f(z);
  add("line", {x1: X(z), x2: X(z), y1: Y(lo), y2: Y(a), stroke: "#d7301f", "stroke-dasharray": "3,3"});
  add("circle", {cx: X(z), cy: Y(a), r: 6, fill: "#d7301f"}).append(
    Object.assign(document.createElementNS(ns, "title"), {textContent: `${UI.unit} ${unit}: z = ${f3(z)} → ${f3(a)}`}));
  const right = X(z) < W / 2;
  add("text", {x: right ? X(z) + 9 : X(z) - 9, y: Math.max(26, Y(a) + (a > (1 + lo) / 2 ? 18 : -9)), fill: "#d7301f",
      "text-anchor": right ? "start" : "end"}, `z = ${f3(z)} → ${f3(a)}`);
  return svg;
}

// stage 3: the chosen unit's c_{t-1} → kept part + written part → c_t on one number line
function bars(v) {
  const W = 300, rowH = 26, names = [["cprev", UI.old + " c<sub>t−1</sub>"], ["fc", UI.kept + " f⊙c<sub>t−1</sub>"],
    ["ig", UI.written + " i⊙g"], ["c", UI.new + " c<sub>t</sub>"]];
  const M = Math.max(1, ...names.map(([k]) => Math.abs(v[k][unit])));
  const box = el("div", {class: "bars"});
  for (const [k, lab] of names) {
    const x = v[k][unit], w = Math.abs(x) / M * (W / 2 - 4), left = x >= 0 ? W / 2 : W / 2 - w;
    box.append(el("div", {class: "vrow"}, el("div", {class: "vlab", html: lab}),
      el("div", {style: `position:relative;width:${W}px;height:${rowH - 6}px;background:#f3f3f0;border-radius:3px`},
        el("div", {style: `position:absolute;left:${W / 2}px;top:0;bottom:0;border-left:1px solid #999`}),
        el("div", {title: `${k} = ${x.toPrecision(5)}`, style: `position:absolute;left:${left}px;width:${w}px;top:3px;bottom:3px;background:${colour(x, "signed", M)}`})),
      el("div", {style: "padding-left:8px;font:12px ui-monospace,monospace"}, f3(x))));
  }
  return box;
}

const legend = () => el("div", {class: "note", html: `<span style="color:#d7301f">●</span> ${esc(UI.chosen)} ${unit} &nbsp; ` +
  `<span style="color:#7a8ca3">●</span> ${esc(UI.all_units)} (${UI.pre} → σ / tanh)`});

const STAGES = {
  forget: v => [[vrow("z<sub>f</sub>", v.z_f, "signed", SCALE.z_f, "z_f"), vrow("f<sub>t</sub> = σ(z<sub>f</sub>)", v.f, "gate", 1, "f"),
                 vrow("c<sub>t−1</sub>", v.cprev, "signed", SCALE.c, "c_{t-1}"), vrow("f⊙c<sub>t−1</sub>", v.fc, "signed", SCALE.c, "f⊙c_{t-1}")],
                [curve("sigma", v.z_f, "f = σ(z_f)")]],
  input: v => [[vrow("z<sub>i</sub>", v.z_i, "signed", SCALE.z_i, "z_i"), vrow("i<sub>t</sub> = σ(z<sub>i</sub>)", v.i, "gate", 1, "i"),
                vrow("z<sub>g</sub>", v.z_g, "signed", SCALE.z_g, "z_g"), vrow("g<sub>t</sub> = tanh(z<sub>g</sub>)", v.g, "signed", 1, "g"),
                vrow("i⊙g", v.ig, "signed", 1, "i⊙g")],
               [curve("sigma", v.z_i, "i = σ(z_i)"), curve("tanh", v.z_g, "g = tanh(z_g)")]],
  cell: v => [[vrow("f⊙c<sub>t−1</sub>", v.fc, "signed", SCALE.c, "f⊙c_{t-1}"), vrow("+ i⊙g", v.ig, "signed", SCALE.c, "i⊙g"),
               vrow("= c<sub>t</sub>", v.c, "signed", SCALE.c, "c_t")], [bars(v)]],
  output: v => [[vrow("z<sub>o</sub>", v.z_o, "signed", SCALE.z_o, "z_o"), vrow("o<sub>t</sub> = σ(z<sub>o</sub>)", v.o, "gate", 1, "o"),
                 vrow("tanh(c<sub>t</sub>)", v.tc, "signed", 1, "tanh(c_t)"), vrow("h<sub>t</sub> = o⊙tanh(c<sub>t</sub>)", v.h, "signed", 1, "h")],
                [curve("sigma", v.z_o, "o = σ(z_o)"), curve("tanh", v.c, "tanh(c_t)")]],
};

function strip() {
  const tb = el("table");
  const tok = el("tr", {class: "tok"}, el("td", {class: "lab"}, UI.input));
  D.tokens.forEach((s, t) => tok.append(el("td", {class: (t + 1 === step ? "cur" : "") + (s.length > 2 ? " long" : ""), title: `t = ${t + 1}: ${s}`,
    onclick: () => { step = t + 1; render(); }}, s === " " ? "␣" : s)));
  tb.append(tok);
  const num = el("tr", {}, el("td", {class: "lab"}, "t"));
  D.tokens.forEach((s, t) => num.append(el("td", {class: t + 1 === step ? "cur" : "", style: "color:#999;font-size:10px"}, String(t + 1))));
  tb.append(num);
  for (const [k, kind, scale, lab] of [["c", "signed", SCALE.c, "c<sub>t</sub>"], ["i", "gate", 1, "i<sub>t</sub>"],
      ["f", "gate", 1, "f<sub>t</sub>"], ["g", "signed", 1, "g<sub>t</sub>"], ["o", "gate", 1, "o<sub>t</sub>"], ["h", "signed", 1, "h<sub>t</sub>"]]) {
    const tr = el("tr", {}, el("td", {class: "lab", html: `${lab} [${unit}]`}));
    // c_t on its own scale (this unit's largest |c|), with its values written in
    const sc = k === "c" ? Math.max(1e-6, ...D.c.map(r => Math.abs(r[unit]))) : scale;
    D[k].forEach((row, t) => tr.append(el("td", {class: t + 1 === step ? "cur" : "", title: `${k}_${t + 1}[${unit}] = ${row[unit].toPrecision(5)}`,
      style: `background:${colour(row[unit], kind, sc)};color:${ink(row[unit], kind, sc)};font-size:9px`,
      onclick: () => { step = t + 1; render(); }}, k === "c" ? row[unit].toFixed(2) : "")));
    tb.append(tr);
  }
  const scroll = el("div", {class: "scroll"}, tb);
  document.getElementById("strip").replaceChildren(el("div", {class: "cap"}, UI.strip), scroll);
  const cur = tb.querySelector("td.cur");
  if (cur) scroll.scrollLeft = Math.max(0, cur.offsetLeft - scroll.clientWidth / 2);
}

function render() {
  const v = values(step);
  const lab = document.getElementById("step-label");
  lab.dataset.step = String(step);
  const tok = D.tokens[step - 1] === " " ? "␣" : D.tokens[step - 1];
  lab.textContent = `${UI.step} t = ${step} / ${T} · ${UI.input} “${tok}” · ${UI.unit} ${unit}`;
  document.getElementById("prev").disabled = step <= 1;
  document.getElementById("next").disabled = step >= T;
  document.getElementById("unit").value = String(unit);
  strip();
  const st = document.getElementById("state");
  st.replaceChildren(vrow("h<sub>t−1</sub>", v.hprev, "signed", 1, "h_{t-1}"), vrow("c<sub>t−1</sub>", v.cprev, "signed", SCALE.c, "c_{t-1}"));
  if (D.x[0].length <= 64) st.prepend(xrow(D.x[step - 1]));
  for (const name of ["forget", "input", "cell", "output"]) {
    const [vecs, curves] = STAGES[name](v), [title, sentence] = TX.stages[name];
    const sec = document.getElementById("stage-" + name);
    sec.replaceChildren(el("h2", {}, title),
      el("div", {class: "eq", html: EQ[name].map(e => `<span>${e}</span>`).join("")}),
      el("div", {class: "stage-body"}, el("div", {class: "vectors"}, ...vecs),
        el("div", {}, el("div", {class: "curves"}, ...curves), name === "cell" ? "" : legend())),
      el("p", {class: "sentence", html: subs(fill(sentence, v, unit))}));
    if (name === "input") sec.append(el("p", {class: "note", html: subs(UI.candidate)}));
  }
}

document.getElementById("prev").addEventListener("click", () => { if (step > 1) { step--; render(); } });
document.getElementById("next").addEventListener("click", () => { if (step < T) { step++; render(); } });
const sel = document.getElementById("unit");
for (let k = 0; k < H; k++) sel.append(el("option", {value: String(k)}, String(k)));
sel.addEventListener("change", () => { unit = Number(sel.value); render(); });
document.addEventListener("keydown", e => {
  if (e.key === "ArrowRight" && step < T) { step++; render(); }
  if (e.key === "ArrowLeft" && step > 1) { step--; render(); }
});
render();
