"""The values the metric-validation chapter quotes, by name. Costs: the chapter's checks, once each."""
from __future__ import annotations

import json

import xarray as xr

from ..claims.compare import correlation_verdict
from ..metrics.spectral import wavelet_order
from ..metrics.weights import plain_status
from ..studies.metric_validation import band_used, filter_changes, method_correlation
from ..studies.realism_checks import halving_words, photo_words
from .support import leak_control_answers

__all__ = ["metric_validation_answers"]


def _realism(ds: xr.Dataset) -> dict[str, object]:
    """The realism gate's counts (real and reference crops, flat crops) and the controls that pass and fail it."""
    out = {"mv_n_real": int(ds.attrs["n_real_crops"]) if "n_real_crops" in ds.attrs else "no",
           "mv_n_reference": int(ds.attrs["n_reference"])}
    for key in ("flat_test", "flat_reference", "flat_real"):
        n = ds.attrs.get(key, -1)
        out[f"mv_{key}"] = ("not counted (no main results)" if n < 0 else
                            f"{n} flat crop{'' if n == 1 else 's'}" if key == "flat_test" else str(n))
    if "gate_passes" in ds:
        passes = ds["gate_passes"].to_series()
        out.update(mv_passing=", ".join(passes[passes].index) or "none",
                   mv_failing=", ".join(passes[~passes].index) or "none")
    else:
        out.update(mv_passing="not computed (no main results with controls stored)", mv_failing="not computed")
    return out


def metric_validation_answers(ds: xr.Dataset) -> dict[str, object]:
    """Every value the metric-validation chapter quotes, by name."""
    slope = float(ds["slope"].sel(domain="target"))
    lo, hi, n = band_used(ds)
    out = {"target_slope": f"{slope:.2f}", "target_wavelet": wavelet_order(slope),
           "paper_wavelet": wavelet_order(-3.5), "band": f"{lo:.3f} to {hi:.3f} cycles/pixel ({n} frequencies)",
           **{key: f"{value:.3f}" for key, value in filter_changes(ds).items()}}
    for a, b in (("s_dc", "s_g"), ("s_hf", "s_dc")):
        r, lo, hi, n = method_correlation(ds, a, b)
        ok = r == r
        out[f"r_{a}_{b}"] = (f"{r:+.2f} [{lo:+.2f}, {hi:+.2f}] over {n} methods" if ok
                             else "undefined (no points, or a metric constant)")
        out[f"word_{a}_{b}"] = correlation_verdict(r, lo, hi, +1, 0.5) if ok else "not tested"
    out.update(_realism(ds))
    out.update({f"mv_half_{key}": text for key, text in halving_words(ds)[0].items()})
    words = photo_words(ds)
    out.update({f"mv_photo_{key}": words[key] for key in ("photos", "fails", "kid")})
    out.update({f"{key}_status": plain_status(ds.attrs.get(f"{key}_status")) for key in ("lpips", "fid")})
    ms = json.loads(ds.attrs.get("ms_ssim_config") or "{}")
    kind = "standard" if ms.get("standard") else "reduced (non-standard) configuration"
    out.update(ms_ssim=f"{ms['scales']} scales, {kind}" if ms else "not computed",
               n_points=str(ds.sizes.get("point", 0)), **leak_control_answers(ds))
    return out
