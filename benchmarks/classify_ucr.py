"""`lstmkit classify train` with its DEFAULT settings on every UCR/UEA classification set that
ships inside sktime's wheel, from the official train/test splits; the table for docs/classify.md.

    nice -n 10 .venv/bin/python benchmarks/classify_ucr.py                # all sets
    .venv/bin/python benchmarks/classify_ucr.py GunPoint ArrowHead --json out.json
    .venv/bin/python benchmarks/classify_ucr.py --extra="--epochs 50"     # not the defaults

Each set's ``<name>_TRAIN.ts`` / ``<name>_TEST.ts`` (read here with a small reader: sktime
itself is not imported) becomes one long CSV (id, t, x1 … xF, label, split) and the job
runs on it in a fresh process: ``lstmkit classify train FILE --id id --order t --label
label --quiet --out DIR``. The job prints its baselines (majority, 1-NN Euclidean,
1-NN DTW with a 10 % band) beside its own test accuracy; this script collects them from
metrics.json with the wall-clock and CPU time of the run. The regression sets in the wheel
(Covid3Month, Tecator: ``@targetLabel``) are not classification sets and are skipped.

Needs sktime installed (it is in the ``dev`` extra) for the data files only.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

#: LSTM-FCN test accuracy as published by its authors for the model chosen by minimum
#: *training* loss (Karim, Majumdar, Darabi 2019, "Insights into LSTM Fully Convolutional
#: Networks for Time Series Classification", IEEE Access 7; the LSTM-FCN column of
#: Results/train_loss_old_datasets.csv in github.com/titu1994/LSTM-FCN, UCR 2015 archive).
#: The 2017 paper's own table picked the checkpoint by *test* accuracy and is higher.
#: ACSF1 and PLAID (2018 archive), the multivariate UEA sets and UnitTest (a 20/22 slice
#: sktime makes of Chinatown) have no LSTM-FCN figure there.
PUBLISHED: dict[str, float] = {
    "ArrowHead": 0.89714,
    "GunPoint": 1.0,
    "ItalyPowerDemand": 0.9621,
    "OSULeaf": 0.98347,
}


def data_root() -> str:
    spec = importlib.util.find_spec("sktime")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("sktime is not installed: pip install -e '.[dev]' (the data sets ship in it)")
    return os.path.join(spec.submodule_search_locations[0], "datasets", "data")


def read_ts(path: str) -> tuple[list[np.ndarray], list[str], dict]:
    """A .ts file → (sequences (T_k, F), labels, header). Missing values ('?') are NaN."""
    seqs, labels, head, data = [], [], {}, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not data:
                if line.lower().startswith("@data"):
                    data = True
                elif line.startswith("@"):
                    key, _, val = line[1:].partition(" ")
                    head[key.lower()] = val.strip()
                continue
            *dims, lab = line.split(":")
            cols = [[float(v) if v != "?" else np.nan for v in d.split(",")] for d in dims]
            seqs.append(np.array(cols).T)  # (T, F)
            labels.append(lab.strip())
    return seqs, labels, head


def classification_sets(root: str) -> list[str]:
    out = []
    for name in sorted(os.listdir(root)):
        tr = os.path.join(root, name, f"{name}_TRAIN.ts")
        if name == "UnitTest" or not os.path.exists(tr):
            continue
        _, _, head = read_ts(tr)
        if head.get("classlabel", "false").split()[0].lower() == "true":
            out.append(name)
    return out + (["UnitTest"] if os.path.exists(os.path.join(root, "UnitTest")) else [])


def write_long_csv(root: str, name: str, path: str) -> dict:
    info = {}
    with open(path, "w", newline="") as f:
        w = None
        for split in ("train", "test"):
            seqs, labels, _ = read_ts(os.path.join(root, name, f"{name}_{split.upper()}.ts"))
            info[split] = len(seqs)
            F = seqs[0].shape[1]
            if w is None:
                w = csv.writer(f)
                w.writerow(["id", "t", *[f"x{j + 1}" for j in range(F)], "label", "split"])
            for k, (s, lab) in enumerate(zip(seqs, labels, strict=True)):
                for t, row in enumerate(s):
                    w.writerow([f"{split}{k}", t, *[repr(float(v)) for v in row], lab, split])
            lens = [len(s) for s in seqs]
            info.setdefault("dims", F)
            info.setdefault("lengths", [min(lens), max(lens)])
            info["lengths"] = [
                min(info["lengths"][0], min(lens)),
                max(info["lengths"][1], max(lens)),
            ]
            info["classes"] = len(set(labels))
    return info


def run_one(root: str, name: str, work: str, extra: list[str]) -> dict:
    data = os.path.join(work, f"{name}.csv")
    info = write_long_csv(root, name, data)
    out = os.path.join(work, name)
    cmd = [sys.executable, "-m", "lstmkit", "classify", "train", data, "--id", "id"]
    cmd += ["--order", "t", "--label", "label", "--quiet", "--out", out, *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        return {"set": name, "error": (proc.stderr or proc.stdout).strip()[-500:]}
    m = json.load(open(os.path.join(out, "metrics.json")))
    return {
        "set": name,
        "train": info["train"],
        "test": info["test"],
        "dims": info["dims"],
        "lengths": info["lengths"],
        "classes": info["classes"],
        "accuracy": m["accuracy"],
        **{k: v for k, v in m.get("baselines", {}).items()},
        "epochs": m["epochs"],
        "planned_epochs": m["planned_epochs"],
        "train_s": m["timing"]["train_s"],
        "train_cpu_s": m["timing"]["train_cpu_s"],
        "baselines_s": m["timing"].get("baselines_s"),
        "wall_s": round(wall, 1),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
        "stdout_tail": proc.stdout.strip().splitlines()[-12:],
    }


def table(rows: list[dict]) -> str:
    head = "| data set (train/test, dims × length, classes) | lstmkit | majority | 1-NN ED | "
    head += "1-NN DTW (10 %) | LSTM-FCN (published) | epochs | training s (CPU s) | whole job s |"
    lines = [head, "|" + "---|" * 9]
    ok = [r for r in rows if "error" not in r]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['set']} | error: {r['error'][:80]} |")
            continue
        L = r["lengths"]
        length = str(L[0]) if L[0] == L[1] else f"{L[0]}–{L[1]}"
        acc, ed, dtw = r["accuracy"], r["1-NN Euclidean"], r["1-NN DTW"]
        mark = "**" if acc >= ed else ""
        pub = PUBLISHED.get(r["set"])
        lines.append(
            f"| {r['set']} ({r['train']}/{r['test']}, {r['dims']} × {length}, {r['classes']}) | "
            f"{mark}{acc:.3f}{mark} | {r['majority']:.3f} | {ed:.3f} | {dtw:.3f} | "
            f"{'—' if pub is None else f'{pub:.3f}'} | {r['epochs']}/{r['planned_epochs']} | "
            f"{r['train_s']:.0f} ({r['train_cpu_s']:.0f}) | {r['wall_s']:.0f} |"
        )
    if ok:
        mean = {k: np.mean([r[k] for r in ok]) for k in ("accuracy", "1-NN Euclidean", "1-NN DTW")}
        lines.append(
            f"| **mean** ({len(ok)} sets) | **{mean['accuracy']:.3f}** | | "
            f"{mean['1-NN Euclidean']:.3f} | {mean['1-NN DTW']:.3f} | | | | |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("sets", nargs="*", help="data set names (default: every classification set)")
    ap.add_argument("--json", help="also write the rows as JSON here")
    ap.add_argument("--extra", default="", help="extra options for 'classify train' (quoted)")
    ap.add_argument("--keep", help="keep the CSVs and outputs in this directory")
    args = ap.parse_args(argv)
    root = data_root()
    names = args.sets or classification_sets(root)
    with open("/proc/loadavg") as f:
        load0 = f.read().split()[:3]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or tmp
        os.makedirs(work, exist_ok=True)
        for name in names:
            r = run_one(root, name, work, shlex.split(args.extra))
            rows.append(r)
            show = {k: v for k, v in r.items() if k != "stdout_tail"}
            print(json.dumps(show), flush=True)
    with open("/proc/loadavg") as f:
        load1 = f.read().split()[:3]
    print()
    print(table(rows))
    cpu = platform.processor() or platform.machine()
    print(f"\nload average before {' '.join(load0)}, after {' '.join(load1)}; {cpu}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "load_before": load0, "load_after": load1}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
