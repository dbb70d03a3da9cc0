"""Prose of the flow and Pareto chapters, read on their stored results: the rules a verdict follows are stated where
it is given, lists read as English, one precision and one name per quantity."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "data" / "results"


def _load(study: str, dataset: str = "ihc-sr"):
    from spectral_collapse.framework.store import load_results

    path = ROOT / study / f"{dataset}-quick.nc"
    if not path.exists():
        pytest.skip(f"no stored {study} result")
    return load_results(path)


def test_flow_intro_states_the_latent_scale_in_words_and_uses_epsilon():
    import json

    from spectral_collapse.studies.flow_collapse import LATENT_SCALE

    nb = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "flow_collapse.ipynb").read_text())
    md = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    # the scale's value in words, not the constant's code name
    assert "Flux users" not in md and "LATENT_SCALE" not in md and f"{LATENT_SCALE:g}" in md
    assert "eps model" not in md
    assert not re.search(r"(?<![$\\{])‖x_T‖", md)     # prose typesets x_T


