"""Training runs far outside the others in the seed_spread study (``report.seeds``): a rule that names the run whose
mean over crops lies outside every other run's 95 % interval over crops and at least ``OUTLIER_FACTOR`` times the
metric's typical spread between runs from the other runs' mean, and the page's words for what it finds."""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..studies.aggregate import crop_values
from .seeds import SET_METRICS, SPREAD_METRICS, seed_arms

__all__ = ["OUTLIER_FACTOR", "outlier_runs", "outlier_text", "outlier_rule"]

OUTLIER_FACTOR = 3.0   # a run this many times the metric's typical spread between runs from the others is an outlier


def outlier_runs(ds: xr.Dataset, metrics=SPREAD_METRICS, factor: float = OUTLIER_FACTOR) -> pd.DataFrame:
    """The (method, metric) pairs for which one training run lies far outside the others, by a rule: with at least
    three runs, the run whose mean over crops is farthest from the mean of the other runs is an outlier when (1) its
    mean lies outside each other run's 95 % interval over crops and (2) its distance from the other runs' mean is at
    least ``factor`` times the metric's typical spread between runs (the median, over methods, of the range of the
    runs' means). One row per outlier: method, metric, run, its mean, the other runs' means, the gap, the typical
    spread, and on how many crops the run is on the gap's side of the other runs' mean of that crop (when every run
    scored the same crops)."""
    from ..metrics.intervals import bootstrap_ci

    arms = seed_arms(ds)
    cols = ["method", "metric", "training seed", "mean", "other runs", "gap", "typical spread", "crops on that side"]
    if len(arms) < 3:
        return pd.DataFrame(columns=cols)
    rows = []
    for metric in metrics:
        if metric not in ds:
            continue
        cis, values = {}, {}
        for method in [str(m) for m in ds["method"].values]:
            values[method] = {k: crop_values(sub, metric, method) for k, sub in arms.items()}
            cis[method] = {k: bootstrap_ci(v) for k, v in values[method].items()}
        ranges = [np.ptp([c.mean for c in by.values()]) for by in cis.values()
                  if np.isfinite([c.mean for c in by.values()]).all()]
        typical = float(np.median(ranges)) if ranges else np.nan
        if not np.isfinite(typical) or typical <= 0:
            continue
        for method, by in cis.items():
            means = {k: c.mean for k, c in by.items()}
            if not np.isfinite(list(means.values())).all():
                continue
            gaps = {k: means[k] - np.mean([means[o] for o in means if o != k]) for k in means}
            k = max(gaps, key=lambda j: abs(gaps[j]))
            outside = all(not (by[o].lo <= means[k] <= by[o].hi) for o in by if o != k)
            if not outside or abs(gaps[k]) < factor * typical:
                continue
            v = values[method]
            same = len({len(x) for x in v.values()}) == 1
            side = ""
            if same:
                rest = np.mean([v[o] for o in v if o != k], axis=0)
                n = int(np.sum(np.sign(v[k] - rest) == np.sign(gaps[k])))
                side = f"{n} of {len(rest)}"
            rows.append({"method": method, "metric": metric, "training seed": k, "mean": means[k],
                         "other runs": [means[o] for o in means if o != k], "gap": gaps[k],
                         "typical spread": typical, "crops on that side": side})
    return pd.DataFrame(rows, columns=cols)


def outlier_rule(factor: float = OUTLIER_FACTOR) -> str:
    """The rule ``outlier_runs`` applies, in short sentences: what the typical spread is, then when a run is far out."""
    return ("The typical spread of a metric is the median over methods of the range of the runs' means. A run is far "
            "outside the others when its mean lies outside each other run's 95 % interval over crops and at least "
            f"{factor:g} times that typical spread from the other runs' mean.")


def outlier_text(ds: xr.Dataset, factor: float = OUTLIER_FACTOR, outliers: pd.DataFrame | None = None,
                 brief: bool = False) -> str:
    """Markdown: each training run that ``outlier_runs`` finds far outside the others, in words, with the rule; a
    sentence saying that no run is when none is. ``brief``: one sentence naming them ("" when there is none), for
    the verdict."""
    out = outlier_runs(ds, factor=factor) if outliers is None else outliers
    if brief:
        if out.empty:
            return ""
        named = "; ".join(f"`{r.method}` on {r.metric.upper() if r.metric == 'psnr' else r.metric}, training seed "
                          f"{r[2]} ({r.gap:+.3f}{' dB' if r.metric == 'psnr' else ''} from the other runs' mean)"
                          for r in out.itertuples(index=False))
        return (f"{'One run moves' if len(out) == 1 else f'{len(out)} runs move'} far outside the others (the rule is "
                f"under the spread table): {named}.")
    rule = outlier_rule(factor)
    judged = ", ".join(m.upper() if m == "psnr" else m for m in SPREAD_METRICS if m in ds)
    unjudged = (" S_G has no interval over crops, so the rule does not judge it; its spread is set out above."
                if any(m in ds for m in SET_METRICS) else "")
    if out.empty:
        return (f"No training run moves far outside the others on any method and per-crop metric ({judged}). "
                f"{rule}{unjudged}")
    lines = []
    for r in out.itertuples(index=False):
        name = r.metric.upper() if r.metric == "psnr" else r.metric
        unit = " dB" if r.metric == "psnr" else ""
        others = " and ".join(f"{x:.3f}" for x in r[4])
        crops = (f"; it is {'below' if r.gap < 0 else 'above'} the other runs' mean on {r[7]} crops: the run as a "
                 f"whole moved, not a few crops" if r[7] and int(r[7].split()[0]) >= 0.75 * int(r[7].split()[-1]) else
                 f"; it is {'below' if r.gap < 0 else 'above'} the other runs' mean on only {r[7]} crops, so a few "
                 f"crops carry the gap" if r[7] else "")
        lines.append(f"`{r.method}` on {name}, training seed {r[2]}: {r.mean:.3f} against {others} in the other runs, "
                     f"{r.gap:+.3f}{unit} from their mean, {abs(r.gap) / r[6]:.1f} times the typical spread of "
                     f"{r[6]:.3f}{unit}{crops}.")
    return (f"**Runs far outside the others.** {rule} The other chapters show the numbers of the training seed 0 "
            "models; a run listed below shows how far such a number can move when the same model is "
            f"trained from another seed.{unjudged}\n\n"
            + "\n".join(f"- {line}" for line in lines))
