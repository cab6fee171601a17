"""Every public module says what it exports: ``__all__`` lists each public class and
function it defines, and every name in ``__all__`` exists. Public: not ``_``-prefixed, not
``__main__``, not the CLI jobs under ``lstmkit.apps`` (their interface is the command
line). Read from the source (ast) and checked on the imported module."""

from __future__ import annotations

import ast
import importlib

import pytest
from tests.architecture.imports import modules


def public_modules() -> dict:
    out = {}
    for name, path in modules().items():
        parts = name.split(".")
        if any(p.startswith("_") for p in parts) or "apps" in parts[1:2]:
            continue
        out[name] = path
    return out


def defined_public(path) -> list[str]:
    """The public classes and functions defined at the module's top level."""
    tree = ast.parse(path.read_text())
    return [
        n.name
        for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and not n.name.startswith("_")
    ]


def missing_exports(name: str, path) -> list[str]:
    mod = importlib.import_module(name)
    exported = getattr(mod, "__all__", None)
    if exported is None:
        return [f"{name}: no __all__"]
    problems = [
        f"{name}: __all__ names {x!r}, which it does not have"
        for x in exported
        if not hasattr(mod, x)
    ]
    problems += [
        f"{name}: defines public {x!r} but leaves it out of __all__"
        for x in defined_public(path)
        if x not in exported
    ]
    return problems


def test_the_walk_sees_the_package():
    found = public_modules()
    assert "lstmkit.model" in found and "lstmkit.layers.recurrent" in found
    assert not any(".apps." in m or m.endswith("__main__") for m in found)


@pytest.mark.parametrize("name", sorted(public_modules()))
def test_public_module_declares_all(name):
    assert missing_exports(name, public_modules()[name]) == []


def test_the_check_fails_on_a_module_without_all(tmp_path, monkeypatch):
    """A planted module with a public function and no __all__, then one whose __all__
    forgets a class and names a ghost: both are reported."""
    pkg = tmp_path / "planted_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "bare.py").write_text("def f():\n    return 1\n")
    (pkg / "partial.py").write_text("__all__ = ['f', 'ghost']\n\ndef f(): ...\n\nclass C: ...\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert missing_exports("planted_pkg.bare", pkg / "bare.py") == ["planted_pkg.bare: no __all__"]
    problems = missing_exports("planted_pkg.partial", pkg / "partial.py")
    assert any("'ghost'" in p for p in problems) and any("'C'" in p for p in problems)
