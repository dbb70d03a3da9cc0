"""Shares of comparisons won (the paper's Tables 1 and 6): what they may count, their intervals, our counterparts
of the two tables and the claims they decide."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics.intervals import MIN_EFFECT
from ..metrics.latent import ks_resolution
from ..reference import paper_tables
from ..text import interval, percent
from .evidence import METRICS
from ..verdicts.rules import MIN_COMPARISONS
from .compare import FAILS, HOLDS, INCONCLUSIVE, UNTESTABLE, Finding, combine

__all__ = ["LOWER_IS_BETTER", "MIN_COMPARISONS", "N_BOOT", "DETERMINISTIC", "STOCHASTIC", "TABLE6_METHODS",
           "countable", "share_span", "share_interval", "share_verdict", "sign_interval", "share_table",
           "table1_frames", "x0_frames",
           "SHARE_TABLES", "share_table_rows", "share_claim"]

LOWER_IS_BETTER = {"lpips", "fid"}
N_BOOT = 2000         # bootstrap draws of a share's interval
DETERMINISTIC = ("ddim", "null_class", "direct_inversion")   # Table 1's "deterministic" group
STOCHASTIC = ("taba", "renoise")                             # Table 1's "stochastic" group
TABLE6_METHODS = ("ddim", "taba", "ovg")                     # Table 6's rows (our stable OVG form is shown apart)

def share_span(share: float, lo: float, hi: float, digits: int = 1) -> str:
    """A share with its 95 % interval, "62.5 % [50.0, 75.0]"; the share alone when the interval is not finite."""
    head = percent(share, digits)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return head
    return f"{head} {interval(lo, hi, lambda v: f'{100 * v:.{digits}f}')}"


def countable(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The rows shares and correlations may count (no failed samples, one of each coinciding pair) and {"failed": ...,
    "coinciding": ...}: the (arm, method, seed) cells left out for each reason."""
    cell = [c for c in frame.columns if c not in ("metric", "value", "failed", "n", "samples", "same_as")]
    none = pd.Series(False, index=frame.index)
    bad = frame["failed"].fillna(0) > 0 if "failed" in frame else none
    dup = (frame["same_as"].fillna("") != "") & ~bad if "same_as" in frame else none
    why = {k: len(frame.loc[m, cell].drop_duplicates()) for k, m in (("failed", bad), ("coinciding", dup))}
    return frame[~bad & ~dup], why   # distinct (arm, method, seed) cells left out, not metric rows


# ------------------------------------------------------------------------------------------- intervals

def share_interval(f: pd.DataFrame, better, worse, by: str, pair_on: list[str], unit: str, *,
                   n_boot: int = N_BOOT, seed: int = 0) -> dict | None:
    """The share of comparisons (``pair_on``, better, worse) ``better`` wins on the means over the ``unit``s both
    scored (S_G within the KS resolution: half a win), its 95 % interval resampling each dataset's units, and the
    sign test's wins, losses and ties beyond ``MIN_EFFECT``: a dict, or None. Cost: ``n_boot`` draws."""
    better = (better,) if isinstance(better, str) else tuple(better)
    worse = (worse,) if isinstance(worse, str) else tuple(worse)
    metric = str(f["metric"].iloc[0]) if len(f) else ""
    f = f[f[by].isin(better + worse) & np.isfinite(f["value"].astype(float))]
    if f.empty:
        return None
    cells = f.groupby([*pair_on, by, unit], dropna=False)
    vals, kept = cells["value"].mean(), (cells["n"].min() if "n" in f else None)
    rng = np.random.default_rng(seed)
    point, draws, ties, wins, losses, n_units = [], [], 0, 0, 0, 0
    for _, g in vals.groupby(level=0, sort=True):  # one dataset: its units are resampled together
        wide = g.unstack(unit)                     # rows (*pair_on, by), one column per unit
        n_units += wide.shape[1]
        w = np.zeros((n_boot + 1, wide.shape[1]))
        w[0] = 1.0                                 # row 0: the observed units
        draw = rng.integers(0, wide.shape[1], (n_boot, wide.shape[1]))
        np.add.at(w, (np.arange(1, n_boot + 1)[:, None], draw), 1)
        for key, sub in wide.groupby(level=list(range(len(pair_on))), sort=True, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            labels = np.asarray(sub.index.get_level_values(by))
            for a, b in [(a, b) for a in better for b in worse if a in labels and b in labels]:
                xa, xb = sub[labels == a].to_numpy(float)[0], sub[labels == b].to_numpy(float)[0]
                ok = np.isfinite(xa) & np.isfinite(xb)
                if not ok.any():
                    continue
                tot = w[:, ok].sum(1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    ma, mb = w[:, ok] @ xa[ok] / tot, w[:, ok] @ xb[ok] / tot
                score = ((ma < mb) if metric in LOWER_IS_BETTER else (ma > mb)).astype(float)
                within = MIN_EFFECT.get(metric, 0.01)
                if metric == "s_g" and kept is not None:   # S_G within the KS test's resolution: half a win
                    n = min(float(kept.loc[(*key, a)].min()), float(kept.loc[(*key, b)].min()))
                    ks = ks_resolution(int(n)) if np.isfinite(n) and n >= 1 else 0.0
                    score, within = np.where(np.abs(ma - mb) <= ks, 0.5, score), max(within, ks)
                tie = bool(np.abs(ma[0] - mb[0]) <= within)   # for the sign test: neither a win nor a loss
                ties += tie
                wins, losses = wins + (not tie and score[0] == 1), losses + (not tie and score[0] == 0)
                score[tot == 0] = np.nan
                point.append(score[0])
                draws.append(score[1:])
    if not point:
        return None
    lo, hi = np.nanquantile(np.nanmean(np.vstack(draws), 0), [0.025, 0.975])
    return {"share": float(np.mean(point)), "lo": float(lo), "hi": float(hi), "cases": len(point), "ties": ties,
            "wins": wins, "losses": losses, "units": unit, "n_units": n_units}


def sign_interval(wins: int, losses: int, level: float = 0.95) -> tuple[float, float, float]:
    """(share, lo, hi) of the comparisons won among those decided (ties left out, as the sign test leaves them):
    wins / (wins + losses) with its exact (Clopper–Pearson) interval, ``scipy.stats.binomtest``; NaNs without any."""
    from scipy.stats import binomtest

    n = wins + losses
    if n == 0:
        return np.nan, np.nan, np.nan
    ci = binomtest(wins, n).proportion_ci(level, method="exact")
    return wins / n, float(ci.low), float(ci.high)


def share_verdict(lo: float, hi: float, want_above: bool) -> str:
    """A share's interval against 50 %: wholly on the paper's side holds, wholly on the other fails."""
    on, off = (lo > 0.5, hi < 0.5) if want_above else (hi < 0.5, lo > 0.5)
    return HOLDS if on else FAILS if off else INCONCLUSIVE


def share_table(frame: pd.DataFrame, crops: pd.DataFrame, better, worse, by: str, metrics) -> pd.DataFrame:
    """Per metric, ``share_interval`` of ``better`` against ``worse`` with dataset, method, scale fixed; the claims
    page and the scorecard both read their shares from here."""
    rows = []
    for m in metrics:   # per-crop values (failed samples NaN), else per-seed ones (``countable``); one of 2 coinciding
        src, unit = (crops, "crop") if not crops.empty and m in set(crops["metric"]) else (frame, "seed")
        f = src[src["metric"] == m] if not src.empty else src
        dup = (f["same_as"].fillna("") != "") if "same_as" in f else pd.Series(False, index=f.index)
        n_dup = len(f.loc[dup, [c for c in ("dataset", "method") if c in f]].drop_duplicates())
        f, why = countable(f[~dup]) if unit == "seed" else (f[~dup], {"failed": int(f.loc[~dup, "value"].isna().sum())})
        f = f.loc[:, f.notna().any() | (f.columns == "value")]
        pair_on = [c for c in ("dataset", "method", "scale") if c in f and c != by]
        s = share_interval(f, better, worse, by, pair_on, unit) if not f.empty and pair_on else None
        if s is not None:
            rows.append({"metric": m, **{k: s[k] for k in ("share", "lo", "hi", "cases", "ties", "wins", "losses",
                                                           "n_units")},
                         "unit": unit, "failed_out": why["failed"], "coinciding_out": n_dup})
    return pd.DataFrame(rows, columns=["metric", "share", "lo", "hi", "cases", "ties", "wins", "losses", "n_units",
                                       "unit", "failed_out", "coinciding_out"])


# ------------------------------------------------------------------------------------ Tables 1 and 6

def table1_frames(ev) -> tuple[pd.DataFrame, pd.DataFrame, tuple, tuple, str]:
    """(per-seed frame, per-crop frame, better labels, worse labels, label column) of Table 1's comparisons."""
    return ev.select("main"), ev.select("main", per_crop=True), STOCHASTIC, DETERMINISTIC, "method"


def x0_frames(ev) -> tuple[pd.DataFrame, pd.DataFrame, list, list, str]:
    """The same for Table 6: the ``eps_vs_x0`` rows of its methods (empty when an arm is missing)."""
    def arms(f):
        f = f[f["method"].isin(TABLE6_METHODS)] if "method" in f else f
        return f.assign(parameterization=f["parameterization"].str.lower()) if "parameterization" in f else f

    f, crops = arms(ev.select("x0")), arms(ev.select("x0", per_crop=True))
    labels = f["parameterization"].unique() if "parameterization" in f else []
    xs, eps = [v for v in labels if "x0" in v], [v for v in labels if "eps" in v]
    if not (xs and eps):
        f, crops, xs, eps = f.iloc[0:0], crops.iloc[0:0], [], []
    return f, crops, xs, eps, "parameterization"


# our Tables 1 and 6: (the frames compared, the table's fixed keys, where ours come from)
SHARE_TABLES = {"table1": (table1_frames, dict(dataset="all", scale="", backbone="unet", space="latent",
                                               method="stochastic_vs_deterministic"), "main_results, every dataset"),
                "table6": (x0_frames, dict(dataset="bbbc021", scale="all", backbone="unet", space="latent",
                                           method="x0_vs_eps"), "eps_vs_x0")}


def share_table_rows(ev) -> list[pd.DataFrame]:
    """Our Table 1 and 6 rows on the scorecard's keys: the share per metric with its interval."""
    out = []
    for table, (frames, keys, source) in SHARE_TABLES.items():
        frame, crops, better, worse, by = frames(ev)
        s = share_table(frame, crops, better, worse, by, METRICS) if not (frame.empty and crops.empty) else None
        if s is not None and not s.empty:
            out.append(pd.DataFrame({"table": table, **keys, "metric": s["metric"], "ours_mean": s["share"],
                                     "ours_std": np.nan, "ours_lo": s["lo"], "ours_hi": s["hi"], "ours_n": s["cases"],
                                     "real": True, "ours_from": source}))
    return out


def _paper_share_checks(table: str, frame, better, worse, by, want_above: dict, reported: pd.Series) -> list[tuple]:
    """Per metric, on the paper's tables: Table 1 recomputed from Tables 8–11 against the reported share's side of
    50 %; Table 6 (nothing to recompute it from) the reported share against the side the text puts it on."""
    checks = []
    pct = (share_table(frame, frame.iloc[0:0], better, worse, by, tuple(want_above)).set_index("metric")
           if table == "table1" else None)
    for m, above in want_above.items():
        rep = float(reported.get(m, np.nan))
        head = f"{m}: reported {percent(rep)}" if np.isfinite(rep) else f"{m}: no reported share"
        if pct is None and np.isfinite(rep):   # a share on the paper's side of 50 % holds, exactly 50 % inconclusive
            v, text = share_verdict(rep, rep, above), f"{head}, text {'>' if above else '<'} 50 %"
        elif pct is None:
            v, text = UNTESTABLE, head
        elif m not in pct.index:
            v, text = UNTESTABLE, f"{head}, not in Tables 8–11"
        elif not np.isfinite(rep) or rep == 0.5:
            v, text = UNTESTABLE, f"{head}, recomputed {percent(pct.loc[m, 'share'])}"
        else:
            share = float(pct.loc[m, "share"])
            v = share_verdict(share, share, rep > 0.5)
            text = f"{head}, recomputed {percent(share)} of {int(pct.loc[m, 'cases'])}"
        checks.append((v, f"{text} → {v}"))
    return checks


def share_claim(table: str, frames, want_above: dict):
    """A claim that ``frames(ev)``'s better labels win more (``want_above[metric]``) or fewer than half of their
    decided comparisons: the exact binomial interval wholly on that side of 50 %, over ``MIN_COMPARISONS`` at least."""
    def test(ev) -> Finding:
        frame, crops, better, worse, by = frames(ev)
        reported = paper_tables()
        reported = reported[reported["table"] == table].set_index("metric")["mean"]
        if ev.source == "paper":
            return combine(_paper_share_checks(table, frame, better, worse, by, want_above, reported),
                           "the paper's tables give none of these shares")
        if frame.empty and crops.empty:
            return Finding(UNTESTABLE, "the results these shares are computed from are not stored")
        checks = []
        for s in share_table(frame, crops, better, worse, by, tuple(want_above)).itertuples():
            share, lo, hi = sign_interval(s.wins, s.losses)
            few = s.wins + s.losses < MIN_COMPARISONS
            v = INCONCLUSIVE if few or not lo < hi else share_verdict(lo, hi, want_above[s.metric])
            why = f"; fewer than {MIN_COMPARISONS} decided: inconclusive" if few else ""
            paper = f"paper {percent(reported.get(s.metric, np.nan))}"
            if s.wins + s.losses == 0:
                checks.append((v, f"{s.metric}: none of {s.cases} comparisons decided (ties within the minimal "
                                  f"effect {s.ties}; {paper}) → {v}"))
                continue
            checks.append((v, f"{s.metric}: {s.wins} of {s.wins + s.losses} decided won, {share_span(share, lo, hi)} "
                              f"(ties within the minimal effect {s.ties}{why}; {paper}) → {v}"))
        return combine(checks, "no comparable pairs in the stored results")
    return test
