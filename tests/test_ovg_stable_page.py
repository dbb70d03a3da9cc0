"""The OVG section of the methods page says where the book runs OVG's stable form, and that statement matches what the studies run:
the chapters it names are the studies whose default methods include the stable form's label, and, where results are
stored, the studies whose results hold that label."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _named_studies() -> set[str]:
    from tests.test_method_pages_facts import method_section

    page = method_section("ovg")
    where = re.search(r"\*Where the book uses it:\*(.+?)(?=\n- |\n\n)", page, re.S)
    assert where, "the OVG page does not say where the book uses the stable form"
    return set(re.findall(r"</studies/(\w+)>", where.group(1)))


def test_the_page_names_the_studies_that_run_the_stable_form_by_default():
    from spectral_collapse.studies import ablations, flow_collapse, latents
    from spectral_collapse.framework.method_labels import BASELINE_LABELS, PAPER_LABELS
    from spectral_collapse.reference.method_names import STABLE_OVG_LABEL

    by_study = dict(ablations.STUDY_LABELS)
    defaults = {"flow_collapse": flow_collapse.FLOW_LABELS, "velocity": latents.VELOCITY_LABELS,
                "main_results": PAPER_LABELS + BASELINE_LABELS}
    running = {s for s, labels in {**defaults, **by_study}.items() if STABLE_OVG_LABEL in labels}
    assert running and _named_studies() == running


def test_the_named_studies_are_the_stored_results_that_hold_the_stable_form():
    import pytest
    import xarray as xr

    from spectral_collapse.reference.method_names import STABLE_OVG_LABEL

    files = sorted((ROOT / "data" / "results").glob("*/*-quick.nc"))
    if not files:
        pytest.skip("no stored results in this checkout")
    holding = set()
    for f in files:
        with xr.open_dataset(f, engine="h5netcdf") as ds:
            if "method" in ds.coords and STABLE_OVG_LABEL in {str(m) for m in ds["method"].values}:
                holding.add(f.parent.name)
    assert holding == _named_studies()
