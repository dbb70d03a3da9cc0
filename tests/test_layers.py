"""Imports run one way (docs/layers.md): the import-linter contracts of pyproject.toml hold, no two modules of
`src/spectral_collapse` or `benchmarks/` import each other through any chain, and no module imports another
module's private (`_name`) names.

The import graph is read from each module's AST: every `import` and `from ... import` statement counts, wherever it
sits (module level, inside a function, under `if TYPE_CHECKING:`). `from package import name` is an edge to
`package.name` when that is a module, else to `package`. A cycle is a strongly connected component of more than one
module. Run this file as a script to print the cycles and private imports it finds:

    python tests/test_layers.py
"""
from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"spectral_collapse": ROOT / "src" / "spectral_collapse", "benchmarks": ROOT / "benchmarks"}


def module_files(packages: dict[str, Path] = PACKAGES) -> dict[str, Path]:
    """Module name -> source file, for every module of ``packages`` (a package is its `__init__.py`)."""
    files = {}
    for top, folder in packages.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join((top, *parts))] = path
    return files


@dataclass(frozen=True)
class Import:
    """``module`` reads ``name`` of ``target`` (None: the whole module) at ``line``; ``how``: "from" for a
    `from target import name`, "attribute" for `target_alias.name` after importing the module."""
    module: str
    target: str
    name: str | None
    line: int
    how: str = "from"


def _base(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module a `from ... import` statement names."""
    if not node.level:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imports(files: dict[str, Path]) -> list[Import]:
    """Every import statement in the modules of ``files`` that reads one of them, and every attribute read through
    a module imported whole (`from . import fid as f` ... `f._name`)."""
    found = []
    for module, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in files:
                        found.append(Import(module, alias.name, None, node.lineno))
                        if alias.asname:
                            aliases[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom):
                base = _base(module, path, node)
                for alias in node.names:
                    child = f"{base}.{alias.name}"
                    if child in files:
                        found.append(Import(module, child, None, node.lineno))
                        aliases[alias.asname or alias.name] = child
                    elif base in files:
                        found.append(Import(module, base, alias.name, node.lineno))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                found.append(Import(module, aliases[node.value.id], node.attr, node.lineno, "attribute"))
    return found


def graph(found: list[Import]) -> dict[str, set[str]]:
    """Module -> the modules it imports (itself excluded)."""
    edges: dict[str, set[str]] = {}
    for item in found:
        edges.setdefault(item.module, set())
        if item.target != item.module and item.how == "from":
            edges[item.module].add(item.target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def enter(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)

    for start in sorted(edges):
        if start in index:
            continue
        enter(start)
        work = [(start, iter(sorted(edges.get(start, ()))))]
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    enter(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def private_imports(found: list[Import]) -> list[Import]:
    """The reads of another module's `_name` (dunders such as `__file__` are not private)."""
    return [item for item in found if item.name and item.name.startswith("_") and not item.name.startswith("__")
            and item.target != item.module]


def _cycle_edges(found: list[Import], circle: list[str]) -> list[str]:
    members = set(circle)
    return sorted({f"{i.module}:{i.line} imports {i.target}" for i in found
                   if i.how == "from" and i.module in members and i.target in members and i.module != i.target})


# ---------------------------------------------------------------------------------------------------- the suite

@functools.lru_cache(maxsize=1)
def _project() -> tuple[Import, ...]:
    return tuple(imports(module_files()))


def test_no_import_cycle_between_modules():
    """Function-level imports count: a cycle hidden inside a function is still a cycle."""
    found = list(_project())
    circles = cycles(graph(found))
    assert not circles, "import cycles (break each by moving the shared names into a module below both):\n" + "\n".join(
        "  " + " <-> ".join(c) + "\n    " + "\n    ".join(_cycle_edges(found, c)) for c in circles)


def test_no_module_imports_another_modules_private_name():
    bad = private_imports(list(_project()))
    assert not bad, "private names imported from another module (make the name public where it is defined, or move " \
        "it to where both modules can import it):\n" + "\n".join(
            f"  {i.module}:{i.line} reads {i.target}.{i.name}" for i in bad)


def test_import_linter_contracts_hold():
    """pyproject.toml's [tool.importlinter] contracts: the layers, the library not reading benchmarks/, no cycle
    between the modules or subpackages of one package."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                          "sys.exit(lint_imports(no_cache=True, no_logo=True))"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def _package(tmp_path: Path, sources: dict[str, str]) -> dict[str, Path]:
    for name, text in sources.items():
        path = tmp_path / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return module_files({"pkg": tmp_path / "pkg"})


def test_a_cycle_through_a_function_level_import_is_found(tmp_path):
    files = _package(tmp_path, {"__init__.py": "", "a.py": "from .b import f\n",
                                "b.py": "def f():\n    from . import c\n", "c.py": "import pkg.a\n",
                                "d.py": "from .a import f\n"})
    assert cycles(graph(imports(files))) == [["pkg.a", "pkg.b", "pkg.c"]]   # d imports into the cycle, is not in it


def test_components_are_found_apart_and_a_chain_is_no_cycle():
    edges = {"a": {"b"}, "b": {"a", "c"}, "c": {"d"}, "d": {"c"}, "e": {"a", "c"}, "f": {"f"}}
    assert cycles(edges) == [["a", "b"], ["c", "d"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_private_names_read_by_import_or_through_a_module_are_found(tmp_path):
    files = _package(tmp_path, {"__init__.py": "", "a.py": "_x = 1\ny = 2\n__all__ = []\n",
                                "b.py": "from .a import _x, y\nfrom . import a as m\nprint(m._z, m.__all__, m.y)\n",
                                "c.py": "_own = 1\nprint(_own)\n"})
    bad = {(i.module, i.name, i.how) for i in private_imports(imports(files))}
    assert bad == {("pkg.b", "_x", "from"), ("pkg.b", "_z", "attribute")}


def name_clashes(files: dict[str, Path]) -> list[str]:
    """Modules (not packages) whose last name is also the last name of a package of the same top-level package."""
    packages = {(m.split(".")[0], m.rsplit(".", 1)[-1]) for m, f in files.items() if f.name == "__init__.py"}
    return sorted(m for m, f in files.items()
                  if f.name != "__init__.py" and (m.split(".")[0], m.rsplit(".", 1)[-1]) in packages)


def test_no_module_shares_its_name_with_a_package():
    """``claims/paper.py``, not ``studies/claims.py`` beside ``claims/``: a name says which room it is."""
    assert name_clashes(module_files()) == []


def test_a_module_named_like_a_package_is_found(tmp_path):
    files = _package(tmp_path, {"__init__.py": "", "verdicts/__init__.py": "", "studies/__init__.py": "",
                                "studies/verdicts.py": "", "studies/tally.py": ""})
    assert name_clashes(files) == ["pkg.studies.verdicts"]


def test_studies_store_numbers_and_read_no_claims_tables_or_charts():
    """A study stores numbers; the claims, tables and charts read them (none of them imported by a study)."""
    every = imports(module_files())
    up = ("spectral_collapse.claims", "spectral_collapse.tables", "spectral_collapse.plotting")
    bad = sorted({(i.module, i.target) for i in every
                  if i.module.startswith(("spectral_collapse.studies", "spectral_collapse.framework"))
                  and i.target.startswith(up)})
    assert bad == []


def test_no_library_file_over_400_lines():
    long = {str(f.relative_to(ROOT)): n for m, f in module_files({"spectral_collapse": PACKAGES["spectral_collapse"]}).items()
            if (n := len(f.read_text().splitlines())) > 400}
    assert long == {}


if __name__ == "__main__":
    every = imports(module_files())
    circles = cycles(graph(every))
    private = private_imports(every)
    print(f"{len(circles)} cycles, {sum(map(len, circles))} modules in them")
    for circle in circles:
        print("  " + " <-> ".join(circle))
    print(f"{len(private)} private-name imports")
    for item in private:
        print(f"  {item.module}:{item.line} reads {item.target}.{item.name}")
