"""The model-quality chapter's tables (``tables.quality``) against the raw variables and gate reports of the
stored model_quality results, and on small datasets whose answers are known by construction."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from test_charts_intervals import _stored

from spectral_collapse.tables import quality as qt
from spectral_collapse.framework.quality import CHECKS, THRESHOLDS, GateReport


@pytest.fixture(scope="module")
def stored():
    return _stored("model_quality")


def _raw_reports(ds) -> dict[str, dict]:
    return json.loads(ds.attrs["gate_reports"])


def _shown(ds, key: str) -> str:
    """A checkpoint folder's name without its 12-digit content hash (the chapter's model name)."""
    folder = json.loads(ds.attrs["checkpoints"]).get(key)
    return re.sub(r"-[0-9a-f]{12}$", "", Path(folder).name) if folder else key


def _rows(raw: dict) -> pd.DataFrame:
    return pd.DataFrame(raw["rows"])


def test_thresholds_table_states_each_checks_rule_with_its_threshold():
    t = qt.thresholds_table()
    assert t["check"].tolist() == list(CHECKS)
    for _, r in t.iterrows():
        word = {"memorisation": "at least", "plateau": "below"}.get(r["check"], "at most")
        fixed = f"{word} {THRESHOLDS[r['check']]:g}" if r["check"] in THRESHOLDS else None
        assert r["passes when"] == (fixed or "at most the 99 % bootstrap half-width of n real maps' share")
        assert r["measures"] == qt.CHECK_TEXT[r["check"]]


def test_gate_table_verdicts_and_failure_marks_follow_the_stored_reports(stored):
    t = qt.gate_table(stored)
    raw = _raw_reports(stored)
    assert list(t.index) == [_shown(stored, k) for k in raw]
    for key, rep in raw.items():
        row = t.loc[_shown(stored, key)]
        verdict = bool(stored["passed"].sel(model=key))
        assert row["gate"] == ("passes" if verdict else "fails")
        rows = _rows(rep)
        failed_checks = set(rows.loc[rows["passed"] == False, "check"])  # noqa: E712 (None: not judged)
        marked = {c for c in row.index if c != "gate" and str(row[c]).endswith("✗")}
        assert len(marked) == len(failed_checks)
    # a model fails the gate exactly when one of its checks is marked
    assert ((t["gate"] == "fails") == t.drop(columns="gate").apply(lambda r: r.str.endswith("✗").any(), axis=1)).all()


def test_start_table_puts_the_judged_error_beside_the_pure_noise_one(stored):
    t = qt.start_table(stored).reset_index()
    expected = []
    for key, rep in _raw_reports(stored).items():
        rows = _rows(rep)
        for u in rep.get("info", {}).get("unit_start", []):
            at = rows[(rows["sampler"] == u["sampler"]) & (rows["label"] == u["label"])]
            judged = dict(zip(at["check"], at["value"]))
            expected.append((_shown(stored, key), int(u["label"]), u["sampler"], judged["mean"], u["mean"],
                             judged["std"], u["std"]))
        for u in rep.get("info", {}).get("euler", []):
            expected.append((_shown(stored, key), int(u["label"]), "Euler (not judged)", u["mean"], np.nan, u["std"],
                             np.nan))
    assert len(t) == len(expected) > 0
    cols = ["mean error, gate start", "mean error, pure noise", "std error, gate start", "std error, pure noise"]
    for (_, r), e in zip(t.iterrows(), expected):
        assert (r["model"], r["label"], r["sampler"]) == e[:3]
        np.testing.assert_allclose(r[cols].to_numpy(float), np.round(np.array(e[3:], float), 3), atol=1e-12)


def test_decoder_ceiling_pairs_each_failed_latent_band_with_the_autoencoders_ratio(stored):
    info = json.loads(stored.attrs["models"])
    raw = _raw_reports(stored)
    vae = next(k for k, m in info.items() if m["parameterization"] == "vae")
    vrows = _rows(raw[vae])
    expected = []
    for key, rep in raw.items():
        if info[key]["space"] != "latent" or key == vae:
            continue
        rows = _rows(rep)
        for _, b in rows[(rows["check"] == "spectrum") & (rows["passed"] == False)].iterrows():  # noqa: E712
            dec = np.asarray(vrows[(vrows["check"] == "spectrum") & (vrows["label"] == b["label"])].iloc[0]["bands"])
            for k, v in enumerate(b["bands"]):
                if abs(v) > THRESHOLDS["spectrum"]:
                    expected.append((_shown(stored, key), int(b["label"]), b["sampler"], k + 1, v, dec[k]))
    t = qt.decoder_ceiling(stored).reset_index()
    assert len(t) == len(expected)
    for (_, r), (model, label, sampler, band, mine, dec) in zip(t.iterrows(), expected):
        assert (r["model"], r["label"], r["sampler"], r["band"]) == (model, label, sampler, band)
        assert abs(r["model's log10 ratio"]) > THRESHOLDS["spectrum"] - 5e-4
        assert r["model's log10 ratio"] == pytest.approx(mine, abs=5e-4)
        assert r["decoder's log10 ratio"] == pytest.approx(dec, abs=5e-4)
        assert r["decoder's share"] == f"{round(100 * dec / mine):.0f} %"


def _report(key, rows):
    return GateReport(key, pd.DataFrame(rows)).to_dict()


def _spectrum(sampler, label, bands, passed):
    return dict(check="spectrum", sampler=sampler, label=label, value=float(np.max(np.abs(bands))), threshold=0.3,
                rule="<=", passed=passed, bands=list(bands))


def test_decoder_ceiling_on_a_known_latent_failure_and_without_an_autoencoder():
    lat = [0.0] * 16
    lat[2], lat[15] = -0.5, 0.4
    dec = [0.1] * 16
    dec[2], dec[15] = -0.25, 0.4
    reports = {"lat": _report("lat", [_spectrum("DDIM", 1, lat, False), _spectrum("DDIM", 0, [0.0] * 16, True)]),
               "pix": _report("pix", [_spectrum("DDIM", 1, lat, False)]),
               "vae": _report("vae", [_spectrum("decode", 1, dec, True)])}
    info = {"lat": {"space": "latent", "parameterization": "eps"}, "pix": {"space": "pixel", "parameterization": "eps"},
            "vae": {"space": "pixel", "parameterization": "vae"}}
    ds = xr.Dataset(attrs={"gate_reports": json.dumps(reports), "models": json.dumps(info)})
    t = qt.decoder_ceiling(ds)
    assert list(t.index) == [("lat", 1), ("lat", 1)]       # the pixel-space model is no latent model: not listed
    assert t["band"].tolist() == [3, 16]
    assert t["decoder's share"].tolist() == [f"{100 * -0.25 / -0.5:.0f} %", f"{100 * 0.4 / 0.4:.0f} %"]
    del info["vae"], reports["vae"]
    ds.attrs.update(gate_reports=json.dumps(reports), models=json.dumps(info))
    assert qt.decoder_ceiling(ds).empty


def test_mean_bias_table_shows_the_channel_that_strays_most(stored):
    t = qt.mean_bias_table(stored)
    mb = stored["mean_bias"]
    measured = [k for k in stored["model"].values.tolist() if not np.isnan(mb.sel(model=k).values).all()]
    assert sorted(set(t.index.get_level_values("model"))) == sorted(_shown(stored, k) for k in measured)
    assert len(measured) < stored.sizes["model"]      # the autoencoder and the latent model are left out
    for key in measured:
        for lab in (0, 1):
            row = t.loc[(_shown(stored, key), lab)]
            for sig in mb["bias_sigma"].values:
                v = mb.sel(model=key, label=lab, bias_sigma=sig).values
                cell = row[f"σ = {sig:g}"]
                if np.isnan(v).all():
                    assert cell == "—"
                    continue
                worst = 100 * v[np.nanargmax(np.abs(v))]
                shown = float(cell.replace(" %", "").replace("+", ""))
                assert shown == pytest.approx(round(worst, 1), abs=0.051)
                assert abs(shown) >= round(100 * np.nanmax(np.abs(v)), 1) - 0.051


def test_mean_bias_table_is_empty_without_the_measurement():
    ds = xr.Dataset({"mean_bias": (("model", "label", "bias_sigma", "bias_channel"), np.full((1, 2, 2, 3), np.nan))},
                    coords={"model": ["m"], "label": [0, 1], "bias_sigma": [0.1, 1.0]})
    assert qt.mean_bias_table(ds).empty
    assert qt.mean_bias_table(ds.drop_vars("mean_bias")).empty


def test_shown_names_leave_a_frame_without_a_model_level_alone():
    frame = pd.DataFrame({"x": [1, 2]}, index=pd.Index(["a", "b"], name="other"))
    ds = xr.Dataset(attrs={"checkpoints": json.dumps({"a": "ckpt/a-quick-0123456789ab"})})
    assert qt._named(ds, frame.copy()).index.tolist() == ["a", "b"]
    assert qt._named(ds, frame.rename_axis("model")).index.tolist() == ["a-quick", "b"]
