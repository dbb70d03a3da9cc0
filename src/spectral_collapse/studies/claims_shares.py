"""Claims decided by shares: the share of comparisons in which the better labels win (the paper's Tables 1 and 6),
judged on our stored results with an interval and on the paper's own tables against the share it reports."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..reference import paper_tables
from ..text import percent
from .claims_ablations import combine_testable
from .scorecard import Evidence
from .shares import MIN_COMPARISONS, percent_improved, share_span
from .verdicts import FAILS, HOLDS, INCONCLUSIVE, UNTESTABLE, Finding, combine, share_table, share_verdict

__all__ = ["share_claim"]


def _side(share: float, paper_above: bool, text: str) -> tuple[str, str]:
    """A share on the paper's side of 50 %: holds; on the other side: does not hold; exactly 50 %: inconclusive."""
    if not np.isfinite(share):
        return UNTESTABLE, f"{text} → {UNTESTABLE}"
    v = INCONCLUSIVE if share == 0.5 else HOLDS if (share > 0.5) == paper_above else FAILS
    return v, f"{text} → {v}"


def _paper_share_checks(table: str, frame, better, worse, by, want_above: dict, reported: pd.Series) -> list[tuple]:
    """Per metric, on the paper's tables: Table 1 recomputed from Tables 8–11 against the reported share's side of
    50 %; Table 6 (nothing to recompute it from) the reported share against the side the text puts it on."""
    checks = []
    pct = (percent_improved(frame, better, worse, by, ["dataset", "seed"]).set_index("metric")
           if table == "table1" else None)
    for m, above in want_above.items():
        rep = float(reported.get(m, np.nan))
        head = f"{m}: reported {percent(rep)}" if np.isfinite(rep) else f"{m}: no reported share"
        if pct is None:
            checks.append(_side(rep, above, f"{head}, text {'>' if above else '<'} 50 %") if np.isfinite(rep)
                          else (UNTESTABLE, f"{head} → {UNTESTABLE}"))
        elif m not in pct.index:
            checks.append((UNTESTABLE, f"{head}, not in Tables 8–11 → {UNTESTABLE}"))
        elif not np.isfinite(rep) or rep == 0.5:
            checks.append((UNTESTABLE, f"{head}, recomputed {percent(pct.loc[m, 'improved'])} → {UNTESTABLE}"))
        else:
            recomputed = f"recomputed {percent(pct.loc[m, 'improved'])} of {int(pct.loc[m, 'cases'])}"
            checks.append(_side(float(pct.loc[m, "improved"]), rep > 0.5, f"{head}, {recomputed}"))
    return checks


def share_claim(table: str, frames, want_above: dict):
    """A claim that ``frames(ev)``'s better labels win more (``want_above[metric]``) or fewer than half of their
    comparisons, per metric: our share's interval wholly on the paper's side of 50 % over at least
    ``MIN_COMPARISONS`` comparisons, e.g. "s_hf: 62.5 % [50.0, 75.0] of 12 (ties 1, paper 96.6 %) → holds"."""
    def test(ev: Evidence) -> Finding:
        frame, crops, better, worse, by = frames(ev)
        reported = paper_tables()
        reported = reported[reported["table"] == table].set_index("metric")["mean"]
        if ev.source == "paper":
            return combine_testable(_paper_share_checks(table, frame, better, worse, by, want_above, reported),
                                    "the paper's tables give none of these shares")
        if frame.empty and crops.empty:
            return Finding(UNTESTABLE, "the results these shares are computed from are not stored")
        checks = []
        for s in share_table(frame, crops, better, worse, by, tuple(want_above)).itertuples():
            v = INCONCLUSIVE if s.cases < MIN_COMPARISONS else share_verdict(s.lo, s.hi, want_above[s.metric])
            checks.append((v, f"{s.metric}: {share_span(s.share, s.lo, s.hi)} of {s.cases} (ties {s.ties}, paper "
                              f"{percent(reported.get(s.metric, np.nan))}) → {v}"))
        return combine(checks, "no comparable pairs in the stored results")
    return test
