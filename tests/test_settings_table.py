"""A chapter's settings table: stored values in compact form with a static meaning, provenance without commit
hashes; the chapters' table display."""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

from spectral_collapse.tables.settings import MEANINGS, compact, settings_table


def test_settings_are_the_stored_values_with_their_meanings_and_leave_commits_in_the_file():
    ds = xr.Dataset(attrs={
        "steps": 50, "ovg": json.dumps({"eta_hf": 1e-06, "eta_lf": 0.0001, "source": "default"}),
        "grid": json.dumps([[1e-7, 0.1], [1e-6, 0.01]]), "created": "2026-11-23T17:57:28+00:00",
        "git_commit": "44aa28f4adba43a47b1dd6e1656e5b9f6fe3f212", "mu_hf": 0.123456789,
        "models": json.dumps({"eps": "data/checkpoints/ihc-sr-x4-eps-quick-7e26214ebd7e", "edm": None}),
        "versions": json.dumps({"torch": "2.14.1", "spectral-collapse": "0.1.0", "h5py": "3"})})
    t = settings_table(ds, ("steps", "ovg", "grid", "missing", "models", "mu_hf"),
                       extra={"arm unet": {"backbone": "unet"}})
    assert list(t.index) == ["steps", "ovg", "grid", "models", "mu_hf", "arm unet", "computed", "versions"]
    assert t.index.name == "setting" and list(t.columns) == ["value", "meaning"]
    assert t.loc["steps", "value"] == "50" and t.loc["mu_hf", "value"] == "0.1235"
    assert t.loc["ovg", "value"] == "eta_hf = 1e-06; eta_lf = 0.0001; source = default"
    assert t.loc["grid", "value"] == "[1e-07, 0.1], [1e-06, 0.01]"
    assert t.loc["models", "value"] == "eps = ihc-sr-x4-eps-quick"   # the hash left off, the empty role left out
    assert t.loc["arm unet", "value"] == "backbone = unet"
    assert t.loc["computed", "value"] == "2026-11-23 17:57"
    assert t.loc["versions", "value"] == "spectral-collapse 0.1.0, torch 2.14.1"   # the main packages, in order
    assert t.loc["steps", "meaning"] == MEANINGS["steps"] and t.loc["arm unet", "meaning"] == ""
    assert "44aa28f" not in t.to_string()


def test_compact_values():
    assert compact(float("nan")) == compact(None) == compact("null") == compact({"a": None}) == "—"
    assert compact({"a": {"b": [1, 2]}, "c": True}) == "a = (b = [1, 2]); c = true"
    assert compact(np.float32(0.5)) == "0.5" and compact("ihc-sr-x4-eps-quick") == "ihc-sr-x4-eps-quick"


def test_a_chapter_table_shows_a_missing_value_as_a_dash_not_nan():
    """In a kernel set up as the study notebooks are, a DataFrame's NaN displays as a dash (HTML and text), and a
    plain 0, 1, ... row index is left out while a named index stays."""
    import nbclient
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from spectral_collapse.pipeline.notebook import show_missing_as_dash\nimport numpy as np, pandas as pd\n"
        "assert show_missing_as_dash()\npd.DataFrame({'psnr': [21.5, np.nan]})"),
        nbformat.v4.new_code_cell("pd.DataFrame({'psnr': [21.5, 22.0]}, index=pd.Index(['ddim', 'ovg'], name='method'))")]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    data = nb.cells[0].outputs[-1]["data"]
    assert "NaN" not in data["text/html"] and "<td>—</td>" in data["text/html"] and "21.5" in data["text/html"]
    assert "NaN" not in data["text/plain"] and "—" in data["text/plain"]
    assert "<th>0</th>" not in data["text/html"] and not data["text/plain"].splitlines()[1].lstrip().startswith("0")
    named = nb.cells[1].outputs[-1]["data"]
    assert "<th>DDIM</th>" in named["text/html"] and "method" in named["text/plain"]   # a method by its reader name
    head = named["text/html"].split("<thead>")[1].split("</thead>")[0]
    assert head.count("<tr") == 1 and "<th>method</th>" in head  # the index name sits in the one header row


def test_index_name_folds_into_the_header_row_of_flat_and_two_level_columns():
    """pandas writes a named row index as an extra header row of empty cells; the folded table has no such row, keeps
    every value and leaves the caller's table as it was."""
    import re

    import pandas as pd

    from spectral_collapse.pipeline.notebook import one_header_row

    def header_rows(df):
        head = df.to_html().split("<thead>")[1].split("</thead>")[0]
        return [re.findall(r"<th[^>]*>(.*?)</th>", row, re.S) for row in head.split("</tr>")[:-1]]

    flat = pd.DataFrame({"psnr": [21.5]}, index=pd.Index(["ddim"], name="method"))
    two = pd.DataFrame([[1, 2, 3, 4]], index=pd.Index(["ddim"], name="method"),
                       columns=pd.MultiIndex.from_product([["S_HF", "PSNR"], ["mean", "interval"]]))
    for df, levels in ((flat, 1), (two, 2)):
        before = header_rows(df)
        assert len(before) == levels + 1 and not any(before[-1][1:])  # pandas' own layout: an empty-celled row
        rows = header_rows(one_header_row(df))
        assert len(rows) == levels and rows[-1][0] == "method" and all(rows[-1][1:])
        assert one_header_row(df).to_numpy().tolist() == df.to_numpy().tolist() and df.index.name == "method"
    plain = pd.DataFrame({"psnr": [21.5]})
    assert one_header_row(plain) is plain


def test_a_correlation_over_constant_runs_is_undefined_with_an_open_interval():
    """A correlation over constant runs has no value (nan) and the widest interval; a perfect one reads 1."""
    import numpy as np

    from spectral_collapse.tables.latents import run_correlation

    def dec(run_s_g):
        return xr.Dataset({"run_s_g": ("run", run_s_g), "run_s_dc": ("run", [0.5, 0.6, 0.7, 0.8])})

    r, lo, hi, n = run_correlation(dec([0.9, 0.9, 0.9, 0.9]))       # a constant S_G: no correlation
    assert np.isnan(r) and (lo, hi, n) == (-1.0, 1.0, 4)
    assert abs(run_correlation(dec([0.1, 0.2, 0.3, 0.4]))[0] - 1.0) < 1e-9
