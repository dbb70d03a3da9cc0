"""The values the book's pages quote, by name. Costs: each bundled dataset's leak table (a few seconds)."""
from __future__ import annotations

import pandas as pd

from ..claims.evidence import paper_evidence
from ..claims.paper import CLAIMS
from ..claims.scorecard import ordering_agreement
from ..framework.store import load_results, results_path
from ..verdicts.words import tally_words
from .support import fill_answers, leak_table, leak_words

__all__ = ["claim_answers", "intro_answers", "claims_page_answers", "conclusions_answers", "scorecard_answers",
           "errata_answers", "leak_answers", "fill_page_answers"]


def claim_answers(claims: pd.DataFrame) -> dict[str, str]:
    """Each claim's verdict, ``claim_<key>``."""
    return {f"claim_{key}": verdict for key, verdict in zip(claims["claim"], claims["verdict"])}


def intro_answers(claims: pd.DataFrame) -> dict[str, str]:
    """``claim_<key>``, ``effect_<key>`` and ``gap_<key>`` of each claim over the datasets ("no gap measured")."""
    out = {}
    for key, verdict, effect, gaps in zip(claims["claim"], claims["verdict"], claims["effect, by score"],
                                          claims["gap closed"]):
        out.update({f"claim_{key}": verdict, f"effect_{key}": effect or "no gap measured",
                    f"gap_{key}": gaps or "no gap measured"})
    return out


def claims_page_answers(claims: pd.DataFrame) -> dict[str, str]:
    """The claims page's counts (claims, tallies, claims judged per dataset) and each claim's verdict."""
    return {"n_claims": str(len(claims)), "ours_tally": tally_words(claims["verdict"]),
            "paper_tally": tally_words(claims["paper's tables"]),
            "n_per_dataset": str(int((claims["per dataset"] != "").sum())), **claim_answers(claims)}


def conclusions_answers(claims: pd.DataFrame) -> dict[str, str]:
    """Each claim's verdict, with its caveat (``said_<key>``) and effect; the tally and the caveats' count."""
    out = {}
    for key, verdict, effect, caveat in zip(claims["claim"], claims["verdict"], claims["effect, by score"],
                                            claims["caveat"]):
        out.update({f"claim_{key}": verdict, f"said_{key}": f"{verdict} ({caveat})" if caveat else verdict,
                    f"effect_{key}": effect or "no gap measured"})
    n_caveat = int((claims["caveat"] != "").sum())
    one = n_caveat == 1
    return {**out, "tally": tally_words(claims["verdict"]), "n_claims": str(len(claims)),
            "n_caveat": f"{n_caveat} verdict{'' if one else 's'} carr{'ies' if one else 'y'}"}


def scorecard_answers(card: pd.DataFrame, profile: str) -> dict[str, str]:
    """The scorecard's counts and, per score, the share of method pairs ordered as the paper does."""
    out = {"profile": profile, "n_paper": str(len(card)), "n_ours": str(int(card["ours_mean"].notna().sum()))}
    agree = ordering_agreement(card).set_index("metric")
    for metric in ("psnr", "s_hf", "s_lf", "s_dc"):
        row = agree.loc[metric] if metric in agree.index and agree.loc[metric, "pairs"] > 0 else None
        out[f"agree_{metric}"] = "n/a" if row is None else f"{row['share']:.2f} of {int(row['pairs'])} pairs"
    return out


def errata_answers(paper: pd.DataFrame) -> dict[str, str]:
    """The verdict and numbers of the Table 1 claim on the paper's own tables (``reference.paper_tables``)."""
    table1 = next(c for c in CLAIMS if c.key == "table1").test(paper_evidence(paper))
    return {"table1_verdict": table1.verdict, "table1_numbers": table1.detail}


def _leaks(dataset: str, profile: str, results_root) -> dict[tuple[str, str], float]:
    """{(arm, method): mean support leak} of the stored main results of ``dataset`` ({} when not stored)."""
    path = results_path("main_results", dataset, profile, results_root)
    t = leak_table(load_results(path)) if path.exists() else None
    return {} if t is None else {(col, m): float(t.loc[m, col]) for m in t.index for col in ("trained", "oracle")
                                 if col in t}


def leak_answers(profile: str, results_root="data/results") -> dict[str, str]:
    """``intro_leak_<arm>_<method>`` (ihc-sr) and ``intro_leak_edges_<method>`` (ihc-edges) of DDIM, EDM and OVG."""
    sr, edges = _leaks("ihc-sr", profile, results_root), _leaks("ihc-edges", profile, results_root)
    out = {}
    for m in ("ddim", "edm", "ovg"):
        for col in ("trained", "oracle"):
            out[f"intro_leak_{col}_{m}"] = leak_words(sr.get((col, m), float("nan")))
        out[f"intro_leak_edges_{m}"] = leak_words(edges.get(("trained", m), float("nan")))
    return out


def fill_page_answers(profile: str, results_root="data/results") -> dict[str, object]:
    """``fill_answers`` of each bundled dataset's main results, named ``sr_...`` and ``edges_...``."""
    out = {}
    for dataset, prefix in (("ihc-sr", "sr_"), ("ihc-edges", "edges_")):
        path = results_path("main_results", dataset, profile, results_root)
        out.update(fill_answers(load_results(path), prefix) if path.exists() else {f"{prefix}has_fill": False})
    return out
