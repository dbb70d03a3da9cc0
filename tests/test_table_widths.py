"""Tables the book shows fit its text column (752 px at a 1280 px window): a rule on the characters of a row."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
import pandas as pd

import table_rule as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the benchmarks package sits beside src/

def _share_card() -> pd.DataFrame:
    """A Table 1 of long shares (100 %) with intervals, and a Table 9 with every metric, a std on each number."""
    rows = []
    for metric in ("s_hf", "s_lf", "s_dc", "s_g"):
        rows.append({"table": "table1", "dataset": "all", "scale": None, "backbone": None, "space": None,
                     "method": "stochastic_vs_deterministic", "metric": metric, "paper_mean": 1.0, "paper_std": np.nan,
                     "ours_mean": 1.0, "ours_std": np.nan, "ours_lo": 1.0, "ours_hi": 1.0,
                     "ours_from": "main_results every dataset"})
    for m in ("direct_inversion", "ovg_taba"):
        for metric in ("psnr", "ms_ssim", "lpips", "fid", "s_hf", "s_lf", "s_dc"):
            big = metric in ("psnr", "fid")
            rows.append({"table": "table9", "dataset": "bbbc021", "scale": "x16", "backbone": "unet", "space": "latent",
                         "method": m, "metric": metric, "paper_mean": 392.73 if big else 0.403,
                         "paper_std": 5.31 if big else 0.003, "ours_mean": 392.73 if big else 0.403,
                         "ours_std": 10.5 if big else 0.014, "ours_lo": np.nan, "ours_hi": np.nan,
                         "ours_from": "main_results ihc-sr x4"})
    return pd.DataFrame(rows)


def test_table_chars_counts_the_widest_line_of_each_column():
    md = "| a | bb |\n|---|---|\n| long label | 1<br>[0.5–1.5] |\n"
    assert F.table_chars(md) == len("long label") + len("[0.5–1.5]") + 2 * F.CELL_PAD
    wide = "| a |\n|---|\n| " + "x" * (F.TABLE_CHARS + 1) + " |\n"
    assert F.table_chars(wide) > F.TABLE_CHARS


def test_a_scorecard_table_shows_every_metric_and_a_share_without_spread_as_such():
    from spectral_collapse.claims.scorecard import side_by_side

    t1 = side_by_side(_share_card(), "table1")
    assert list(t1.columns) == ["S_HF", "S_LF", "S_DC", "S_G"]
    assert list(t1.index.get_level_values(-1)) == ["paper", "ours"]
    # every bootstrap draw gives 100 %: no interval to print, and no "[100.0, 100.0]" that reads like one
    ours = t1.xs("ours", level=-1).iloc[0]
    assert all(v == "100.0 % (no spread)" for v in ours), ours
    t9 = side_by_side(_share_card(), "table9")
    assert len(t9.columns) == 7 and t9.loc[("OVG + TABA", "ours"), "PSNR"] == "392.73 ± 10.50"
    assert t9.loc[("OVG + TABA", "paper"), "S_HF"] == "0.403 ± 0.003"   # the table's 3 decimals


def frame_chars(frame: pd.DataFrame) -> int:
    """The width a displayed frame needs, in characters: per column its longest cell (a header may wrap at its
    spaces, so its longest word), the index column's longest label, plus ``CELL_PAD`` each."""
    widths = [max([len(str(v)) for v in frame.index] + [len(str(frame.columns.name or ""))])]
    for c in frame.columns:
        widths.append(max([len(str(v)) for v in frame[c]] + [len(w) for w in str(c).split()]))
    return sum(widths) + F.CELL_PAD * len(widths)


def test_frame_chars_reads_a_wide_cell():
    narrow = pd.DataFrame({"a b": ["1.00"]}, index=pd.Index(["x"]))
    wide = pd.DataFrame({"a": ["y" * F.TABLE_CHARS]}, index=["x"])
    assert frame_chars(narrow) == 1 + 4 + 2 * F.CELL_PAD and frame_chars(wide) > F.TABLE_CHARS


def test_benchmark_tables_fit_the_text_column():
    from benchmarks import tables as T

    res = T.load()
    shown = [T.targets_table(res, T.latest_full()), T.cost_table(res, studies_steps=50),
             T.floor_variants_table(res), T.training_table(res), T.published_table(res).drop(columns="authors"),
             T.machines_table()]
    for frame in shown:
        frame = T.shown(frame)
        assert frame.index.name is None          # no second header row holding only the index's name
        assert frame_chars(frame) <= F.TABLE_CHARS, frame.to_string()


def test_interval_cells_read_median_then_quartiles():
    from benchmarks.tables import fmt_iqr

    assert fmt_iqr({"median": 25.16, "q25": 24.85, "q75": 25.33, "n": 5}) == "25.16 (24.85–25.33)"
    assert fmt_iqr({"median": 1.0, "q25": 0.5, "q75": 2.0, "n": 1}) == "1.00"


def test_paper_bars_name_their_panels_by_metric_and_write_methods_level():
    import json

    from spectral_collapse.plotting.main_results import paper_bars
    cmp = pd.DataFrame({"method": ["direct_inversion", "ovg"] * 2, "metric": ["s_hf", "s_hf", "s_dc", "s_dc"],
                        "ours_mean": [0.7, 0.8, 0.5, 0.6], "paper_mean": [0.6, 0.9, 0.4, np.nan],
                        "lo": [0.6, 0.7, 0.4, 0.5], "hi": [0.8, 0.9, 0.6, 0.7]})
    spec = json.loads(paper_bars(cmp, order=["direct_inversion", "ovg"], metrics=("s_hf", "s_dc")).to_json())
    data = pd.DataFrame(next(iter(spec["datasets"].values())))
    assert set(data["metric"]) == {"S_HF", "S_DC"}
    enc = spec["spec"]["layer"][0]["encoding"]
    assert enc["y"]["field"] == "method" and enc["y"]["axis"].get("labelAngle", 0) == 0
    assert enc["y"]["axis"].get("labelLimit") == 0          # no method name cut short


def html_chars(html: str) -> int:
    """The width a displayed HTML table needs, in characters: per column of its body its longest cell, a header
    cell over that one column its longest word (headers wrap at spaces), plus ``CELL_PAD`` each."""
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.cell, self.head = [], None, False

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                a = dict(attrs)
                self.cell = [int(a.get("colspan", 1)), int(a.get("rowspan", 1)), ""]

        def handle_endtag(self, tag):
            if tag in ("td", "th") and self.cell is not None:
                self.rows[-1].append(self.cell)
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell[2] += data

    p = Cells()
    p.feed(html)
    widths: dict[int, int] = {}
    spans: dict[int, int] = {}          # column -> rows a cell above still covers
    for row in p.rows:
        col = 0
        for span, down, text in row:
            while spans.get(col, 0) > 0:
                spans[col] -= 1
                col += 1
            if span == 1:
                words = text.split() or [""]
                widths[col] = max(widths.get(col, 0), max(map(len, words)) if not any(c.isdigit() for c in text)
                                  else len(text.strip()))
            for k in range(span):
                if down > 1:
                    spans[col + k] = down - 1
            col += span
        for c in list(spans):
            if c >= col and spans[c] > 0:
                spans[c] -= 1
    return sum(widths.values()) + F.CELL_PAD * len(widths)


def test_html_chars_reads_columns_and_spans():
    from spectral_collapse.plotting.reader import reader_table

    narrow = pd.DataFrame({("s_hf", "ours"): [0.5], ("s_hf", "paper"): [0.4]}, index=pd.Index(["ddim"], name="method"))
    wide = pd.DataFrame({"a": ["y" * F.TABLE_CHARS]}, index=["x"])
    assert html_chars(reader_table(narrow)) == len("method") + len("ours") + len("paper") + 3 * F.CELL_PAD and html_chars(reader_table(wide)) > F.TABLE_CHARS


@pytest.mark.parametrize("study", ("backbone_ablation", "space_ablation", "scale_factor", "eps_vs_x0"))
def test_the_ablation_chapters_paper_table_fits_the_text_column(study):
    """The "beside the paper" table of each ablation chapter, as a chapter displays it, fits the text column and
    reads in words, never by the code's keys ("paper_mean", "paper_table")."""
    import xarray as xr

    from spectral_collapse.tables.ablations import paper_table
    from spectral_collapse.plotting.reader import reader_table

    path = Path(__file__).resolve().parents[1] / "data" / "results" / study / "ihc-sr-quick.nc"
    if not path.exists():
        pytest.skip(f"no stored {study} results")
    html = reader_table(paper_table(xr.load_dataset(path)), na_rep="—")
    assert html_chars(html) <= F.TABLE_CHARS, html
    assert not re.search(r"paper_|ours_", html)
