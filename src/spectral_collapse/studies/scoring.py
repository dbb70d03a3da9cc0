"""Scoring a translation: the paper's metrics of each output against its source and ground truth
(``score_outputs``, with the settings the data imply, ``scoring_settings``), the failed samples counted and said
once per (label, seed) (``with_failures``, ``warn_failed``), and which of the paired metrics a dataset allows
(``paired_metrics``). Shared by the translation studies and the Pareto sweep."""
from __future__ import annotations

import warnings

import numpy as np
import torch
import xarray as xr

from ..metrics import latent as lat
from ..metrics import spectral as spec
from .controls import image_scores, realism_reference
from .realism import reference_scoring
from .validity import failures

__all__ = ["score_outputs", "scoring_settings", "warn_failed", "with_failures", "paired_metrics"]


def score_outputs(output: torch.Tensor, latent: torch.Tensor, source: torch.Tensor, truth: torch.Tensor | None, *,
                  mu_hf: float, wavelet: str, kappa: float, edges: bool, reference=None) -> dict[str, np.ndarray]:
    """Per-sample metrics of one translated batch (paper App. B, and the realism scores of ``controls.image_scores``
    with a ``reference``): psnr, s_hf, delta_log_e_hf, s_lf, s_lf_gt, s_dc, ... Without a ground truth (``truth``
    None: data without a paired test split) the paired scores are NaN."""
    dc = lat.decorrelation(latent)                       # on unit-variance latents: correlation, not amplitude
    dc_raw = lat.decorrelation(latent, standardize=False)  # the paper's raw form, kept beside it
    return {
        **image_scores(output, source, truth, mu_hf=mu_hf, wavelet=wavelet, kappa=kappa, edges=edges,
                       reference=reference),
        "s_dc": dc.s_dc,
        "s_dc_raw": dc_raw.s_dc,
        "latent_norm_ratio": dc_raw.norm_ratio,   # ||x_T||^2 / d of the raw latent
    }


def scoring_settings(data) -> dict:
    """Metric settings of a dataset (App. B): the S_HF wavelet and reference from its target pool, the S_LF cutoff
    for its image size, and the edge-map handling of S_LF when its task is sketch-to-image."""
    real = realism_reference(data)   # no flat channel: it has zero power bins (log -inf) in the slope fit
    wavelet = spec.wavelet_order(spec.spectrum_slope(real))
    reference, reference_features = reference_scoring(data, wavelet)
    return {"wavelet": wavelet, "mu_hf": spec.hf_reference(real, wavelet=wavelet),
            "kappa": spec.kappa_for_size(data.test_source.shape[-1]), "edges": data.task.kind == "edges",
            "reference": reference, "reference_features": reference_features}


def warn_failed(label: str, seed: int, failed, reason, steps: int) -> None:
    """One warning, in words, naming a seed's failed test crops: how many of how many, each reason once with its
    count, and which crops (numbered from 1 within the seed, the order in which chapters show them)."""
    from collections import Counter

    from .validity import MAX_ABS_OUTPUT, MAX_NORM_RATIO

    failed = np.asarray(failed, dtype=bool)
    if not failed.any():
        return
    words = {"nonfinite": "non-finite values", "output_range": f"output beyond ±{MAX_ABS_OUTPUT:g}",
             "latent_norm": f"latent norm ‖x_T‖²/d above {MAX_NORM_RATIO:g}"}
    counts = Counter(str(r) for r in np.asarray(reason)[failed])
    why = ", ".join(f"{words.get(r, r)} in {c}" for r, c in counts.most_common())
    k, n = int(failed.sum()), failed.size
    which = "every crop" if k == n else "crop" + ("s " if k > 1 else " ") + ", ".join(
        str(i + 1) for i in np.flatnonzero(failed))
    warnings.warn(f"{label}: {k} of {n} test crops of seed {seed} failed ({why}; {steps} steps each way): {which}; "
                  "they are left out of the tables' means", RuntimeWarning)


def with_failures(scores: dict, out, latent, nonfinite_step: np.ndarray, *, label: str, seed: int,
                  steps: int, warn: bool = True) -> xr.Dataset:
    """Per-sample scores with the failed samples (``validity.failures``: non-finite, or a latent / output beyond its
    bound) set to NaN, marked (``failed``, ``failure``) and, with ``warn``, named in a warning; ``finite`` and
    ``nonfinite_step`` keep what the loop recorded."""
    reason = failures(out, latent, nonfinite_step)
    failed = reason != ""
    if warn:
        warn_failed(label, seed, failed, reason, steps)
    cell = xr.Dataset({k: (("sample", "feature")[:np.ndim(v)], np.where(failed[(...,) + (None,) * (np.ndim(v) - 1)],
                                                                    np.nan, v))
                       for k, v in scores.items()})
    cell["finite"] = ("sample", nonfinite_step < 0)
    cell["nonfinite_step"] = ("sample", nonfinite_step)
    cell["failed"] = ("sample", failed)
    cell["failure"] = ("sample", reason.astype("U12"))
    return cell


def paired_metrics(data) -> str:
    """What the results say about the paired metrics: computed against the test split's ground truth, or not."""
    if getattr(data, "paired", True):
        return "psnr and s_lf_gt against the paired test split's ground truth"
    return ("none (psnr and s_lf_gt are not computed): "
            f"{data.meta.get('test_split', 'the test inputs have no ground truth')}")
