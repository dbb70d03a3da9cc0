"""The fill's claim reads each dataset's main results: KID_wav against OVG and TABA and S_LF against OVG, each by
non-inferiority; results without the fill leave it not testable."""
from __future__ import annotations

from pathlib import Path

import pytest

from spectral_collapse.claims.fill import fill_claim
from spectral_collapse.verdicts.words import UNTESTABLE, VERDICT_ORDER

ROOT = Path(__file__).resolve().parents[1]


def test_the_claim_is_not_testable_without_the_fill():
    from types import SimpleNamespace

    import xarray as xr

    ds = xr.Dataset(coords={"method": ["ddim", "ovg", "taba"]})
    ev = SimpleNamespace(extra={"main": {"ihc-sr": ds}}, select=lambda *a, **k: __import__("pandas").DataFrame())
    assert fill_claim()(ev).verdict == UNTESTABLE


def test_on_the_stored_results_each_dataset_gets_three_checks_with_gaps():
    from spectral_collapse.claims.evidence import load_evidence

    if not (ROOT / "data/results/main_results/ihc-sr-quick.nc").exists():
        pytest.skip("no stored main results")
    found = fill_claim()(load_evidence(ROOT / "data/results", "quick"))
    assert found.verdict in VERDICT_ORDER and found.verdict != UNTESTABLE
    for ds in ("ihc-sr", "ihc-edges"):
        assert found.detail.count(f"{ds}: ") == 3 and f"{ds}: S_LF ddim_fill − ovg" in found.detail
    assert len(found.gaps) == 4 and all("KID_wav ddim_fill against" in g.what for g in found.gaps)
