"""Fig. 4 draws each point's interval bars on both axes, and says so."""
from __future__ import annotations

import pandas as pd


def test_fig4_draws_each_points_interval_bars():
    """Each point of Fig. 4 carries its interval bars on both axes, and the subtitle says what they are."""
    from spectral_collapse.plotting.figures import correlation_figure

    pts = pd.DataFrame({"dataset": ["a", "a", "b"], "method": ["taba", "ovg_taba", "ddim"],
                        "s_hf": [0.95, 0.951, 0.8], "s_lf": [0.7, 0.4, 0.6], "s_dc": [0.99, 0.992, 0.4]})
    for m in ("s_hf", "s_lf", "s_dc"):
        pts[f"{m}_lo"], pts[f"{m}_hi"] = pts[m] - 0.02, pts[m] + 0.02
    spec = correlation_figure(pts).to_dict()
    rules = [lay for lay in spec["hconcat"][0]["layer"] if lay["mark"]["type"] == "rule"]
    assert any("y2" in lay["encoding"] for lay in rules) and any("x2" in lay["encoding"] for lay in rules)
    assert "interval" in " ".join(spec["title"]["subtitle"])
