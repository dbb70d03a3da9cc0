"""The flow chapter's words: no code names in its prose."""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_flow_prose_names_no_code_and_no_sentence_lacks_its_noun():
    nb = json.loads((ROOT / "notebooks" / "flow_collapse.ipynb").read_text())
    prose = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "LATENT_SCALE" not in prose and "spectral_collapse.studies" not in prose
    assert "model's scale it" not in prose
    assert "is the ε-prediction model's U-Net" not in prose
