"""Reader-facing text and charts of the latent, schedule, main-results, cost and ablation chapters: axes that span
what they show, headers a reader can read, formulas typeset, numbers computed rather than typed, and verdicts and
captions that say what they test and draw."""
from __future__ import annotations

import json
import re
import sys
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
    """Runs at S_G = 0 are drawn at 0 with their intervals, and the axis labels no value outside S_G's range
    [0, 1]."""
    import vl_convert as vlc

    from spectral_collapse.plotting.latents import decorrelation_scatter

    spec = decorrelation_scatter(_runs()).to_dict()
    points = _layers(spec, "point")
    assert len(points) == 1 and len(_layers(spec, "rule")) == 1
    data = pd.DataFrame(spec["datasets"][points[0]["data"]["name"]])
    assert sorted(data["s_g"]) == [0.0, 0.0, 0.0, 0.6]
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", vlc.vegalite_to_svg(spec))
    numbers = [float(t.replace("−", "-")) for t in labels if re.fullmatch(r"[−-]?\d+(\.\d+)?", t)]
    assert numbers and min(numbers) >= 0


# -------------------------------------------------------------------------------------------------- headers

def test_chapter_tables_show_short_readable_headers():
    from spectral_collapse.tables.latents import shown
    from spectral_collapse.studies.ovg_schedule import HEADERS

    raw = pd.DataFrame(columns=["s_dc", "flagged_ratio", "s_dc_raw", "norm_ratio", "s_dc_lo", "s_dc_hi"])
    heads = list(shown(raw).columns)
    assert "norm_ratio" not in heads and "flagged_ratio" not in heads
    assert max(map(len, heads)) <= 14
    sched = pd.DataFrame(columns=["nfe", "latent_norm_ratio", "n_failed", "s_hf_gain_share"]).rename(columns=HEADERS)
    assert "NFE" in sched.columns and "latent_norm_ratio" not in sched.columns
    assert max(map(len, HEADERS.values())) <= 16


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
    from spectral_collapse.plotting.pareto import cost_quality_chart

    spec = cost_quality_chart(_schedule_ds([1.0, 1.8, 1.1, 0.95])).to_dict()
    domains = [lay["encoding"]["x"]["scale"]["domain"] for lay in spec["layer"]
               if "x" in lay.get("encoding", {}) and "scale" in lay["encoding"]["x"]]
    lo, hi = domains[0]
    assert all(d == [lo, hi] for d in domains)
    assert 0.5 < lo < 0.95 and 1.8 < hi < 2.2      # the points and the 1.5x budget, not the empty 0 to 0.9


# ------------------------------------------------------------------------------------- settings and formulas

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


# ------------------------------------------------------------------------------------------------------ cost

