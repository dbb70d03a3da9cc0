"""The study chapters of a book's table of contents: which executed chapters a book folder holds, grouped into parts.

Shared by the project's book (``scripts/make_toc.py``) and a user's report (``pipeline.report``). The studies are
grouped into parts in the order of the paper's story (``STUDY_PARTS``); within a part, and for a study no part
lists, the order is that of ``studies.registry.STUDIES``.
"""
from __future__ import annotations

from pathlib import Path

from ..studies.registry import STUDIES
from .graph import study_names

__all__ = ["STUDY_PARTS", "STUDY_LINES", "study_notebooks", "study_parts", "studies_index"]

# The chapters in the order of the paper's story; a study not listed goes to a last part, "Other studies".
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


# One line per study for the studies' index page (``studies_index``): the question its chapter answers.
STUDY_LINES = {
    "model_quality": "whether every model the studies use has learnt the data (samples from noise against real "
                     "crops, memorisation, loss curves), judged against a gate fixed in advance.",
    "main_results": "every inversion method translating the test crops, scored as in the paper's Table 2.",
    "seed_spread": "how far the main results move when the models are trained again from other seeds.",
    "pca_collapse": "how many principal components carry the variance of the inverted latents, against Gaussian "
                    "noise (the paper's Fig. 3).",
    "gaussianity": "whether the norms of the inverted latents follow the χ²(d) of Gaussian noise ($S_G$).",
    "decorrelation": "how many 4 × 4 patches of the inverted latents are as rough as white noise's ($S_{DC}$).",
    "velocity": "which spatial frequencies each inversion step changes (the paper's Fig. 17).",
    "ovg_schedule": "what OVG keeps when it guides only some of the inversion steps.",
    "pareto": "how OVG's two step sizes are chosen, by a sweep of structure against texture.",
    "backbone_ablation": "whether collapse and OVG's remedy hold with a transformer (DiT) in place of the U-Net.",
    "space_ablation": "whether collapse and OVG's remedy hold in an autoencoder's latent space as in pixels.",
    "scale_factor": "how the methods compare as the super-resolution factor grows.",
    "eps_vs_x0": "whether predicting the clean image instead of the noise cures collapse (the paper's Table 6).",
    "flow_collapse": "whether inverting a flow-matching model collapses as DDIM inversion does.",
    "metric_validation": "whether the spectral scores measure what they claim, on real images and filtered copies.",
    "cost": "what each inversion method costs per step (network calls, time and memory) against DDIM.",
    "benchmarks": "how long a translation, a training step and a metric take, stored with the machine that measured them.",
    "your_model": "how to run a study with a diffusers model of your own and on your own image folders.",
}


def studies_index(studies: list[str]) -> str:
    """book/studies/index.md: what a chapter is, then each study of ``studies`` (doc names) under its part, with
    its title, a link to each dataset's chapter and its line in ``STUDY_LINES``."""
    titles = {name: study.title for name, study in STUDIES.items()}
    by_study: dict[str, list[str]] = {}
    for doc in studies:
        by_study.setdefault(doc.split("/", 1)[1].split("-", 1)[0], []).append(doc)
    lines = [
        "# Studies", "",
        "One chapter per study and dataset, grouped by the question the chapters answer. Each chapter is a study "
        "notebook from `notebooks/`, executed by papermill with the parameters shown in its first cells, and reading "
        "its numbers from `data/results/<study>/<dataset>-<profile>.nc`. Rerun one with other parameters, e.g. "
        "`papermill notebooks/<study>.ipynb out.ipynb -p dataset <name> -p profile quick`.",
    ]
    listed = set()
    parts = [*STUDY_PARTS, ("Other studies", tuple(s for s in by_study if not any(s in n for _, n in STUDY_PARTS)))]
    for caption, names in parts:
        mine = [n for n in names if n in by_study and n not in listed]
        if not mine:
            continue
        lines += ["", f"## {caption}", ""]
        for name in mine:
            listed.add(name)
            docs = by_study[name]
            links = ", ".join(f"{{doc}}`{d.split('-', 1)[1]} </{d}>`" for d in docs)
            line = STUDY_LINES.get(name, "")
            lines.append(f"- **{titles.get(name, name)}** ({links}){': ' + line if line else ''}")
    return "\n".join(lines) + "\n"


def study_notebooks(book: Path, folder: str = "studies") -> list[str]:
    """Doc names ("studies/<study>-<dataset>") of the executed notebooks in ``book``/``folder``, in book order."""
    order = {name: i for i, name in enumerate(study_names())}
    names = [p.stem for p in (Path(book) / folder).glob("*.ipynb") if not p.name.startswith((".", "_"))]

    def key(name: str) -> tuple[int, str]:
        return (order.get(name.split("-", 1)[0], len(order)), name)

    return [f"{folder}/{n}" for n in sorted(names, key=key)]


def study_parts(studies: list[str]) -> list[str]:
    """_toc.yml lines (under ``parts:``) placing the doc names ``studies`` in ``STUDY_PARTS`` or "Other studies"."""
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
