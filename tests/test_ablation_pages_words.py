"""The ablation and seed chapters name each arm one way (the reader's names) and list the models below the gate."""
from __future__ import annotations



def test_weak_models_are_the_models_below_the_gate_by_name():
    import json

    import xarray as xr

    from spectral_collapse.tables.ablations import weak_models

    gates = {"m-eps-quick-0123456789ab": {"passed": True}, "m-eps-dit-quick-abcdef012345": {"passed": False},
             "m-eps-latent-quick-fedcba987654": {"passed": False}}
    ds = xr.Dataset(attrs={"model_gate": json.dumps(gates)})
    assert weak_models(ds) == ["m-eps-dit-quick", "m-eps-latent-quick"]
    assert weak_models(xr.Dataset()) == []
