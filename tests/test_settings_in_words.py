"""Every settings table a chapter can produce reads in words: no stored key (snake_case), no dict dump (braces), no
function path (``Denoiser.to_noise``) in a row's name or value; the study parameter a user types sits in its own
column, which is left as it is."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# a stored key: lower-case words joined by underscores ("s_dc_raw", "per_base", "ks_resolution"); a variable with a
# one- or two-character subscript ("x_t", "x_0") is notation
SNAKE = re.compile(r"(?<![\w\-./])(?![a-z]_[a-z0-9]{1,2}(?![\w\-/]))[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w\-/])")
FUNCTION_PATH = re.compile(r"\b[A-Z][A-Za-z0-9]*\.[a-z_][a-z0-9_]*\b")
BRACES = re.compile(r"[{}]")


def settings_cells():
    """(study, the imports of its notebook, the code of its settings cell) for every chapter with a settings section."""
    out = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        imports = []
        for c in cells:
            if c["cell_type"] != "code":
                continue
            try:
                tree = ast.parse("".join(c["source"]))
            except SyntaxError:
                continue
            imports += [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        imports = [i for i in imports if "settings" in i or "report" in i or "checks" in i]
        for i, c in enumerate(cells[:-1]):
            if c["cell_type"] == "markdown" and "Settings of this run" in "".join(c["source"]):
                out.append((path.stem, "\n".join(imports), "".join(cells[i + 1]["source"])))
    return out


def chapter_settings(study: str, imports: str, code: str, results: Path):
    """The settings table the chapter's cell makes from stored results, as the chapter displays it."""
    import xarray as xr

    from spectral_collapse.report.settings import short_model_names

    scope: dict = {}
    for line in imports.splitlines():   # the imports a settings cell can use (a chart's import is not needed)
        try:
            exec(line, scope)
        except ImportError:
            pass
    with xr.open_dataset(results) as ds:
        scope["ds"] = ds
        tree = ast.parse(code)
        *body, last = tree.body
        exec(compile(ast.Module(body, []), "<settings>", "exec"), scope)
        table = eval(compile(ast.Expression(last.value), "<settings>", "eval"), scope)
        return short_model_names(table)


def problems(table) -> list[str]:
    """The row names and values of a displayed settings table that hold a stored key, a brace or a function path."""
    found = []
    for name, value in zip(table.index, table["value"]):
        for text in (str(name), str(value)):
            for pattern in (SNAKE, FUNCTION_PATH, BRACES):
                found += [f"{name!r}: {m.group(0)!r} in {text!r}" for m in pattern.finditer(text)]
    return found


CASES = [(study, imports, code, results) for study, imports, code in settings_cells()
         for results in sorted((ROOT / "data" / "results" / study).glob("*.nc"))]


def test_the_scan_finds_what_it_looks_for():
    import pandas as pd

    bad = pd.DataFrame({"value": ["x_T = Denoiser.to_noise", "{'a': 1}", "s_dc_raw: the raw form"]},
                       index=["inversion", "dump", "decorrelation score"])
    assert len(problems(bad)) == 4
    ok = pd.DataFrame({"value": ["S_G = 1 − D_KS of ‖x_T‖²", "ihc-sr-x4-eps-quick", "x_t = √ᾱ x_0"]},
                      index=["a", "b", "c"])
    assert problems(ok) == []
    assert CASES, "no chapter settings found"


@pytest.mark.parametrize("study, imports, code, results", CASES,
                         ids=[f"{c[0]}-{c[3].stem}" for c in CASES])
def test_every_chapter_settings_row_reads_in_words(study, imports, code, results):
    table = chapter_settings(study, imports, code, results)
    assert len(table) > 2
    assert problems(table) == []


def test_a_mapping_reads_as_named_values_not_a_dump():
    from spectral_collapse.report.settings import readable
    from spectral_collapse.report.settings_words import arm_words, words

    assert readable({"num_train_timesteps": 1000, "dynamic": False}) == "training timesteps 1000, dynamic shift off"
    assert readable({"ddim": "computed here", "taba": "computed here"}) == "DDIM and TABA: computed here"
    assert readable({"eta_hf": [1e-7, 1e-6], "eta_lf": [0.01]}) == "η_HF 10⁻⁷, 10⁻⁶; η_LF 10⁻²"
    assert arm_words("train_seed1") == "training seed 1" and arm_words("eps-factor4") == "eps, ×4"
    assert words("arm unet") == "arm: U-Net" and "Denoiser" not in words("x_T = Denoiser.to_noise")


def test_a_step_size_grid_in_the_settings_reads_in_one_form():
    """A stored grid of OVG step sizes reads "10⁻⁷, …, 10⁻⁴", never "1e-07" or "0.0001" beside "10⁻⁵"."""
    from spectral_collapse.report.settings import readable

    text = readable({"eta_hf": [1e-7, 1e-6, 1e-5, 1e-4], "eta_lf": [0.001, 0.01, 0.1, 1.0]})
    assert "10⁻⁴" in text and "10⁻³" in text and "0.0001" not in text and "e-0" not in text and "0.001" not in text
