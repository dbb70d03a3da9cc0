"""How a displayed table writes its numbers: exponents as powers of ten, p-values below the digits shown, spreads
too small for the digits said in words, one precision per column, and the scorecard's notes on rows from models
below the quality gate, metrics not run and orderings below chance."""
from __future__ import annotations

import numpy as np
import pandas as pd


def test_table_numbers_write_exponents_as_powers_of_ten():
    from spectral_collapse.plotting.reader import table_numbers

    out = table_numbers("<td>-0.652 [-0.739, -0.567]</td><td>η 1e-07</td><td>ihc-sr-x4 x8-x16</td><code>-1</code>")
    assert "-0.652 [-0.739, -0.567]" in out
    assert "η 10⁻⁷" in out and "1e-07" not in out               # a power of ten: maths, and never wraps at "-"
    assert table_numbers("2.5e-05, -3e+04") == "2.5 × 10⁻⁵, -3 × 10⁴"
    assert table_numbers("ihc-sr-x4-eps-1e-06") == "ihc-sr-x4-eps-1e-06"      # a name keeps its text
    assert "ihc-sr-x4 x8-x16" in out and "<code>-1</code>" in out and table_numbers(out) == out


def test_reader_table_shows_negative_numbers_and_p_values_as_read():
    from spectral_collapse.plotting.reader import reader_table

    frame = pd.DataFrame({"delta": [-68.435, 0.5], "ks_p": [0.0, 0.0312]}, index=["ddim", "taba"])
    html = reader_table(frame)
    assert "-68.435" in html
    assert "&lt; 0.0001" in html and "0.0312" in html and "0.0000" not in html
    assert frame["ks_p"].tolist() == [0.0, 0.0312]           # the frame itself is not changed


def test_p_text_says_below_the_digits_shown():
    from spectral_collapse.plotting.reader import p_text

    assert p_text(0.0) == "< 0.0001" and p_text(3e-9) == "< 0.0001" and p_text(0.25) == "0.2500"
    assert p_text(0.004, digits=2) == "< 0.01" and np.isnan(p_text(np.nan))


def test_cell_text_says_a_spread_the_digits_cannot_show_in_words():
    from spectral_collapse.framework.aggregate import cell_text

    assert cell_text(1.0, np.nan, lo=1.0, hi=1.0) == "1.000 (spread < 0.001)"
    assert cell_text(0.5, np.nan, lo=0.4999, hi=0.5002) == "0.500 (spread < 0.001)"
    assert cell_text(0.0, 0.0) == "0.000 (spread < 0.001)" and cell_text(1e-9, 2e-9) == "0.000 (spread < 0.001)"
    assert cell_text(0.5, 0.0007) == "0.500 ± 0.001" and cell_text(0.5, 0.1, lo=0.4, hi=0.6) == "0.500 [0.400, 0.600]"
    assert cell_text(-0.25, 0.02) == "-0.250 ± 0.020"


def test_gate_table_one_precision_per_column_and_the_verdict_beside_the_model():
    from spectral_collapse.framework.quality import CHECKS
    from spectral_collapse.tables.quality import column_digits, gate_frame

    assert column_digits([1.1, 1.11, 1.09]) == 2 and column_digits([0.0647, 0.081]) == 3
    assert column_digits([0.00584, 0.0157]) == 4
    rows = [{"model": "a", "gate": "passes", "steps": 10, **{c: (v, True) for c, v in zip(CHECKS, (0.0734, 0.0647, 0.081,
                                                                                               0.75, 1.1, 0.0058))}},
            {"model": "b", "gate": "fails", "steps": 10, **{c: (v, c != "spectrum") for c, v in
                                                            zip(CHECKS, (0.414, 0.06, 0.0757, 0.6, 1.11, 0.01))}}]
    t = gate_frame(rows)
    from spectral_collapse.tables.quality import GATE_HEADERS

    assert list(t.columns[:1]) == ["gate"] and "steps" not in t   # the steps: in each model's section
    assert t.loc["a", "nearest crop"] == "1.10" and t.loc["b", "nearest crop"] == "1.11"
    assert t.loc["b", "spectrum"] == "0.414\u00a0✗" and t.loc["a", "std"] == "0.081" and t.loc["b", "std"] == "0.076"
    assert all(len({len(v.split(".")[-1].split("\u00a0")[0]) for v in t[GATE_HEADERS.get(c, c)]}) == 1
               for c in CHECKS if c != "edges")
    assert GATE_HEADERS.get("edges", "edges") not in t   # the edge check's column shows only where a model fails it


def test_shown_levels_drop_what_the_rows_repeat():
    from spectral_collapse.tables.ablations import shown_levels

    ix = pd.MultiIndex.from_tuples([("unet", "unet", "Table 3", "ddim"), ("dit", "dit", "Table 3", "ddim")],
                                   names=["backbone", "paper_backbone", "paper_table", "method"])
    out = shown_levels(pd.DataFrame({("s_hf", "ours"): [1, 2]}, index=ix), ["backbone"])
    assert list(out.index.names) == ["backbone", "method"]
    ix = pd.MultiIndex.from_tuples([(2, "x8", "Table 5", "ddim"), (4, "x8", "Table 9", "ddim"),
                                    (4, "x16", "Table 5", "ddim")],
                                   names=["factor", "paper_scale", "paper_table", "method"])
    out = shown_levels(pd.DataFrame({("s_hf", "ours"): [1, 2, 3]}, index=ix), ["factor"])
    assert list(out.index.names) == ["factor", "paper's scale", "paper's table", "method"]



def test_md_table_writes_one_pipe_row_per_frame_row_with_pipes_escaped():
    import pandas as pd

    from spectral_collapse.tables.main_results import md_table

    frame = pd.DataFrame({"a|b": ["x|y", "two\nlines"], "c": [1, 2]}, index=pd.Index(["r1", "r2"], name="row"))
    assert md_table(frame) == "| a\\|b | c |\n|---|---|\n| x\\|y | 1 |\n| two lines | 2 |\n"
