"""Scoring a translation: the paper's metrics of each output against its source and ground truth, with the settings
the data imply, the failed samples marked, and the controls (reference rows) every table carries, scored alike.
Shared by the translation studies and the Pareto sweep."""
from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import torch
import xarray as xr
from scipy.ndimage import gaussian_filter

from ..data.support import dataset_support
from ..metrics import latent as lat
from ..metrics import realism as rl
from ..metrics import spectral as spec
from ..metrics.image import psnr
from .validity import FAILURE_WORDS, failures

__all__ = ["CONTROLS", "NOISE_CONTROLS", "BLUR_SIGMA", "TEXTURE_SCORES", "image_scores", "support_leak",
           "control_images", "noise_sigma", "control_scores", "realism_sets", "scoring_settings",
           "warn_failed", "with_failures", "paired_metrics"]

CONTROLS = ("copy", "ground_truth", "blur", "colour_noise", "luma_noise")
NOISE_CONTROLS = ("colour_noise", "luma_noise")
BLUR_SIGMA = 1.0          # px
NOISE_SEED = 7_919        # noise of crop i is drawn from Generator(NOISE_SEED + i): the same whatever the batch
# the per-crop realism scores a flat ground-truth crop (``metrics.realism.flat_crops``) leaves out (NaN)
TEXTURE_SCORES = ("delta_log_e_hf_luma", "delta_log_e_hf_chroma", "delta_log_e_hf_luma_ref",
                  "delta_log_e_hf_chroma_ref", "hf_coherence", "wav_features")


def realism_sets(data, max_images: int = 512) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """(reference, real, flat counts): two disjoint, interleaved sets of at most ``max_images`` real target crops (of
    the unpaired pool, disjoint from the paired test and validation crops: every k-th crop and those half-way
    between), flat crops left out."""
    k = max(1, data.target.shape[0] // max_images)
    ref, real = (data.target[::k], data.target[k // 2::k]) if k > 1 else (data.target[::2], data.target[1::2])
    flat = {name: rl.flat_crops(x) for name, x in (("reference", ref), ("real", real))}
    return ref[torch.from_numpy(~flat["reference"])], real[torch.from_numpy(~flat["real"])], \
        {name: int(f.sum()) for name, f in flat.items()}


def image_scores(output: torch.Tensor, source: torch.Tensor, truth: torch.Tensor | None, scoring: dict,
                 latent: torch.Tensor | None = None) -> dict[str, np.ndarray]:
    """Per-sample metrics (paper App. B) under ``scoring_settings``, with a ``latent`` also the latent scores; paired
    scores are NaN without a ``truth``, the ``TEXTURE_SCORES`` where the truth is flat."""
    mu_hf, wavelet, kappa, edges = (scoring[k] for k in ("mu_hf", "wavelet", "kappa", "edges"))
    reference = scoring.get("reference")
    out = output.clamp(-1, 1)
    lf_kw = dict(kappa=kappa, gray=edges, mask="nonwhite" if edges else None)
    luma, chroma = rl.hf_energy_luma_chroma(out, wavelet)

    def paired(score, *args, **kw):   # a score against the ground truth; NaN without one
        return np.full(len(out), np.nan) if truth is None else score(out, truth, *args, **kw)

    scores = {
        "psnr": paired(psnr),
        "s_hf": spec.s_hf(out, mu_hf, wavelet=wavelet),
        "delta_log_e_hf": spec.delta_log_e(out, mu_hf, wavelet=wavelet),
        "s_lf": spec.s_lf(out, source, **lf_kw),       # against the input condition, as App. B.5 defines it
        "s_lf_gt": paired(spec.s_lf, kappa=kappa),   # against the ground truth (a paired reference we also have)
        "delta_log_e_hf_luma": paired(rl.delta_log_e_hf_luma, wavelet=wavelet),
        "delta_log_e_hf_chroma": paired(rl.delta_log_e_hf_chroma, wavelet=wavelet),
        "hf_coherence": rl.hf_coherence(out, wavelet),
        "e_hf_rgb": rl.hf_energy_rgb(out, wavelet),
    }
    if reference is not None:
        floor = rl.FLAT   # a grey image has no chroma: a large finite deficit, not -inf
        with np.errstate(divide="ignore", invalid="ignore"):
            for k, e in (("luma", luma), ("chroma", chroma)):
                scores[f"delta_log_e_hf_{k}_ref"] = np.log(np.maximum(e, floor)) - np.log(max(reference[k], floor))
        scores["wav_features"] = reference["scaler"](rl.wavelet_features(out, wavelet))
    if truth is not None:   # a flat true crop (uniform background) is left out of the realism scores
        flat = rl.flat_crops(truth)
        for k in (k for k in TEXTURE_SCORES if k in scores):
            scores[k] = np.where(flat[(...,) + (None,) * (np.ndim(scores[k]) - 1)], np.nan, scores[k])
    if latent is not None:
        dc = lat.decorrelation(latent)                       # on unit-variance latents: correlation, not amplitude
        dc_raw = lat.decorrelation(latent, standardize=False)  # the paper's raw form, kept beside it
        scores.update(s_dc=dc.s_dc, s_dc_raw=dc_raw.s_dc, latent_norm_ratio=dc_raw.norm_ratio)  # ||x_T||^2 / d, raw
        scores["support_leak"] = support_leak(latent, scoring.get("support"))
    return scores


def support_leak(latent: torch.Tensor, projector) -> np.ndarray:
    """``metrics.latent.support_leak`` per latent against ``projector``; NaN without one or of another shape."""
    if projector is None or tuple(latent.shape[1:]) != tuple(projector.shape):
        return np.full(len(latent), np.nan)
    return lat.support_leak(latent, projector)


def _noise(shape, index: int, luma: bool) -> np.ndarray:
    g = np.random.default_rng(NOISE_SEED + int(index))
    return np.repeat(g.standard_normal((1, *shape[1:])), shape[0], axis=0) if luma else g.standard_normal(shape)


def control_images(source: torch.Tensor, truth: torch.Tensor, *, sigma: float, crops) -> dict[str, torch.Tensor]:
    """The control images of paired crops (blur: Gaussian of ``BLUR_SIGMA`` px; noises of std ``sigma``, clipped to
    [-1, 1]), the noises seeded by each crop's index in its split (``crops``)."""
    gt = truth.detach().cpu().numpy().astype(np.float64)
    blur = gaussian_filter(gt, sigma=(0, 0, BLUR_SIGMA, BLUR_SIGMA), mode="reflect")
    noisy = {c: np.stack([np.clip(gt[k] + sigma * _noise(gt[k].shape, i, c == "luma_noise"), -1, 1)
                          for k, i in enumerate(crops)]) for c in NOISE_CONTROLS}
    f32 = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
    return {"copy": source, "ground_truth": truth, "blur": f32(blur), **{c: f32(v) for c, v in noisy.items()}}


def noise_sigma(truth: torch.Tensor, target_energy: float, crops, wavelet: str) -> float:
    """The std of colour noise that adds ``target_energy`` (mean squared level-1 detail, summed over R, G, B) to
    ``truth`` on average (the energy is quadratic in sigma, measured once at sigma 1); 0 when not positive."""
    if not np.isfinite(target_energy) or target_energy <= 0:
        return 0.0
    gt = truth.detach().cpu().numpy().astype(np.float64)
    unit = np.stack([_noise(gt[k].shape, i, False) for k, i in enumerate(crops)])
    return float(np.sqrt(target_energy / rl.hf_energy_rgb(unit, wavelet).mean()))


def control_scores(src: torch.Tensor, gt: torch.Tensor | None, scoring: dict, *, sigma: float,
                   crops) -> xr.Dataset:
    """The ``CONTROLS`` of a translation table, scored like the methods on the same crops (without a paired split only
    ``copy``, the others NaN); with one also ``real_<score>`` (the ``real`` crops scored alike) and ``flat_truth``.
    A metric on which ``copy`` beats every method rewards doing nothing."""
    rows = {"copy": image_scores(src, src, gt, scoring)}
    if gt is not None:
        imgs = control_images(src, gt, sigma=sigma, crops=crops)
        rows.update({c: image_scores(imgs[c], src, gt, scoring) for c in CONTROLS if c != "copy"})
        rows["ground_truth"]["psnr"] = np.full(len(src), np.nan)  # against itself: infinite, says nothing
    rows.update({c: {k: np.full_like(v, np.nan, dtype=np.float64) for k, v in rows["copy"].items()}
                 for c in CONTROLS if c not in rows})
    dims = ("control", "sample", "feature")
    out = xr.Dataset({f"control_{m}": (dims[:np.ndim(v) + 1], np.stack([rows[c][m] for c in CONTROLS]))
                      for m, v in sorted(rows["copy"].items())},
                     coords={"control": list(CONTROLS), "sample": np.arange(len(src))})
    real = scoring.get("real")
    if gt is not None and real is not None and len(real):   # n real crops, evenly spread, stand in for n test crops
        n = len(src)
        pick = (np.arange(n) * len(real)) // n if n <= len(real) else np.arange(n) % len(real)
        got = image_scores(real[pick], src, gt, scoring)
        out = out.assign({f"real_{m}": (dims[1:np.ndim(v) + 1], v) for m, v in sorted(got.items())})
    if gt is not None:
        out["flat_truth"] = ("sample", rl.flat_crops(gt))
    return out


def scoring_settings(data) -> dict:
    """Metric settings of a dataset (App. B): the S_HF wavelet and reference, the S_LF cutoff and edge-map handling,
    the realism reference (the KID's feature ``scaler`` fitted on it), the ``real`` crops and the task's ``support``."""
    real, others, flat = realism_sets(data)   # no flat channel: zero power bins (log -inf) in the slope fit
    wavelet = spec.wavelet_order(spec.spectrum_slope(real))
    feats = rl.wavelet_features(real, wavelet)
    scaler = rl.FeatureScaler.fit(feats)
    luma, chroma = rl.hf_energy_luma_chroma(real, wavelet)
    support, why = dataset_support(data)   # the task's support (data/support.py), None with the reason
    return {"support": support, "support_reason": why, "wavelet": wavelet, "mu_hf": spec.hf_reference(real, wavelet=wavelet),
            "kappa": spec.kappa_for_size(data.test_source.shape[-1]), "edges": data.task.kind == "edges",
            "reference": {"scaler": scaler, "luma": float(luma.mean()), "chroma": float(chroma.mean()), "n": len(real),
                          "n_real": len(others), "flat": flat},
            "reference_features": scaler(feats), "real": others}


def warn_failed(label: str, seed: int, failed, reason, steps: int) -> None:
    """One warning naming a seed's failed test crops (numbered from 1 within the seed), how many and why."""
    failed = np.asarray(failed, dtype=bool)
    if not failed.any():
        return
    counts = Counter(str(r) for r in np.asarray(reason)[failed])
    why = ", ".join(f"{FAILURE_WORDS.get(r, r)} in {c}" for r, c in counts.most_common())
    k, n = int(failed.sum()), failed.size
    which = "every crop" if k == n else "crop" + ("s " if k > 1 else " ") + ", ".join(
        str(i + 1) for i in np.flatnonzero(failed))
    warnings.warn(f"{label}: {k} of {n} test crops of seed {seed} failed ({why}; {steps} steps each way): {which}; "
                  "they are left out of the tables' means", RuntimeWarning)


def with_failures(scores: dict, out, latent, nonfinite_step: np.ndarray) -> xr.Dataset:
    """Per-sample scores with the failed samples (``validity.failures``) set to NaN and marked (``failed``,
    ``failure``; ``warn_failed`` names them); ``finite`` and ``nonfinite_step`` as the loop recorded."""
    reason = failures(out, latent, nonfinite_step)
    failed = reason != ""
    cell = xr.Dataset({k: (("sample", "feature")[:np.ndim(v)], np.where(failed[(...,) + (None,) * (np.ndim(v) - 1)],
                                                                    np.nan, v))
                       for k, v in scores.items()})
    return cell.assign(finite=("sample", nonfinite_step < 0), nonfinite_step=("sample", nonfinite_step),
                       failed=("sample", failed), failure=("sample", reason.astype("U12")))


def paired_metrics(data) -> str:
    """What the results say about the paired metrics: computed against the test split's ground truth, or not."""
    if getattr(data, "paired", True):
        return "psnr and s_lf_gt against the paired test split's ground truth"
    return ("none (psnr and s_lf_gt are not computed): "
            f"{data.meta.get('test_split', 'the test inputs have no ground truth')}")
