"""Curves that coincide are named arm by arm: a pair drawn over each other in one arm only is still named, under
that arm (``charts.coinciding_groups``, ``charts.grouped_coincidence_note``, the ablations' PCA chart)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spectral_collapse.plotting.charts import coinciding_groups, coinciding_series, grouped_coincidence_note

RESULTS = Path(__file__).resolve().parents[1] / "data" / "results"


def _frame() -> pd.DataFrame:
    x = np.arange(6)
    curves = {"A": {"ddim": x, "ovg": x + 0.001, "taba": 2 * x + 1},
              "B": {"ddim": x, "ovg": x + 3, "taba": x + 3.002},
              "C": {"ddim": x, "ovg": x + 0.002, "taba": x + 0.004}}
    return pd.DataFrame([(arm, s, k, v) for arm, c in curves.items() for s, ys in c.items() for k, v in zip(x, ys)],
                        columns=["arm", "series", "k", "y"])


def test_coinciding_series_are_grouped_per_arm():
    groups = dict(coinciding_groups(_frame(), "series", "k", "y", by=["arm"]))
    assert groups == {"A": [["ddim", "ovg"]], "B": [["ovg", "taba"]], "C": [["ddim", "ovg", "taba"]]}
    # no pair coincides in every arm: a note over pairs coinciding everywhere would name none
    assert coinciding_series(_frame(), "series", "k", "y", by=["arm"]) == []


def test_the_note_says_which_series_coincide_in_which_arm():
    lines = grouped_coincidence_note(coinciding_groups(_frame(), "series", "k", "y", by=["arm"]), 3)
    assert lines[1:] == ["A: DDIM = OVG.", "B: OVG = TABA.", "C: DDIM = OVG = TABA."]
    a = _frame()[lambda f: f["arm"] == "A"]
    same = pd.concat([a, a.assign(arm="C")])   # the same curves in two arms
    lines = grouped_coincidence_note(coinciding_groups(same, "series", "k", "y", by=["arm"]), 2)
    assert lines[1:] == ["every arm: DDIM = OVG."]
    assert grouped_coincidence_note([], 2) == []


@pytest.mark.parametrize("study", ["scale_factor", "space_ablation", "backbone_ablation"])
def test_the_pca_chart_names_the_coinciding_curves_of_each_arm(study):
    from spectral_collapse.plotting.ablations import pca_chart
    from spectral_collapse.studies.method_labels import method_name
    from spectral_collapse.studies.store import load_results

    path = RESULTS / study / "ihc-sr-quick.nc"
    if not path.exists():
        pytest.skip(f"no stored {study} results")
    chart = pca_chart(load_results(path))
    lines = chart.to_dict()["title"]["subtitle"]
    frame = chart.data if isinstance(chart.data, pd.DataFrame) else chart.spec.data
    for arm, g in frame.groupby("arm", sort=False):
        line = next((t for t in lines if t.startswith(f"{arm}: ") or t.startswith("every arm: ")), "")
        for a, b in coinciding_series(g, "method", "component", "cev"):
            assert method_name(a) in line and method_name(b) in line and " = " in line, (arm, a, b, lines)
