"""Chart text and scales outside the latent pages: failed methods named beside the paper's bars, PSNR with its
unit, per-arm scores on a fitted axis, and no blank group in the Fig. 2 table."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr


def _cmp(failed: dict) -> pd.DataFrame:
    rows = []
    for m in ("ddim", "ovg", "bdia"):
        for metric in ("s_hf", "s_lf", "s_dc"):
            f = failed.get(m, 0)
            rows.append({"method": m, "metric": metric, "ours_mean": 0.5, "paper_mean": 0.6, "lo": 0.45, "hi": 0.55,
                         "failed": f, "n": 48 - f})
    return pd.DataFrame(rows)


def test_a_failed_method_is_named_as_failed_beside_the_paper():
    from spectral_collapse.plotting.main_results import paper_bars
    from spectral_collapse.framework.aggregate import failed_label
    from spectral_collapse.reference.method_names import method_name

    spec = json.loads(paper_bars(_cmp({"bdia": 17}), order=["ddim", "ovg", "bdia"]).to_json())
    data = pd.DataFrame(spec["datasets"][spec["data"]["name"]])
    want = failed_label(method_name("bdia"), 17, 31)
    assert "failed" in want and want in set(data["method"])
    assert not set(data["method"]) & {"bdia", method_name("bdia")}
    sort = spec["spec"]["layer"][0]["encoding"]["y"]["sort"]
    assert sort[-1] == want
    subtitle = " ".join(spec["title"]["subtitle"])
    assert "Failed samples" in subtitle and "left out of our means" in subtitle
    clean = json.loads(paper_bars(_cmp({}), order=["ddim", "ovg", "bdia"]).to_json())
    assert "failed" not in json.dumps(clean["title"]) and "bdia" in set(
        pd.DataFrame(clean["datasets"][clean["data"]["name"]])["method"])


def _titles(spec, out=None):
    out = [] if out is None else out
    if isinstance(spec, dict):
        for k, v in spec.items():
            if k == "title":
                out.append(v.get("text") if isinstance(v, dict) else v)
            elif k not in ("datasets", "data"):
                _titles(v, out)
    elif isinstance(spec, list):
        for v in spec:
            _titles(v, out)
    return out


def test_psnr_reads_with_its_unit_on_axes_and_titles():
    from spectral_collapse.plotting.charts import metric_bars
    from spectral_collapse.plotting.labels import reader_spec, with_units

    frame = pd.DataFrame({"method": ["ddim", "ovg"] * 2, "seed": [0, 0, 1, 1], "psnr": [20.0, 21.0, 20.5, 21.5]})
    spec = reader_spec(metric_bars(frame, "psnr").to_dict())
    titles = [t for t in _titles(spec) if isinstance(t, str) and "PSNR" in t]
    assert titles and all("PSNR (dB)" in t for t in titles), titles
    assert with_units("PSNR gain (dB)") == "PSNR gain (dB)" and with_units("S_HF") == "S_HF"
    # a facet header that names PSNR, from its key
    import altair as alt

    alt_facet = alt.Chart(pd.DataFrame({"metric": ["psnr", "s_hf"], "v": [1.0, 2.0]})).mark_bar().encode(
        x="v:Q").facet(column="metric:N")
    headed = reader_spec(alt_facet.to_dict())
    expr = headed["config"]["header"]["labelExpr"]
    assert '"psnr" ? "PSNR (dB)"' in expr


def _arm_ds() -> xr.Dataset:
    rng = np.random.default_rng(0)
    seeds, methods, samples = [0, 1, 2], ["ddim", "ovg"], 12
    shape = (len(seeds), len(methods), 2, samples)
    base = np.array([0.84, 0.86])[None, :, None, None]
    s_hf = base + 0.01 * rng.standard_normal(shape) + np.array([0.0, 0.0, 0.02])[:, None, None, None]
    return xr.Dataset({"s_hf": (("train_seed", "method", "seed", "sample"), s_hf)},
                      coords={"train_seed": seeds, "method": methods, "seed": [0, 1], "sample": np.arange(samples)},
                      attrs={"axes": json.dumps(["train_seed"])})


def test_per_arm_scores_sit_on_a_fitted_axis_with_their_intervals():
    from spectral_collapse.plotting.ablations import arm_bars

    spec = json.loads(arm_bars(_arm_ds(), metrics=("s_hf",)).to_json())
    panel = spec["concat"][0]
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in panel["layer"]]
    assert "bar" not in marks and "point" in marks and "errorbar" in marks
    for layer in panel["layer"]:
        scale = layer["encoding"]["y"]["scale"]
        assert scale["zero"] is False
        lo, hi = scale["domain"]
        assert 0.7 < lo < 0.84 and 0.86 < hi < 1.0
    data = pd.DataFrame(spec["datasets"][spec["data"]["name"]])
    assert (data["lo"] < data["mean"]).all() and (data["mean"] < data["hi"]).all()
    assert "not from 0" in " ".join(spec["title"]["subtitle"])


def test_every_method_of_the_fig2_table_has_a_group():
    from spectral_collapse.plotting.figures import FIG2_METHODS as _FIG2_METHODS, fig2_rows
    from spectral_collapse.reference.method_names import method_name

    ds = xr.Dataset({"s_hf": (("method", "sample"), np.ones((len(_FIG2_METHODS), 3)))},
                    coords={"method": list(_FIG2_METHODS), "sample": np.arange(3)})
    rows = fig2_rows(ds)
    assert len(rows) == len(_FIG2_METHODS)
    assert rows["group"].map(lambda g: isinstance(g, str) and g.strip() != "").all()
    assert all(g != method_name(m) for m, g in zip(rows["method"], rows["group"]))


def test_per_arm_scores_name_their_arms_as_the_prose_does():
    from spectral_collapse.plotting.ablations import arm_bars

    ds = _arm_ds().rename(train_seed="backbone").assign_coords(backbone=["unet", "dit", "unet-big"])
    ds.attrs["axes"] = json.dumps(["backbone"])
    spec = json.loads(arm_bars(ds, metrics=("s_hf",)).to_json())
    data = pd.DataFrame(next(iter(spec["datasets"].values())))
    assert list(pd.unique(data["backbone"])) == ["U-Net", "DiT", "unet-big"]   # keys in words, order kept
    seeds = json.loads(arm_bars(_arm_ds(), metrics=("s_hf",)).to_json())
    assert sorted(pd.unique(pd.DataFrame(next(iter(seeds["datasets"].values())))["train_seed"])) == [0, 1, 2]


def test_translation_panel_draws_input_truth_and_each_stored_method_and_greys_a_failed_crop():
    import io

    from PIL import Image

    from spectral_collapse.plotting.main_results import translation_panel

    rng = np.random.default_rng(0)
    img = rng.uniform(-1, 1, (2, 1, 5, 3, 8, 8))   # (method, seed, image, C, y, x)
    ds = xr.Dataset({"images": (("method", "seed", "image", "c", "y", "x"), img),
                     "source_images": (("image", "c", "y", "x"), img[0, 0]),
                     "truth_images": (("image", "c", "y", "x"), img[1, 0]),
                     "failed": (("method", "seed", "image"), np.zeros((2, 1, 5), bool)),
                     "crop": (("seed", "image"), [[7, 3, 1, 4, 9]])},
                    coords={"method": ["ddim", "ovg"]})
    ds["failed"][1, 0, 2] = True
    shown = Image.open(io.BytesIO(translation_panel(ds, zoom=2).data)).convert("RGB")
    cells = np.asarray(shown)
    assert shown.height > 4 * 16 and shown.width > 4 * 16   # four rows (input, truth, DDIM, OVG), four crops
    assert (cells == 200).all(axis=2).sum() > 100              # OVG's failed third crop is a grey tile
