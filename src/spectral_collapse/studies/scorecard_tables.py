"""The scorecard as tables a page shows: one DataFrame per paper table, the paper's numbers beside ours."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .method_labels import method_name
from .scorecard import METRICS, fmt_metric
from ..text import interval

__all__ = ["TABLE_TITLES", "METRIC_NAMES", "side_by_side", "cell_pair"]

TABLE_TITLES = {  # in the order the scorecard shows them: Table 2's two halves first
    "table9": "Table 9: BBBC021 x16 (Table 2, right)", "table11": "Table 11: Edges2Shoes (Table 2, left)",
    "table8": "Table 8: BBBC021 x8", "table10": "Table 10: BBBC021 x32",
    "table1": "Table 1: stochastic vs deterministic inversion (share of comparisons improved)",
    "table3": "Table 3: backbone (BBBC021 x16)", "table4": "Table 4: data space (BBBC021 x16)",
    "table5": "Table 5: SR factor (BBBC021)", "table6": "Table 6: x0- vs ε-prediction (share of cases improved)"}
METRIC_NAMES = {"psnr": "PSNR", "ms_ssim": "MS-SSIM", "lpips": "LPIPS", "fid": "FID", "s_hf": "S_HF",
                "s_lf": "S_LF", "s_dc": "S_DC", "s_g": "S_G"}
SHARE_TABLES = ("table1", "table6")
ROWS = {"stochastic_vs_deterministic": "stochastic vs deterministic", "x0_vs_eps": "x0 vs ε"}
AXES = {"table3": "backbone", "table4": "space", "table5": "scale"}


def _pm(mean, std, metric: str, share: bool, printed: bool = False) -> str:
    v = fmt_metric(mean, metric, share, printed=printed)
    ok = std is not None and np.isfinite(std) and std > 0
    return f"{v} ± {fmt_metric(std, metric, share, printed=printed)}" if v and ok else v


def cell_pair(r, share: bool) -> tuple[str, str]:
    """(paper, ours) of one scorecard row: the paper's mean ± std as it prints it, ours as mean "[lo, hi]" (or
    "(no spread)"), else mean ± std; "not run" without a counterpart."""
    paper = _pm(r.paper_mean, getattr(r, "paper_std", np.nan), r.metric, share, printed=True) or "—"
    o = float(r.ours_mean)
    if not np.isfinite(o):
        return paper, "not run"
    lo, hi = float(getattr(r, "ours_lo", np.nan)), float(getattr(r, "ours_hi", np.nan))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return paper, _pm(o, float(r.ours_std), r.metric, share)
    if np.isclose(lo, hi, rtol=0.0, atol=1e-12):
        return paper, f"{fmt_metric(o, r.metric, share)} (no spread)"
    bounds = interval(lo, hi, lambda v: fmt_metric(v, r.metric, share).removesuffix(" %"))
    return paper, f"{fmt_metric(o, r.metric, share)} {bounds}"


def side_by_side(card: pd.DataFrame, table: str) -> pd.DataFrame:
    """One paper table of ``card``: rows (ablation value,) method, "paper" / "ours"; a column per metric."""
    t = card[card["table"] == table]
    idx = ([AXES[table]] if table in AXES else []) + ["method"]
    share = table in SHARE_TABLES
    rows: dict[tuple, dict[str, str]] = {}
    for r in t.itertuples():
        key = (*[str(getattr(r, k)) for k in idx[:-1]], ROWS.get(r.method, method_name(r.method)))
        paper, ours = cell_pair(r, share)
        rows.setdefault((*key, "paper"), {})[r.metric] = paper
        rows.setdefault((*key, "ours"), {})[r.metric] = ours
    present = [m for m in METRICS if m in set(t["metric"])]
    out = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=present).fillna("")
    out.index = pd.MultiIndex.from_tuples(out.index, names=[*idx, ""])
    return out.rename(columns=METRIC_NAMES)
