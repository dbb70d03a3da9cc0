"""The ablation and seed chapters name each arm one way (the reader's names) and list the models below the gate."""
from __future__ import annotations

from spectral_collapse.studies.claims_words import ARM_WORDS, arm_name
from spectral_collapse.report.settings_words import arm_words, words

def test_an_arm_named_in_words_is_never_split_at_its_hyphen():
    assert words("arm U-Net") == "arm: U-Net"                      # was "arm: U, Net"
    assert words(f"arm {arm_name({'parameterization': 'eps', 'factor': 4})}") == "arm: ε-prediction, ×4"
    assert words("arm unet") == "arm: U-Net" and arm_words("eps-factor4") == "eps, ×4"   # stored tags still read
    assert arm_name({"train_seed": 1}) == "training seed 1" and "train_seed" in ARM_WORDS


def test_weak_models_are_the_models_below_the_gate_by_name():
    import json

    import xarray as xr

    from spectral_collapse.studies.ablation_tables import weak_models

    gates = {"m-eps-quick-0123456789ab": {"passed": True}, "m-eps-dit-quick-abcdef012345": {"passed": False},
             "m-eps-latent-quick-fedcba987654": {"passed": False}}
    ds = xr.Dataset(attrs={"model_gate": json.dumps(gates)})
    assert weak_models(ds) == ["m-eps-dit-quick", "m-eps-latent-quick"]
    assert weak_models(xr.Dataset()) == []
