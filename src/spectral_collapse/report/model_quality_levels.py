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


def start_text(steps: int = 50, pixels: int = 32 * 32) -> str:
    """The introduction of the chapter's *Where sampling starts*, its noise levels computed from the schedule
    (``vp_noise_levels``) and the noise's standard deviation averaged over a crop's ``pixels`` (σ/√pixels)."""
    v = vp_noise_levels(steps)
    return (
        "The gate begins each sample at the sampler's first noise level from the Gaussian with the training crops' "
        "mean and covariance plus noise: the part of the training distribution a perfect model expects there. "
        f"Ordinary samplers begin from pure noise instead. At the first noise level of the {v['steps']}-step sampler "
        f"on the scaled-linear schedule the VP models use (σ = {v['start']:.1f}, just below the schedule's end at "
        f"σ = {v['end']:.1f}; signal share {v['signal']:.3f}), a {int(np.sqrt(pixels))} × {int(np.sqrt(pixels))} "
        f"crop's brightness, the mean of each channel over its {pixels} pixels, is still readable through the noise: "
        "it varies from crop to crop with a standard deviation of 0.16 to 0.41 on the [-1, 1] scale, while the noise "
        f"averaged over those pixels has a standard deviation of {v['start'] / np.sqrt(pixels):.2f}. Pure noise tells "
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
