"""Fig. 4's scatter: points set apart sideways so as not to print over each other stay inside the frame."""
from __future__ import annotations

import numpy as np
import pandas as pd


def test_points_set_apart_sideways_stay_inside_the_frame():
    from spectral_collapse.plotting.figures import MARKER_PX, correlation_figure

    methods = ["ddim", "taba", "edm", "ovg", "ovg_edm"]
    # five methods at one spot at the right end of S_DC: the last ones drawn two steps to the right
    pts = pd.DataFrame({"dataset": "a", "method": methods, "s_dc": 1.0, "s_hf": 0.9 + 0.001 * np.arange(5),
                        "s_lf": 0.5 + 0.001 * np.arange(5)})
    pts = pd.concat([pts, pd.DataFrame({"dataset": "a", "method": ["bdia"], "s_dc": [0.2], "s_hf": [0.7],
                                        "s_lf": [0.3]})], ignore_index=True)
    spec = correlation_figure(pts, width=225, height=210).to_dict()
    seen = 0
    for panel in spec["hconcat"]:
        width = panel["width"]
        for layer in panel["layer"]:
            mark = layer["mark"]
            if mark.get("type") != "point":
                continue
            dom = layer["encoding"]["x"]["scale"]["domain"]
            data = pd.DataFrame(spec["datasets"][layer["data"]["name"]])
            px = (data["s_dc"].to_numpy(float) - dom[0]) / (dom[1] - dom[0]) * width + mark.get("xOffset", 0)
            assert (px >= MARKER_PX - 1e-6).all() and (px <= width - MARKER_PX + 1e-6).all(), (px, dom)
            seen += int(mark.get("xOffset", 0) != 0)
    assert seen   # some points were set apart
