"""The values the introduction and the claims page quote in their answer paragraphs, by name, from the claims
table (``claims.paper.evaluate_claims``) and the stored main results. Costs: the support-leak table of each
bundled dataset's stored main results (a projection of every stored test latent, a few seconds)."""
from __future__ import annotations

import pandas as pd

from ..framework.store import load_results, results_path
from ..verdicts.words import tally_words
from .support import fill_answers, leak_table

__all__ = ["intro_answers", "claims_page_answers", "leak_answers", "leak_words", "fill_page_answers"]


def intro_answers(claims: pd.DataFrame) -> dict[str, str]:
    """``claim_<key>``, ``effect_<key>`` and ``gap_<key>`` of each claim, over the datasets ("no gap measured" for
    an empty effect or gap)."""
    out = {}
    for key, verdict, effect, gaps in zip(claims["claim"], claims["verdict"], claims["effect, by score"],
                                          claims["gap closed"]):
        out.update({f"claim_{key}": verdict, f"effect_{key}": effect or "no gap measured",
                    f"gap_{key}": gaps or "no gap measured"})
    return out


def claims_page_answers(claims: pd.DataFrame) -> dict[str, str]:
    """The claims page's counts (claims, our verdicts' and the paper's tallies, claims judged per dataset) and each
    claim's verdict, ``claim_<key>``."""
    return {"n_claims": str(len(claims)), "ours_tally": tally_words(claims["verdict"]),
            "paper_tally": tally_words(claims["paper's tables"]),
            "n_per_dataset": str(int((claims["per dataset"] != "").sum())),
            **{f"claim_{key}": verdict for key, verdict in zip(claims["claim"], claims["verdict"])}}


def leak_words(v: float) -> str:
    """A support leak as the introduction says it: one significant digit below 10⁻³, two decimals above."""
    return "not measured" if v != v else f"{v:.1g}" if abs(v) < 1e-3 else f"{v:.2f}"


def _leaks(dataset: str, profile: str, results_root) -> dict[tuple[str, str], float]:
    """{(arm, method): mean support leak} of the stored main results of ``dataset`` ({} when not stored)."""
    path = results_path("main_results", dataset, profile, results_root)
    t = leak_table(load_results(path)) if path.exists() else None
    return {} if t is None else {(col, m): float(t.loc[m, col]) for m in t.index for col in ("trained", "oracle")
                                 if col in t}


def leak_answers(profile: str, results_root="data/results") -> dict[str, str]:
    """``intro_leak_<arm>_<method>`` on ihc-sr (trained and exact model) and ``intro_leak_edges_<method>`` (trained)
    on ihc-edges, for DDIM, EDM and OVG."""
    sr, edges = _leaks("ihc-sr", profile, results_root), _leaks("ihc-edges", profile, results_root)
    out = {}
    for m in ("ddim", "edm", "ovg"):
        for col in ("trained", "oracle"):
            out[f"intro_leak_{col}_{m}"] = leak_words(sr.get((col, m), float("nan")))
        out[f"intro_leak_edges_{m}"] = leak_words(edges.get(("trained", m), float("nan")))
    return out


def fill_page_answers(profile: str, results_root="data/results") -> dict[str, object]:
    """``fill_answers`` of each bundled dataset's stored main results, named ``sr_...`` (ihc-sr) and ``edges_...``
    (ihc-edges); ``has_fill`` False for a dataset not stored."""
    out = {}
    for dataset, prefix in (("ihc-sr", "sr_"), ("ihc-edges", "edges_")):
        path = results_path("main_results", dataset, profile, results_root)
        out.update(fill_answers(load_results(path), prefix) if path.exists() else {f"{prefix}has_fill": False})
    return out
