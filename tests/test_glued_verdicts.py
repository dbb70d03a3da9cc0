"""Verdict words a chapter glues into its text (names ``claim_<key>``) are the claims table's verdicts on that
chapter's stored results: a chapter cannot say "holds" where the rule, read on its results, says otherwise."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from spectral_collapse.claims.paper import CLAIMS, chapter_verdicts
from spectral_collapse.framework.store import load_results
from spectral_collapse.pipeline.study_pages import chapter_paths

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = chapter_paths(ROOT / "book" / "studies")   # the executed chapters, not the study pages
KEYS = {c.key for c in CLAIMS}


def glued(nb: dict) -> dict[str, str]:
    """{name: text} of every value a notebook glued (myst-nb ``glue``: display data tagged ``scrapbook``)."""
    out = {}
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            book = o.get("metadata", {}).get("scrapbook")
            if book:
                raw = o["data"].get(book["mime_prefix"] + "text/plain", "")
                try:
                    out[book["name"]] = ast.literal_eval(raw)
                except (ValueError, SyntaxError):
                    out[book["name"]] = raw
    return out


def chapter_results(path: Path, nb: dict):
    meta = nb["metadata"]["spectral_collapse"]
    study = path.stem.rsplit("-" + meta["params"]["dataset"], 1)[0]
    nc = [p for p in meta["inputs"] if p.startswith(f"data/results/{study}/")]
    return load_results(ROOT / nc[0]) if nc else None


def test_glued_names_reads_myst_nb_outputs():
    """The reader finds a value glued by myst-nb's own ``glue`` in a kernel-free notebook cell output."""
    nb = {"cells": [{"cell_type": "code", "outputs": [{
        "output_type": "display_data", "metadata": {"scrapbook": {"name": "claim_x", "mime_prefix":
                                                                  "application/papermill.record/"}},
        "data": {"application/papermill.record/text/plain": "'does not hold'"}}]}]}
    assert glued(nb) == {"claim_x": "does not hold"}


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_glued_verdicts_match_claims_table(path):
    nb = json.loads(path.read_text())
    names = {k: v for k, v in glued(nb).items() if k.startswith("claim_")}
    if not names:
        pytest.skip("this chapter glues no claim verdict")
    unknown = sorted(k for k in names if k.removeprefix("claim_") not in KEYS)
    assert not unknown, f"{path.name} glues verdicts of claims that do not exist: {unknown}"
    ds = chapter_results(path, nb)
    assert ds is not None, f"{path.name} glues verdicts but names no stored results among its inputs"
    meta = nb["metadata"]["spectral_collapse"]
    sweep = [p for p in meta["inputs"] if p.startswith("data/results/pareto/")]
    # the main-results chapter judges its claims with the sweep its OVG step sizes come from, as it does here
    reads = {"pareto": load_results(ROOT / sweep[0])} if sweep and ds.attrs.get("study") == "main_results" else None
    spread = ROOT / "data" / "results" / "seed_spread" / f"{meta['params']['dataset']}-quick.nc"
    if reads is not None and spread.exists():   # and the training seeds' results, which decide its claims
        reads["seed_spread"] = load_results(spread)
    table = chapter_verdicts(ds, reads=reads)
    want = {f"claim_{k}": v for k, v in zip(table["claim"], table["verdict"])}
    for name, said in names.items():
        assert name in want, f"{path.name} glues {name}, a claim its results do not answer"
        assert said == want[name], f"{path.name} says {name} {said!r}; the claims rule on its results: {want[name]!r}"
