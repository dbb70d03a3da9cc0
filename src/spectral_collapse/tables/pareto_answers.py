"""The values the Pareto and OVG-schedule chapters quote, by name. Costs: about a second."""
from __future__ import annotations

import pandas as pd
import xarray as xr

from ..reference.method_names import method_name
from ..studies.ovg_schedule import schedule_table
from ..studies.pareto import MOST_FAILED, baseline_summary, beats_baselines, front_counts
from ..text import step_size
from .main_answers import verdict_answers

__all__ = ["pareto_answers", "schedule_answers"]


def _named(keys) -> str:
    return ", ".join(method_name(k) for k in keys) or "none"


def _chosen(ch: dict | None) -> str:
    if not ch:
        return "none"
    steps = f"eta_HF = {step_size(ch['eta_hf'])}, eta_LF = {step_size(ch['eta_lf'])}"
    means = (f"KID_wav {ch['kid_wav']:.3g}, S_LF {ch['s_lf']:.3f}, S_HF {ch['s_hf']:.3f}" if "kid_wav" in ch
             else f"S_HF {ch['s_hf']:.3f}, S_LF {ch['s_lf']:.3f}")
    return f"{steps}: {means}"


def pareto_answers(ds: xr.Dataset, claim_table: pd.DataFrame) -> dict[str, str]:
    """Every value the Pareto chapter quotes, by name: verdicts, front, choice, baselines, settings, realism."""
    f = front_counts(ds)
    out = {**verdict_answers(claim_table), **{k: str(f[k]) for k in ("n_grid", "n_baselines", "front_ovg",
                                                                     "front_baselines")},
           **{k: _named(f[k]) for k in ("front_bases", "off_bases", "dominated")},
           "primary": method_name(f["primary"]), "chosen": _chosen(f["choice"])}
    out.update({k: f"{method_name(f[k][0])} ({f[k][1]:.3f})" if f[k] else "n/a" for k in ("best_hf", "best_lf")})
    out["n_images"] = str(ds.sizes.get("sample", 0))
    out.update({k: str(ds.attrs.get(k, "n/a")) for k in ("tuning_split", "realism_reference", "band_source")})
    out["most_failed"] = f"{100 * MOST_FAILED:.0f} %"
    better = beats_baselines(ds)
    out["n_better"] = str(len(better))
    clean = (ds["failed"].sum("sample") == 0).values if "failed" in ds else None
    out["n_clean"] = str(int(clean.sum())) if clean is not None else "n/a"
    out["n_in_band"] = str(int((ds["in_band"].values & clean).sum())) if "in_band" in ds else "n/a"
    out["n_kid_below"] = str(len(beats_baselines(ds, banded=False)))
    out["better_points"] = "; ".join(f"{method_name(r.base)} at eta_HF = {step_size(r.eta_hf)}, eta_LF = "
                                     f"{step_size(r.eta_lf)} (KID_wav {r.kid_wav:.3g})"
                                     for r in better.itertuples()) or "none"
    kids = baseline_summary(ds).set_index("method").get("kid_wav")
    for m in ("ddim", "taba"):
        out[f"{m}_kid"] = f"{kids[m]:.3g}" if kids is not None and m in kids.index else "n/a"
    return out


def _pct(x) -> str:
    return f"{100 * x:.0f} %".replace("-", "−")


def schedule_answers(ds: xr.Dataset, name=str) -> dict[str, str]:
    """Every value the OVG-schedule chapter quotes, by name (``name(key)``: a schedule as written)."""
    tab = schedule_table(ds)
    out = {}
    for m in dict.fromkeys([*tab.index, "ddim", "ovg", "low", "mid", "high"]):
        row = tab.loc[m] if m in tab.index else None
        for k, fmt in {"s_hf": "{s_hf:.3f}", "time": "{time_ratio:.2f}", "passes": "{backward_passes:.0f}"}.items():
            out[f"{m}_{k}"] = "n/a" if row is None else fmt.format(**row)
        share = "n/a (not run)" if row is None else _pct(row["s_hf_gain_share"])
        if row is not None and row["share_hi"] > row["share_lo"]:
            share += f" [{_pct(row['share_lo'])}, {_pct(row['share_hi'])}]"
        out[f"{m}_share"] = share
    best = str(ds.attrs.get("best_schedule", ""))
    return {**out, "best": name(best) if best else "none",
            "best_share": _pct(tab.loc[best, "s_hf_gain_share"]) if best else "n/a",
            "best_time": f"{tab.loc[best, 'time_ratio']:.2f}" if best else "n/a",
            "target_met": "yes" if int(ds.attrs.get("target_met", 0)) else "no",
            "max_ratio": f"{float(ds.attrs['max_time_ratio']):g}",
            "target": f"{100 * float(ds.attrs['target_share']):.0f} %", "timing_images": f"{ds.attrs['timing_images']}",
            "n_test": f"{ds.attrs['n_test']}", "steps": f"{ds.attrs['steps']}"}
