"""The book's one style for shares, intervals, small spreads, table headers and ranges, checked
on the text the claims, shares, scorecard and chapter helpers generate."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from spectral_collapse import text as T

ROOT = Path(__file__).resolve().parents[1]
GLUED_PERCENT = re.compile(r"\d%")          # "93.8%": the book writes "93.8 %"
HYPHEN_RANGE = re.compile(r"(?<![\w.\-/])\d+-\d+(?![\w./])")   # "Tables 8-11": the book writes "Tables 8–11"


def _paper_claims():
    from spectral_collapse.claims.paper import evaluate_claims
    from spectral_collapse.claims.evidence import Evidence, paper_evidence

    return evaluate_claims(Evidence(frame=pd.DataFrame(columns=["study"])), paper_evidence())


def _share_cell(lo: float, hi: float, mean: float = 0.2) -> str:
    """Our cell of a share of the scorecard (``scorecard.cell_pair``) with a 95 % interval [lo, hi]."""
    from types import SimpleNamespace

    from spectral_collapse.claims.scorecard import cell_pair

    row = SimpleNamespace(metric="s_lf", paper_mean=0.5, paper_std=np.nan, ours_mean=mean, ours_std=np.nan,
                          ours_lo=lo, ours_hi=hi)
    return cell_pair(row, share=True)[1]


def test_percent_writes_a_space_before_the_sign():
    share = 15 / 16
    assert T.percent(share) == f"{100 * share:.1f} %"
    assert T.percent(share, 0) == f"{100 * share:.0f} %"
    assert T.percent(float("nan")) == "nan" and T.percent(-0.25) == "-25.0 %"


def test_no_generated_share_glues_a_digit_to_its_percent_sign():
    from spectral_collapse.claims.scorecard import fmt_metric
    from spectral_collapse.claims.shares import share_span

    texts = [share_span(0.625, 0.5, 0.75), share_span(0.625, 0.625, 0.625, 96), fmt_metric(0.9375, "s_hf", True),
             _share_cell(0.125, 0.25)]
    texts += list(_paper_claims()["paper numbers"])
    glued = [t for t in texts if GLUED_PERCENT.search(t)]
    assert not glued, glued[:3]


def test_shares_and_scorecard_write_one_interval_form():
    from spectral_collapse.claims.shares import share_span

    lo, hi = 0.125, 0.25
    one = T.interval(100 * lo, 100 * hi, lambda v: f"{v:.1f}")
    assert share_span(0.2, lo, hi).endswith(" " + one)        # the unit said once, by the share before it
    assert _share_cell(lo, hi) == f"{T.percent(0.2)} {one}"     # the scorecard's cells: the same form
    assert "–" not in one and "%" not in one
    assert T.interval(-0.5, 0.25) == "[-0.500, 0.250]"


def test_a_spread_too_small_to_print_reads_alike_whether_it_is_zero_or_not():
    from spectral_collapse.framework.aggregate import cell_text, spread_text

    words = {spread_text(0.0), spread_text(1e-9), spread_text(-1e-9)}
    assert len(words) == 1 and words != {""}
    assert cell_text(0.0, 0.0).split(" ", 1)[1] == cell_text(1e-9, 2e-9).split(" ", 1)[1]
    assert cell_text(1.0, np.nan, lo=1.0, hi=1.0).split(" ", 1)[1] == cell_text(0.5, np.nan, lo=0.4999,
                                                                                  hi=0.5002).split(" ", 1)[1]


def test_an_ablation_table_has_no_header_row_of_index_names():
    from spectral_collapse.tables.ablations import named_arms

    ix = pd.MultiIndex.from_product([["unet", "dit"], ["ddim", "taba"]], names=["backbone", "method"])
    cols = pd.MultiIndex.from_product([["psnr", "s_hf"], ["ours", "paper"]], names=["metric", None])
    shown = named_arms(pd.DataFrame(np.zeros((4, 4)), index=ix, columns=cols))
    html = shown.to_html(index=not isinstance(shown.index, pd.RangeIndex))
    head = html.split("<tbody>")[0]
    assert head.count("<tr") == cols.nlevels                       # one header row per column level, no more
    assert "backbone" in head and "method" in head and "metric" not in head
    assert list(shown.iloc[:, 0]) == ["U-Net", "", "DiT", ""]      # an arm named once, as a grouped index shows it


def test_ranges_take_an_en_dash_in_prose_and_nowhere_else():
    assert T.ranges("Tables 1, 3-6 and 8-11; Figs. 14-16") == "Tables 1, 3–6 and 8–11; Figs. 14–16"
    kept = "1e-5, 2024-01-02, x8-x16, ihc-sr-x4, `seeds 0-2`, [a](p-1-2.md), 0.5-0.7"
    assert T.ranges(kept) == kept


def test_the_errata_and_claims_write_no_hyphen_ranges():
    texts = [*_paper_claims()["paper numbers"]]
    texts += ["".join(c["source"]) for page in ("errata", "claims", "scorecard", "conclusions")
              for c in json.loads((ROOT / "notebooks" / "book" / f"{page}.ipynb").read_text())["cells"]
              if c["cell_type"] == "markdown"]
    found = [m.group(0) for t in texts for part in re.split(r"`[^`\n]*`|\]\([^)]*\)", t)
             for m in HYPHEN_RANGE.finditer(part)]
    assert not found, found[:5]


def test_chapter_prose_gets_spaced_percents_and_en_dash_ranges_but_code_and_maths_keep_theirs():
    """What a chapter displays as Markdown reads like the fragments: "2.2 %", "Tables 8–11"; inline code, maths and
    link targets are left as typed."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import Markdown

    from spectral_collapse.pipeline.notebook import show_missing_as_dash
    from spectral_collapse.text import spaced_percents

    assert spaced_percents("about 2.2%; `50%` and $5%$ [x](a%20b)") == "about 2.2 %; `50%` and $5%$ [x](a%20b)"
    assert spaced_percents("95 % and 12.5 %") == "95 % and 12.5 %"
    shell = InteractiveShell.instance()
    try:
        assert show_missing_as_dash()
        md = shell.display_formatter.format(Markdown("off by 2.2%, Tables 8-11, `pytest -k 8-11`"))[0]
    finally:
        InteractiveShell.clear_instance()
    text = md["text/markdown"]
    assert "2.2 %" in text and "Tables 8–11" in text and "`pytest -k 8-11`" in text
