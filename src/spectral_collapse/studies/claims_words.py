"""Names the claims use: the general rules' keys, the caveat word of a verdict on a model below the quality gate,
and the reader names of studies and of ablation arms ("DiT", "×4")."""
from __future__ import annotations

__all__ = ["PAIRED", "SHARE", "CORRELATION", "MEANS", "INDICATIVE", "STUDY_TITLES", "study_title",
           "ARM_WORDS", "arm_words", "arm_name"]

# the general rules a claim is decided by (the keys of ``claims.RULES``)
PAIRED, SHARE, CORRELATION, MEANS = "paired comparison", "share of comparisons", "correlation", "means only"
INDICATIVE = "indicative only"   # how a verdict that rests on a model below the quality gate is qualified

# one reader name per study, the chapter's title as prose names it (``registry.STUDIES`` titles), by the study's key
# and by the evidence's short label ("x0", "scale", ...)
STUDY_TITLES = {"main_results": "main results", "backbone_ablation": "backbone ablation",
                "space_ablation": "data-space ablation", "scale_factor": "scale-factor ablation",
                "eps_vs_x0": "ε-prediction vs x0-prediction", "pareto": "Pareto sweep", "pca_collapse": "PCA collapse",
                "seed_spread": "training seeds"}
_EVIDENCE_STUDY = {"main": "main_results", "x0": "eps_vs_x0", "scale": "scale_factor", "backbone": "backbone_ablation",
                   "space": "space_ablation"}


def study_title(key: str) -> str:
    """A study (its key, ``"eps_vs_x0"``, or the evidence's label, ``"x0"``) as every prose text names it: its
    chapter's title in words (``STUDY_TITLES``); any other key unchanged."""
    key = str(key)
    return STUDY_TITLES.get(_EVIDENCE_STUDY.get(key, key), key)


# An arm's value on each ablation axis as every page writes it (the stored results keep the keys): "factor" 4 ->
# "×4", "parameterization" eps -> "ε-prediction", "space" pixel -> "pixel space", "backbone" unet -> "U-Net"
ARM_WORDS = {
    "factor": lambda v: f"×{v}",
    "parameterization": lambda v: {"eps": "ε-prediction", "x0": "x0-prediction", "v": "v-prediction"}.get(
        str(v), f"{v}-prediction"),
    "space": lambda v: f"{v} space",
    "backbone": lambda v: {"unet": "U-Net", "dit": "DiT"}.get(str(v).lower(), str(v)),
    "train_seed": lambda v: f"training seed {v}",
}


def arm_words(axis: str, value) -> str:
    """One arm's value on an ablation axis in the reader's words (``ARM_WORDS``: "dit" -> "DiT", "latent" ->
    "latent space"); a value of another axis as it is."""
    return ARM_WORDS[axis](value) if axis in ARM_WORDS else str(value)


def arm_name(sel: dict) -> str:
    """An arm named by its axes' values in words, in the axes' order: {"parameterization": "eps", "factor": 4} ->
    "ε-prediction, ×4"; {"space": "pixel"} -> "pixel space"; an axis without words as "axis value"."""
    return ", ".join(arm_words(a, v) if a in ARM_WORDS else f"{a} {v}" for a, v in sel.items())
