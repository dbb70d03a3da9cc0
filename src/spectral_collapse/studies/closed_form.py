"""Collapse in closed form: DDIM inversion and OVG's variance gradient with the exact Gaussian denoiser.

For the Gaussian pair of a bundled dataset (models/oracle.py: one N(mu, C) per label) the probability-flow ODE is
linear: inversion from sigma_0 to sigma_T scales each eigen-coordinate of x - mu by sqrt((lam + sigma_T^2) /
(lam + sigma_0^2)); OVG's g_HF = 4 r sigma^2 (C + sigma^2 I)^-2 (x - mu) weights each direction by sigma^2 /
(lam + sigma^2)^2. Stored: eigen-energies, closed-form, oracle-loop and shipped-model latents with their collapse
measures and spectra, OVG's drift, and with the stationary oracle the same at several crop sizes (``scale_*``)."""
from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import torch
import xarray as xr

from ..data.bundled import extract_crops, ihc_image
from ..data.degrade import edge_map, nearest_downup
from ..inversion import default_sigmas, invert
from ..metrics import latent as lat
from ..metrics.realism import YCBCR_601
from ..metrics.spectral import kappa_for_size
from ..models.gaussian import fit_gaussian
from ..models.oracle import GaussianPair, fit_oracle
from ..models.oracle_inputs import oracle_form
from ..framework.cells import StudyContext, invert_cell
from ..framework.method_labels import method_specs
from ..framework.model_set import data_options, dataset_for, trained_model
from ..framework.user_models import spec_data
from ..framework.profiles import get_profile
from .registry import BUNDLED
from .main_results import ovg_drift_cell
from ..framework.spec import CACHE_VERSION
from ..framework.splits import test_subsets

__all__ = ["DEFAULT_ETA_HF", "DEFAULT_SIZES", "LOW_FRACTION", "HF_BAND", "closed_form_latent", "direction_energies",
           "low_variance_chroma", "support", "predicted_drift_chroma", "collapse_measures", "scale_crops",
           "user_scale_crops", "run_closed_form"]

DEFAULT_ETA_HF = (1e-8, 1e-7, 1e-6)   # OVG's eta_HF of the drift diagnostics (eta_LF 0: the variance term alone)
DEFAULT_SIZES = {"smoke": (16, 32), "quick": (32, 64, 128, 256), "paper": (32, 64, 128, 256)}
LOW_FRACTION = 0.1                    # the share of least-variance directions whose chroma share is reported
HF_BAND = 0.25                        # the latent spectrum's high band: radial frequencies above 0.25 cycles/pixel
SUPPORT = 1e-6                        # directions with lam above SUPPORT x the mean eigenvalue carry data
DRIFT = ("drift_step_norm", "drift_step_chroma", "drift_chroma_share", "drift_first_step", "drift_block_edge_ratio")
REFERENCE_D = 3 * 32 * 32             # the scale sweep's eta_HF is the step size at this many elements per image
DRIFT_PIXELS = 4 * 256 * 256          # pixels per crop size whose OVG drift is recorded in the scale sweep
FIT_CROPS = 9                         # crops (each in 8 dihedral views) at least behind each stationary fit
WHOLE = {"rows": [0, 512], "cols": [0, 256]}, {"rows": [0, 512], "cols": [256, 512]}   # scale: fit / input halves


# ------------------------------------------------------------------------------------------- closed forms

def closed_form_latent(G, D, x: torch.Tensor, sigma_0: float, sigma_T: float) -> torch.Tensor:
    """The latent of ``x`` by the exact inversion of Gaussian ``G`` from sigma_0 to sigma_T (float64)."""
    return D.to_noise(G.ode_solution(x.double(), float(sigma_0), float(sigma_T)), float(sigma_T))


def direction_energies(G) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lam, chroma energy, Y + Cb + Cr energy) per eigendirection of G (BT.601), lam ascending; an eigenvector has
    unit RGB energy, so chroma / total is its chroma share."""
    ycc = torch.as_tensor(YCBCR_601, dtype=torch.float64)
    if hasattr(G, "U"):                                          # FullGaussian: dense eigenvectors (d, d)
        c = G.shape[0]
        U = G.U.detach().reshape(c, -1, G.U.shape[1])            # (channel, pixel, direction)
        e = torch.einsum("kc,cpj->kpj", ycc, U).square().sum(1)  # (3, direction)
        lam = G.lam.detach()
    else:                                                        # StationaryGaussian: a colour basis per frequency
        e = torch.einsum("kc,hwcj->khwj", ycc.to(G.V.dtype), G.V.detach()).abs().square().reshape(3, -1)
        lam = G.lam.detach().reshape(-1)
    order = torch.argsort(lam)
    e = e[:, order]
    return lam[order].numpy(), (e[1] + e[2]).numpy(), e.sum(0).numpy()


def support(lam: np.ndarray) -> np.ndarray:
    """The directions that carry data: lam above ``SUPPORT`` x the mean (the fit sets its null space to 0, models/gaussian)."""
    return np.asarray(lam) > SUPPORT * float(np.mean(lam))


def low_variance_chroma(lam, chroma, total, fraction: float = LOW_FRACTION) -> float:
    """Chroma share of the ``fraction`` least-variance directions among those that carry data (``support``)."""
    keep = support(lam)
    lam, chroma, total = (np.asarray(a)[keep] for a in (lam, chroma, total))
    k = max(1, int(round(fraction * len(lam))))
    low = np.argsort(lam, kind="stable")[:k]
    return float(chroma[low].sum() / total[low].sum())


def predicted_drift_chroma(lam, chroma, total, sigmas, sigma_0: float) -> np.ndarray:
    """Per level sigma, the expected chroma share of g_HF for inputs drawn from the Gaussian and inverted exactly
    from sigma_0: direction i carries E g_i^2 ~ lam_i sigma^4 / ((lam_i + sigma_0^2) (lam_i + sigma^2)^3)."""
    lam = np.asarray(lam)[None]
    s2 = np.asarray(sigmas, dtype=np.float64)[:, None] ** 2
    a = lam * s2 ** 2 / ((lam + sigma_0 ** 2) * (lam + s2) ** 3)
    return (a * chroma).sum(1) / (a * total).sum(1)


def collapse_measures(z, seed: int = 0) -> dict:
    """S_G, ||z||^2 / d, S_DC (mean over latents), k90 (PCA components for 90 % of the variance) beside white noise's
    k90 on as many latents of that shape, and the high band's mean log10 power (white noise: 0), of latents z."""
    z = torch.as_tensor(z, dtype=torch.float64)
    g = lat.gaussianity(z)
    white = torch.randn(z.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    k90 = lambda v: int(np.searchsorted(lat.pca_explained_variance(v), 0.9) + 1)  # noqa: E731
    freqs, power = lat.radial_power_spectrum(z / z.flatten(1).std(1).reshape(-1, 1, 1, 1))
    hf = freqs > HF_BAND
    return {"s_g": g.s_g, "norm_ratio": g.mean_norm_ratio, "s_dc": float(lat.decorrelation(z).s_dc.mean()),
            "k90": k90(z), "k90_white": k90(white), "hf_deficit": float(np.log10(power.mean((0, 1))[hf].mean())),
            "freqs": freqs, "spectrum": power.mean((0, 1))}


# --------------------------------------------------------------------------------------------- the oracle

def _grid(D, steps: int) -> tuple[float, float]:
    """(sigma_0, sigma_T) of the closed form on D's inversion grid: the schedule's sigma_min to the grid's top."""
    return float(D.sigma_min), float(default_sigmas(D, steps).max())


def _drift_frame(cells: list[xr.Dataset], eta_hf) -> xr.Dataset:
    """Drift diagnostics of one model at each eta_HF, stacked on ``eta_hf``."""
    per_step = xr.concat([c[["ovg_drift_norm", "ovg_drift_chroma_share"]] for c in cells], "eta_hf")
    out = per_step.rename(ovg_drift_norm="drift_step_norm", ovg_drift_chroma_share="drift_step_chroma")
    norms = out["drift_step_norm"]
    out["drift_chroma_share"] = ("eta_hf", [c.attrs["ovg_drift_total_chroma_share"] for c in cells])
    out["drift_first_step"] = norms.isel(drift_step=0) / norms.sum("drift_step")
    out["drift_block_edge_ratio"] = ("eta_hf", [c.attrs.get("ovg_drift_block_edge_ratio", np.nan) for c in cells])
    out.attrs = {k: v for k, v in cells[0].attrs.items() if k.startswith(("white_noise_", "truth_detail_"))}
    return out.assign_coords(eta_hf=list(map(float, eta_hf)))


def _oracle_cell(data, x, truth, prof, eta_hf, fraction: float) -> xr.Dataset:
    """Everything of the full-covariance oracle on inputs ``x``: eigen-energies, latents and their measures, drift."""
    D = fit_oracle(data)
    steps, kappa = prof.steps, kappa_for_size(data.size)
    s0, sT = _grid(D, steps)
    out = xr.Dataset(attrs={"sigma_0": s0, "sigma_T": sT, "form": D.net.form})
    levels = default_sigmas(D, steps).flip(0)[1:].numpy()
    for lab, dom in ((0, "source"), (1, "target")):
        lam, chroma, total = direction_energies(D.net.domain(lab))
        out[f"lam_{dom}"], out[f"chroma_energy_{dom}"] = ("direction", lam), ("direction", chroma)
        out[f"ycc_energy_{dom}"] = ("direction", total)
        out.attrs[f"low_chroma_{dom}"] = low_variance_chroma(lam, chroma, total, fraction)
        out.attrs[f"support_{dom}"] = int(support(lam).sum())
        out[f"drift_chroma_predicted_{dom}"] = ("level", predicted_drift_chroma(lam, chroma, total, levels, s0))
    out = out.assign_coords(level=levels)
    z = closed_form_latent(D.net.domain(0), D, x, s0, sT)
    tr = invert(D, x.double(), default_sigmas(D, steps), method_specs(["ddim"], eta_hf=0, eta_lf=0)[0].method)
    z_loop = D.to_noise(tr.x, sT)
    out.attrs["ddim_gap"] = float((z_loop - z).norm() / z.norm())
    out["mu_source"] = (("channel", "y", "x"), D.net.domain(0).mu.detach().numpy())
    out["latent"] = (("sample", "channel", "y", "x"), z.float().numpy())
    out["latent_ddim"] = (("sample", "channel", "y", "x"), z_loop.float().numpy())
    block = data.task.factor if data.task.kind == "sr" else None
    drift = _drift_frame([ovg_drift_cell(None, D, x, truth, e, kappa, steps, block) for e in eta_hf], eta_hf)
    return out.merge(drift, combine_attrs="override").assign_attrs(**out.attrs, **drift.attrs)


def _crops(region: dict, size: int, stride: int, least: int) -> torch.Tensor:
    """The crops of ``region`` of the bundled image at ``stride``, halved until there are at least ``least``."""
    img = ihc_image()
    while stride > 1 and len(extract_crops(img, region, size, stride)[0]) < least:
        stride //= 2
    return extract_crops(img, region, size, stride)[0]


def scale_crops(dataset: str, size: int, n_images: int, factor: int) -> tuple[torch.Tensor, torch.Tensor,
                                                                                  torch.Tensor]:
    """(source pool, target pool, inputs) of the scale sweep at crop ``size``: pools from the bundled image's left half
    (clean and degraded), ``n_images`` degraded inputs evenly spread over the right half's crops."""
    fit, test = WHOLE
    clean = _crops(fit, size, max(size // 2, 4), FIT_CROPS)
    crops = _crops(test, size, size, n_images)
    crops = crops[np.unique(np.linspace(0, len(crops) - 1, n_images).round().astype(int))]
    degrade = (lambda v: nearest_downup(v, factor)) if dataset == "ihc-sr" else edge_map
    return degrade(clean), clean, degrade(crops)


def user_scale_crops(spec, size: int, n_images: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int | None]:
    """(source pool, target pool, inputs, SR block) of the scale sweep on a dataset's own images at ``size``."""
    data = dataset_for(spec.profile, spec.dataset, options={**data_options(spec), "size": size})
    return (data.source, data.target, data.test_source[:n_images],
            data.task.factor if data.task.kind == "sr" else None)


def _scale_cell(dataset: str, size: int, n_images: int, prof, eta_hf: float, fraction: float, seed: int,
                crops=None) -> xr.Dataset:
    """The stationary oracle at crop ``size``: collapse measures of its closed-form latents and OVG's chroma share."""
    t0 = time.process_time()
    src, tgt, x, block = crops or (*scale_crops(dataset, size, n_images, prof.factor),
                                   prof.factor if dataset == "ihc-sr" else None)
    oracle_form(SimpleNamespace(source=src, target=tgt), "stationary")   # pools it cannot fit refused, named
    pair = GaussianPair(*(fit_gaussian([p], form="stationary") for p in (src, tgt)))
    D = fit_oracle(None, pair=pair)
    s0, sT = _grid(D, prof.steps)
    m = collapse_measures(closed_form_latent(pair.domain(0), D, x, s0, sT), seed)
    lam, chroma, total = direction_energies(pair.domain(1))
    # eta_HF x d held fixed (g_HF grows with d through r = ||eps||^2 - d); the drift on as many inputs as
    # DRIFT_PIXELS allow (at least 2): its autograd is the sweep's largest cost at 256 px
    k = min(len(x), max(2, DRIFT_PIXELS // (size * size)))
    drift = ovg_drift_cell(None, D, x[:k], None, eta_hf * REFERENCE_D / x[0].numel(), kappa_for_size(size),
                           prof.steps, block)
    vals = {k: v for k, v in m.items() if np.ndim(v) == 0}
    vals.update(drift_chroma=drift.attrs["ovg_drift_total_chroma_share"], drift_inputs=k, fit_crops=len(src),
                low_chroma_target=low_variance_chroma(lam, chroma, total, fraction), n_inputs=len(x),
                seconds=time.process_time() - t0)
    return xr.Dataset({f"scale_{k}": ((), float(v)) for k, v in vals.items()})


# ------------------------------------------------------------------------------------------------ the study

def run_closed_form(spec, ctx: StudyContext) -> xr.Dataset:
    """The closed-form study on ``spec.dataset`` (``DEFAULT_SIZES`` and ``DEFAULT_ETA_HF`` where the knobs are None)."""
    prof = get_profile(spec.profile)
    data = spec_data(spec)
    eta_hf = [float(e) for e in (spec.get("eta_hf") or DEFAULT_ETA_HF)]
    fraction, seed = float(spec.get("low_fraction")), int(spec.get("seed"))
    crops = test_subsets(len(data.test_source), prof.n_test, prof.seeds, prof.n_val)[prof.seeds[0]]
    n = min(int(spec.get("n_images") or len(crops)), len(crops))
    x, truth = data.test_source[crops[:n]], data.test_target[crops[:n]]
    key = {"cell": "closed_form", "version": CACHE_VERSION, "data": data.name, "meta": data.meta, "inputs": x,
           "steps": prof.steps, "eta_hf": eta_hf, "fraction": fraction, "seed": seed, "form": "oracle-full"}
    ds = ctx.cache.cell(key, lambda: _oracle_cell(data, x, truth, prof, eta_hf, fraction))
    attrs = dict(ds.attrs)

    # the shipped eps model on the same crops: its DDIM latents and its drift at each eta_HF (the main results' cell)
    D = trained_model(spec.profile, spec.dataset, "eps", progress=ctx.progress).denoiser
    ddim = method_specs(["ddim"], eta_hf=0, eta_lf=0)[0]
    trained = invert_cell(ctx, D, x, ddim, seed=0, steps=prof.steps, batch_size=prof.batch_size)["latent"].values
    block = data.task.factor if data.task.kind == "sr" else None
    cells = [ovg_drift_cell(ctx, D, x, truth, e, kappa_for_size(data.size), prof.steps, block) for e in eta_hf]
    model = xr.DataArray(["oracle", "shipped"], dims="model", name="model")
    drift = xr.concat([ds[list(DRIFT)], _drift_frame(cells, eta_hf)[list(DRIFT)]], model, coords="minimal",
                      compat="override")
    ds = ds.drop_vars(list(DRIFT)).merge(drift, compat="override")

    # collapse measures and radial spectra: the centred input, the closed form, the oracle's loop, the shipped model
    series = {"input": x.double() - torch.from_numpy(ds["mu_source"].values), "oracle": ds["latent"].values,
              "oracle_ddim": ds["latent_ddim"].values, "shipped": trained,
              "white": torch.randn(x.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)}
    ms = {name: collapse_measures(v, seed) for name, v in series.items()}
    ds = ds.assign_coords(series=list(ms), freq=ms["input"]["freqs"])
    ds["spectrum"] = (("series", "freq"), np.stack([m["spectrum"] for m in ms.values()]))
    for k in ("s_g", "norm_ratio", "s_dc", "k90", "k90_white", "hf_deficit"):
        ds[k] = ("series", [float(m[k]) for m in ms.values()])
    ds["latent_shipped"] = (("sample", "channel", "y", "x"), np.asarray(trained, dtype=np.float32))

    # the scale sweep with the stationary form
    sizes = [int(s) for s in (spec.get("sizes") or DEFAULT_SIZES[spec.profile])]
    n_scale = int(spec.get("scale_images") or n)
    scale_eta = float(spec.get("scale_eta_hf"))
    own = spec.dataset not in BUNDLED   # a user's data: the sweep on its own images at each size
    parts = []
    for s in sizes:
        pools = user_scale_crops(spec, s, n_scale) if own else None
        parts.append(ctx.cache.cell({"cell": "closed_form_scale", "version": CACHE_VERSION, "dataset": spec.dataset,
                                     "size": s, "n": n_scale, "steps": prof.steps, "factor": prof.factor,
                                     "eta_hf": scale_eta, "fraction": fraction, "seed": seed,
                                     "drift_pixels": DRIFT_PIXELS, "fit_crops": FIT_CROPS,
                                     **({"pools": pools} if own else {})},   # the bundled image's cells kept
                                    lambda s=s, pools=pools: _scale_cell(spec.dataset, s, n_scale, prof, scale_eta,
                                                                         fraction, seed, pools)))
    ds = ds.merge(xr.concat(parts, xr.DataArray(sizes, dims="size", name="size")))
    attrs.update(study="closed_form", dataset=spec.dataset, profile=spec.profile, steps=prof.steps, n_images=n,
                 crops=[int(c) for c in crops[:n]], eta_hf=eta_hf, low_fraction=fraction, scale_eta_hf=scale_eta,
                 scale_images=n_scale, scale_source="the dataset's own images" if own else "the bundled image",
                 checkpoint=str(getattr(D, "checkpoint", "")), hf_band=HF_BAND,
                 white_noise_chroma_share=float(ds.attrs.get("white_noise_chroma_share", np.nan)))
    ds.attrs = {**ds.attrs, **attrs}
    return ds
