"""OVG step-size sweep (paper Sec. 5.2, Fig. 6): S_LF against S_HF over an (eta_HF, eta_LF) grid.

The paper picks (eta_HF, eta_LF) "via a grid search, selecting the values that yield the best joint performance"
and gives neither the grid nor the values (ovg-official-facts.md 1.4). This module makes that search explicit:

1. ``run_pareto_study`` translates the first ``n_images`` paired test images with every grid point of every
   swept base (``ovg``, ``ovg_taba``, ``ovg_edm``: OVG on DDIM, on TABA, on the EDM model) and with the non-OVG
   baselines (taken from the stored main-results file when it holds them, else computed on the same images);
2. ``pareto_front`` marks the grid points that no other grid point of the same base beats on both S_HF and S_LF;
3. ``choose_operating_point`` picks one point of that front by a stated rule:
   - ``"maximin"`` (default): scale S_HF and S_LF to [0, 1] over the finite grid points of the base (min-max),
     take the front point with the largest min(scaled S_HF, scaled S_LF), i.e. the most balanced point; ties go
     to the larger scaled sum, then to the smaller step sizes;
   - ``"knee"``: on the same scaled axes, the front point farthest above the straight line joining the front's
     two ends (falls back to maximin when the front has fewer than 3 points).
   A grid point with any non-finite sample is never chosen.
4. The choice of the primary base (``ovg`` when swept) is written to
   ``<root>/pareto/<dataset>-<profile>-choice.json`` (keys ``eta_hf``, ``eta_lf`` and provenance), which
   ``studies.translation.ovg_params`` reads, so the main-results study uses it for every OVG label.

Every translation uses per-sample seeds keyed by (seed, test index), as the main-results study does, and each
(base, eta_HF, eta_LF) cell is cached under ``.partial/`` (keyed by the step sizes, images, seed and the model's
config hash) so an interrupted sweep resumes. Models passed in by the caller are keyed "given": clear ``.partial/``
when you pass other ones.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr

from ..inversion import sample_seeds
from ..metrics import latent as lat
from ..metrics import spectral as spec
from .profiles import get_profile
from .store import load_results, results_path, root_relative, save_results
from .translation import OVG_DEFAULTS, _translate_batched, method_specs, score_outputs

__all__ = ["BASES", "BASELINES", "RULES", "GRID_SIZES", "default_grid", "pareto_front", "scaled",
           "choose_operating_point", "choice_path", "write_choice", "read_choice", "store_choice", "run_pareto_study",
           "grid_summary", "baseline_summary", "frontier_verdict", "pareto_chart", "grid_heatmaps"]

BASES = ("ovg", "ovg_taba", "ovg_edm")
BASELINES = ("ddim", "taba", "edm")    # computed when the main-results file does not hold them
RULES = ("maximin", "knee")
GRID_SIZES = {"smoke": (2, 2), "quick": (3, 3), "paper": (5, 5)}   # (n eta_HF, n eta_LF) per profile
SCORES = ("psnr", "s_hf", "s_lf", "s_lf_gt", "s_dc", "delta_log_e_hf")


# ----------------------------------------------------------------------------------------------- the grid

def default_grid(profile: str, center: dict | None = None, decades: float = 2.0) -> tuple[list[float], list[float]]:
    """Log-spaced (eta_HF, eta_LF) grids centred on ``center`` (default OVG_DEFAULTS), ``decades`` wide each."""
    center = center or OVG_DEFAULTS
    n_hf, n_lf = GRID_SIZES.get(profile, GRID_SIZES["quick"])
    half = decades / 2

    def axis(c: float, n: int) -> list[float]:
        if n == 1:
            return [float(c)]
        return [float(f"{v:.3g}") for v in c * np.logspace(-half, half, n)]

    return axis(center["eta_hf"], n_hf), axis(center["eta_lf"], n_lf)


# ------------------------------------------------------------------------------------ frontier and choice

def pareto_front(x, y) -> np.ndarray:
    """Boolean mask of the points (x_i, y_i) not dominated when both are maximised; NaN points are never on it.

    A point is dominated when another has x >= and y >= with at least one strict. Sort by x descending (y
    descending within ties) and keep a running maximum of y: O(n log n).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-d of the same length, got shapes {x.shape} and {y.shape}")
    on = np.zeros(x.shape, bool)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    order = ok[np.lexsort((-y[ok], -x[ok]))]
    best_y, prev = -np.inf, None
    for i in order:
        if y[i] > best_y:
            on[i], best_y, prev = True, y[i], i
        elif y[i] == best_y and prev is not None and x[i] == x[prev]:
            on[i] = True  # an exact duplicate of a front point is not dominated either
    return on


def scaled(v) -> np.ndarray:
    """Min-max scaling to [0, 1] over the finite values (all 1 when they are equal); NaN stays NaN."""
    v = np.asarray(v, float)
    fin = np.isfinite(v)
    if not fin.any():
        return v.copy()
    lo, hi = v[fin].min(), v[fin].max()
    return np.where(fin, (v - lo) / (hi - lo) if hi > lo else 1.0, np.nan)


def choose_operating_point(s_hf, s_lf, rule: str = "maximin", eligible=None, size=None) -> int | None:
    """Index of the chosen grid point (see the module docstring for the rules); None when nothing is eligible.

    eligible: optional boolean mask (e.g. points without non-finite samples). size: optional tie-break key,
    smaller preferred (e.g. eta_HF * eta_LF ranks), used after the rule's own tie-break.
    """
    if rule not in RULES:
        raise ValueError(f"unknown choice rule {rule!r}; valid rules: {', '.join(RULES)}")
    hf, lf = np.asarray(s_hf, float).copy(), np.asarray(s_lf, float).copy()
    if eligible is not None:
        bad = ~np.asarray(eligible, bool)
        hf[bad], lf[bad] = np.nan, np.nan
    front = pareto_front(hf, lf)
    if not front.any():
        return None
    a, b = scaled(hf), scaled(lf)
    size = np.zeros(len(hf)) if size is None else np.asarray(size, float)
    idx = np.flatnonzero(front)
    if rule == "knee" and len(idx) >= 3:
        i_hf, i_lf = idx[np.argmax(a[idx])], idx[np.argmax(b[idx])]
        p, q = np.array([a[i_hf], b[i_hf]]), np.array([a[i_lf], b[i_lf]])
        d = q - p
        # signed distance from the chord, positive on the side away from the origin (towards (1, 1))
        normal = np.array([d[1], -d[0]]) / max(np.hypot(*d), 1e-12)
        if normal @ (np.array([1.0, 1.0]) - p) < 0:
            normal = -normal
        dist = (np.stack([a[idx], b[idx]], 1) - p) @ normal
        keys = (size[idx], -(a[idx] + b[idx]), -dist)
    else:
        keys = (size[idx], -(a[idx] + b[idx]), -np.minimum(a[idx], b[idx]))
    return int(idx[np.lexsort(keys)[0]])


# ------------------------------------------------------------------------------------------- choice file

def choice_path(dataset: str, profile: str, root: str | os.PathLike = "data/results") -> Path:
    """``<root>/pareto/<dataset>-<profile>-choice.json`` (read by studies.translation.ovg_params)."""
    return results_path("pareto", dataset, profile, root).with_name(f"{dataset}-{profile}-choice.json")


def write_choice(dataset: str, profile: str, eta_hf: float, eta_lf: float, root: str | os.PathLike = "data/results",
                 **extra) -> Path:
    """Write the chosen step sizes (and ``extra`` provenance) atomically; returns the path."""
    if not (np.isfinite(eta_hf) and np.isfinite(eta_lf) and eta_hf >= 0 and eta_lf >= 0):
        raise ValueError(f"step sizes must be finite and >= 0, got eta_hf={eta_hf}, eta_lf={eta_lf}")
    path = choice_path(dataset, profile, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"eta_hf": float(eta_hf), "eta_lf": float(eta_lf), "dataset": dataset, "profile": profile,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), **extra}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(body, f, indent=1, sort_keys=True, default=str)
    os.replace(tmp, path)
    return path


def read_choice(dataset: str, profile: str, root: str | os.PathLike = "data/results") -> dict | None:
    """The stored choice as a dict, or None when there is none."""
    path = choice_path(dataset, profile, root)
    return json.loads(path.read_text()) if path.exists() else None


# --------------------------------------------------------------------------------------------- the study

def _scoring(data, edges: bool) -> dict:
    """Metric settings of the main-results study for this dataset (same real-image reference, wavelet, kappa)."""
    real = data.target[:: max(1, data.target.shape[0] // 512)]
    real = real[(real.flatten(2).std(2) > 1e-3).all(1)]
    wavelet = spec.wavelet_order(spec.spectrum_slope(real))
    return {"wavelet": wavelet, "mu_hf": spec.hf_reference(real, wavelet=wavelet),
            "kappa": spec.kappa_for_size(data.test_source.shape[-1]), "edges": edges}


def _cell(D, ms, src, gt, seed: int, prof, scoring: dict, n_show: int, progress: bool, ls=None) -> xr.Dataset:
    """Translate and score one (label, step sizes) cell on the sweep's images (encoded / decoded by ``ls`` if given)."""
    n = src.shape[0]
    torch.manual_seed(seed)
    x_in = src if ls is None else ls.encode(src)
    out, latent, bad, nfe = _translate_batched(D, x_in, ms, sample_seeds(seed, range(n)), prof.steps, prof.batch_size,
                                               progress)
    if ls is not None:
        out = ls.decode(out)
    scores = score_outputs(out, latent, src, gt, mu_hf=scoring["mu_hf"], wavelet=scoring["wavelet"],
                           kappa=scoring["kappa"], edges=scoring["edges"])
    finite = (bad < 0).numpy()
    cell = xr.Dataset({k: ("sample", np.where(finite, scores[k], np.nan)) for k in SCORES})
    cell["finite"] = ("sample", finite)
    g = lat.gaussianity(latent[torch.from_numpy(finite)]) if finite.sum() > 1 else None
    cell["s_g"] = ((), np.nan if g is None else g.s_g)
    cell["nfe"] = ((), nfe)
    cell["images"] = (("image", "channel", "y", "x"), out[:n_show].clamp(-1, 1).numpy().astype(np.float32))
    cell.attrs["method"] = json.dumps(ms.describe(), default=str)
    return cell


def _tag(model_name: str) -> str:
    """Short cache key of a model: the config hash that ends its checkpoint folder name ("given" for user models)."""
    return model_name.rsplit("-", 1)[-1]


def _cached(path: Path, compute) -> xr.Dataset:
    if path.exists():
        return load_results(path)
    cell = compute()
    save_results(cell, path, add_provenance=False)
    return cell


def _stored_baselines(dataset: str, profile: str, root, n: int, seed: int, mu_hf: float) -> dict[str, xr.Dataset]:
    """Non-OVG methods of the stored main-results file, restricted to the sweep's images and seed."""
    path = results_path("main_results", dataset, profile, root)
    if not path.exists():
        return {}
    ds = load_results(path)
    if ds.sizes.get("sample", 0) < n or not np.isclose(float(ds.attrs.get("mu_hf", np.nan)), mu_hf, rtol=1e-6):
        return {}  # other images or another S_HF reference: not comparable
    s = seed if seed in ds["seed"].values else int(ds["seed"].values[0])
    out = {}
    for m in map(str, ds["method"].values):
        if m.startswith("ovg"):
            continue
        sel = ds.sel({"method": m}).sel(seed=s).isel(sample=slice(0, n))
        out[m] = xr.Dataset({k: ("sample", sel[k].values) for k in (*SCORES, "finite") if k in sel})
        out[m].attrs["source"] = root_relative(path, root)
    return out


def run_pareto_study(dataset: str, profile: str, *, eta_hf=None, eta_lf=None, bases=BASES, baselines=BASELINES,
                     n_images: int = 12, seed: int | None = None, rule: str = "maximin", primary: str | None = None,
                     n_show: int = 4, models: dict | None = None, root: str | os.PathLike = "data/results",
                     progress: bool = True, save: bool = True, write_choice_file: bool = True) -> xr.Dataset:
    """Sweep the OVG step sizes, mark the Pareto front, choose an operating point; return (and store) the results.

    eta_hf / eta_lf: grids (None: ``default_grid(profile)``). bases: which OVG variants to sweep (BASES).
    baselines: non-OVG labels shown on the same axes (plus any other non-OVG method of the stored main results).
    primary: the base whose choice is written to the choice file (default "ovg" if swept, else the first base).
    models: optional {parameterization: Denoiser}; by default the profile's trained models.
    """
    from .models import dataset_for, trained_model

    prof = get_profile(profile)
    bases = [str(b) for b in bases]
    unknown = [b for b in bases if b not in BASES]
    if unknown or not bases:
        raise ValueError(f"unknown or no bases {unknown or bases}; valid bases: {', '.join(BASES)}")
    if rule not in RULES:
        raise ValueError(f"unknown choice rule {rule!r}; valid rules: {', '.join(RULES)}")
    g_hf, g_lf = default_grid(profile)
    eta_hf = sorted(float(v) for v in (g_hf if eta_hf is None else eta_hf))
    eta_lf = sorted(float(v) for v in (g_lf if eta_lf is None else eta_lf))
    if min(eta_hf + eta_lf) < 0 or len(set(eta_hf)) != len(eta_hf) or len(set(eta_lf)) != len(eta_lf):
        raise ValueError(f"step-size grids must hold distinct values >= 0, got eta_hf={eta_hf}, eta_lf={eta_lf}")
    primary = primary or ("ovg" if "ovg" in bases else bases[0])
    if primary not in bases:
        raise ValueError(f"primary={primary!r} is not among the swept bases {bases}")
    seed = int(prof.seeds[0] if seed is None else seed)

    data = dataset_for(profile, dataset)             # raises DatasetNotPreparedError at once for missing real data
    n = min(n_images, data.test_source.shape[0])
    src, gt = data.test_source[:n], data.test_target[:n]
    n_show = min(n_show, n)
    scoring = _scoring(data, edges="edges" in dataset)
    stored = _stored_baselines(dataset, profile, root, n, seed, scoring["mu_hf"])
    base_labels = list(dict.fromkeys([*baselines, *stored]))
    specs = {ms.label: ms for ms in method_specs([*bases, *[b for b in base_labels if b not in stored]],
                                                 eta_hf=0.0, eta_lf=0.0, lowpass_kappa=scoring["kappa"])}
    ls = None
    if prof.resolve_space("unet", None) == "latent":  # the paper profile diffuses VAE latents
        from .models import latent_space
        ls = latent_space(profile, dataset, progress=progress)
    models, tags = dict(models or {}), {p: "given" for p in (models or {})}
    for par in sorted({ms.parameterization for ms in specs.values()}):
        if par not in models:
            tm = trained_model(profile, dataset, par, progress=progress, **({"space": ls} if ls is not None else {}))
            models[par], tags[par] = tm.denoiser, tm.path.name   # folder name ends in the config hash
    partial = Path(root) / "pareto" / ".partial" / f"{dataset}-{profile}"
    partial.mkdir(parents=True, exist_ok=True)

    cells = {}
    for b in bases:
        for h in eta_hf:
            for lo in eta_lf:
                ms = method_specs([b], eta_hf=h, eta_lf=lo, lowpass_kappa=scoring["kappa"])[0]
                key = f"{b}-hf{h:.6g}-lf{lo:.6g}-n{n}-show{n_show}-seed{seed}-{_tag(tags[ms.parameterization])}"
                f = partial / f"{key}.nc"
                cells[(b, h, lo)] = _cached(f, lambda ms=ms: _cell(models[ms.parameterization], ms, src, gt, seed, prof,
                                                                   scoring, n_show, progress, ls))
    grid = xr.concat([xr.concat([xr.concat([cells[(b, h, lo)].drop_attrs().expand_dims(eta_lf=[lo]) for lo in eta_lf],
                                           "eta_lf").expand_dims(eta_hf=[h]) for h in eta_hf], "eta_hf")
                      .expand_dims(base=[b]) for b in bases], "base")
    base_cells, sources = {}, {}
    for m in base_labels:
        if m in stored:
            base_cells[m], sources[m] = stored[m], stored[m].attrs["source"]
        else:
            ms = specs[m]
            f = partial / f"{m}-n{n}-seed{seed}-{_tag(tags[ms.parameterization])}.nc"
            base_cells[m] = _cached(f, lambda ms=ms: _cell(models[ms.parameterization], ms, src, gt, seed, prof,
                                                           scoring, 0, progress, ls))
            sources[m] = "computed on the sweep's images"
    ds = grid.assign_coords(sample=np.arange(n), image=np.arange(n_show))
    if base_cells:
        bl = xr.concat([base_cells[m][[k for k in (*SCORES, "finite") if k in base_cells[m]]].drop_attrs()
                        .expand_dims(method=[m]) for m in base_labels], "method", join="outer")
        ds = ds.merge(bl.rename({k: f"baseline_{k}" for k in bl.data_vars}).assign_coords(sample=np.arange(n)))
    ds["source_images"] = (("image", "channel", "y", "x"), src[:n_show].numpy().astype(np.float32))
    ds["truth_images"] = (("image", "channel", "y", "x"), gt[:n_show].numpy().astype(np.float32))

    mean_hf, mean_lf = ds["s_hf"].mean("sample"), ds["s_lf"].mean("sample")
    eligible = ds["finite"].all("sample")
    on_front = xr.zeros_like(eligible)
    chosen = xr.zeros_like(eligible)
    choices = {}
    for b in bases:
        sel = {"base": b}
        hf, lf, ok = (v.sel(sel).values.ravel() for v in (mean_hf, mean_lf, eligible))
        ranks = np.add.outer(np.arange(len(eta_hf)), np.arange(len(eta_lf))).ravel()
        on_front.loc[sel] = pareto_front(np.where(ok, hf, np.nan), np.where(ok, lf, np.nan)).reshape(len(eta_hf), -1)
        k = choose_operating_point(hf, lf, rule, eligible=ok, size=ranks)
        if k is None:
            warnings.warn(f"{b}: no grid point without non-finite samples; no operating point chosen", RuntimeWarning,
                          stacklevel=2)
            continue
        i, j = divmod(k, len(eta_lf))
        chosen.loc[{"base": b, "eta_hf": eta_hf[i], "eta_lf": eta_lf[j]}] = True
        choices[b] = {"eta_hf": eta_hf[i], "eta_lf": eta_lf[j], "s_hf": float(hf[k]), "s_lf": float(lf[k])}
    ds["on_front"], ds["chosen"] = on_front.astype(bool), chosen.astype(bool)
    ds.attrs.update(study="pareto", dataset=dataset, profile=profile, rule=rule, primary=primary, seed=seed,
                    n_images=n, steps=prof.steps, wavelet=scoring["wavelet"], mu_hf=float(scoring["mu_hf"]),
                    s_lf_kappa=float(scoring["kappa"]), choices=json.dumps(choices),
                    baseline_sources=json.dumps(sources), grid=json.dumps({"eta_hf": eta_hf, "eta_lf": eta_lf}),
                    models=json.dumps(tags))
    if save:
        save_results(ds, results_path("pareto", dataset, profile, root))
        if write_choice_file:
            store_choice(ds, root)
    return ds


def store_choice(ds: xr.Dataset, root: str | os.PathLike = "data/results") -> Path | None:
    """Write the choice file from a pareto results dataset (its primary base's chosen point); None if none chosen."""
    primary = ds.attrs.get("primary", "ovg")
    choices = json.loads(ds.attrs.get("choices", "{}"))
    if primary not in choices:
        return None
    c = choices[primary]
    return write_choice(ds.attrs["dataset"], ds.attrs["profile"], c["eta_hf"], c["eta_lf"], root, base=primary,
                        rule=ds.attrs.get("rule"), s_hf=c["s_hf"], s_lf=c["s_lf"], n_images=int(ds.attrs["n_images"]),
                        seed=int(ds.attrs["seed"]), per_base=choices,
                        results=root_relative(results_path("pareto", ds.attrs["dataset"], ds.attrs["profile"], root), root))


# ------------------------------------------------------------------------------------------- reporting

def grid_summary(ds: xr.Dataset) -> pd.DataFrame:
    """One row per (base, eta_hf, eta_lf): mean scores over the sweep's images, non-finite count, front, chosen."""
    cols = {k: ds[k].mean("sample", skipna=True) for k in SCORES if k in ds}
    frame = xr.Dataset({**cols, "s_g": ds["s_g"], "nonfinite": (~ds["finite"]).sum("sample"),
                        "on_front": ds["on_front"], "chosen": ds["chosen"]}).to_dataframe().reset_index()
    return frame


def baseline_summary(ds: xr.Dataset) -> pd.DataFrame:
    """One row per baseline method: mean scores over the sweep's images and where they come from."""
    names = [v for v in ds.data_vars if v.startswith("baseline_") and v != "baseline_finite"]
    if not names:
        return pd.DataFrame(columns=["method", "s_hf", "s_lf", "source"])
    frame = xr.Dataset({v.removeprefix("baseline_"): ds[v].mean("sample", skipna=True) for v in names}).to_dataframe()
    frame = frame.reset_index()
    src = json.loads(ds.attrs.get("baseline_sources", "{}"))
    frame["source"] = frame["method"].map(src)
    return frame


def frontier_verdict(ds: xr.Dataset) -> dict:
    """Does OVG expand the S_HF / S_LF frontier of the baselines (Sec. 5.2, Fig. 6)? Numbers and one paragraph.

    On the joint front of every finite grid point and every baseline (means over the sweep's images), count the OVG
    points; the claim holds when at least one OVG point is on it (OVG reaches beyond the baselines' envelope).
    The chosen point of the primary base is compared with the best baseline on each axis.
    """
    grid = grid_summary(ds)
    grid = grid[grid["nonfinite"] == 0]
    base = baseline_summary(ds)
    pts = pd.concat([grid.assign(kind="ovg", label=grid["base"]),
                     base.assign(kind="baseline", label=base["method"])], ignore_index=True)
    front = pareto_front(pts["s_hf"], pts["s_lf"])
    n_ovg = int((front & (pts["kind"] == "ovg")).sum())
    n_base = int((front & (pts["kind"] == "baseline")).sum())
    dominated = [str(m) for m, on in zip(base["method"], front[len(grid):]) if not on]
    primary = ds.attrs.get("primary", "ovg")
    ch = json.loads(ds.attrs.get("choices", "{}")).get(primary)
    out = {"front_ovg": n_ovg, "front_baselines": n_base, "dominated_baselines": dominated, "choice": ch,
           "holds": bool(n_ovg > 0)}
    text = (f"On the joint S_HF / S_LF front of {len(grid)} finite grid points and {len(base)} baselines, "
            f"{n_ovg} point(s) are OVG and {n_base} are baselines; baselines dominated by some point: "
            f"{', '.join(dominated) or 'none'}.")
    if ch and len(base):
        best_hf, best_lf = base.loc[base["s_hf"].idxmax()], base.loc[base["s_lf"].idxmax()]
        text += (f" The chosen {primary} point (eta_HF = {ch['eta_hf']:.3g}, eta_LF = {ch['eta_lf']:.3g}) has "
                 f"S_HF {ch['s_hf']:.3f} and S_LF {ch['s_lf']:.3f}; the best baseline on S_HF is {best_hf['method']} "
                 f"({best_hf['s_hf']:.3f}) and on S_LF {best_lf['method']} ({best_lf['s_lf']:.3f}).")
    verdict = "holds" if out["holds"] else "does not hold"
    out["text"] = f"The paper's claim that OVG expands the frontier {verdict} here. " + text
    return out


def pareto_chart(ds: xr.Dataset, width: int = 420, height: int = 320):
    """Fig. 6: S_LF against S_HF for every grid point (by base) and baseline, fronts as lines, choices ringed."""
    import altair as alt

    grid = grid_summary(ds)
    grid = grid.assign(label=grid["base"], kind="OVG grid point",
                       point=[f"eta_HF={h:.3g}, eta_LF={lo:.3g}" for h, lo in zip(grid["eta_hf"], grid["eta_lf"])])
    base = baseline_summary(ds).assign(kind="baseline")
    base = base.assign(label=base["method"], point=base["method"])
    pts = pd.concat([grid, base], ignore_index=True)
    pts = pts[np.isfinite(pts["s_hf"]) & np.isfinite(pts["s_lf"])]
    enc = dict(x=alt.X("s_hf:Q", title="S_HF (texture, higher is better)", scale=alt.Scale(zero=False)),
               y=alt.Y("s_lf:Q", title="S_LF (structure, higher is better)", scale=alt.Scale(zero=False)),
               tooltip=["label", "point", alt.Tooltip("s_hf:Q", format=".3f"), alt.Tooltip("s_lf:Q", format=".3f")])
    g = pts[pts["kind"] == "OVG grid point"]
    cloud = alt.Chart(g).mark_point(filled=True, size=60, opacity=0.7).encode(
        color=alt.Color("label:N", title="OVG base"), **enc)
    front = alt.Chart(g[g["on_front"].astype(bool)].sort_values("s_hf")).mark_line(strokeDash=[4, 3]).encode(
        color="label:N", detail="label:N", order="s_hf:Q", x="s_hf:Q", y="s_lf:Q")
    chosen = alt.Chart(g[g["chosen"].astype(bool)]).mark_point(size=260, shape="circle", color="black",
                                                               strokeWidth=2).encode(**enc)
    layers = [cloud, front, chosen]
    b = pts[pts["kind"] == "baseline"]
    if len(b):
        layers.append(alt.Chart(b).mark_point(shape="diamond", size=110, filled=True, color="#444").encode(**enc))
        layers.append(alt.Chart(b).mark_text(dx=8, align="left", fontSize=11).encode(text="label:N", **enc))
    return alt.layer(*layers).properties(width=width, height=height,
                                         title=f"{ds.attrs.get('dataset', '')}: S_LF against S_HF (ringed: chosen)")


def grid_heatmaps(ds: xr.Dataset, metrics=("s_hf", "s_lf"), cell: int = 46):
    """Mean of each metric over the (eta_HF, eta_LF) grid, one panel per (metric, base)."""
    import altair as alt

    grid = grid_summary(ds)
    long = grid.melt(id_vars=["base", "eta_hf", "eta_lf"], value_vars=list(metrics), var_name="metric")
    long["eta_HF"] = long["eta_hf"].map(lambda v: f"{v:.3g}")
    long["eta_LF"] = long["eta_lf"].map(lambda v: f"{v:.3g}")
    order_hf = [f"{v:.3g}" for v in sorted(grid["eta_hf"].unique())]
    order_lf = [f"{v:.3g}" for v in sorted(grid["eta_lf"].unique(), reverse=True)]
    n_hf, n_lf = len(order_hf), len(order_lf)
    panels = []
    for m in metrics:
        d = long[long["metric"] == m]
        base = alt.Chart(d).encode(x=alt.X("eta_HF:O", sort=order_hf, title="eta_HF"),
                                   y=alt.Y("eta_LF:O", sort=order_lf, title="eta_LF"))
        heat = base.mark_rect().encode(color=alt.Color("value:Q", title=m, scale=alt.Scale(scheme="viridis")))
        text = base.mark_text(fontSize=10, color="white").encode(text=alt.Text("value:Q", format=".3f"))
        panels.append((heat + text).properties(width=cell * n_hf, height=cell * n_lf)
                      .facet(column=alt.Column("base:N", title=m)))
    return alt.vconcat(*panels)
