"""Read the package's import graph from its source (ast; nothing is imported).

Each module is named like ``lstmkit.io.save``; an edge a → b means a's source
imports b (at module level or inside a function: both count, so an import moved
into a function to dodge a cycle is still seen). ``from . import x`` where x is a
submodule counts as an import of that submodule.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "lstmkit"
SRC = Path(__file__).resolve().parents[2] / "src" / PACKAGE


def module_name(path: Path, root: Path = SRC) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = SRC) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _resolve(mod: str, is_pkg: bool, level: int, target: str | None) -> str:
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports_of(mod: str, path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """[(imported module, line, inside a function?)] for imports of the package's own modules."""
    return [(t, line, f) for t, line, f, _ in _imports(mod, path, known)]


def private_names_used(mod: str, path: Path, known: set[str]) -> list[tuple[str, str, int]]:
    """[(other module, private name, line)]: ``from other import _x`` and ``other._x``, where
    other is another module of the package and ``_x`` is not a dunder."""
    out = []
    for target, line, _, names in _imports(mod, path, known):
        out += [(target, n, line) for n in names if _private(n)]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    aliases = _module_aliases(mod, path, tree, known)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and _private(node.attr)
            and aliases[node.value.id] != mod
        ):
            out.append((aliases[node.value.id], node.attr, node.lineno))
    return out


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_aliases(mod, path, tree, known) -> dict[str, str]:
    """Local names bound to modules of the package
    (``from . import x``, ``import lstmkit.y as z``)."""
    is_pkg = path.name == "__init__.py"
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = (
                _resolve(mod, is_pkg, node.level, node.module) if node.level else node.module or ""
            )
            for a in node.names:
                sub = f"{base}.{a.name}"
                if sub in known or _is_extension(sub):
                    out[a.asname or a.name] = sub
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.asname and a.name in known:
                    out[a.asname] = a.name
    return out


def _imports(mod: str, path: Path, known: set[str]) -> list[tuple[str, int, bool, list[str]]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_pkg = path.name == "__init__.py"
    out: list[tuple[str, int, bool, list[str]]] = []

    def visit(node, in_func):
        for child in ast.iter_child_nodes(node):
            f = in_func or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for a in child.names:
                    if a.name == PACKAGE or a.name.startswith(PACKAGE + "."):
                        out.append((_longest_known(a.name, known), child.lineno, in_func, []))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    target = _resolve(mod, is_pkg, child.level, child.module)
                elif child.module and (
                    child.module == PACKAGE or child.module.startswith(PACKAGE + ".")
                ):
                    target = child.module
                else:
                    target = None
                if target is not None:
                    for a in child.names:
                        sub = f"{target}.{a.name}"
                        if sub in known or _is_extension(sub):  # a module (or a compiled one)
                            out.append((sub, child.lineno, in_func, []))
                        else:  # a name defined in target
                            out.append(
                                (_longest_known(target, known), child.lineno, in_func, [a.name])
                            )
            visit(child, f)

    visit(tree, False)
    return [(t, line, f, n) for t, line, f, n in out if t != mod]


def _is_extension(name: str) -> bool:
    """A compiled module of the package (``lstmkit.core._fused`` built from ``_fused.c``)."""
    rel = name.split(".")[1:]
    return bool(rel) and (SRC.joinpath(*rel[:-1]) / f"{rel[-1]}.c").exists()


def _longest_known(name: str, known: set[str]) -> str:
    parts = name.split(".")
    while parts and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts) or name


def graph(root: Path = SRC) -> dict[str, list[tuple[str, int, bool]]]:
    mods = modules(root)
    known = set(mods)
    return {m: imports_of(m, p, known) for m, p in mods.items()}


def find_cycle(edges: dict[str, list[str]]) -> list[str] | None:
    """One cycle of the directed graph as [a, b, …, a], or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = dict.fromkeys(edges, WHITE)
    stack: list[str] = []

    def dfs(u):
        color[u] = GREY
        stack.append(u)
        for v in edges.get(u, []):
            if color.get(v, BLACK) == GREY:
                return stack[stack.index(v) :] + [v]
            if color.get(v) == WHITE:
                c = dfs(v)
                if c:
                    return c
        stack.pop()
        color[u] = BLACK
        return None

    for u in sorted(edges):
        if color[u] == WHITE:
            c = dfs(u)
            if c:
                return c
    return None
