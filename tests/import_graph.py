"""The import graph of `src/spectral_collapse` and `benchmarks/`, read from each module's AST.

Every `import` and `from ... import` statement counts, wherever it sits (module level, inside a function, under
`if TYPE_CHECKING:`). `from package import name` is an edge to `package.name` when that is a module, else to
`package`. Only modules inside the two packages are nodes. Used by tests/test_layers.py; runnable as a script to
print the cycles and the private-name imports it finds:

    python tests/import_graph.py
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"spectral_collapse": ROOT / "src" / "spectral_collapse", "benchmarks": ROOT / "benchmarks"}


def module_files() -> dict[str, Path]:
    """Module name -> source file, for every module of the two packages (a package is its `__init__.py`)."""
    files = {}
    for top, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join((top, *parts))] = path
    return files


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


@dataclass(frozen=True)
class Import:
    """One imported name: `module` imports `name` (None for a whole-module import) from `target`, at `line`."""
    module: str
    target: str
    name: str | None
    line: int


def _base(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module a `from ... import` statement names."""
    if not node.level:
        return node.module or ""
    package = module if _is_package(path) else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imports(files: dict[str, Path]) -> list[Import]:
    """Every import statement in the modules of `files`, resolved to the internal module it reads."""
    found = []
    for module, path in files.items():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in files:
                        found.append(Import(module, alias.name, None, node.lineno))
            elif isinstance(node, ast.ImportFrom):
                base = _base(module, path, node)
                for alias in node.names:
                    child = f"{base}.{alias.name}"
                    if child in files:
                        found.append(Import(module, child, None, node.lineno))
                    elif base in files:
                        found.append(Import(module, base, alias.name, node.lineno))
    return found


def graph(found: list[Import]) -> dict[str, set[str]]:
    """Module -> the internal modules it imports (itself excluded)."""
    edges: dict[str, set[str]] = {}
    for item in found:
        edges.setdefault(item.module, set())
        if item.target != item.module:
            edges[item.module].add(item.target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (each an import cycle), sorted (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
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

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def private_imports(found: list[Import]) -> list[Import]:
    """Imports of a `_name` (not a dunder) that another module defines."""
    return [item for item in found if item.name and item.name.startswith("_") and not item.name.startswith("__")
            and item.target != item.module]


if __name__ == "__main__":
    every = imports(module_files())
    circles = cycles(graph(every))
    private = private_imports(every)
    print(f"{len(circles)} cycles, {sum(map(len, circles))} modules in them")
    for circle in circles:
        print("  ", len(circle), " ".join(name.removeprefix("spectral_collapse.") for name in circle))
    print(f"{len(private)} private-name imports")
    for item in private:
        print("  ", item.module, "<-", item.target, item.name, item.line)
