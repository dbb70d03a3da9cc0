"""The claims of the seed_spread study: every claim of the claims page that reads the main results, judged on each
training run's results alone by the page's rule (``studies.claims``), so that a verdict that changes with the training
seed is visible as such; which claims these are, counted against the main results chapter's verdict. Re-exported by
``report.seeds``.
"""
from __future__ import annotations

import pandas as pd
import xarray as xr

__all__ = ["claims_by_seed", "claims_shown", "agreement", "claim_set_words", "claims_intro", "scope_words", "seed_arms",
           "run_column"]


def run_column(column: str) -> str:
    """A per-run column ("seed 1", as the tables store it) as the page names it: "training seed 1"."""
    return f"training {column}" if str(column).startswith("seed ") else column


def claims_shown(claims: pd.DataFrame) -> pd.DataFrame:
    """``claims_by_seed`` as the page shows it: each run's column named by its training seed in words."""
    return claims.rename(columns=run_column)


def claims_by_seed(ds: xr.Dataset) -> pd.DataFrame:
    """One row per claim the main results answer: its verdict on each training run's results (the claims page's
    rule and words), and whether the runs agree."""
    from ..studies.claim_titles import CLAIM_TITLES
    from ..studies.claims import UNTESTABLE, chapter_claims

    verdicts: dict[str, dict[int, str]] = {}
    for k, sub in seed_arms(ds).items():
        for claim, finding in chapter_claims(sub):
            verdicts.setdefault(claim.key, {})[k] = finding.verdict
    rows = []
    for key, by in verdicts.items():
        row = {"claim": CLAIM_TITLES.get(key, key)}
        row.update({f"seed {k}": v for k, v in sorted(by.items())})
        row["same verdict in every run"] = ("—" if set(by.values()) == {UNTESTABLE} else
                                            "yes" if len(set(by.values())) == 1 else "no")
        rows.append(row)
    return pd.DataFrame(rows)


def claim_set_words(claims: pd.DataFrame, n_judged: int | None = None) -> str:
    """Which claims ``claims_by_seed`` judges, counted: every claim of the claims page that reads the main results,
    how many of them the runs' results can test (``n_judged``) and how many the main results chapter's own verdict
    gives (``main_results.MAIN_CLAIMS``, a subset), so that the two chapters' counts refer to named sets."""
    from ..studies.claims import CLAIMS
    from .main_results import MAIN_CLAIMS

    n_all = len(claims)
    n_main = sum(c.key in MAIN_CLAIMS for c in CLAIMS if "main" in c.reads)
    tested = ("" if n_judged is None or n_judged == n_all else
              f"; {n_judged} of them {'is' if n_judged == 1 else 'are'} testable here")
    return (f"The claims page has {n_all} claims that read the main results{tested} (the main results chapter's "
            f"verdict gives {n_main} of them, those on collapse and its cures)")


def claims_intro(claims: pd.DataFrame, ds: xr.Dataset | None = None) -> str:
    """Markdown above the per-run claims table: which claims it judges (``claim_set_words``) and by which rule, the
    claims page's (``claims_words.chapter_rule``), in the words every chapter quotes it in. Given the results
    (``ds``), also why training seed 0's column can differ from the claims page's verdict on the same models
    (``scope_words``)."""
    from ..studies.claims_words import chapter_rule

    judged = len(pd.concat(agreement(claims))) if len(claims) else 0
    text = (f"{claim_set_words(claims, judged)}. Each is judged on each training run's results alone by the claims "
            f"page's rule: {chapter_rule()}. A claim the results cannot test in any run has no agreement to read "
            "(—).")
    return text + (" " + scope_words(ds) if ds is not None else "")


def scope_words(ds: xr.Dataset) -> str:
    """Why a verdict of training seed 0 (the models of every other chapter) can differ from the claims page's: that
    page reads every bundled dataset and every method of the main results, this chapter one dataset and the methods
    it translates, so a claim counts fewer comparisons or points here."""
    from ..studies.method_labels import method_name
    from ..text import listed, plural

    methods = [str(m) for m in ds["method"].values] if "method" in ds.coords else []
    dataset = str(ds.attrs.get("dataset", "")) or "one dataset"
    named = f" ({listed(method_name(m) for m in methods)})" if methods else ""
    return ("Training seed 0 holds the models every other chapter uses, yet its verdict can differ from the claims "
            "page's: that page reads every bundled dataset and every method of the main results, this chapter "
            f"{dataset} alone and {plural(len(methods), 'method')}{named}, so a "
            "share of comparisons or a correlation counts fewer comparisons or points here, and a claim another "
            "dataset decides there is decided by this one here.")


def agreement(claims: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(claims judged in some run that keep their verdict in every run, those that do not), from ``claims_by_seed``."""
    runs = [c for c in claims.columns if c.startswith("seed ")]
    judged = claims[~claims[runs].isin(["not testable here"]).all(axis=1)]
    same = judged["same verdict in every run"] == "yes"
    return judged[same], judged[~same]


def seed_arms(ds: xr.Dataset) -> dict[int, xr.Dataset]:
    """{training seed: that run's results, shaped as main_results' (its attrs name the study main_results)}."""
    if "train_seed" not in ds.dims:
        raise ValueError("these results have no train_seed axis; they are not the seed_spread study's")
    out = {}
    for k in ds["train_seed"].values:
        sub = ds.sel(train_seed=k)
        sub.attrs = dict(ds.attrs, study="main_results")
        out[int(k)] = sub
    return out
