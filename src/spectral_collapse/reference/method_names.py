"""The name a reader sees for each method label, as the paper and the glossary write them ("ovg_edm" ->
"OVG + EDM"). Imports nothing of the package, so every layer may use it; ``framework.method_labels`` says what each
label runs."""
from __future__ import annotations

__all__ = ["STABLE_OVG_LABEL", "METHOD_NAMES", "method_name"]

# OVG's stable form (OVG.stable()) on the same model as ``ovg``, with its own step-size defaults (``StableOVG``):
# dimensionless rates on another scale than the paper form's eta, so not the study's eta_hf / eta_lf.
STABLE_OVG_LABEL = "ovg_stable"

# The label itself is what a user types (``methods=[...]``) and what the results store.
METHOD_NAMES = {
    "ddim": "DDIM", "taba": "TABA", "edm": "EDM", "ovg": "OVG", "ovg_taba": "OVG + TABA", "ovg_edm": "OVG + EDM",
    STABLE_OVG_LABEL: "OVG (stable form)",
    "null_class": "Null-Class", "direct_inversion": "DirectInversion", "renoise": "ReNoise", "edict": "EDICT",
    "bdia": "BDIA",
    # the fill (inversion/methods/fill.py): the base inversion, the latent's off-support component drawn fresh
    "ddim_fill": "DDIM + fill", "ovg_fill": "OVG + fill",
    "copy": "copy (control)", "ground_truth": "ground truth (control)",
    # the flow chapter's remedy: DDIM with its inverted latent scaled by studies.flow_collapse.LATENT_SCALE
    "ddim_x1.15": "DDIM (latent ×1.15)",
}


def method_name(label) -> str:
    """The reader's name of a method label ("ovg_edm" -> "OVG + EDM"); any other label as it is."""
    return METHOD_NAMES.get(str(label), str(label))
