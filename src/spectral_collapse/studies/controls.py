"""The image-only scores of a translation table and its controls: what an output scores without a latent, and the
reference rows every table carries."""
from __future__ import annotations

import numpy as np
import torch
import xarray as xr
from scipy.ndimage import gaussian_filter

from ..metrics import realism as rl
from ..metrics import spectral as spec
from ..metrics.image import psnr
from ..metrics.realism import hf_energy_rgb as rgb_detail_energy  # the controls' name for it

__all__ = ["CONTROLS", "NOISE_CONTROLS", "BLUR_SIGMA", "image_scores", "control_images", "noise_sigma",
           "control_scores", "realism_reference"]

CONTROLS = ("copy", "ground_truth", "blur", "colour_noise", "luma_noise")
NOISE_CONTROLS = ("colour_noise", "luma_noise")
BLUR_SIGMA = 1.0          # px
NOISE_SEED = 7_919        # noise of crop i is drawn from Generator(NOISE_SEED + i): the same whatever the batch


def realism_reference(data, max_images: int = 512) -> torch.Tensor:
    """Real target crops the realism scores compare against: at most ``max_images`` of the target pool, evenly
    spaced, no flat channel. The pool is disjoint from the paired test and validation crops (bundled data: other
    columns of the image; a user's folders: the target folder, apart from its paired test split)."""
    real = data.target[:: max(1, data.target.shape[0] // max_images)]
    return real[(real.flatten(2).std(2) > 1e-3).all(1)]


def image_scores(output: torch.Tensor, source: torch.Tensor, truth: torch.Tensor | None, *, mu_hf: float,
                 wavelet: str, kappa: float, edges: bool, reference=None) -> dict[str, np.ndarray]:
    """The per-sample metrics of images alone (no latent): psnr, s_hf, delta_log_e_hf, s_lf, s_lf_gt, the luma and
    chroma detail errors (to the paired truth; ``_ref``: to the reference set's mean), hf_coherence and, with a
    ``reference`` (a ``FeatureScaler`` fitted on real crops), the z-scored wavelet features of the KID."""
    out = output.clamp(-1, 1)
    lf_kw = dict(kappa=kappa, gray=edges, mask="nonwhite" if edges else None)
    nan = np.full(len(out), np.nan)
    if truth is None:
        paired = {"psnr": nan, "s_lf_gt": nan.copy(), "delta_log_e_hf_luma": nan.copy(),
                  "delta_log_e_hf_chroma": nan.copy()}
    else:
        paired = {"psnr": psnr(out, truth), "s_lf_gt": spec.s_lf(out, truth, kappa=kappa),
                  "delta_log_e_hf_luma": rl.delta_log_e_hf_luma(out, truth, wavelet=wavelet),
                  "delta_log_e_hf_chroma": rl.delta_log_e_hf_chroma(out, truth, wavelet=wavelet)}
    luma, chroma = rl.hf_energy_luma_chroma(out, wavelet)
    scores = {
        "psnr": paired["psnr"],
        "s_hf": spec.s_hf(out, mu_hf, wavelet=wavelet),
        "delta_log_e_hf": spec.delta_log_e(out, mu_hf, wavelet=wavelet),
        "s_lf": spec.s_lf(out, source, **lf_kw),       # against the input condition, as App. B.5 defines it
        "s_lf_gt": paired["s_lf_gt"],  # against the ground truth (a paired reference we also have)
        "delta_log_e_hf_luma": paired["delta_log_e_hf_luma"],
        "delta_log_e_hf_chroma": paired["delta_log_e_hf_chroma"],
        "hf_coherence": rl.hf_coherence(out, wavelet),
        "e_hf_rgb": rgb_detail_energy(out, wavelet),
    }
    if reference is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            floor = rl.FLAT   # a grey image has no chroma: a large finite deficit, not -inf
            scores["delta_log_e_hf_luma_ref"] = np.log(np.maximum(luma, floor)) - np.log(max(reference["luma"], floor))
            scores["delta_log_e_hf_chroma_ref"] = (np.log(np.maximum(chroma, floor))
                                                   - np.log(max(reference["chroma"], floor)))
        scores["wav_features"] = reference["scaler"](rl.wavelet_features(out, wavelet))
    return scores


def _noise(shape, index: int, luma: bool) -> np.ndarray:
    g = np.random.default_rng(NOISE_SEED + int(index))
    if luma:
        return np.repeat(g.standard_normal((1, *shape[1:])), shape[0], axis=0)
    return g.standard_normal(shape)


def control_images(source: torch.Tensor, truth: torch.Tensor, *, sigma: float, crops) -> dict[str, torch.Tensor]:
    """The control images of paired crops: copy, ground_truth, blur (Gaussian, ``BLUR_SIGMA`` px, per channel,
    reflected border) and the two noises of standard deviation ``sigma`` ([-1, 1] units; clipped to [-1, 1]).
    ``crops``: each crop's index in its split, which seeds its noise."""
    gt = truth.detach().cpu().numpy().astype(np.float64)
    blur = gaussian_filter(gt, sigma=(0, 0, BLUR_SIGMA, BLUR_SIGMA), mode="reflect")
    noisy = {c: np.stack([np.clip(gt[k] + sigma * _noise(gt[k].shape, i, c == "luma_noise"), -1, 1)
                          for k, i in enumerate(crops)]) for c in NOISE_CONTROLS}
    f32 = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
    return {"copy": source, "ground_truth": truth, "blur": f32(blur), **{c: f32(v) for c, v in noisy.items()}}


def noise_sigma(truth: torch.Tensor, target_energy: float, crops, wavelet: str) -> float:
    """The std of colour noise that adds ``target_energy`` (mean squared level-1 detail, summed over R, G, B) to
    ``truth`` on average: the added energy is quadratic in sigma, measured once at sigma 1; 0 when not positive."""
    if not np.isfinite(target_energy) or target_energy <= 0:
        return 0.0
    gt = truth.detach().cpu().numpy().astype(np.float64)
    unit = np.stack([_noise(gt[k].shape, i, False) for k, i in enumerate(crops)])
    return float(np.sqrt(target_energy / rgb_detail_energy(unit, wavelet).mean()))


def control_scores(src: torch.Tensor, gt: torch.Tensor | None, scoring: dict, *, sigma: float,
                   crops) -> xr.Dataset:
    """The controls of a translation table, scored like the methods on the same crops (``CONTROLS``; without a
    paired test split only ``copy`` is scored, the others are NaN). A metric on which ``copy`` beats every method
    rewards doing nothing."""
    kw = dict(mu_hf=scoring["mu_hf"], wavelet=scoring["wavelet"], kappa=scoring["kappa"], edges=scoring["edges"],
              reference=scoring.get("reference"))
    rows = {"copy": image_scores(src, src, gt, **kw)}
    if gt is not None:
        imgs = control_images(src, gt, sigma=sigma, crops=crops)
        rows.update({c: image_scores(imgs[c], src, gt, **kw) for c in CONTROLS if c != "copy"})
        rows["ground_truth"]["psnr"] = np.full(len(src), np.nan)  # against itself: infinite, says nothing
    rows.update({c: {k: np.full_like(v, np.nan, dtype=np.float64) for k, v in rows["copy"].items()}
                 for c in CONTROLS if c not in rows})
    per = {m for m in rows["copy"] if m != "wav_features"}
    out = xr.Dataset({f"control_{m}": (("control", "sample"), np.stack([rows[c][m] for c in CONTROLS]))
                      for m in sorted(per)}, coords={"control": list(CONTROLS), "sample": np.arange(len(src))})
    if "wav_features" in rows["copy"]:
        out["control_wav_features"] = (("control", "sample", "feature"),
                                       np.stack([rows[c]["wav_features"] for c in CONTROLS]))
    return out
