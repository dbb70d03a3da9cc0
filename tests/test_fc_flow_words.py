"""The flow chapter's words: the pattern rule as a number, no code names in its prose."""
import json
import re
from pathlib import Path

from tests.test_pareto_velocity_rules import _flow_pictures

ROOT = Path(__file__).resolve().parents[1]


def test_the_pattern_rule_is_stated_as_a_number():
    from spectral_collapse.report.flow_collapse import PATTERN, picture_text

    text = picture_text(_flow_pictures(stripe=1.5, contrast=1.7))
    rule = re.search(rf"at least {PATTERN:g} times the noise's, here (\d+\.\d)", text)
    assert rule, text
    noise = float(re.search(r"against (\d+\.\d) for N\(0, I\) noise", text).group(1))
    assert abs(float(rule.group(1)) - PATTERN * noise) <= PATTERN * 0.05 + 0.05 + 1e-9   # both shown to one decimal
    assert "cycles/px" not in text


def test_flow_prose_names_no_code_and_no_sentence_lacks_its_noun():
    nb = json.loads((ROOT / "notebooks" / "flow_collapse.ipynb").read_text())
    prose = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "LATENT_SCALE" not in prose and "spectral_collapse.studies" not in prose
    assert "model's scale it" not in prose
    assert "is the ε-prediction model's U-Net" not in prose
