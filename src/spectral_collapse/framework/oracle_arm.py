"""The oracle arm of a study: the same study computed with the exact Gaussian denoiser (models/oracle.py, not
gated), stored beside the trained models' numbers as ``<name>__oracle`` (``with_arm``, ``arm_results``), listed in
``attrs["arms"]`` with its own attrs in ``attrs["per_arm"]``."""
from __future__ import annotations

import json

import xarray as xr

from ..models.oracle import ORACLE
from .model_set import dataset_for
from .store import json_default
from .user_models import oracle_models

__all__ = ["ORACLE", "SUFFIX", "ARM_LABELS", "oracle_models", "with_arm", "arm_results", "has_arm", "wants_arm",
           "oracle_heldout"]

SUFFIX = "__" + ORACLE
# the paper's methods (no null-class baselines) and the fill
ARM_LABELS = ("ddim", "taba", "edm", "ovg", "ovg_taba", "ovg_edm", "ddim_fill", "ovg_fill")
_ARM = {"tag": ORACLE, "model": ORACLE, "suffix": SUFFIX, "coords": [["model", ORACLE]]}


def wants_arm(spec) -> bool:
    """Whether a study run gets the oracle arm: its ``oracle_arm`` knob, on the profile's trained models only."""
    return bool(spec.get("oracle_arm", True)) and spec.get("model", None) is None and spec.get("models", None) is None


def with_arm(ds: xr.Dataset, arm: xr.Dataset, form: str | None = None) -> xr.Dataset:
    """``ds`` with the oracle's result ``arm`` stored beside it (``SUFFIX`` on its variables and dimensions)."""
    names = {**{v: f"{v}{SUFFIX}" for v in arm.variables}, **{d: f"{d}{SUFFIX}" for d in arm.dims}}
    out = ds.merge(arm.rename(names), compat="no_conflicts", combine_attrs="override")
    out.attrs = dict(ds.attrs)
    own = {k: v for k, v in arm.attrs.items() if k != "model_gate"}
    if form is not None:
        own["oracle_form"] = form
    arms = [a for a in json.loads(ds.attrs.get("arms", "[]")) if a.get("tag") != ORACLE] + [_ARM]
    per_arm = {**json.loads(ds.attrs.get("per_arm", "{}")), ORACLE: own}
    out.attrs.update(arms=json.dumps(arms), per_arm=json.dumps(per_arm, default=json_default))   # numbers stay numbers
    return out


def has_arm(ds: xr.Dataset, tag: str = ORACLE) -> bool:
    return any(a.get("tag") == tag for a in json.loads(ds.attrs.get("arms", "[]")))


def arm_results(ds: xr.Dataset, tag: str = ORACLE) -> xr.Dataset | None:
    """The arm ``tag`` of a results file as its own results dataset under the original names; None without it."""
    if not has_arm(ds, tag):
        return None
    suffix = "__" + tag
    part = ds[[v for v in ds.data_vars if str(v).endswith(suffix)]]
    part = part.drop_vars([c for c in part.coords if not str(c).endswith(suffix)])
    names = {**{n: str(n)[:-len(suffix)] for n in part.variables}, **{d: str(d)[:-len(suffix)] for d in part.dims}}
    part = part.rename({k: v for k, v in names.items() if str(k).endswith(suffix)})
    attrs = {k: v for k, v in ds.attrs.items() if k not in ("arms", "per_arm", "model_gate")}
    attrs.update(json.loads(ds.attrs.get("per_arm", "{}")).get(tag, {}))
    part.attrs = {**attrs, "model_gate": "{}"}
    return part


def oracle_heldout(profile: str, roles) -> xr.Dataset:
    """``heldout_loss`` (model, band: the mean, then bands 1 ... 4) of the oracle beside each pixel-space eps / EDM
    model of ``roles``, on that model's held-out set, noise levels and objective; empty when there is none."""
    from ..train.losses import heldout_loss, heldout_set
    from .profiles import get_profile

    p, keys, rows = get_profile(profile), [], []
    for role in roles:
        if role.parameterization not in ("eps", "edm") or role.backbone != "unet" or (role.space or p.space) != "pixel":
            continue
        D = oracle_models(profile, role.dataset, factor=role.factor)[role.parameterization]
        cfg = p.train_config(role.parameterization, role.dataset)
        held = heldout_set(dataset_for(profile, role.dataset, role.factor), D, cfg.objective, P_mean=cfg.P_mean,
                           P_std=cfg.P_std)
        if held is None:
            continue
        sd = p.model_spec(role.parameterization, role.dataset).sigma_data
        keys.append(role.key)
        rows.append(heldout_loss(D, held, cfg.objective, sigma_data=sd))
    if not keys:
        return xr.Dataset()
    return xr.Dataset({"heldout_loss": (("model", "band"), rows)}, coords={"model": keys},
                      attrs={"models": json.dumps({k: ORACLE for k in keys}),
                             "heldout_definition": "the trained model's held-out objective at its final evaluation, "
                                                   "with the oracle (exact for the pools' Gaussians, not for tissue)"})
