"""The stored Pareto sweeps of the bundled datasets: their crops are the interleaved validation crops and none of the
main results' test crops, and each OVG variant's stored choice is the rule applied to the stored grid (not a pick
by hand), inside the real crops' bands where any point is, no less real than its unguided method where any point
is, with every edge it sits on grown once."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

RESULTS = Path(__file__).resolve().parents[1] / "data" / "results"
DATASETS = ("ihc-sr", "ihc-edges")


def _load(study: str, dataset: str):
    from spectral_collapse.framework.store import load_results

    path = RESULTS / study / f"{dataset}-quick.nc"
    if not path.exists():
        pytest.skip(f"no stored results of {study} for {dataset}")
    return load_results(path)


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_sweep_tuned_on_interleaved_validation_crops_no_table_scores(dataset):
    from spectral_collapse.framework.profiles import get_profile
    from spectral_collapse.framework.splits import validation_crops

    sweep, main = _load("pareto", dataset), _load("main_results", dataset)
    n_split = 64   # the bundled test band at size 32: 16 rows x 4 columns of tiles
    crops = json.loads(sweep.attrs["tuning_crops"])
    assert crops == validation_crops(n_split, get_profile("quick").n_val)
    assert len({c // 4 for c in crops}) == len(crops)                    # one per row of tiles
    tested = set(np.asarray(main["crop"].values).ravel().tolist())
    assert tested and not tested & set(crops)


@pytest.mark.parametrize("dataset", DATASETS)
def test_each_stored_choice_is_the_rule_applied_to_the_stored_grid(dataset):
    from spectral_collapse.studies.pareto import BAND_OF, baseline_summary, grid_summary
    from spectral_collapse.studies.pareto_choice import BASE_OF, choose_point

    sweep = _load("pareto", dataset)
    grid = grid_summary(sweep)
    bands = {k: tuple(v) for k, v in json.loads(sweep.attrs["bands"]).items()}
    choices = json.loads(sweep.attrs["choices"])
    extended = set(json.loads(sweep.attrs["grid_extended"]))
    base_kid = baseline_summary(sweep).set_index("method")["kid_wav"]
    for base, part in grid.groupby("base", sort=False):
        part = part.sort_values(["eta_hf", "eta_lf"])
        ranks = part["eta_hf"].rank(method="dense") + part["eta_lf"].rank(method="dense")
        pick = choose_point(part["kid_wav"].values, part["s_lf"].values, part[BAND_OF["luma"]].values,
                            part[BAND_OF["chroma"]].values, bands, base_kid=float(base_kid[BASE_OF[base]]),
                            rule=sweep.attrs["rule"],
                            eligible=(part["failed"] == 0).values, size=ranks.values)
        c = choices[base]
        row = part.iloc[pick["index"]]
        assert (row["eta_hf"], row["eta_lf"]) == pytest.approx((c["eta_hf"], c["eta_lf"]))
        assert bool(row["chosen"]) and int(part["chosen"].sum()) == 1
        assert c["in_band"] == pick["banded"]                          # inside both bands whenever any point is
        assert c["beats_base"] == pick["beats_base"]
        assert (c["kid_wav"] <= base_kid[BASE_OF[base]]) == c["beats_base"]   # no less real than unguided, if any is
        for edge in c["on_edge"]:                                      # an edge it sits on was grown past once
            assert edge in extended, (base, edge, extended)
