"""The book's method colours: one colour per method on every chart, distinct, whatever subset a chart shows."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from spectral_collapse.plotting.palette import METHOD_COLORS, method_colors
from spectral_collapse.studies.controls import CONTROLS
from spectral_collapse.studies.translation import BASELINE_LABELS, PAPER_LABELS, STABLE_OVG_LABEL


def test_every_method_and_control_has_its_own_colour():
    labels = (*PAPER_LABELS, *BASELINE_LABELS, STABLE_OVG_LABEL, *CONTROLS)
    assert set(labels) <= set(METHOD_COLORS)
    colours = [METHOD_COLORS[m] for m in labels]
    assert len(set(colours)) == len(colours)


def test_a_method_keeps_its_colour_in_any_subset_and_other_labels_get_unused_colours():
    a = dict(zip(*method_colors(["taba", "bdia", "ddim"])))
    b = dict(zip(*method_colors(["ddim", "N(0, I)", "taba", "taba"])))
    assert a["taba"] == b["taba"] == METHOD_COLORS["taba"] and a["ddim"] == b["ddim"]
    assert a["taba"] != a["bdia"]
    assert b["N(0, I)"] not in METHOD_COLORS.values() and list(b) == ["ddim", "N(0, I)", "taba"]


def test_the_bar_chart_colours_methods_from_the_palette():
    from spectral_collapse.plotting.charts import metric_bars

    frame = pd.DataFrame({"method": ["taba", "bdia", "ddim"] * 2, "seed": [0] * 3 + [1] * 3,
                          "s_g": np.linspace(0.1, 0.6, 6)})
    spec = json.loads(metric_bars(frame, "s_g", over="seed").to_json())
    scale = spec["layer"][0]["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"])) == {m: METHOD_COLORS[m] for m in ("taba", "bdia", "ddim")}
