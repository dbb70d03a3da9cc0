"""A chapter run on the smoke profile opens with a warning that its numbers mean nothing, naming the profile's scale."""
from __future__ import annotations

import xarray as xr

from spectral_collapse.framework.profiles import get_profile
from spectral_collapse.pipeline import notebook


def test_the_smoke_warning_names_the_profiles_scale_and_other_profiles_get_none():
    p = get_profile("smoke")
    text = notebook.profile_caution("smoke")
    assert text.startswith("```{warning}\nSmoke profile: numbers mean nothing here.")
    for part in (f"{p.image_size}-pixel crops", f"{p.steps} sampling steps", f"trained for {p.train_eps.steps} steps"):
        assert part in text
    assert notebook.profile_caution("quick") is None and notebook.profile_caution(None) is None


def test_a_smoke_chapter_shows_the_warning_first(monkeypatch):
    shown = []
    monkeypatch.setattr("spectral_collapse.pipeline.runner.run_study",
                        lambda name, **kw: xr.Dataset(attrs={"profile": kw.get("profile")}))
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(getattr(obj, "data", obj)))
    notebook.open_study("main_results", dataset="ihc-sr", profile="smoke")
    assert shown and shown[0] == notebook.profile_caution("smoke")
    shown.clear()
    notebook.open_study("main_results", dataset="ihc-sr", profile="quick")
    assert not shown
