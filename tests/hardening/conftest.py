"""Shared tallies of the hardening tests, and the summary they print at the end.

Tests add to ``STATS`` (see :func:`tally`); the session summary prints

    hostile inputs tried, by kind (model files, sidecars, checkpoints, .keras archives,
    CSV / text / CLI inputs) / refused cleanly / loaded (harmless mutation) / crashed /
    hangs; the largest time and memory peak of one fuzzed input
    faults injected / runs resumed / weights lost

and the tests themselves assert ``crashed == 0``, ``hangs == 0`` and ``weights lost ==
0``; the summary hook also fails the session if one of them is not 0.
"""

from __future__ import annotations

import pytest
from _jobs import CLASSIFY, FORECAST, TEXTGEN, cli

STATS = {
    "inputs tried": 0,
    "refused cleanly": 0,
    "loaded (harmless)": 0,
    "crashed": 0,
    "hangs": 0,
    "faults injected": 0,
    "runs resumed": 0,
    "weights lost": 0,
}
KINDS: dict[str, int] = {}  # inputs tried by kind: "model files", "sidecars", …
WORST = {"seconds": 0.0, "peak bytes": 0}  # of one fuzzed input


def tally(kind: str = "CSV/text/CLI", seconds: float = 0.0, peak: int = 0, **counts) -> None:
    """tally(inputs_tried=3, refused_cleanly=3, kind="sidecars") — keyword names with _
    for spaces; ``seconds`` / ``peak``: the worst time and memory peak of one input."""
    for k, v in counts.items():
        key = k.replace("_", " ")
        if key == "loaded harmless":
            key = "loaded (harmless)"
        assert key in STATS, key
        STATS[key] += int(v)
    if counts.get("inputs_tried"):
        KINDS[kind] = KINDS.get(kind, 0) + int(counts["inputs_tried"])
    WORST["seconds"] = max(WORST["seconds"], seconds)
    WORST["peak bytes"] = max(WORST["peak bytes"], peak)


@pytest.fixture
def stats():
    return tally


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not STATS["inputs tried"] and not STATS["faults injected"]:
        return  # no hardening test ran
    tr = terminalreporter
    tr.section("lstmkit hardening summary")
    order = ["model files", "sidecars", "checkpoints", ".keras archives", "CSV/text/CLI"]
    kinds = ", ".join(
        f"{k} {KINDS[k]}"
        for k in sorted(
            KINDS, key=lambda k: (k not in order, order.index(k) if k in order else 0, k)
        )
    )
    tr.write_line(
        f"hostile inputs: {STATS['inputs tried']} tried ({kinds}), {STATS['refused cleanly']} "
        f"refused cleanly, {STATS['loaded (harmless)']} loaded correctly "
        f"(harmless mutation), {STATS['crashed']} crashed (must be 0), {STATS['hangs']} "
        f"hangs (must be 0); slowest fuzzed input {WORST['seconds']:.3f} s, largest "
        f"memory peak {WORST['peak bytes'] / 2**20:.1f} MiB"
    )
    tr.write_line(
        f"training faults: {STATS['faults injected']} injected, {STATS['runs resumed']} "
        f"runs resumed, {STATS['weights lost']} weights lost (must be 0)"
    )


def pytest_sessionfinish(session, exitstatus):
    if STATS["crashed"] or STATS["hangs"] or STATS["weights lost"]:
        session.exitstatus = 1


# ------------------------------------------------------------------ tiny jobs
@pytest.fixture(scope="session")
def job_inputs(tmp_path_factory):
    """Small inputs for the three train jobs: a seasonal series, labelled texts, a text."""
    import numpy as np

    d = tmp_path_factory.mktemp("inputs")
    t = np.arange(120)
    y = 10 + np.sin(2 * np.pi * t / 12) + 0.01 * t
    series = d / "series.csv"
    series.write_text(
        "month,value,temp\n"
        + "".join(
            f"{2000 + k // 12}-{k % 12 + 1:02d},{v:.4f},{np.cos(k):.3f}\n" for k, v in enumerate(y)
        )
    )
    words = {"a": "sun warm bright day light", "b": "rain cold dark night wet"}
    rng = np.random.default_rng(0)
    rows = []
    for k in range(60):
        lab = "ab"[k % 2]
        rows.append(" ".join(rng.choice(words[lab].split(), 6)) + f",{lab}")
    texts = d / "texts.csv"
    texts.write_text("text,label\n" + "\n".join(rows) + "\n")
    novel = d / "novel.txt"
    from lstmkit.data import datasets
    from lstmkit.data.csv import read_text

    novel.write_text(read_text(datasets.get("pride").path)[:6000])
    return {"series": series, "texts": texts, "novel": novel}


@pytest.fixture(scope="session")
def trained(job_inputs, tmp_path_factory):
    """One tiny trained model of each job: {"forecast": dir, "classify": dir, "textgen": dir}."""
    d = tmp_path_factory.mktemp("trained")
    runs = {
        "forecast": [
            "forecast",
            job_inputs["series"],
            "--target",
            "value",
            "--covariates",
            "temp",
            *FORECAST,
        ],
        "classify": ["classify", "train", job_inputs["texts"], *CLASSIFY],
        "textgen": ["textgen", "train", job_inputs["novel"], *TEXTGEN],
    }
    out = {}
    for job, argv in runs.items():
        out[job] = d / job
        rc, so, se = cli(*argv, "--out", out[job])
        assert rc == 0, (job, so[-2000:], se[-2000:])
    return out
