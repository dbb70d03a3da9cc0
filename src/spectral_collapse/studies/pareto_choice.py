"""How the Pareto sweep chooses each OVG variant's step sizes, and what a study reading the sweep takes from it."""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

from ..framework.method_labels import OVG_DEFAULTS
from ..framework.realism import spread_band

__all__ = ["NO_CHOICE", "ovg_choice", "RULES", "pareto_front", "scaled", "choose_operating_point", "truth_bands",
           "choose_point", "band_distance", "BASE_OF", "KID_FLOOR", "readable_grid"]

BASE_OF = {"ovg": "ddim", "ovg_taba": "taba", "ovg_edm": "edm"}   # each OVG variant's method without guidance

RULES = ("maximin", "knee")

NO_CHOICE = "defaults: no grid point"  # how ovg_choice's source starts when a sweep ran but chose nothing
_SAME = ("data_options", "model", "models")  # a sweep's choice serves a reader only under the same data and models


def ovg_choice(ds: xr.Dataset | None, spec=None) -> dict:
    """What a study reading the sweep takes from it: the primary base's chosen step sizes and their source, or
    OVG_DEFAULTS with the reason (no sweep; other data options or models; every grid point diverged)."""
    where = "" if spec is None else f" for {spec.dataset}, {spec.profile}"
    # the text starts with "defaults": readers of a source (studies.pareto_calibrate, the chapters) test for it
    defaults = "defaults (the suite's fallback step sizes, not a Pareto sweep's choice)"
    if ds is None:
        return {**OVG_DEFAULTS, "source": f"{defaults}: no Pareto sweep stored{where}"}
    theirs = json.loads(ds.attrs.get("spec", "{}")).get("params", {})
    other = ", ".join(f"{k}={theirs.get(k)!r} (this study: {spec.get(k)!r})" for k in _SAME
                      if spec is not None and theirs.get(k) != spec.get(k))
    if other:
        return {**OVG_DEFAULTS, "source": f"{defaults}: the stored Pareto sweep{where} ran with {other}; "
                                          f"run the pareto study with the same setting to tune OVG for it"}
    primary = ds.attrs.get("primary", "ovg")
    choice = json.loads(ds.attrs.get("choices", "{}")).get(primary)
    if not choice:
        return {**OVG_DEFAULTS, "source": f"{NO_CHOICE} of the {primary} sweep{where} was free of failed samples"}
    per_base = {b: {"eta_hf": float(c["eta_hf"]), "eta_lf": float(c["eta_lf"])}
                for b, c in json.loads(ds.attrs.get("choices", "{}")).items() if c}
    split = ds.attrs.get("tuning_split", "")
    return {"eta_hf": float(choice["eta_hf"]), "eta_lf": float(choice["eta_lf"]), "per_base": per_base,
            "source": f"Pareto sweep{where} ({primary}, rule {ds.attrs.get('rule')}, "
                      f"{ds.attrs.get('n_images')} {'validation ' if split else ''}images, seed {ds.attrs.get('seed')}; "
                      f"each OVG variant at its own choice)"}


# ------------------------------------------------------------------------------------ frontier and choice

def pareto_front(x, y) -> np.ndarray:
    """Boolean mask of the points (x_i, y_i) not dominated when both are maximised; NaN points are never on it."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-d of the same length, got shapes {x.shape} and {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    # dominated[i]: some finite j is at least as good on both and better on one (an exact duplicate is not)
    ge = (x[None, :] >= x[:, None]) & (y[None, :] >= y[:, None]) & ok[None, :]
    dominated = (ge & ((x[None, :] > x[:, None]) | (y[None, :] > y[:, None]))).any(1)
    return ok & ~dominated


def scaled(v) -> np.ndarray:
    """Min-max scaling to [0, 1] over the finite values (all 1 when they are equal); NaN stays NaN."""
    v = np.asarray(v, float)
    fin = np.isfinite(v)
    if not fin.any():
        return v.copy()
    lo, hi = v[fin].min(), v[fin].max()
    return np.where(fin, (v - lo) / (hi - lo) if hi > lo else 1.0, np.nan)


def choose_operating_point(s_hf, s_lf, rule: str = "maximin", eligible=None, size=None) -> int | None:
    """Index of the front point of two maximised scores chosen by ``rule`` ("maximin" or "knee", maximin below 3
    points); None when nothing is ``eligible``; ties to the larger scaled sum, then the smaller ``size``."""
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


def truth_bands(luma_ref, chroma_ref) -> dict:
    """{"luma": (lo, hi), "chroma": (lo, hi)}: mean ± one std of real crops' detail ((-inf, inf) under 2 crops)."""
    return {name: spread_band(v) or (-np.inf, np.inf) for name, v in (("luma", luma_ref), ("chroma", chroma_ref))}


KID_FLOOR = 1e-6   # an unbiased KID estimate can fall below 0 for sets as alike as two draws of one distribution


def choose_point(kid, s_lf, luma, chroma, bands: dict, *, base_kid: float | None = None, rule: str = "maximin",
                 eligible=None, size=None) -> dict:
    """One variant's choice: among eligible points in both real bands (else nearest them) and with KID_wav <=
    ``base_kid`` (else the lowest), the log KID_wav / S_LF front's point by ``rule``."""
    kid, luma, chroma = (np.asarray(v, float) for v in (kid, luma, chroma))
    ok = np.ones(len(luma), bool) if eligible is None else np.asarray(eligible, bool).copy()
    ok &= np.isfinite(kid)
    dist = band_distance(luma, chroma, bands)
    in_band = dist == 0
    banded = bool((ok & in_band).any())
    cand = ok & in_band
    if not banded and (ok & np.isfinite(dist)).any():
        # no point as real as the real crops in both kinds of detail: the ones closest to it (a sweep's strongest
        # structure or realism scores elsewhere can come with detail far outside the band, e.g. block edges)
        cand = ok & (dist <= np.nanmin(np.where(ok, dist, np.nan)) + 1e-9)
    beats = False
    if base_kid is not None and np.isfinite(base_kid) and cand.any():
        beats = bool((cand & (kid <= base_kid)).any())
        # realism no worse than without guidance; where no point manages that, the points as real as the grid gets
        cand &= kid <= (base_kid if beats else np.min(kid[cand]))
    k = choose_operating_point(-np.log10(np.maximum(kid, KID_FLOOR)), s_lf, rule, eligible=cand, size=size)
    return {"index": k, "in_band": in_band, "banded": banded, "beats_base": beats}


def band_distance(luma, chroma, bands: dict) -> np.ndarray:
    """How far each point's luma and chroma detail lie outside the real bands, in band widths, summed (0 inside
    both; NaN where a score is missing)."""
    total = 0.0
    for v, (lo, hi) in ((np.asarray(luma, float), bands["luma"]), (np.asarray(chroma, float), bands["chroma"])):
        total = total + np.maximum(0.0, np.maximum(lo - v, v - hi)) / max(hi - lo, 1e-12)
    return np.asarray(total, float)


def _significant(v, digits: int = 4) -> str:
    """A mean to ``digits`` significant digits, without an exponent below 10^6; "—" when missing."""
    if v is None or not np.isfinite(v):
        return "—"
    if v == 0 or 1e-3 <= abs(v) < 1e6:
        decimals = digits - 1 - int(np.floor(np.log10(abs(v)))) if v else 0
        return f"{round(float(v), decimals):.{max(decimals, 0)}f}"
    return f"{float(v):.{digits - 1}e}"


def readable_grid(table, *, every: bool = False, digits: int = 4):
    """The grid table as a reader takes it in: chosen and front points (``every``: all), ``digits`` significant."""
    flags = [c for c in table.columns if c == "chosen" or str(c).startswith("on its variant")]
    keep = table if every or not flags else table[(table[flags] == "yes").any(axis=1)]
    numeric = keep.select_dtypes("number").columns
    shown = keep.assign(**{c: keep[c].map(lambda v: _significant(v, digits)) for c in numeric})
    if every:
        return shown
    # the subset that fits the text column; the other scores are in the whole grid below it and the choices table
    subset = ["OVG variant", "eta_hf", "eta_lf", "KID_wav", "in the real band", "s_lf", "s_hf",
              "on its variant's S_HF / S_LF front", "chosen"]
    shown = shown[[c for c in subset if c in shown]].rename(columns={subset[-2]: "on its front"})
    return shown.set_index("OVG variant") if "OVG variant" in shown else shown
