"""Realism of a translation table: the wavelet-statistics KID of every (method, seed) and control against real
target crops, and the gate that decides which texture scores may decide a verdict: a score passes when it finds every
control worse than a second set of real crops scored as if it were a method."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import torch
import xarray as xr

from ..metrics import realism as rl
from ..metrics.intervals import Interval, no_worse, paired_ci
from ..verdicts.effect import Gap, draws_gap, gap_fraction
from ..verdicts.words import UNTESTABLE
from .aggregate import nan_mean
from .controls import CONTROLS

__all__ = ["add_kid", "ovg_added_energy", "GATED_SCORES", "gate_table", "realism_gate", "N_BOOT", "BAND_SCORES",
           "truth_band", "spread_band", "detail_gap", "kid_gap", "kid_readable", "kid_no_worse", "KID_PRECISION",
           "kid_precision", "texture_verdict", "texture_table", "chroma_share", "drift_diagnostics"]

N_BOOT = 1000
KID_PRECISION = "the 8-bit and float scores differ"   # what a texture verdict says when rounding moves its KID
# texture scores the gate examines, and how each ranks: "low" (smaller is closer to the truth), "abs" (nearer 0 is
# closer: a signed log ratio to the truth) or "high" (larger is better, as the paper's S_HF)
GATED_SCORES = {"kid_wav": "low", "delta_log_e_hf_luma": "abs", "delta_log_e_hf_chroma": "abs", "s_hf": "high",
                "delta_log_e_hf": "abs"}


def ovg_added_energy(ds: xr.Dataset, truth_energy: np.ndarray, crops, label: str = "ovg") -> tuple[float, str]:
    """(energy, source): the level-1 RGB detail energy the noise controls add to the truth: what ``label`` adds on
    its test crops, or the truth's own mean energy where it adds less or is not run."""
    own = float(np.nanmean(truth_energy))
    at = {int(c): k for k, c in enumerate(crops)}
    if "method" in ds.dims and label in ds["method"].values and "e_hf_rgb" in ds:
        e = ds["e_hf_rgb"].sel({"method": label}).values.ravel()
        t = np.array([truth_energy[at[int(c)]] for c in ds["crop"].values.ravel()])
        keep = np.isfinite(e) & np.isfinite(t)
        if keep.any():
            added = float(np.mean(e[keep] - t[keep]))
            if added >= own:
                return added, f"the detail energy {label} adds over the truth"
            return own, (f"the truth's own detail energy ({label} adds {added:.3g}, less than the truth's "
                         f"{own:.3g}: noise doubling the detail instead)")
    return own, "the truth's own detail energy (no OVG run in this table)"


def add_kid(ds: xr.Dataset, ref: np.ndarray, scaler: rl.FeatureScaler | None = None) -> xr.Dataset:
    """``kid_wav`` with ``_lo`` / ``_hi`` (95 % bootstrap over the crops) per (method, seed) and (control, seed),
    ``real_kid_wav`` and ``kid_wav_ratio`` over the ground truth's KID on the same crops, NaN features left out; with
    ``scaler`` its stored normalisation (``reference_feature_sorted`` / ``_keep``)."""
    ds = ds.copy()
    seeds = ds["seed"].values.tolist()
    crops = {s: ds["crop"].sel(seed=s).values for s in seeds}

    def kid(name: str, dims: tuple, sets) -> None:   # <name>, _lo, _hi of the KID of each set of each row
        iv = [[rl.kid_interval(x, ref, n_boot=N_BOOT, seed=0) for x in row] for row in sets]
        for part, end in (("mean", ""), ("lo", "_lo"), ("hi", "_hi")):
            a = np.array([[getattr(v, part) for v in row] for row in iv])
            ds[f"{name}{end}"] = (dims, a.reshape(a.shape[-len(dims):]))

    f = ds["control_wav_features"]
    kid("control_kid_wav", ("control", "seed"),
        [[f.sel(control=c, crop_index=crops[s]).values for s in seeds] for c in CONTROLS])
    if "real_wav_features" in ds:   # the real set scored as a method: the KID a real crop set reaches
        kid("real_kid_wav", ("seed",), [[ds["real_wav_features"].sel(crop_index=crops[s]).values for s in seeds]])
    truth = ds["control_kid_wav"].sel(control="ground_truth", drop=True)
    ds["control_kid_wav_ratio"] = ds["control_kid_wav"] / truth
    if "method" in ds.dims and "wav_features" in ds:
        f = ds["wav_features"]
        kid("kid_wav", ("method", "seed"),
            [[f.sel({"method": m, "seed": s}).values for s in seeds] for m in ds["method"].values])
        ds["kid_wav_ratio"] = ds["kid_wav"] / truth
    ds["reference_wav_features"] = (("reference_crop", "feature"), ref)
    if scaler is not None:   # the features' normalisation, so that KID can be recomputed from stored images
        ds["reference_feature_sorted"] = (("reference_crop", "wavelet_feature"), scaler.sorted_reference)
        ds["reference_feature_keep"] = ("wavelet_feature", scaler.keep)
        ds = ds.assign_coords(wavelet_feature=rl.feature_names())
    return ds


def gate_table(controls: dict, real: dict, reference: np.ndarray) -> pd.DataFrame:
    """Per texture score (``GATED_SCORES``) and control: how much worse it scores than ``real`` (real crops scored as a
    method, crop k for test crop k) with its 95 % paired interval over the crops, ``worse`` when the interval lies
    above 0, and ``passes``: the score finds every control worse."""
    rows = []
    for score, kind in GATED_SCORES.items():
        key = "wav_features" if score == "kid_wav" else score
        for c, got in controls.items():
            if key not in got or key not in real:
                continue
            if score == "kid_wav":
                d = rl.paired_kid_difference(got[key], real[key], reference, n_boot=N_BOOT, seed=0)
            else:
                a, b = np.asarray(got[score], dtype=np.float64), np.asarray(real[score], dtype=np.float64)
                a, b = {"low": (a, b), "high": (-a, -b), "abs": (np.abs(a), np.abs(b))}[kind]
                d = paired_ci(a, b, n_boot=N_BOOT, seed=0)
            rows.append({"score": score, "control": c, "worse_by": d.mean, "lo": d.lo, "hi": d.hi,
                         "worse": bool(d.lo > 0)})
    table = pd.DataFrame(rows)
    if not table.empty:
        table["passes"] = table.groupby("score")["worse"].transform("all")
    return table


def realism_gate(ds: xr.Dataset) -> pd.DataFrame:
    """``gate_table`` of a results table on the first seed's crops: each control (but the truth) against the real
    set scored as a method (``real_*``; results without it: against the paired ground truth)."""
    if "reference_wav_features" not in ds:   # no paired test split: no KID, no gate
        return pd.DataFrame()
    at = ds["crop"].isel(seed=0).values
    scores = [s if s != "kid_wav" else "wav_features" for s in GATED_SCORES]

    def got(prefix: str, **sel) -> dict:
        return {s: ds[f"{prefix}{s}"].sel(crop_index=at, **sel).values for s in scores if f"{prefix}{s}" in ds}

    real = got("real_") if "real_wav_features" in ds else got("control_", control="ground_truth")
    controls = {c: got("control_", control=c) for c in CONTROLS if c != "ground_truth"}
    return gate_table(controls, real, ds["reference_wav_features"].values)


BAND_SCORES = ("delta_log_e_hf_luma_ref", "delta_log_e_hf_chroma_ref")


def _truth(ds: xr.Dataset, score: str) -> xr.DataArray | None:
    """The ground truth's control values of ``score``; None where the results hold none."""
    if f"control_{score}" in ds and "ground_truth" in ds["control"].values.tolist():
        return ds[f"control_{score}"].sel(control="ground_truth")
    return None


def truth_band(ds: xr.Dataset, score: str) -> tuple[float, float] | None:
    """``spread_band`` of a detail score's real set (``real_<score>``, else the ground truth); None without both."""
    if f"real_{score}" in ds:
        return spread_band(ds[f"real_{score}"].values)
    truth = _truth(ds, score)
    return None if truth is None else spread_band(truth.values)


def spread_band(values) -> tuple[float, float] | None:
    """Mean ± one standard deviation (ddof 1) of the finite ``values``; None under two of them."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    return None if len(v) < 2 else (float(v.mean() - v.std(ddof=1)), float(v.mean() + v.std(ddof=1)))


def _picks(ds: xr.Dataset, method: str) -> dict[int, tuple]:
    """{crop id: (seed, sample index)} of a method's scored translations, the first seed that translated the crop (a
    deterministic method gives every seed the same output of a crop; a stochastic one, one draw per crop)."""
    out = {}
    f = ds["wav_features"].sel({"method": method})
    for s in ds["seed"].values.tolist():
        for k, c in enumerate(ds["crop"].sel(seed=s).values.tolist()):
            if int(c) not in out and np.isfinite(f.sel(seed=s).values[k]).all():
                out[int(c)] = (s, k)
    return out


def _per_crop_features(ds: xr.Dataset, method: str) -> dict[int, np.ndarray]:
    """{crop id: rank-normalised features} of a method as stored (8-bit), on ``_picks``' translations."""
    f = ds["wav_features"].sel({"method": method})
    return {c: f.sel(seed=s).values[k] for c, (s, k) in _picks(ds, method).items()}


def _float_features(ds: xr.Dataset, method: str) -> dict[int, np.ndarray] | None:
    """``_per_crop_features`` of the float translations before 8-bit rounding; None where the results keep no scaler
    or not every sample's image."""
    if not {"images", "reference_feature_sorted", "reference_feature_keep"} <= set(ds.data_vars) or \
            ds.sizes.get("image") != ds.sizes.get("sample"):
        return None
    scale = rl.FeatureScaler(ds["reference_feature_sorted"].values, ds["reference_feature_keep"].values.astype(bool))
    picks = _picks(ds, method)
    imgs = ds["images"].sel({"method": method})
    x = np.stack([imgs.sel(seed=s).values[k] for s, k in picks.values()]) if picks else None
    f = scale(rl.wavelet_features(x, ds.attrs.get("wavelet", "sym4"), saved=False)) if x is not None else []
    return dict(zip(picks, f))


def _paired_kid(ds: xr.Dataset, fa: dict | None, fb: dict | None):
    """The paired KID_wav difference of two {crop id: features} on the crops both hold; None under 2 of them."""
    shared = sorted(set(fa or {}) & set(fb or {}))
    if len(shared) < 2:
        return None
    return rl.paired_kid_difference(np.stack([fa[c] for c in shared]), np.stack([fb[c] for c in shared]),
                                    ds["reference_wav_features"].values, n_boot=N_BOOT, seed=0)


def kid_precision(ds: xr.Dataset, a: str, b: str, d8) -> str:
    """"" when the float translations' paired KID_wav difference a − b agrees with the 8-bit ``d8`` in sign and
    significance, else it in words ending in ``KID_PRECISION``. Cost: both methods' features, ``N_BOOT`` draws."""
    df = _paired_kid(ds, _float_features(ds, a), _float_features(ds, b))
    if df is None:
        return ""
    side = lambda d: 1 if d.lo > 0 else -1 if d.hi < 0 else 0   # noqa: E731
    what = "sign" if np.sign(df.mean) != np.sign(d8.mean) else "significance" if side(df) != side(d8) else ""
    return (f"KID_wav {a} − {b} in float {df.mean:+.3g} [{df.lo:+.3g}, {df.hi:+.3g}]: {KID_PRECISION} in {what}"
            if what else "")


def _crop_means(v: xr.DataArray, crops) -> pd.Series:
    """|per-crop values| of a detail score by crop id (``crops``), the mean over the seeds that translated the crop."""
    v = pd.Series(np.abs(np.asarray(v.values, dtype=np.float64).ravel()), index=np.asarray(crops).ravel().astype(int))
    return v[np.isfinite(v.to_numpy())].groupby(level=0).mean()


def detail_gap(ds: xr.Dataset, score: str, a: str, b: str) -> Gap | None:
    """``effect.gap_fraction`` of |score| per crop: (|a| − |b|) / (|truth| − |b|) over the crops all three scored
    (truth 0 without its control); None under 2 such crops."""
    xa, xb = (_crop_means(ds[score].sel({"method": m}), ds["crop"].values) for m in (a, b))
    shared = xa.index.intersection(xb.index)
    ref, t = 0.0, _truth(ds, score)
    if t is not None:
        t = _crop_means(t, t["crop_index"].values)
        shared = shared.intersection(t.index)
        ref = t[shared].to_numpy()
    return gap_fraction(score, xa[shared].to_numpy(), xb[shared].to_numpy(), ref) if len(shared) > 1 else None


def _kid_with_truth(ds: xr.Dataset, a: str, b: str):
    """(KIDs, (draws, 3) bootstrap KIDs, crops) of ``a``, ``b`` and the ground truth on the crops all three hold
    (``rl.kid_draws``: test crops, the same for a, b and the truth, and reference crops resampled); None under 2."""
    fa, fb = _per_crop_features(ds, a), _per_crop_features(ds, b)
    truth = ds["control_wav_features"].sel(control="ground_truth")
    shared = [c for c in sorted(set(fa) & set(fb)) if c in truth["crop_index"].values]
    if len(shared) < 2:
        return None
    sets = [np.stack([f[c] for c in shared]) for f in (fa, fb)] + [truth.sel(crop_index=shared).values]
    return rl.kid_draws(sets, ds["reference_wav_features"].values, n_boot=N_BOOT, seed=0)


def kid_gap(ds: xr.Dataset, a: str, b: str) -> Gap | None:
    """The fraction of ``b``'s KID_wav gap to the truth's that ``a`` closes; None under 2 shared crops."""
    got = _kid_with_truth(ds, a, b)
    return None if got is None else draws_gap("kid_wav", *got)


NOT_READ = " (KID_wav fails the controls here: not read)"   # said where the realism gate keeps KID_wav out


def kid_readable(ds: xr.Dataset) -> bool:
    """Whether KID_wav may decide on results ``ds``: the realism gate (``realism_gate``) finds every control worse."""
    gate = realism_gate(ds)
    return not gate.empty and bool(gate.loc[gate["score"] == "kid_wav", "passes"].all())


def _holds(ds: xr.Dataset, names: set, a: str, b: str) -> bool:
    """Whether results ``ds`` hold the variables ``names`` and the methods ``a`` and ``b``."""
    return names <= set(ds.data_vars) and {a, b} <= set(ds["method"].values.tolist())


def kid_no_worse(ds: xr.Dataset, a: str, b: str, margin: float) -> tuple[str, str, Gap] | None:
    """(verdict, text, gap) of "``a``'s crops are at least as real as ``b``'s": KID_wav(a) − KID_wav(b) with its
    paired interval against ``margin`` × ``b``'s gap to the truth's KID (``intervals.no_worse``; "inconclusive" where
    KID_wav fails the realism gate), and the fraction of that gap ``a`` closes; None under 2 shared crops."""
    got = _kid_with_truth(ds, a, b) if _holds(ds, {"wav_features", "reference_wav_features",
                                                   "control_wav_features"}, a, b) else None
    if got is None:
        return None
    point, draws, n = got
    lo, hi = np.quantile(draws[:, 0] - draws[:, 1], [0.025, 0.975])
    m = margin * max(float(point[1] - point[2]), 0.0)
    readable = kid_readable(ds)
    verdict = no_worse(Interval(float(point[0] - point[1]), float(lo), float(hi), n, 0.95), m,
                       higher_is_better=False) if readable else "inconclusive"
    text = (f"KID_wav {a} − {b} {point[0] - point[1]:+.3g} [{lo:+.3g}, {hi:+.3g}], {n} crops (8-bit), margin {m:.3g} "
            f"({margin * 100:.0f} % of {b}'s gap to the ground truth's KID_wav {point[2]:.3g})"
            + ("" if readable else NOT_READ) + f" → {verdict}")
    return verdict, text, draws_gap("kid_wav", point, draws, n)


def texture_verdict(ds: xr.Dataset, a: str, b: str) -> tuple[str, str, tuple] | None:
    """(verdict, text, gaps) of "``a`` restores texture better than ``b``": KID_wav(a) - KID_wav(b) below 0 (read
    only where KID_wav passes the gate), with the ``effect.Gap`` of each score read; the real crops' band decides
    nothing (``verdicts.rules.TEXTURE_RULE``)."""
    if not _holds(ds, {"wav_features", "reference_wav_features"}, a, b):
        return None
    words, gaps = [], []
    for score, name in zip(BAND_SCORES, ("luma", "chroma")):
        if score not in ds:
            continue
        v = np.asarray(ds[score].sel({"method": a}).values, dtype=np.float64)
        if not np.isfinite(v).any():   # a score never computed is no verdict: the claim is not testable here
            return UNTESTABLE, f"{score} of {a} is NaN on every crop: {name} detail not testable here", ()
        m = float(np.nanmean(v))
        gap = detail_gap(ds, score, a, b)
        gaps.append(None if gap is None else replace(gap, what=f"{name} detail {a}"))
        words.append(f"{name} detail of {a} {m:+.2f}" + ("" if gap is None else f", {a} {gap}"))
    kid_ok = kid_readable(ds)
    d = _paired_kid(ds, _per_crop_features(ds, a), _per_crop_features(ds, b))
    kg = kid_gap(ds, a, b) if d is not None and kid_ok else None
    if kg is not None:
        gaps.append(replace(kg, what=f"KID_wav {a}"))
    if d is not None:
        note = kid_precision(ds, a, b, d) if kid_ok else ""
        words.append(f"KID_wav {a} − {b} {d.mean:+.3g} [{d.lo:+.3g}, {d.hi:+.3g}], {d.n} crops (8-bit)"
                     + (f", {a} {kg}" if kg is not None else "")
                     + ("" if kid_ok else NOT_READ)
                     + (f"; {note}" if note else ""))
    ok = d is not None and kid_ok
    verdict = "holds" if ok and d.hi < 0 else "does not hold" if ok and d.lo > 0 else "inconclusive"
    return verdict, "; ".join(words) + f" → {verdict}", tuple(g for g in gaps if g is not None)


def texture_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per method and control: luma and chroma detail energy over the truth's (geometric mean), whether each lies in
    the real crops' band, the RGB detail coherence, and KID_wav with its ratio to the ground truth's."""
    bands = {s: truth_band(ds, s) for s in BAND_SCORES}

    def row(get):
        out = {f"{k}_x": float(np.exp(nan_mean(get(f"delta_log_e_hf_{k}")))) for k in ("luma", "chroma")}
        for s, name in zip(BAND_SCORES, ("luma_in_band", "chroma_in_band")):
            m, b = nan_mean(get(s)), bands[s]
            out[name] = bool(b is not None and b[0] <= m <= b[1])
        out["coherence"] = nan_mean(get("hf_coherence"))
        out["kid_wav"], out["kid_ratio"] = nan_mean(get("kid_wav")), nan_mean(get("kid_wav_ratio"))
        return out

    def values(name: str, **at):
        return ds[name].sel(at).values if name in ds else np.array([np.nan])   # a score these results lack: NaN

    methods = ds["method"].values.tolist() if "method" in ds.dims else []
    rows = {m: row(lambda v, m=m: values(v, method=m)) for m in methods}
    rows.update({c: row(lambda v, c=c: values(f"control_{v}", control=c)) for c in CONTROLS})
    return pd.DataFrame.from_dict(rows, orient="index")


class _DriftLog:
    """A guidance term that records, per guided inversion step, the drift the wrapped term adds (model space)."""

    def __init__(self, guidance):
        self.guidance, self.steps = guidance, []

    def __getattr__(self, name):
        return getattr(self.guidance, name)

    def drift(self, D, x, x_base, sigma, sigma_next, ctx):
        u = self.guidance.drift(D, x, x_base, sigma, sigma_next, ctx)
        self.steps.append((float(sigma), u.detach().double().clone()))
        return u


def chroma_share(field: np.ndarray) -> float:
    """Fraction of an RGB field's energy (B, 3, H, W) in the Cb and Cr channels of the BT.601 map (1 - the Y share):
    about 0.65 for i.i.d. per-channel noise, near 0 for grey or coherent detail."""
    y = np.einsum("kc,bchw->bkhw", rl.YCBCR_601, np.asarray(field, dtype=np.float64))
    e = (y ** 2).sum(axis=(0, 2, 3))
    return float((e[1] + e[2]) / e.sum())


def drift_diagnostics(D, x: torch.Tensor, method, guidance, steps: int, block: int | None = None,
                      truth: torch.Tensor | None = None) -> xr.Dataset:
    """Where an OVG drift goes while inverting ``x`` (3-channel pixel models): per guided step its norm and chroma
    share, the chroma share of its sum, the block-edge ratio of that sum with ``block``, and the truth's share."""
    from ..inversion import default_sigmas, invert

    log = _DriftLog(guidance)
    invert(D, x, default_sigmas(D, steps), method, guidance=log)
    sig = np.array([s for s, _ in log.steps])
    u = [v.numpy() for _, v in log.steps]
    total = np.sum(u, axis=0)
    white = (rl.YCBCR_601[1:] ** 2).sum() / (rl.YCBCR_601 ** 2).sum()
    out = xr.Dataset({"ovg_drift_norm": ("drift_step", np.array([np.sqrt((v ** 2).sum() / len(v)) for v in u])),
                      "ovg_drift_chroma_share": ("drift_step", np.array([chroma_share(v) for v in u]))},
                     coords={"drift_step": np.arange(len(u)), "drift_sigma": ("drift_step", sig)})
    out.attrs.update(ovg_drift_total_chroma_share=chroma_share(total), white_noise_chroma_share=float(white),
                     ovg_drift_images=int(len(x)))
    if truth is not None:
        import pywt

        det = np.concatenate(pywt.dwt2(truth.double().numpy(), "haar", axes=(-2, -1))[1], axis=0)
        out.attrs["truth_detail_chroma_share"] = chroma_share(det)
    if block and block > 1 and total.shape[-1] > block:
        dx = ((total[..., 1:] - total[..., :-1]) ** 2).mean(axis=(0, 1, 2))
        edge = np.arange(block - 1, len(dx), block)
        with np.errstate(divide="ignore", invalid="ignore"):   # a drift constant on blocks: inf (no change inside)
            out.attrs["ovg_drift_block_edge_ratio"] = float(dx[edge].mean() / np.delete(dx, edge).mean())
    return out
