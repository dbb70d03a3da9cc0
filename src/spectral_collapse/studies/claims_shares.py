"""The share claims of Tables 1 and 6, as functions of the scorecard's ``Evidence``; ``studies.claims`` lists them
with the others.

Table 1 (stochastic inversions beat deterministic ones) and Table 6 (x0-prediction beats eps-prediction) are shares
of distinct comparisons won. On our evidence ``share_checks`` gives each metric's share with its 95 % interval
against 50 %, inconclusive over fewer than ``shares.MIN_COMPARISONS`` comparisons; on the paper's tables the recomputed or reported share is read against
the side of 50 % the paper puts it on.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..reference import paper_tables
from .claims_ablations import combine_testable
from .evidence import Evidence
from .paper_shares import table1_frames, x0_frames
from .shares import MIN_COMPARISONS, percent_improved, share_span
from ..text import percent
from .verdicts import FAILS, HOLDS, INCONCLUSIVE, UNTESTABLE, Finding, combine, share_table, share_verdict

__all__ = ["share_checks"]

def _side(share: float, paper_above: bool, text: str) -> tuple[str, str]:
    """A share on the paper's side of 50 %: holds; on the other side: does not hold; exactly 50 %: inconclusive."""
    if not np.isfinite(share):
        return UNTESTABLE, f"{text} → {UNTESTABLE}"
    v = INCONCLUSIVE if share == 0.5 else HOLDS if (share > 0.5) == paper_above else FAILS
    return v, f"{text} → {v}"


def _paper_share_checks(table: str, frame, better, worse, by, metrics, want_above: dict,
                        reported: pd.Series) -> list[tuple[str, str]]:
    """Per metric, on the paper's tables: Table 1 recomputed from Tables 8–11 against the reported share's side of
    50 %; Table 6 (no per-method numbers to recompute it from) the reported share against the side the text puts it
    on. A metric the tables lack is not testable here."""
    checks = []
    pct = (percent_improved(frame, better, worse, by, ["dataset", "seed"]).set_index("metric")
           if table == "table1" else None)
    for m in metrics:
        rep = float(reported.get(m, np.nan))
        head = f"{m}: reported {percent(rep)}" if np.isfinite(rep) else f"{m}: no reported share"
        if pct is not None:
            if m not in pct.index:
                checks.append((UNTESTABLE, f"{head}, not in Tables 8–11 → {UNTESTABLE}"))
            elif not np.isfinite(rep) or rep == 0.5:
                checks.append((UNTESTABLE, f"{head}, recomputed {percent(pct.loc[m, 'improved'])} → {UNTESTABLE}"))
            else:
                checks.append(_side(float(pct.loc[m, "improved"]), rep > 0.5,
                                    f"{head}, recomputed {percent(pct.loc[m, 'improved'])} of {int(pct.loc[m, 'cases'])}"))
        elif not np.isfinite(rep):
            checks.append((UNTESTABLE, f"{head} → {UNTESTABLE}"))
        elif m in want_above:
            checks.append(_side(rep, want_above[m], f"{head}, text {'>' if want_above[m] else '<'} 50 %"))
    return checks


def share_checks(frame: pd.DataFrame, crops: pd.DataFrame, better, worse, by: str, metrics, want_above: dict,
                 reported: pd.Series) -> list[tuple[str, str]]:
    """One (verdict, numbers) per metric of a share claim on our evidence: the share of distinct comparisons won with
    its 95 % interval (``verdicts.share_table``) against 50 % (``verdicts.share_verdict``), inconclusive over fewer
    than ``MIN_COMPARISONS`` comparisons: "s_hf: 62.5 % [50.0, 75.0] of 12 (ties 1, paper 96.6 %) → holds"."""
    checks = []
    for s in share_table(frame, crops, better, worse, by, metrics).itertuples():
        v = INCONCLUSIVE if s.cases < MIN_COMPARISONS else share_verdict(s.lo, s.hi, want_above.get(
            s.metric, reported.get(s.metric, np.nan) > 0.5))
        checks.append((v, f"{s.metric}: {share_span(s.share, s.lo, s.hi)} of {s.cases} (ties {s.ties}, paper "
                          f"{percent(reported.get(s.metric, np.nan))}) → {v}"))
    return checks


def _pct_claim(ev: Evidence, table: str, better, worse, by: str, frame: pd.DataFrame, crops: pd.DataFrame, metrics,
               want_above: dict) -> Finding:
    """Our share of distinct comparisons improved against the paper's, per metric: holds when the share's interval
    lies wholly on the paper's side of 50 % (``verdicts.share_interval``) over at least ``MIN_COMPARISONS``
    comparisons. On the paper's tables: the same side of 50 % as the reported share (``_paper_share_checks``)."""
    reported = paper_tables()
    reported = reported[reported["table"] == table].set_index("metric")["mean"]
    if ev.source == "paper":
        return combine_testable(_paper_share_checks(table, frame, better, worse, by, metrics, want_above, reported),
                                "the paper's tables give none of these shares")
    if frame.empty and crops.empty:
        return Finding(UNTESTABLE, "the results these shares are computed from are not stored")
    return combine(share_checks(frame, crops, better, worse, by, metrics, want_above, reported),
                   "no comparable pairs in the stored results")


def claim_table1(ev: Evidence) -> Finding:
    metrics = ("s_hf", "s_lf", "s_dc", "s_g")
    want = {m: True for m in ("s_hf", "s_dc", "s_g")} | {"s_lf": False}
    frame, crops, better, worse, by = table1_frames(ev)
    return _pct_claim(ev, "table1", better, worse, by, frame, crops, metrics, want)


def _x0_vs_eps(ev: Evidence, metrics, want) -> Finding:
    """Table 6's share of (dataset, method, factor) cases in which the x0 arm beats the eps arm on ``metrics``."""
    frame, crops, xs, eps, by = x0_frames(ev)
    return _pct_claim(ev, "table6", xs, eps, by, frame, crops, metrics, want)


def claim_x0_cure(ev: Evidence) -> Finding:
    return _x0_vs_eps(ev, ("s_hf", "s_dc"), {"s_hf": True, "s_dc": True})


def claim_x0_structure(ev: Evidence) -> Finding:
    return _x0_vs_eps(ev, ("psnr", "ms_ssim", "s_lf"), {"psnr": False, "ms_ssim": False, "s_lf": False})
