"""The ablation and seed chapters' tables and prose name each arm, model and step size one way (the reader's names)."""
from __future__ import annotations

import json

import xarray as xr

from spectral_collapse.report.ablation_curves import factor_trend_text, verdict_metrics
from spectral_collapse.report.ablations import ARM_WORDS, arm_name, run_settings
from spectral_collapse.report.settings import short_model_names
from spectral_collapse.report.settings_words import arm_words, words


def test_an_arm_named_in_words_is_never_split_at_its_hyphen():
    assert words("arm U-Net") == "arm: U-Net"                      # was "arm: U, Net"
    assert words(f"arm {arm_name({'parameterization': 'eps', 'factor': 4})}") == "arm: ε-prediction, ×4"
    assert words("arm unet") == "arm: U-Net" and arm_words("eps-factor4") == "eps, ×4"   # stored tags still read
    assert arm_name({"train_seed": 1}) == "training seed 1" and "train_seed" in ARM_WORDS


def test_an_ablation_settings_table_names_each_arm_and_its_setup_in_words():
    per_arm = {"unet": {"backbone": "unet", "space": "pixel", "parameterization": "eps", "wavelet": "sym3"},
               "dit": {"backbone": "dit", "space": "latent", "parameterization": "x0", "wavelet": "sym3"}}
    ds = xr.Dataset(attrs={"study": "backbone_ablation", "steps": 50, "axes": json.dumps(["backbone"]),
                           "arms": json.dumps([{"tag": "unet", "backbone": "unet"}, {"tag": "dit", "backbone": "dit"}]),
                           "per_arm": json.dumps(per_arm)})
    shown = short_model_names(run_settings(ds))
    assert "arm: U-Net" in shown.index and "arm: DiT" in shown.index
    assert shown.loc["arm: U-Net", "value"] == "U-Net, pixel space, ε-prediction, wavelet sym3"
    assert shown.loc["arm: DiT", "value"] == "DiT, latent space, x0-prediction, wavelet sym3"
    assert "parameter" not in shown.columns   # no column empty but for one row


def test_the_scale_verdict_says_which_metric_it_judges():
    assert verdict_metrics(("s_hf", "s_dc")) == ["s_dc"]     # the claim's rule reads S_DC alone
    assert factor_trend_text(xr.Dataset()) == ""            # no factors: nothing said
