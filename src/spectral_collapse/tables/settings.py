"""A chapter's "settings of this run": the stored settings of a results dataset as a plain table."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..train.cache import HASHED_NAME, model_name

__all__ = ["settings_table", "compact", "MEANINGS", "PACKAGES"]

PACKAGES = ("spectral-collapse", "python", "torch", "diffusers", "numpy")   # the versions row, in this order
MISSING = "—"

# what each stored setting is (the ``meaning`` column)
MEANINGS = {
    "steps": "inversion and sampling steps", "main_steps": "steps of the main results", "steps_grid": "step counts",
    "n_test": "test crops per seed", "n_images": "test images", "n_latents": "latents inverted",
    "n_samples": "test inputs", "n_reference": "reference images", "n_run": "test inputs per run",
    "timing_images": "test inputs timed", "seed": "seed of the stochastic methods", "seeds": "seeds",
    "ovg": "OVG step sizes and where they come from", "methods": "methods (model, inversion, guidance)",
    "checkpoints": "models", "models": "models", "model_factor": "SR factor of the model (0: none)",
    "wavelet": "wavelet of the texture score", "mu_hf": "texture score's reference log energy μ_HF",
    "s_hf_unit": "texture score's pixel scale", "s_hf_gain": "texture score's gain",
    "s_lf_kappa": "structure score's low-pass cutoff (fraction of Nyquist)",
    "s_lf_condition": "structure score's reference", "s_dc_definition": "decorrelation score",
    "definition": "definition", "rule": "operating-point rule", "target_rule": "target",
    "primary": "OVG variant the rule picks a point for", "grid": "step-size grid",
    "baseline_sources": "baselines' source", "bands": "real crops' band of luma and chroma detail (choice)",
    "band_source": "crops the bands come from", "truth_kid_wav": "KID_wav of the validation truths",
    "realism_reference": "real crops KID_wav compares against", "axes": "ablation axes", "band": "frequency band",
    "correlations": "correlations", "cost": "cost", "d": "latent dimension",
    "ddim_time_s": "DDIM translation time (s)", "fid": "FID", "filters": "filters", "gaussian": "Gaussian reference",
    "image_metrics": "image metrics", "inversion": "inversion", "ms_ssim_config": "MS-SSIM scales",
    "pca": "PCA", "schedules": "OVG schedules", "space": "coordinates (vp: variance-preserving; sigma: x₀ + σ·ε)",
    "latent": "latent space", "computed": "when the results were computed (UTC)",
    "versions": "versions of the main packages",
}


def _parsed(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in ("", "null")) or \
        (isinstance(value, float) and not np.isfinite(value))


def compact(value, depth: int = 0) -> str:
    """A stored setting in compact form ("—" when missing)."""
    value = _parsed(value)
    if _empty(value):
        return MISSING
    if isinstance(value, dict):
        body = "; ".join(f"{k} = {compact(v, depth + 1)}" for k, v in value.items() if not _empty(_parsed(v)))
        return (f"({body})" if depth else body) or MISSING
    if isinstance(value, (list, tuple, np.ndarray)):
        body = ", ".join(compact(v, depth + 1) for v in value)
        return f"[{body}]" if depth else body
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return model_name(text) if HASHED_NAME.match(text.rstrip("/").rsplit("/", 1)[-1]) else text


def settings_table(ds, keys, extra: dict | None = None) -> pd.DataFrame:
    """The settings ``keys`` (then ``extra``, computed, versions) with ``value`` and ``meaning``."""
    attrs = dict(ds.attrs)
    rows = [(k, compact(attrs[k])) for k in keys if k in attrs]
    rows += [(k, compact(v)) for k, v in (extra or {}).items()]
    if "created" in attrs:
        rows.append(("computed", str(attrs["created"]).replace("T", " ")[:16]))
    versions = _parsed(attrs.get("versions"))
    if isinstance(versions, dict) and any(p in versions for p in PACKAGES):
        rows.append(("versions", ", ".join(f"{p} {versions[p]}" for p in PACKAGES if p in versions)))
    out = pd.DataFrame(rows, columns=["setting", "value"]).set_index("setting")
    return out.assign(meaning=[MEANINGS.get(str(k), "") for k in out.index])
