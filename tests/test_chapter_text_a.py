"""Reader-facing text and charts of the latent, schedule, main-results, cost and ablation chapters: axes that span
what they show, headers a reader can read, formulas typeset, numbers computed rather than typed, and verdicts and
captions that say what they test and draw."""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# ------------------------------------------------------------------------------------------ decorrelation scatter

def _runs() -> xr.Dataset:
    """ddim and edm tie at S_G = 0 on the same S_DC (they would cover each other), ovg_edm at S_G = 0 elsewhere, taba
    inside the range."""
    return xr.Dataset({"run_method": ("run", ["ddim", "edm", "ovg_edm", "taba"]),
                       "run_steps": ("run", [10] * 4), "run_seed": ("run", [0] * 4),
                       "run_s_g": ("run", [0.0, 0.0, 0.0, 0.6]), "run_s_dc": ("run", [0.5, 0.5, 0.9, 0.99]),
                       "run_s_dc_lo": ("run", [0.45, 0.45, 0.85, 0.98]),
                       "run_s_dc_hi": ("run", [0.55, 0.55, 0.95, 0.995])})


def _layers(spec: dict, mark: str) -> list[dict]:
    return [lay for lay in spec["layer"] if (lay["mark"]["type"] if isinstance(lay["mark"], dict) else lay["mark"]) == mark]


def test_decorrelation_scatter_draws_s_g_at_its_value_and_labels_no_negative_s_g():
    """Runs at S_G = 0 are drawn at 0: runs that would cover each other are set apart in pixels, rightwards at the
    bound (not by shifting their S_G below 0), a run that covers none stays put, and the axis labels no value outside
    S_G's range [0, 1]."""
    import vl_convert as vlc

    from spectral_collapse.plotting.latents import decorrelation_scatter

    spec = decorrelation_scatter(_runs()).to_dict()
    points = _layers(spec, "point")
    assert len(points) == 4 and len(_layers(spec, "rule")) == 4
    x_field = points[0]["encoding"]["x"]["field"]
    offset = {}
    for p in points:
        data = pd.DataFrame(spec["datasets"][p["data"]["name"]])
        assert (data[x_field] >= 0).all()
        offset[data["method"].iloc[0]] = p["mark"].get("xOffset", 0)
    assert offset["ddim"] == 0 and offset["edm"] > 0            # the tie set apart inward from 0
    assert offset["ovg_edm"] == 0 and offset["taba"] == 0       # nothing to cover: drawn at their values
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", vlc.vegalite_to_svg(spec))
    numbers = [float(t.replace("−", "-")) for t in labels if re.fullmatch(r"[−-]?\d+(\.\d+)?", t)]
    assert numbers and min(numbers) >= 0


def test_one_methods_runs_at_several_step_counts_are_set_apart_where_they_would_cover_each_other():
    """DDIM at 10, 25 and 50 steps, all at S_G = 0 and the same S_DC, are three points side by side, not one over
    another; a step count whose point lies elsewhere stays at its value."""
    ds = xr.Dataset({"run_method": ("run", ["ddim"] * 4), "run_steps": ("run", [10, 25, 50, 100]),
                     "run_seed": ("run", [0] * 4), "run_s_g": ("run", [0.0, 0.0, 0.0, 0.0]),
                     "run_s_dc": ("run", [0.5, 0.5, 0.5, 0.95])})
    from spectral_collapse.plotting.latents import decorrelation_scatter

    spec = decorrelation_scatter(ds).to_dict()
    at = {}
    for p in _layers(spec, "point"):
        data = pd.DataFrame(spec["datasets"][p["data"]["name"]])
        for steps in data["steps"]:
            at[int(steps)] = p["mark"].get("xOffset", 0)
    assert len({at[10], at[25], at[50]}) == 3 and min(at[10], at[25], at[50]) == 0
    assert at[100] == 0


# -------------------------------------------------------------------------------------------------- headers

def test_chapter_tables_show_short_readable_headers():
    from spectral_collapse.report import latents as R
    from spectral_collapse.report import schedule as S

    raw = pd.DataFrame(columns=["s_dc", "flagged_ratio", "s_dc_raw", "norm_ratio", "s_dc_lo", "s_dc_hi"])
    shown = list(R.shown(raw).columns)
    assert "norm_ratio" not in shown and "flagged_ratio" not in shown
    assert max(map(len, shown)) <= 14
    sched = S.shown(pd.DataFrame(columns=["nfe", "latent_norm_ratio", "n_failed", "s_hf_gain_share"]))
    assert "NFE" in sched.columns and "latent_norm_ratio" not in sched.columns
    assert max(map(len, sched.columns)) <= 16


def test_schedule_chapter_defines_nfe_before_its_table_shows_it():
    nb = json.loads((ROOT / "notebooks" / "ovg_schedule.ipynb").read_text())
    cells = ["".join(c["source"]) for c in nb["cells"]]
    first_nfe = next(i for i, c in enumerate(cells) if "NFE" in c or "nfe" in c)
    assert "network" in cells[first_nfe] and "evaluations (NFE" in cells[first_nfe]


# ------------------------------------------------------------------------------------------- schedule chart

def _schedule_ds(ratios) -> xr.Dataset:
    names = ["ddim", "ovg", "low", "high"]
    return xr.Dataset({"time_ratio": ("method", ratios), "s_hf_gain_share": ("method", [0.0, 1.0, 0.7, 0.4]),
                       "backward_passes": ("method", [0, 100, 34, 34])}, coords={"method": names},
                      attrs={"max_time_ratio": 1.5, "target_share": 0.9})


def test_schedule_chart_time_axis_fits_the_data_and_the_budget():
    from spectral_collapse.plotting.schedule import cost_quality_chart

    spec = cost_quality_chart(_schedule_ds([1.0, 1.8, 1.1, 0.95])).to_dict()
    domains = [lay["encoding"]["x"]["scale"]["domain"] for lay in spec["layer"]
               if "x" in lay.get("encoding", {}) and "scale" in lay["encoding"]["x"]]
    lo, hi = domains[0]
    assert all(d == [lo, hi] for d in domains)
    assert 0.5 < lo < 0.95 and 1.8 < hi < 2.2      # the points and the 1.5x budget, not the empty 0 to 0.9


# ------------------------------------------------------------------------------------- settings and formulas

def test_settings_put_model_factor_in_words_and_leave_out_unused_ovg():
    from spectral_collapse.report.latents import settings

    ovg = json.dumps({"eta_hf": 1e-6, "eta_lf": 1e-3, "source": "test"})
    for factor, word in ((0, "none"), (4, "x4")):
        ds = xr.Dataset(coords={"series": ["ddim", "gaussian"], "method": ["ddim", "gaussian"]},
                        attrs={"model_factor": str(factor), "ovg": ovg, "steps": 50})
        table = settings(ds, ("steps", "model_factor", "ovg"))
        assert table.loc["model_factor", "value"].startswith(word) and table.loc["model_factor", "value"] != str(factor)
        assert "ovg" not in table.index            # no OVG-guided method in this run
    used = xr.Dataset(coords={"method": ["ddim", "ovg"]}, attrs={"ovg": ovg})
    assert "ovg" in settings(used, ("ovg",)).index


def test_typeset_turns_ascii_formulas_into_symbols():
    from spectral_collapse.report.latents import typeset

    out = typeset("S_G = 1 - D_KS of ||x_T||^2 against chi2(d); 0 +- 1; sqrt(2 d / n); >= half; -0.5; Eq. 31-33")
    assert "χ²(d)" in out and "‖x_T‖²" in out and "±" in out and "√(2 d / n)" in out and "≥" in out
    assert "1 − D_KS" in out and "−0.5" in out and "31-33" in out and "chi2" not in out and "||" not in out


def _gaussianity_ds(seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    d, n = 256, 40
    ratio = np.stack([rng.chisquare(d, n) / d * s for s in (0.8, 1.0)])
    from scipy import stats

    s_g = [1 - stats.kstest(r * d, "chi2", args=(d,)).statistic for r in ratio]
    return xr.Dataset({"norm_ratio": (("method", "latent"), ratio), "s_g": ("method", s_g),
                       "mean_norm_ratio": ("method", ratio.mean(1)),
                       "norm_z": ("method", (ratio.mean(1) * d - d) / np.sqrt(2 * d / n))},
                      coords={"method": ["ddim", "taba", "edm"][:len(ratio)]},
                      attrs={"study": "gaussianity", "d": d, "gaussian_s_g": 0.9})


def test_gaussianity_verdict_is_typeset():
    from spectral_collapse.report.latents import verdict

    text = verdict(_gaussianity_ds())
    assert "χ²(d)" in text and "‖x_T‖²" in text and "±" in text
    assert "chi2" not in text and "||" not in text and "+-" not in text
    assert not re.search(r"(?<![\w])-\d", text)     # minus signs, not hyphens, before numbers


# --------------------------------------------------------------------------------------------- main results

def _main_ds(dataset: str, task: dict, methods=None) -> xr.Dataset:
    specs = methods if methods is not None else [
        {"label": "ddim", "method": "Euler", "method_params": {}},
        {"label": "null_class", "method": "NullClass", "method_params": {"guidance_scale": None}},
        {"label": "direct_inversion", "method": "DirectInversion", "method_params": {}}]
    return xr.Dataset({"truth_images": (("image", "c", "h", "w"), np.zeros((1, 3, 32, 32)))},
                      attrs={"dataset": dataset, "task": json.dumps(task), "methods": json.dumps(specs)})


def _cmp(null=(16.22, 0.85), direct=(16.22, 0.85), table="table9") -> pd.DataFrame:
    rows = []
    for method, vals in (("null_class", null), ("direct_inversion", direct), ("ddim", (15.11, 0.83))):
        for metric, v in zip(("psnr", "s_hf"), vals):
            rows.append({"method": method, "metric": metric, "ours_mean": 1.0, "paper_mean": v, "table": table})
    return pd.DataFrame(rows)


def test_beside_paper_names_our_factor_as_standing_in_for_the_papers():
    from spectral_collapse.report.main_results import beside_paper

    text = beside_paper(_main_ds("ihc-sr", {"kind": "sr", "factor": 4}), _cmp())
    assert "Table 9" in text and "×4" in text and "×16" in text and "stands in" in text and "↔" not in text
    edges = beside_paper(_main_ds("ihc-edges", {"kind": "edges", "factor": None}), _cmp(table="table11"))
    assert "Edges2Shoes" in edges and "Table 11" in edges and "×" not in edges.split("\n\n")[0]
    assert "no paper column" in beside_paper(_main_ds("folder:x", {"kind": "generic"}), _cmp())


def test_null_class_pairing_says_whether_the_papers_row_is_our_setting():
    from spectral_collapse.report.main_results import null_class_pairing, null_class_scale

    ds = _main_ds("ihc-sr", {"kind": "sr", "factor": 4})
    assert null_class_scale(ds) == 1.0
    assert "same setting" in null_class_pairing(ds, _cmp())
    assert "not like for like" in null_class_pairing(ds, _cmp(null=(19.0, 0.9)))
    tuned = _main_ds("ihc-sr", {"kind": "sr", "factor": 4},
                     [{"label": "null_class", "method": "NullClass", "method_params": {"guidance_scale": 7.5}}])
    assert "w = 7.5" in null_class_pairing(tuned, _cmp())
    assert null_class_pairing(_main_ds("ihc-sr", {}, []), _cmp()) == ""


def test_main_results_chapter_types_no_dataset_mapping():
    nb = json.loads((ROOT / "notebooks" / "main_results.ipynb").read_text())
    md = " ".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "↔" not in md and "BBBC021 ×16" not in md
    code = " ".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "beside_paper(ds, cmp)" in code


# ------------------------------------------------------------------------------------------------------ cost

# ------------------------------------------------------------------------------------------------- ablations

@dataclass
class _Claim:
    statement: str


@dataclass
class _Finding:
    detail: str


def test_ablation_verdict_says_which_methods_its_test_leaves_out():
    from spectral_collapse.report.ablations import _what_is_tested

    ds = xr.Dataset(coords={"method": ["ddim", "taba", "ovg", "ovg_stable"]})
    found = [(_Claim("With both backbones DDIM has lower S_HF than OVG."),
              _Finding("unet: S_HF ddim − ovg −0.1 [−0.2, −0.05] → holds"))]
    text = _what_is_tested(ds, found)
    assert "DDIM has lower S_HF than OVG" in text and "`taba`" in text and "`ovg_stable`" in text
    assert "`ovg`" not in text and "`ddim`" not in text
    assert _what_is_tested(ds, []) == ""


def test_improvement_chart_caption_matches_the_shares():
    """The chart's subtitle names the methods the shares count, a drawn method they do not count, and a counted
    method without a bar."""
    from spectral_collapse.plotting.ablations import _drawn_against_shares

    ds = xr.Dataset(coords={"method": ["ddim", "taba", "ovg", "ovg_stable"]})
    lines = " ".join(_drawn_against_shares(ds, ["ddim", "taba", "ovg_stable"], ("ddim", "taba", "ovg")))
    assert "Counted in the shares above: DDIM, TABA." in lines   # methods by their reader names
    assert "OVG (stable form)" in lines.split("Drawn, not counted:")[1] and "No bar for OVG:" in lines
    assert "No bar" not in " ".join(_drawn_against_shares(ds, ["ddim", "taba", "ovg"], ("ddim", "taba", "ovg")))
