"""The variables every results file of a study holds, whatever its knobs, dataset or model.

A stored file without one of them is incomplete (a variable dropped from it by hand or by another tool) and is
computed again by ``pipeline.runner.run_study`` with a note in the chapter, rather than building a chapter without
that column. Studies that store no results, or are not listed, declare nothing.
"""
from __future__ import annotations

__all__ = ["DECLARED", "missing_variables"]

_TRANSLATION = ("psnr", "s_hf", "s_lf", "s_g", "failed")
DECLARED: dict[str, tuple[str, ...]] = {
    "main_results": _TRANSLATION,
    "backbone_ablation": _TRANSLATION,
    "space_ablation": _TRANSLATION,
    "scale_factor": _TRANSLATION,
    "eps_vs_x0": _TRANSLATION,
    "seed_spread": _TRANSLATION,
    "flow_collapse": _TRANSLATION,
    "pareto": ("psnr", "s_hf", "s_lf", "chosen", "failed"),
    "ovg_schedule": ("psnr", "s_hf", "s_lf", "failed"),
    "gaussianity": ("ks_d", "norm_ratio", "s_g"),
    "decorrelation": ("s_dc", "norm_ratio"),
    "pca_collapse": ("cev", "k90", "norm_ratio"),
    "velocity": ("log_power",),
    "metric_validation": ("slope", "pearson", "spearman"),
    "model_quality": ("passed",),
}


def missing_variables(study: str, ds) -> list[str]:
    """The variables ``study`` declares that the results ``ds`` lack, in declared order ([] when none)."""
    return [name for name in DECLARED.get(study, ()) if name not in ds.variables]
