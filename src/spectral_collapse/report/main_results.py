"""What the main-results chapter says about its results: the spectral-collapse verdict."""
from __future__ import annotations

import xarray as xr

__all__ = ["collapse_verdict", "MAIN_CLAIMS"]


# The claims of the claims page that this chapter's numbers answer on their own.
MAIN_CLAIMS = ("collapse_sdc", "collapse_shf", "ovg_vs_ddim", "edm_tradeoff", "taba_structure")


def collapse_verdict(ds: xr.Dataset) -> str:
    """Markdown: does standard DDIM inversion show spectral collapse here, and what do OVG, EDM and TABA do about
    it? Each claim of ``MAIN_CLAIMS`` judged on this chapter's results by the claims page's rule and in its words
    (paired 95 % intervals over crops, three-way verdicts), then S_G per method."""
    from ..studies.claims import chapter_claims, findings_markdown

    if "ddim" not in [str(m) for m in ds["method"].values]:
        return "DDIM was not run, so no verdict on spectral collapse."
    text = ("Judged by the claims page's rule on this chapter's results (a comparison holds when its paired 95 % "
            "interval over crops excludes 0 on the claimed side by more than the metric's minimal effect):\n\n"
            + findings_markdown(chapter_claims(ds, MAIN_CLAIMS)))
    if "s_g" in ds:
        g = ", ".join(f"{m} {float(ds['s_g'].sel({'method': m}).mean()):.3f}" for m in ds["method"].values)
        text += f"\n\nS_G per method (mean over seeds): {g}."
    return text
