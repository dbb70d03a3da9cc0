"""The Pareto chapter's wording: the variants the rule picks a point for, one name for the sweep's crops, one order."""
import numpy as np
import xarray as xr

BASES = ["ovg", "ovg_taba", "ovg_edm"]


def _sweep(**attrs) -> xr.Dataset:
    failed = np.zeros((3, 2, 2, 4), bool)
    failed[1, 0, 0, :3] = True
    ds = xr.Dataset({"failed": (("base", "eta_hf", "eta_lf", "sample"), failed),
                     "failure": (("base", "eta_hf", "eta_lf", "sample"), np.where(failed, "non-finite", ""))},
                    coords={"base": BASES, "eta_hf": [1e-7, 1e-6], "eta_lf": [1e-3, 1e-2]})
    ds.attrs.update({"study": "pareto", "primary": "ovg", "rule": "maximin", **attrs})
    return ds


def test_settings_list_every_variant_the_rule_picks_a_point_for():
    from spectral_collapse.report.settings import reader_view, settings_table

    view = reader_view(settings_table(_sweep(), ("rule", "primary")))
    row = next(i for i in view.index if "rule picks" in i)
    value = str(view.loc[row].iloc[0])
    from spectral_collapse.studies.method_labels import method_name
    names = [method_name(b) for b in BASES]
    assert all(n in value for n in names), value
    assert [value.index(n + ",") if n + "," in value else value.rindex(n) for n in names] == \
        sorted(value.index(n + ",") if n + "," in value else value.rindex(n) for n in names)
    assert "compares" not in " ".join(view.index)


def test_sweep_source_names_validation_crops():
    from spectral_collapse.report.settings_words import ovg_text

    text = ovg_text({"eta_hf": 1e-6, "eta_lf": 1e-3,
                     "source": "Pareto sweep for ihc-sr, quick (ovg, rule maximin, 12 validation images, seed 0)"})
    assert "12 validation crops" in text and "images" not in text, text
