"""Charts with intervals: per-method scores drawn as points on a fitted axis, every interval readable over the mark it
crosses, and every axis titled by the reader's name of its metric. Read back from the charts' Vega-Lite specs."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spectral_collapse.plotting.charts import metric_bars

RESULTS = Path(__file__).resolve().parents[1] / "data" / "results"


def _stored(study: str) -> xr.Dataset:
    from spectral_collapse.framework.store import load_results

    path = RESULTS / study / "ihc-sr-quick.nc"
    if not path.exists():
        pytest.skip(f"no stored results of {study}")
    return load_results(path)


def _per_crop(names=("s_dc", "psnr"), methods=("ddim", "taba", "ovg")) -> xr.Dataset:
    rng = np.random.default_rng(3)
    shape = (len(methods), 2, 12)
    return xr.Dataset({n: (("method", "seed", "sample"), 0.8 + 0.02 * rng.standard_normal(shape)) for n in names},
                      coords={"method": list(methods), "seed": [0, 1], "sample": range(12)})


def _layers(spec):
    """Every list of layers in a (nested) spec."""
    if isinstance(spec, dict):
        if isinstance(spec.get("layer"), list):
            yield spec["layer"]
        for v in spec.values():
            yield from _layers(v)
    elif isinstance(spec, list):
        for v in spec:
            yield from _layers(v)


def _mark(layer: dict) -> dict:
    m = layer.get("mark", {})
    return {"type": m} if isinstance(m, str) else m


def _y(layer: dict) -> dict:
    return layer.get("encoding", {}).get("y", {})


# ------------------------------------------------------------------------- points on a fitted axis (flow chapter)

def test_a_score_with_an_interval_is_a_point_on_an_axis_fitted_to_it():
    """metric_bars with an interval (the flow chapter's S_DC, Δlog E_HF and PSNR, the tables' interval over crops)
    draws a point and a rule per method on an axis that spans the values shown, not one from 0."""
    ds = _per_crop()
    for key in ("s_dc", "psnr"):
        spec = metric_bars(ds, key, interval="crops").to_dict()
        layers = spec["layer"]
        types = [_mark(layer)["type"] for layer in layers]
        assert "bar" not in types and "point" in types and "errorbar" in types
        scale = _y(next(lay for lay in layers if _mark(lay)["type"] == "point")).get("scale", {})
        assert scale.get("zero") is False and scale["domain"][0] > 0.5, scale
        subtitle = " ".join(spec["layer"][0]["title"]["subtitle"])
        assert "not from 0" in subtitle and "interval over test crops" in subtitle


def test_the_flow_chapter_draws_its_scores_as_points():
    ds = _stored("flow_collapse")
    for key in ("s_dc", "delta_log_e_hf", "psnr"):
        types = {_mark(lay)["type"] for lay in metric_bars(ds, key, interval="crops").to_dict()["layer"]}
        assert "bar" not in types and "point" in types, (key, types)


def test_a_number_per_group_without_interval_stays_a_bar():
    ds = _per_crop().isel(sample=0, seed=0, drop=True)
    types = [_mark(lay)["type"] for lay in metric_bars(ds, "s_dc", over=None).to_dict()["layer"]]
    assert types[0] == "bar" and "point" not in types


# ------------------------------------------------------------------------------- intervals readable over marks

def _readable(spec) -> list[str]:
    """The problems of a spec's intervals: a black interval over a bar or point of the same layer with no wider white
    rule beneath it (black on a dark bar does not read)."""
    bad = []
    for layers in _layers(spec):
        marks = [_mark(lay) for lay in layers]
        if not any(m.get("type") in ("bar", "point") for m in marks):
            continue
        for i, m in enumerate(marks):
            if m.get("type") != "errorbar" or m.get("color", "black") == "white":
                continue
            halo = [h for h in marks[:i] if h.get("type") == "errorbar" and h.get("color") == "white"
                    and h.get("thickness", 1) > m.get("thickness", 1)]
            if not halo:
                bad.append(f"layer {i}: {m}")
    return bad


def _bar_interval_charts():
    from spectral_collapse.plotting.ablations import improvement_chart
    from spectral_collapse.plotting.main_results import paper_bars
    from spectral_collapse.tables.main_results import paper_comparison

    ds = _per_crop()
    yield "bars", metric_bars(ds, "s_dc", interval="crops", dots=False)
    yield "points", metric_bars(ds, "s_dc", interval="crops", dots=True)
    yield "over seeds", metric_bars(ds, "psnr", dots=False)
    main = _stored("main_results")
    yield "paper", paper_bars(paper_comparison(main), order=list(main["method"].values))
    yield "eps vs x0", improvement_chart(_stored("eps_vs_x0"))


def test_every_interval_reads_over_the_mark_it_crosses():
    """Every chart of marks with intervals (per-method scores, ours beside the paper's, x0 minus ε) draws its black
    interval over a wider white rule, so it shows on a dark bar as on the page."""
    for name, chart in _bar_interval_charts():
        spec = chart.to_dict()
        assert any(_mark(lay).get("type") == "errorbar" for layers in _layers(spec) for lay in layers), name
        assert not _readable(spec), (name, _readable(spec))


# ---------------------------------------------------------------------------------------- reader axis titles

def _metric_keys() -> list[str]:
    from spectral_collapse.tables.flow import FLOW_METRICS
    from spectral_collapse.plotting.labels import reader_names
    from spectral_collapse.framework.aggregate import METRIC_NAMES
    from spectral_collapse.framework.aggregate import TABLE_METRICS

    keys = {*reader_names(), *METRIC_NAMES, *TABLE_METRICS, *FLOW_METRICS, "norm_ratio", "mean_norm_ratio"}
    return sorted(k for k in keys if not k.startswith("eta_"))


@pytest.mark.parametrize("key", _metric_keys())
def test_every_metric_axis_is_titled_by_its_reader_name(key):
    """metric_bars titles its value axis by the metric's reader name (S_G, not s_g), whether or not the results set
    a long_name: over every metric key a chart can show."""
    from spectral_collapse.plotting.labels import chart_label, with_units

    ds = _per_crop((key,))
    spec = metric_bars(ds, key, over="seed", dots=True).to_dict()
    titles = {_y(lay).get("title") for lay in spec["layer"]} - {None}
    assert titles == {with_units(chart_label(key))}, titles
    (title,) = titles
    assert title != key and not re.fullmatch(r"[a-z0-9_]+", title), title
