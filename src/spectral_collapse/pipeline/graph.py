"""Which studies exist, on which datasets, in which order, and the parts that group their chapters in a contents."""
from __future__ import annotations

import graphlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..studies import registry
from .study_pages import chapters_by_page

__all__ = ["study_names", "datasets", "source_notebook", "prerequisites", "SHOWS", "SHOWS_ALL", "shown", "shown_pairs",
           "upstream", "run_order", "STUDY_PARTS", "STUDY_LINES", "study_pages", "study_parts", "studies_index"]


def study_names() -> list[str]:
    """Every study, in book order."""
    return list(registry.STUDIES)


def datasets(study: str) -> tuple[str, ...]:
    """The datasets the main command runs ``study`` on."""
    return tuple(registry.get_study(study).datasets)


def source_notebook(study: str) -> str:
    """The notebook a researcher edits, relative to the repository root; an unknown study raises."""
    registry.get_study(study)
    return f"notebooks/{study}.ipynb"


def prerequisites(study: str) -> tuple[str, ...]:
    """The studies (same dataset and profile) whose results ``study`` reads: they run first when both are pending."""
    return tuple(registry.get_study(study).reads)


# chapters that show the stored results of studies they do not compute from (seed spread's training seeds, the Pareto
# sweep's step sizes, the main results' leaks): run order puts the shown study first; a failure of it skips nothing
SHOWS = {"main_results": ("seed_spread",), "your_model": ("pareto",), "closed_form": ("main_results",)}
# chapters that show every other study's results on every dataset (the claims each model below the gate decides)
SHOWS_ALL = ("model_quality",)


def shown(study: str) -> tuple[str, ...]:
    """The studies whose stored results ``study``'s chapter shows beside its own (``SHOWS``, ``SHOWS_ALL``)."""
    if study in SHOWS_ALL:
        return tuple(s for s in study_names() if s != study and registry.get_study(s).run is not None)
    return SHOWS.get(study, ())


def shown_pairs(study: str, dataset: str) -> list[tuple[str, str]]:
    """(study, dataset) of each stored result ``study``'s chapter on ``dataset`` shows (``SHOWS_ALL``: all datasets)."""
    return [(s, d) for s in shown(study) for d in dict.fromkeys((dataset, *(datasets(s) if study in SHOWS_ALL
                                                                               else ())))]


def upstream(study: str) -> list[str]:
    """Every study ``study`` depends on, directly or through another, in run order (``study`` excluded)."""
    found = set()
    for s in prerequisites(study):
        found |= {s, *upstream(s)}
    return run_order(found - {study})


def run_order(studies=None) -> list[str]:
    """``studies`` (default: all), each after those it reads, else in book order; an unknown study or a cycle raises."""
    names = study_names()
    for s in studies or ():
        registry.get_study(s)
    try:
        graphlib.TopologicalSorter({s: (*prerequisites(s), *shown(s)) for s in names}).prepare()
    except graphlib.CycleError as err:  # args[1]: each study is read by the next
        raise ValueError(f"studies read each other in a cycle: {' -> '.join(err.args[1][::-1])}; fix `reads` in "
                         f"studies/registry.py") from None
    order = []
    while len(order) < len(names):   # the first study in book order whose prerequisites and shown studies have run
        order.append(next(s for s in names if s not in order and {*prerequisites(s), *shown(s)} <= set(order)))
    return [s for s in order if studies is None or s in studies]


# The chapters in the order of the paper's story; a study not listed goes to a last part, "Other studies".
STUDY_PARTS = (
    ("The models", ("model_quality",)),
    ("Main results", ("main_results", "seed_spread")),
    ("Where collapse comes from", ("pca_collapse", "gaussianity", "decorrelation", "velocity", "ovg_schedule",
                                   "closed_form")),
    ("Choosing OVG's step sizes", ("pareto",)),
    ("Ablations", ("backbone_ablation", "space_ablation", "scale_factor", "eps_vs_x0", "flow_collapse")),
    ("Checking the metrics", ("metric_validation",)),
    ("Cost and performance", ("benchmarks",)),
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
    "closed_form": "DDIM inversion and OVG with the exact denoiser of a Gaussian fitted to each domain, in closed "
                   "form: what collapse and OVG's colour drift are on this data, at 32 to 256 px.",
    "pareto": "how OVG's two step sizes are chosen, by a sweep of structure against texture.",
    "backbone_ablation": "whether collapse and OVG's remedy hold with a transformer (DiT) in place of the U-Net.",
    "space_ablation": "whether collapse and OVG's remedy hold in an autoencoder's latent space as in pixels.",
    "scale_factor": "how the methods compare as the super-resolution factor grows.",
    "eps_vs_x0": "whether predicting the clean image instead of the noise cures collapse (the paper's Table 6).",
    "flow_collapse": "whether inverting a flow-matching model collapses as DDIM inversion does.",
    "metric_validation": "whether the spectral scores measure what they claim, on real images and filtered copies.",
    "benchmarks": "what the suite's commands cost on each machine, and what each inversion method, the trainer and the "
                  "metrics cost, stored with the machine that measured them.",
    "your_model": "how to run a study with a diffusers model of your own and on your own image folders.",
}


def _study(doc: str) -> str:
    """The study of a page's doc name ("studies/main_results" or "studies/main_results-smoke" -> "main_results")."""
    return doc.split("/", 1)[1].split("-", 1)[0]


def _parts(docs: Sequence[str]) -> list[tuple[str, list[str]]]:
    """(caption, doc names) for each part of ``STUDY_PARTS`` that holds a page of ``docs``, then "Other studies"."""
    parts = [(caption, [d for d in docs if _study(d) in names]) for caption, names in STUDY_PARTS]
    placed = {d for _, mine in parts for d in mine}
    parts.append(("Other studies", [d for d in docs if d not in placed]))
    return [(caption, mine) for caption, mine in parts if mine]


def studies_index(pages: Mapping[str, Sequence[str]]) -> str:
    """book/studies/index.md: a link to each page of ``pages`` ({doc: its datasets}) under its part, with its line."""
    lines = [
        "# Studies", "",
        "One chapter per study, grouped by the question the chapters answer. A study that ran on both tasks gives "
        "each task's answer first, then one section per task. Each section is a study notebook from `notebooks/`, "
        "executed by papermill with the parameters shown in its first cells on one dataset, and reading its numbers "
        "from `data/results/<study>/<dataset>-<profile>.nc`. Rerun one with other parameters, e.g. "
        "`papermill notebooks/<study>.ipynb out.ipynb -p dataset <name> -p profile quick`.",
    ]
    for caption, docs in _parts(list(pages)):
        lines += ["", f"## {caption}", ""]
        for doc in docs:
            name = _study(doc)
            title = registry.STUDIES[name].title if name in registry.STUDIES else name
            line = STUDY_LINES.get(name, "")
            lines.append(f"- {{doc}}`{title} </{doc}>` ({', '.join(pages[doc])}){': ' + line if line else ''}")
    return "\n".join(lines) + "\n"


def study_pages(book: Path, folder: str = "studies") -> dict[str, tuple[str, ...]]:
    """{doc name ("studies/<study>[-<profile>]"): its chapters' datasets} of the chapters in ``book``/``folder``, in
    book order."""
    order = {name: i for i, name in enumerate(study_names())}
    pages = chapters_by_page(Path(book) / folder)
    return {f"{folder}/{n}": tuple(c.dataset for c in pages[n])
            for n in sorted(pages, key=lambda n: (order.get(n.split("-", 1)[0], len(order)), n))}


def study_parts(studies: Sequence[str]) -> list[str]:
    """_toc.yml lines (under ``parts:``) placing the doc names ``studies`` in ``STUDY_PARTS`` or "Other studies"."""
    lines = []
    for caption, docs in _parts(studies):
        lines += [f"  - caption: {caption}", "    chapters:", *[f"      - file: {d}" for d in docs]]
    return lines
