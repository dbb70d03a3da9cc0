"""The Pareto, guidance-schedule, velocity and flow chapters in reader form: one way of writing a step size in every
table, text and chart; method names composed once and held on one line; the schedule chart's intervals drawn and
its names clear of them; σ, not "sigma"; the velocity verdicts labelled as means without an interval; the flow
chapter's latent-scaling remedy named in words."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
import xarray as xr
from test_pareto import synthetic_sweep

from spectral_collapse.plotting.labels import chart_label, chart_title, step_size, step_sizes
from spectral_collapse.report.reader import table_numbers

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


def test_the_pareto_chapter_writes_every_step_size_one_way():
    ds = synthetic_sweep([(0.9, 0.8), (0.5, 0.5), (0.95, 0.3), (0.2, 0.9)], {"ddim": (0.4, 0.7)})
    from spectral_collapse.plotting.labels import reader_spec
    from spectral_collapse.plotting.pareto import grid_heatmaps, pareto_chart
    from spectral_collapse.report.pareto import frontier_verdict, grid_table

    choice = json.loads(ds.attrs["choices"])["ovg"]
    text = frontier_verdict(ds)["text"]
    assert step_size(choice["eta_hf"]) in text and step_size(choice["eta_lf"]) in text
    assert not _RAW.search(text.split("On the claims page")[0])
    table = grid_table(ds)
    assert set(table["eta_hf"]) == {step_size(v) for v in ds["eta_hf"].values}
    assert set(table["eta_lf"]) == {step_size(v) for v in ds["eta_lf"].values}
    heat = reader_spec(grid_heatmaps(ds).to_dict())
    listed = {r["eta_HF"] for v in heat["datasets"].values() for r in v if "eta_HF" in r}
    assert listed == {step_size(v) for v in ds["eta_hf"].values}
    for spec in (heat, reader_spec(pareto_chart(ds).to_dict())):
        assert not any(_RAW.search(t) for t in _texts(spec))


def test_the_pareto_notebook_formats_no_step_size_itself():
    from pathlib import Path

    nb = json.loads((Path(__file__).parents[1] / "notebooks" / "pareto.ipynb").read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert not re.search(r"eta_(?:hf|lf)[^\n]*:\.\d[eg]\}|\{:\.\d[eg]\}|\{v:\.\d[eg]\}", code)
    # a base is named once: not "OVG (`ovg`)", which the book's display turns into "OVG (OVG)"
    assert "(`{b}`)" not in code


# --------------------------------------------------------------------------------------------- method names

def test_a_method_name_in_the_grid_table_stays_on_one_line():
    ds = synthetic_sweep([(0.9, 0.8), (0.5, 0.5), (0.95, 0.3), (0.2, 0.9)], {"ddim": (0.4, 0.7)},
                         primary="ovg_taba")
    from spectral_collapse.report.pareto import grid_table
    from spectral_collapse.studies.method_labels import method_name

    names = set(grid_table(ds)["OVG variant"])
    assert names == {method_name("ovg_taba").replace(" ", "\u00a0")} and not any(" " in n for n in names)


def test_a_chart_title_keeps_a_dataset_name_as_typed():
    assert chart_title("ihc-sr: S_LF against S_HF").startswith("ihc-sr")
    assert chart_title("edges2shoes: x").startswith("edges2shoes")
    assert chart_title("resolution") == "Resolution"


def test_the_latent_scaling_remedy_is_named_in_words():
    from spectral_collapse.studies.flow_collapse import SCALED_LABEL

    name = chart_label(SCALED_LABEL)
    assert name != SCALED_LABEL and name.startswith("DDIM") and "×" in name and "x1" not in name


def test_the_flow_chapter_names_the_remedy_in_its_tables_and_verdict():
    from spectral_collapse.report import flow_collapse as F
    from spectral_collapse.studies.flow_collapse import SCALED_LABEL

    name = chart_label(SCALED_LABEL)
    assert F.scaled_named(f"{SCALED_LABEL} − ddim; `{SCALED_LABEL}`") == f"{name} − ddim; `{SCALED_LABEL}`"
    crops = np.arange(4)
    methods = ["ddim", SCALED_LABEL]
    ds = xr.Dataset({"latent_norm_ratio": (("method", "seed", "sample"), np.ones((2, 1, 4)) * [[[1.0]], [[1.3]]])},
                    coords={"method": methods, "seed": [0], "sample": crops})
    ds["crop"] = (("seed", "sample"), crops[None])
    try:
        table = F.norm_table(ds)
    except (KeyError, ValueError) as err:   # the crop layout of the stored results only
        pytest.skip(f"synthetic results lack what crop_values reads: {err}")
    assert SCALED_LABEL not in table.index and name in table.index
    assert not any("||" in str(c) or "^" in str(c) for c in table.columns)


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
    from spectral_collapse.plotting.schedule import cost_quality_chart
    from spectral_collapse.studies.schedule import gain_share_interval

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


def test_the_schedule_chart_writes_no_name_across_a_bar():
    from spectral_collapse.plotting.schedule import cost_quality_chart

    spec = cost_quality_chart(_schedule()).to_dict()
    data = spec["datasets"]
    bars = [r for lay in spec["layer"] if lay.get("mark", {}).get("type") == "rule"
            and lay.get("encoding", {}).get("y2", {}).get("field") == "share_hi" for r in data[lay["data"]["name"]]]
    names = [r for lay in spec["layer"] if lay.get("mark", {}).get("type") == "text"
             for r in data[lay["data"]["name"]]]
    xdom = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    ydom = spec["layer"][0]["encoding"]["y"]["scale"]["domain"]
    width, height = spec["width"], spec["height"]
    for n in names:
        px = (n["lx"] - xdom[0]) / (xdom[1] - xdom[0]) * width
        py = (n["ly"] - ydom[0]) / (ydom[1] - ydom[0]) * height
        half = 0.6 * 11 * len(n["label"]) / 2
        for b in bars:
            bx = (b["time_ratio"] - xdom[0]) / (xdom[1] - xdom[0]) * width
            lo = (b["share_lo"] - ydom[0]) / (ydom[1] - ydom[0]) * height
            hi = (b["share_hi"] - ydom[0]) / (ydom[1] - ydom[0]) * height
            across = abs(px - bx) < half - 2 and lo + 2 < py < hi - 2
            assert not across, (n["label"], b["method"])


def test_the_schedule_chapter_says_sigma_as_its_symbol_and_names_schedules():
    from spectral_collapse.report import schedule as S

    ds = _schedule()
    text = S.verdict(ds)
    assert "σ" in text and not re.search(r"\bsigma\b", text)
    over = S.overview(ds)
    assert "first_half" not in over and chart_label("first_half") in over
    assert "every_4" not in S.row_names(ds["method"].values)


# ------------------------------------------------------------------------------------------------- velocity

def _velocity(n_samples: int = 3) -> xr.Dataset:
    methods, steps, freq = ["ddim", "edm", "ovg"], np.arange(8), np.linspace(0, 0.7, 6)
    power = -np.ones((3, 8, 6)) * np.array([4.0, 6.0, 5.0])[:, None, None] - 0.1 * steps[None, :, None]
    sig = np.tile(np.linspace(0.01, 10, 9), (3, 1))
    return xr.Dataset({"log_power": (("method", "step", "freq"), power),
                       "sigma_from": (("method", "step"), sig[:, :-1]), "sigma_to": (("method", "step"), sig[:, 1:])},
                      coords={"method": methods, "step": steps, "freq": freq},
                      attrs={"n_samples": n_samples, "space": "vp"})


@pytest.mark.parametrize("n", [3, 4])
def test_the_velocity_verdict_says_its_numbers_are_means_without_an_interval(n):
    from spectral_collapse.report.velocity import velocity_verdict

    text = velocity_verdict(_velocity(n))
    assert f"means of {n} inputs, no interval" in text
    checks = [line for line in text.splitlines() if line.startswith("- ")]
    # each check read on the means by the stated minimal effect: agrees, does not agree, or inconclusive within it
    assert checks and all(line.endswith(("agrees", "does not agree", "(a gap under 0.25 decades)")) for line in checks)
    assert "minimal effect of 0.25 decades" in text and "indicative" in text


def test_the_velocity_prose_writes_its_formulas_in_the_books_symbols():
    from spectral_collapse.report.velocity import positive_cells_text, velocity_verdict, vp_mean_rate_text

    prose = velocity_verdict(_velocity()) + vp_mean_rate_text(0.5, 2.0)
    ds = _velocity()
    ds["log_power"][:, 3, 0] = 0.5      # a frequency-0 cell above 0
    prose += positive_cells_text(ds)
    for ascii_form in ("->", ">=", "√(", "^(", "t -> T", "1/√(H"):
        outside = re.sub(r"\$[^$]*\$", "", prose)
        assert ascii_form not in outside, ascii_form


def test_the_flow_remedys_reader_name_is_one_name_everywhere():
    """METHOD_NAMES (prose, tables) and the chart names give the scaled-latent remedy the same name, built from the
    scale the flow study applies."""
    from spectral_collapse.plotting.labels import study_method_names
    from spectral_collapse.studies.flow_collapse import LATENT_SCALE, SCALED_LABEL
    from spectral_collapse.studies.method_labels import METHOD_NAMES, name_methods

    assert METHOD_NAMES[SCALED_LABEL] == study_method_names()[SCALED_LABEL]
    assert f"{LATENT_SCALE:g}" in METHOD_NAMES[SCALED_LABEL]
    assert name_methods(f"methods: ddim, {SCALED_LABEL}") == f"methods: DDIM, {METHOD_NAMES[SCALED_LABEL]}"


def test_charts_name_the_benchmark_variants_as_their_tables_do():
    """A benchmark row's label in a chart reads as the cost and benchmark tables name it."""
    from benchmarks.tables import bench_name
    from spectral_collapse.plotting.labels import chart_label
    from spectral_collapse.studies.method_labels import VARIANT_NAMES

    for label in VARIANT_NAMES:
        assert chart_label(label) == bench_name(label) or label == "renoise", label
    assert chart_label("ovg_batched") == "OVG, batched VJPs" and chart_label("renoise_r9") == "ReNoise, R = 9"
