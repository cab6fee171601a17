"""A model saved by the forecast job (sidecar format 2) is explained on the window the job
feeds it: lstmkit explain reads the same (1, L [+ H], F) input as the job's forecast."""

import json
from types import SimpleNamespace

import numpy as np
from tests.cli_helpers import run_cli

from lstmkit.apps.explain import cli as explain_cli
from lstmkit.apps.forecast import net
from lstmkit.apps.forecast.series import load_panel
from lstmkit.apps.forecast.transforms import fit_prep
from lstmkit.apps.forecast.window import input_window
from lstmkit.data.csv import read_table


def test_explain_reads_the_forecast_jobs_window(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = ["month,y,promo"]
    for k in range(64):
        y = 50 + k + 10 * np.sin(2 * np.pi * k / 12) + rng.normal() if k < 60 else None
        rows.append(f"{2000 + k // 12}-{k % 12 + 1:02d},{'' if y is None else f'{y:.3f}'},{k % 2}")
    csv = tmp_path / "d.csv"
    csv.write_text("\n".join(rows) + "\n")
    out = tmp_path / "m"
    rc, stdout, _ = run_cli(
        capsys,
        "forecast",
        csv,
        "--target",
        "y",
        "--horizon",
        "4",
        "--future-covariates",
        "promo",
        "--candidates",
        "naive",
        "--epochs",
        "2",
        "--units",
        "6",
        "--quiet",
        "--out",
        out,
    )
    assert rc == 0, stdout
    meta = json.loads((out / "model.json").read_text())
    x, labels = input_window(read_table(csv), meta, "d.csv")
    (s,) = load_panel(read_table(csv), "y", "month", [], ["promo"])
    prep = fit_prep(s.y, 12)
    cs, fs = net.fit_scalers([s], [len(s.y)])
    want = net.make_windows(
        net.net_data(s.y, prep, s.cov, s.fut, cs, fs), [59], meta["lookback"], 4, targets=False
    )
    np.testing.assert_allclose(x, want, atol=1e-6)
    assert x.shape == (1, meta["lookback"] + 4, 2 + 1 + 1)  # Δz, level, promo, future flag
    assert labels[-5:] == ["2004-12", "+1", "+2", "+3", "+4"]
    d = explain_cli.prepare(
        SimpleNamespace(
            model=str(out), input=None, csv=str(csv), step=3, unit=None, layer=1, lang="en", seed=0
        )
    )
    np.testing.assert_allclose(d["x"], want[0], atol=1e-6)
