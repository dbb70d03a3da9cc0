"""The study chapters of a book's table of contents: which executed chapters a book folder holds, grouped into parts.

Shared by the project's book (``scripts/make_toc.py``) and a user's report (``pipeline.report``). The studies are
grouped into parts in the order of the paper's story (``STUDY_PARTS``); within a part, and for a study no part
lists, the order is that of ``studies.registry.STUDIES``.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["STUDY_PARTS", "study_notebooks", "study_parts"]

# The studies' chapters in the order of the paper's story, after the check that the models are fit to be studied:
# the main results, then where collapse comes from
# (Sec. 4 and where OVG must act), how OVG's step sizes are chosen, the ablations (Sec. 6.3), the check of the
# metrics themselves, and what it all costs. A study not listed here goes to a last part, "Other studies".
STUDY_PARTS = (
    ("The models", ("model_quality",)),
    ("Main results", ("main_results", "seed_spread")),
    ("Where collapse comes from", ("pca_collapse", "gaussianity", "decorrelation", "velocity", "ovg_schedule")),
    ("Choosing OVG's step sizes", ("pareto",)),
    ("Ablations", ("backbone_ablation", "space_ablation", "scale_factor", "eps_vs_x0", "flow_collapse")),
    ("Checking the metrics", ("metric_validation",)),
    ("Cost and performance", ("cost", "benchmarks")),
    ("Your data, your model", ("your_model",)),
)


def study_notebooks(book: Path, folder: str = "studies") -> list[str]:
    """Doc names ("studies/<study>-<dataset>") of the executed notebooks in ``book``/``folder``, in book order."""
    from .graph import study_names

    order = {name: i for i, name in enumerate(study_names())}
    names = [p.stem for p in (Path(book) / folder).glob("*.ipynb") if not p.name.startswith((".", "_"))]

    def key(name: str) -> tuple[int, str]:
        return (order.get(name.split("-", 1)[0], len(order)), name)

    return [f"{folder}/{n}" for n in sorted(names, key=key)]


def study_parts(studies: list[str]) -> list[str]:
    """_toc.yml lines (sphinx-external-toc "jb-book" format, under ``parts:``) placing the doc names ``studies``
    in ``STUDY_PARTS``; a study no part lists goes to "Other studies"."""
    lines, placed = [], set()
    for caption, names in STUDY_PARTS:
        mine = [s for s in studies if s.split("/", 1)[1].split("-", 1)[0] in names]
        placed.update(mine)
        if mine:
            lines += [f"  - caption: {caption}", "    chapters:", *[f"      - file: {s}" for s in mine]]
    rest = [s for s in studies if s not in placed]
    if rest:
        lines += ["  - caption: Other studies", "    chapters:", *[f"      - file: {s}" for s in rest]]
    return lines
