"""The share claims of Tables 1 and 6, as functions of the scorecard's ``Evidence``; ``studies.claims`` lists them
with the others.

Table 1 (stochastic inversions beat deterministic ones) and Table 6 (x0-prediction beats eps-prediction) are shares
of distinct comparisons won. On our evidence ``share_checks`` gives each metric's share with its 95 % interval
against 50 %, inconclusive over fewer than ``shares.MIN_COMPARISONS`` comparisons, naming the comparisons counted,
the S_G ties and the failed samples left out; on the paper's tables the recomputed or reported share is read against
the side of 50 % the paper puts it on. ``metric_words`` names a metric in the words a verdict uses.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..reference import paper_tables
from .claims_ablations import combine_testable
from .evidence import Evidence
from .paper_shares import table1_frames, x0_frames
from .shares import (MIN_COMPARISONS, MISSING_NOTE, comparison_name, failed_arm_names, failed_left_out,
                     percent_improved, share_comparisons, share_span)
from ..text import percent
from .verdicts import FAILS, HOLDS, INCONCLUSIVE, UNTESTABLE, Finding, combine, label, share_table, share_verdict

__all__ = ["metric_words", "share_checks"]

# The metrics in words, where a verdict says what is missing.
_WORDS = {"s_hf": "S_HF (the high-frequency texture score)", "s_lf": "S_LF (the score of the input's low-frequency structure)",
          "s_dc": "S_DC (the decorrelation score)", "s_g": "S_G (the Gaussianity score)", "psnr": "PSNR",
          "ms_ssim": "MS-SSIM", "lpips": "LPIPS", "fid": "FID"}


def metric_words(metric: str) -> str:
    """A metric as a sentence names it: "S_G (the Gaussianity score)"."""
    return _WORDS.get(metric, label(metric))


def _side(share: float, paper_above: bool, text: str) -> tuple[str, str]:
    """A share on the paper's side of 50 %: holds; on the other side: does not hold; exactly 50 % is a tie, which
    goes neither way: inconclusive."""
    if not np.isfinite(share):
        return UNTESTABLE, f"{text} → {UNTESTABLE}"
    v = INCONCLUSIVE if share == 0.5 else HOLDS if (share > 0.5) == paper_above else FAILS
    return v, text + (" (50 %: a tie, neither way)" if share == 0.5 else "") + f" → {v}"


def _paper_share_checks(table: str, frame, better, worse, by, metrics, want_above: dict,
                        reported: pd.Series) -> list[tuple[str, str]]:
    """Per metric, on the paper's tables: Table 1 recomputed from Tables 8–11 against the reported share's side of
    50 %; Table 6 (no per-method numbers to recompute it from) the reported share against the side the text puts it
    on. A metric the tables lack is not testable here, named in words."""
    checks = []
    pct = (percent_improved(frame, better, worse, by, ["dataset", "seed"]).set_index("metric")
           if table == "table1" else None)
    for m in metrics:
        rep = float(reported.get(m, np.nan))
        head = f"{m}: reported {percent(rep)}" if np.isfinite(rep) else f"{m}: no reported share"
        if pct is not None:
            if m not in pct.index:
                checks.append((UNTESTABLE, f"{head}; the paper's Tables 8–11 give no {metric_words(m)}, so the "
                                           f"share cannot be recomputed → {UNTESTABLE}"))
            elif not np.isfinite(rep) or rep == 0.5:
                checks.append((UNTESTABLE, f"{head}, recomputed {percent(pct.loc[m, 'improved'])}: the reported share "
                                           f"is on neither side of 50 % → {UNTESTABLE}"))
            else:
                checks.append(_side(float(pct.loc[m, "improved"]), rep > 0.5,
                                    f"{head}, recomputed from Tables 8–11 {percent(pct.loc[m, 'improved'])} of "
                                    f"{int(pct.loc[m, 'cases'])}"))
        elif not np.isfinite(rep):
            checks.append((UNTESTABLE, f"the paper's Table 6 gives no share for {metric_words(m)} → {UNTESTABLE}"))
        elif m in want_above:
            checks.append(_side(rep, want_above[m], f"{head} (the text: {'above' if want_above[m] else 'below'} "
                                                    "50 %)"))
    return checks


def _units(unit: str) -> str:
    return "crops" if unit == "crop" else "seeds (a set-level metric)"


def share_checks(frame: pd.DataFrame, crops: pd.DataFrame, better, worse, by: str, metrics, want_above: dict,
                 reported: pd.Series) -> list[tuple[str, str]]:
    """One (verdict, text) per metric of a share claim on our evidence: the share of distinct comparisons won with
    its 95 % interval (``verdicts.share_table``) against 50 % (``verdicts.share_verdict``), inconclusive over fewer
    than ``MIN_COMPARISONS`` comparisons. The text names the comparisons counted (when there are few), the S_G ties
    with both values and the KS resolution they lie within, and the failed samples left out of the counted
    comparisons (a sample: one test crop translated with one seed)."""
    checks = []
    for s in share_table(frame, crops, better, worse, by, metrics).itertuples():
        m = s.metric
        out, pair_on, unit, left = share_comparisons(frame, crops, better, worse, by, m)
        several = "dataset" in out and out["dataset"].nunique() > 1
        named = [f"{comparison_name(r, pair_on, by, several)} {r.outcome}" for r in out.itertuples()]
        notes = [f"interval over {_units(unit)}"]
        ties = out[out["outcome"] == "tie"]
        if len(ties):
            notes.append(f"{len(ties)} S_G tie{'s' * (len(ties) > 1)} counted half, each within the KS test's "
                         "resolution at its latents: " + "; ".join(
                             f"{comparison_name(r, pair_on, by, several)} {r.value_better:.3f} vs "
                             f"{r.value_worse:.3f} (resolution {r.resolution:.3f})" for r in ties.itertuples()))
        notes += [n for n in left if "coinciding" in n]
        failed = failed_left_out(frame, crops, m, unit, better, worse, by, pair_on)
        notes += [failed] if failed else []
        want = want_above.get(m, reported.get(m, np.nan) > 0.5)
        few = s.cases < MIN_COMPARISONS
        v = INCONCLUSIVE if few else share_verdict(s.lo, s.hi, want)
        span = share_span(s.share, s.lo, s.hi, s.n_units, "crop" if s.unit == "crop" else "seed")
        checks.append((v, f"{m}: {span} of {s.cases} comparison{'s' * (s.cases != 1)}"
                          + (f" ({', '.join(named)})" if len(named) <= 6 else "")
                          + f" (paper {percent(reported.get(m, np.nan))}; {'; '.join(notes)}) → {v}"
                          + (f": fewer than {MIN_COMPARISONS} distinct comparisons, too few for a verdict" if few
                             else "")))
    return checks


def _failed_arms(frame: pd.DataFrame, better, worse, by: str) -> str:
    """The arms of a share claim whose every sample failed, so that their comparisons are missing from every share,
    in words ("" when none)."""
    names = failed_arm_names(frame, better, worse, by)
    return f"no comparison for {'; '.join(names)}: {MISSING_NOTE}" if names else ""


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
    found = combine(share_checks(frame, crops, better, worse, by, metrics, want_above, reported),
                    "no comparable pairs in the stored results")
    arms = _failed_arms(frame, better, worse, by) if found.verdict != UNTESTABLE else ""
    return Finding(found.verdict, found.detail + (f"; {arms}" if arms else ""))


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
