"""The package's structure, as a test: no import cycles, imports only downward, every
import of the package's own modules at the top of its module, no private names
across modules. (DESIGN: cli → apps → model / training → layers → core.)"""

from __future__ import annotations

import textwrap

import pytest
from tests.architecture import imports as ig

#: each unit (a module or a package, longest prefix wins) and its floor: a unit may
#: import only units on LOWER floors (and itself). The package face ``lstmkit``
#: re-exports the public API and is imported by nothing inside the package.
FLOORS: dict[str, float] = {
    "lstmkit.errors": 0,
    "lstmkit.version": 0,
    "lstmkit.safeopen": 0,
    "lstmkit.core": 1,
    "lstmkit.layers": 2,
    "lstmkit.losses": 3,
    "lstmkit.metrics": 3.1,  # metrics named after losses (LossMetric)
    "lstmkit.optim": 3,
    "lstmkit.optimizers": 3.2,  # Keras' face of optim
    "lstmkit.initializers": 3,  # Keras' faces of layers.initializers / .regularizers
    "lstmkit.regularizers": 3,
    "lstmkit.constraints": 3,
    "lstmkit.utils": 3,
    "lstmkit.callbacks": 3,
    "lstmkit.data": 3,
    "lstmkit.resources": 3,
    "lstmkit.parallel": 4,
    # the file format: below the model, so the model can save itself
    "lstmkit.io.atomic": 4.0,
    "lstmkit.io.safefile": 4.1,
    "lstmkit.io.layout": 4.15,
    "lstmkit.io.safegraph": 4.15,  # a functional model's graph, checked
    "lstmkit.io.format": 4.2,
    "lstmkit.training": 5,
    "lstmkit.engine": 6,  # BaseModel, Sequential, the functional Model
    "lstmkit.model": 6.5,  # the old import path of Sequential
    "lstmkit.seq2seq": 6.5,  # the encoder–decoder: layers, optim and the file format below it
    # loading (builds models), interop and export: above the model
    "lstmkit.io": 7,
    "lstmkit.inspect": 7,
    "lstmkit.models": 7.5,  # Keras' keras.models: the engine's classes and io's load_model
    "lstmkit.sklearn": 8,
    "lstmkit.demo": 8,
    "lstmkit": 8,
    "lstmkit.apps": 9,
    "lstmkit.cli": 10,
    "lstmkit.__main__": 11,
}


def unit_of(mod: str) -> str:
    parts = mod.split(".")
    while ".".join(parts) not in FLOORS:
        parts.pop()
        assert parts, f"{mod} is on no floor: add its package to FLOORS"
    return ".".join(parts)


def violations(root=ig.SRC) -> list[str]:
    mods = ig.modules(root)
    known = set(mods)
    out = []
    edges: dict[str, list[str]] = {}
    for m, path in mods.items():
        edges[m] = []
        for t, line, in_func in ig.imports_of(m, path, known):
            edges[m].append(t)
            where = f"{path.relative_to(root.parent)}:{line}"
            if in_func and not ig._is_extension(t):
                out.append(f"{where}: {m} imports {t} inside a function (imports go at the top)")
            if t == "lstmkit" and m != "lstmkit.__main__":
                out.append(f"{where}: {m} imports the package face lstmkit; import the module")
                continue
            a, b = unit_of(m), unit_of(t)
            if a != b and FLOORS[a] <= FLOORS[b] and a != "lstmkit":
                out.append(
                    f"{where}: {m} (floor {FLOORS[a]}, {a}) imports {t} "
                    f"(floor {FLOORS[b]}, {b}): imports must go down"
                )
        for t, name, line in ig.private_names_used(m, path, known):
            out.append(f"{path.relative_to(root.parent)}:{line}: {m} uses {t}.{name} (private)")
    cycle = ig.find_cycle(edges)
    if cycle:
        out.append("import cycle: " + " -> ".join(cycle))
    return list(dict.fromkeys(out))  # one line per finding


def test_no_cycles_no_upward_imports_no_private_names():
    found = violations()
    assert not found, "\n".join(found)


def test_every_module_is_on_a_floor():
    for m in ig.modules():
        unit_of(m)


# ----------------------------------------------------------------- the checker itself
def _plant(tmp_path, files: dict[str, str]):
    root = tmp_path / "lstmkit"
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    return root


def test_the_checker_finds_a_planted_cycle(tmp_path, monkeypatch):
    root = _plant(
        tmp_path,
        {
            "__init__.py": "",
            "model.py": "from .training import fit_loop\n",
            "training/__init__.py": "from .loop import fit_loop\n",
            "training/loop.py": "def fit_loop():\n    from ..model import Sequential\n",
        },
    )
    monkeypatch.setattr(ig, "SRC", root)
    found = violations(root)
    assert any(v.startswith("import cycle: ") for v in found), found
    assert any("inside a function" in v for v in found), found
    assert any("imports must go down" in v for v in found), found


def test_the_checker_finds_a_private_name_across_modules(tmp_path, monkeypatch):
    root = _plant(
        tmp_path,
        {
            "__init__.py": "",
            "core/__init__.py": "",
            "core/a.py": "def _helper():\n    pass\n",
            "layers/__init__.py": "",
            "layers/b.py": "from ..core import a\nfrom ..core.a import _helper\nx = a._helper\n",
        },
    )
    monkeypatch.setattr(ig, "SRC", root)
    found = violations(root)
    assert sum("(private)" in v for v in found) == 2, found


@pytest.mark.parametrize("mod", ["lstmkit.apps.forecast.job", "lstmkit.io.save", "lstmkit"])
def test_units(mod):
    assert unit_of(mod) in FLOORS
