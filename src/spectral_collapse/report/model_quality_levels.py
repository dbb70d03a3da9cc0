"""The model-quality chapter's texts on noise levels: where the VP models' schedule ends and their sampler starts,
computed from the schedule (``models.schedules``), for the sections *Where sampling starts* and *Where a model's
estimate of the colour drifts*."""
from __future__ import annotations

import numpy as np


def vp_noise_levels(steps: int = 50) -> dict:
    """The noise levels of the VP (ε and x0) models' default schedule (``models.schedules.VPSchedule``): the
    schedule's end (``end``: its largest σ), where a ``steps``-step DDIM sampler starts (``start``) and the signal's
    share of a state there (``signal``, 1/√(1 + σ²))."""
    from ..models.schedules import VPSchedule, ddim_sigmas

    schedule = VPSchedule()
    start = float(ddim_sigmas(schedule, steps)[0])
    return {"end": schedule.sigma_max(), "start": start, "signal": 1 / np.sqrt(1 + start ** 2), "steps": steps}


# the VP models (the scaled-linear schedule ``start_text`` speaks of): pixel-space ε- and x0-prediction models
_VP = ("eps", "x0", "v")


def brightness_spread(ds) -> tuple[float, float, int] | None:
    """How much a crop's brightness (the mean of each channel over its pixels) varies from crop to crop, from the
    real training crops the chapter shows beside each VP model's samples (``ds["real"]``: model, label, image,
    channel, y, x): the smallest and largest standard deviation over crops, per model's dataset, label and channel,
    and the pixels of a crop. None when the results hold no such crops."""
    import json

    if ds is None or "real" not in getattr(ds, "variables", {}):
        return None
    try:
        info = json.loads(ds.attrs.get("models") or "{}")
    except (TypeError, ValueError):
        info = {}
    keys = [k for k in ds["model"].values.tolist()
            if not info.get(k) or (info[k].get("parameterization") in _VP and info[k].get("space") != "latent")]
    if not keys:
        return None
    real = ds["real"].sel(model=keys)
    means = real.mean(["y", "x"])                         # a crop's brightness per channel
    sd = means.std("image", ddof=1).values                 # over the crops: per model, label, channel
    sd = sd[np.isfinite(sd)]
    if not sd.size:
        return None
    return float(sd.min()), float(sd.max()), int(real.sizes["y"] * real.sizes["x"])


def start_text(ds=None, steps: int | None = None, pixels: int | None = None) -> str:
    """The introduction of the chapter's *Where sampling starts*, its noise levels computed from the schedule
    (``vp_noise_levels``; ``steps``: the profile's, else 50), the noise's standard deviation averaged over a crop's
    pixels (σ/√pixels) and the crops' spread of brightness measured on the chapter's real crops
    (``brightness_spread`` of the results ``ds``; without them the sentence gives no number)."""
    import json

    spread = brightness_spread(ds)
    if steps is None:
        try:
            steps = int(json.loads(ds.attrs.get("profile_values") or "{}").get("steps") or 50)
        except (AttributeError, TypeError, ValueError):
            steps = 50
    pixels = pixels or (spread[2] if spread else 32 * 32)
    side = int(round(np.sqrt(pixels)))
    v = vp_noise_levels(steps)
    noise = v["start"] / np.sqrt(pixels)
    if spread is None or spread[0] >= noise:
        readable = "is still readable through the noise"
    elif spread[1] >= noise:
        readable = ("is partly readable through the noise (for the labels and channels whose crops differ in "
                    "brightness at least as much as the averaged noise does)")
    else:
        readable = "is hidden by the noise (the crops differ in brightness less than the averaged noise does)"
    varies = (f"it varies from crop to crop with a standard deviation of {spread[0]:.2f} to {spread[1]:.2f} on the "
              "[−1, 1] scale (per dataset, label and channel, over the real crops shown below each model), while"
              if spread else "it varies from crop to crop, while")
    return (
        "The gate begins each sample at the sampler's first noise level from the Gaussian with the training crops' "
        "mean and covariance plus noise: the part of the training distribution a perfect model expects there. "
        f"Ordinary samplers begin from pure noise instead. At the first noise level of the {v['steps']}-step sampler "
        f"on the scaled-linear schedule the VP models use (σ = {v['start']:.1f}, just below the schedule's end at "
        f"σ = {v['end']:.1f}; signal share {v['signal']:.3f}), a {side} × {side} "
        f"crop's brightness, the mean of each channel over its {pixels} pixels, {readable}: "
        f"{varies} the noise "
        f"averaged over those pixels has a standard deviation of {noise:.2f}. Pure noise tells "
        "such a model that every crop is mid-grey, and its samples come out darker than the data whatever it "
        "learned. The table gives both starts for the deterministic sampler: the gate judges the first; the second "
        "is the schedule's non-zero terminal signal-to-noise ratio at work (for the EDM models, which start at "
        "σ = 80, the two agree; for a flow-matching model the table adds the Euler steps of its inversions, below). "
        "The same leak is what lets DDIM inversion carry a crop's low frequencies into its latent.")


def drift_text() -> str:
    """The introduction of the chapter's *Where a model's estimate of the colour drifts*, with the VP models'
    schedule end and sampler start computed (``vp_noise_levels``)."""
    v = vp_noise_levels()
    return (
        "Each model denoises real crops of each label at a range of noise levels; the table gives the error of the "
        "denoised colour-channel mean (the channel that strays most, % of the crops' mean on the [0, 1] scale). The "
        "exact denoiser is unbiased at every level. A network drifts at the levels it rarely saw in training, and a "
        "sampler that starts there, or re-noises to them at every step as the stochastic sampler does, carries the "
        "drift into its samples' colour: that is where a failed mean check comes from. The ε and x0 models' schedule "
        f"ends at σ = {v['end']:.1f} (\"—\" above it), and their {v['steps']}-step sampler starts at "
        f"σ = {v['start']:.1f}; the EDM models sample from σ = 80, the flow model from σ ≈ 1000 (t = 0.999 of its "
        "time grid).")
