"""Chapter text rules: a table says a method's failed samples once, in its row label; the Pareto chart keeps every
marker visible and names bases and baselines as a reader does; the fallback step sizes and a calibration name
their source as the studies do."""
from __future__ import annotations

import json
import re

import numpy as np
import xarray as xr

from spectral_collapse.tables.main_results import format_summary
from spectral_collapse.framework.method_labels import OVG_DEFAULTS
from spectral_collapse.reference.method_names import method_name

# ---------------------------------------------------------------------------------------------- tables

def _translation(failed: dict[str, int], n_seed: int = 3, n_sample: int = 8) -> xr.Dataset:
    """Per-sample scores of a few methods, the first ``failed[m]`` samples of seed 0 failed (NaN, flagged)."""
    rng = np.random.default_rng(0)
    methods = list(failed)
    shape = (len(methods), n_seed, n_sample)
    dims = ("method", "seed", "sample")
    mask = np.zeros(shape, bool)
    for i, m in enumerate(methods):
        mask[i, 0, :failed[m]] = True
    data = {k: np.where(mask, np.nan, rng.uniform(0.2, 0.9, shape)) for k in ("psnr", "s_hf", "s_lf")}
    data["psnr"] = data["psnr"] * 30
    ds = xr.Dataset({k: (dims, v) for k, v in data.items()}, coords={"method": methods, "seed": range(n_seed),
                                                                      "sample": range(n_sample)})
    ds["failed"] = (dims, mask)
    ds["crop"] = (("seed", "sample"), np.arange(n_seed * n_sample).reshape(n_seed, n_sample))
    return ds


def test_a_method_with_failed_samples_says_so_once_in_its_row_label_and_its_cells_hold_numbers():
    ds = _translation({"ddim": 0, "bdia": 3, "edict": 0})
    table = format_summary(ds, ["psnr", "s_hf", "s_lf"], controls=False)
    total = ds.sizes["seed"] * ds.sizes["sample"]
    assert list(table.index) == ["ddim", f"bdia (3 of {total} failed)", "edict"]
    text = table.to_string()
    assert text.count("failed") == 1                      # once for the method, not once per metric
    for cell in table.to_numpy().ravel():
        assert re.fullmatch(r"-?\d+\.\d+ \[-?\d+\.\d+, -?\d+\.\d+\]", cell), cell


def test_a_method_whose_every_sample_failed_has_empty_cells_and_says_how_many_in_its_label():
    ds = _translation({"ddim": 0, "bdia": 8}, n_seed=1)
    ds["psnr"][1] = np.nan
    ds["s_hf"][1] = np.nan
    ds["s_lf"][1] = np.nan
    ds["failed"][1] = True
    table = format_summary(ds, ["psnr", "s_hf"], controls=False)
    assert list(table.index) == ["ddim", "bdia (8 of 8 failed)"]
    assert set(table.loc["bdia (8 of 8 failed)"]) == {"n/a"}


# ---------------------------------------------------------------------------------------------- Pareto chart

def _sweep(points: dict[str, list[tuple[float, float]]], baselines: dict[str, tuple[float, float]]) -> xr.Dataset:
    """A Pareto sweep of several bases on a 2 x 2 grid (values constant over 3 samples), each base's first point
    chosen."""
    bases = list(points)
    hf, lf = [1e-6, 1e-5], [1e-3, 1e-2]
    dims = ("base", "eta_hf", "eta_lf", "sample")
    s_hf = np.array([[p[0] for p in points[b]] for b in bases]).reshape(len(bases), 2, 2, 1).repeat(3, -1)
    s_lf = np.array([[p[1] for p in points[b]] for b in bases]).reshape(len(bases), 2, 2, 1).repeat(3, -1)
    chosen = np.zeros((len(bases), 2, 2), bool)
    chosen[:, 0, 0] = True
    ds = xr.Dataset({"s_hf": (dims, s_hf), "s_lf": (dims, s_lf), "finite": (dims, np.ones_like(s_hf, bool)),
                     "s_g": (dims[:3], np.ones((len(bases), 2, 2))), "on_front": (dims[:3], chosen.copy()),
                     "chosen": (dims[:3], chosen)},
                    coords={"base": bases, "eta_hf": hf, "eta_lf": lf, "sample": range(3)})
    names = list(baselines)
    ds["baseline_s_hf"] = (("method", "sample"), np.array([baselines[m][0] for m in names])[:, None].repeat(3, 1))
    ds["baseline_s_lf"] = (("method", "sample"), np.array([baselines[m][1] for m in names])[:, None].repeat(3, 1))
    ds = ds.assign_coords(method=names)
    ds.attrs.update(dataset="ihc-sr", profile="smoke", primary=bases[0], rule="maximin", n_images=3, seed=0,
                    baseline_sources=json.dumps({m: "synthetic" for m in names}),
                    choices=json.dumps({b: {"eta_hf": hf[0], "eta_lf": lf[0], "s_hf": points[b][0][0],
                                            "s_lf": points[b][0][1]} for b in bases}))
    return ds


# OVG + TABA at small step sizes lands where TABA does: two of its grid points at the TABA baseline's place
SWEEP = {"ovg": [(0.95, 0.70), (0.90, 0.74), (0.80, 0.77), (0.70, 0.30)],
         "ovg_taba": [(0.884, 0.746), (0.8775, 0.7121), (0.8770, 0.7157), (0.876, 0.712)],
         "ovg_edm": [(0.96, 0.90), (0.95, 0.65), (0.75, 0.45), (0.94, 0.21)]}
BASELINES = {"ddim": (0.75, 0.77), "taba": (0.877, 0.712), "edm": (0.79, 0.73)}


def test_each_baseline_is_named_and_a_point_at_a_baselines_place_stays_visible():
    from spectral_collapse.plotting.pareto import pareto_chart

    ds = _sweep(SWEEP, BASELINES)
    spec = pareto_chart(ds).to_dict()
    datasets = spec.get("datasets", {})
    names = [row["name"] for layer in spec["layer"] if layer.get("mark", {}).get("type") == "text"
             for row in datasets[layer["data"]["name"]]]
    assert sorted(names) == sorted(method_name(m) for m in BASELINES)
    # the baselines are outlines drawn over the grid: a grid point under a diamond shows through it
    diamonds = [layer["mark"] for layer in spec["layer"] if layer.get("mark", {}).get("shape") == "diamond"]
    assert diamonds and all(m.get("filled") is False for m in diamonds)


def test_pareto_chart_and_heatmaps_name_bases_and_baselines_by_their_reader_names():
    import vl_convert as vlc

    from spectral_collapse.plotting.labels import reader_spec
    from spectral_collapse.plotting.pareto import grid_heatmaps, pareto_chart

    ds = _sweep(SWEEP, BASELINES)
    spec = pareto_chart(ds).to_dict()
    svg = vlc.vegalite_to_svg(reader_spec(spec))   # as the book's renderer draws it
    assert svg.count(">OVG variant<") == 1        # colour and shape share one legend
    for chart in (pareto_chart(ds), grid_heatmaps(ds)):
        svg = vlc.vegalite_to_svg(reader_spec(chart.to_dict()))
        shown = set(re.findall(r">([^<>]+)</text>", svg))
        for key in SWEEP:
            assert key not in shown and method_name(key) in shown, key
    svg = vlc.vegalite_to_svg(reader_spec(spec))
    assert all(f">{method_name(m)}<" in svg for m in BASELINES)


# ---------------------------------------------------------------------------------------------- your model

def test_the_fallback_step_sizes_are_not_said_to_be_tuned_on_a_dataset():
    from spectral_collapse.studies.pareto_choice import ovg_choice

    op = ovg_choice(None)
    assert (op["eta_hf"], op["eta_lf"]) == (OVG_DEFAULTS["eta_hf"], OVG_DEFAULTS["eta_lf"])
    assert op["source"].startswith("defaults") and "tuned on" not in op["source"]


def test_a_calibration_names_the_data_as_the_study_does(monkeypatch):
    from spectral_collapse.studies import pareto_calibrate as calibrate, pareto
    from spectral_collapse.framework.user_models import UserModels

    grid = {"eta_hf": [1e-7, 1e-5], "eta_lf": [1e-3, 1e-1]}
    empty = xr.Dataset(attrs={"choices": "{}", "grid": json.dumps(grid), "n_images": 4})
    monkeypatch.setattr(pareto, "pareto_results", lambda *a, **kw: empty)
    given = UserModels({"eps": object()}, None, {"model": {"path": "m"}}, 16)
    op = calibrate.calibrate_ovg(None, type("D", (), {"name": "folder"})(), given, "smoke", reason="defaults",
                                 dataset="folder:/data/mine")
    assert "4 validation images of folder:/data/mine with" in op["source"]


