"""Write the study notebooks in notebooks/ from the cell lists below (the .ipynb files are generated: edit here).

    python scripts/make_notebooks.py
Each notebook has a cell tagged `parameters` (papermill) and the kernelspec python3.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from cells import notebooks  # noqa: E402


def build(name: str, module) -> nbformat.NotebookNode:
    cells = module.CELLS
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["spectral_collapse"] = {"study": name, "title": module.TITLE, "datasets": list(module.DATASETS),
                                        "order": module.ORDER}
    for i, (kind, src, *tags) in enumerate(cells):
        cell = new_markdown_cell(src.strip("\n")) if kind == "md" else new_code_cell(src.strip("\n"))
        cell.id = f"{name}-{i:02d}"  # stable ids: regenerating an unchanged notebook changes nothing
        if tags:
            cell.metadata["tags"] = list(tags[0])
        nb.cells.append(cell)
    return nb


def main():
    for name, module in notebooks().items():
        path = ROOT / "notebooks" / f"{name}.ipynb"
        nb = build(name, module)
        text = nbformat.writes(nb)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    main()
