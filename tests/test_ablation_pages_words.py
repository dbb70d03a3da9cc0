"""The ablation and seed chapters' tables and prose name each arm, model and step size one way (the reader's names)."""
from __future__ import annotations

from spectral_collapse.studies.claims_words import ARM_WORDS, arm_name
from spectral_collapse.report.settings_words import arm_words, words

def test_an_arm_named_in_words_is_never_split_at_its_hyphen():
    assert words("arm U-Net") == "arm: U-Net"                      # was "arm: U, Net"
    assert words(f"arm {arm_name({'parameterization': 'eps', 'factor': 4})}") == "arm: ε-prediction, ×4"
    assert words("arm unet") == "arm: U-Net" and arm_words("eps-factor4") == "eps, ×4"   # stored tags still read
    assert arm_name({"train_seed": 1}) == "training seed 1" and "train_seed" in ARM_WORDS
