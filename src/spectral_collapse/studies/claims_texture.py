"""Claims read off the realism scores and the two S_DC definitions (``studies.claims`` lists them): whether a method
restores texture better than another (``realism.texture_verdict`` on each dataset's main results), and where S_DC as
used and the paper's literal S_DC give OVG against DDIM different verdicts."""
from __future__ import annotations

from typing import Callable

from .evidence import Evidence
from .verdicts import Finding, combine

__all__ = ["sdc_literal", "texture_claim"]


def sdc_literal(ev: Evidence) -> list[str]:
    """Per dataset where they disagree: the S_DC check of OVG against DDIM under the paper's literal definition
    (Eq. 36: the flagged share on the raw latent, lower = decorrelated; ``s_dc_raw`` is 1 - that share) beside the
    one used (``s_dc``: on each latent scaled to unit variance)."""
    from ..metrics.intervals import MIN_EFFECT, paired_ci, three_way

    notes = []
    for ds_name, ds in ev.extra.get("main", {}).items():
        if not {"s_dc", "s_dc_raw"} <= set(ds.data_vars) or not {"ovg", "ddim"} <= set(ds["method"].values.tolist()):
            continue
        reads = {}
        for m in ("s_dc", "s_dc_raw"):
            a, b = (ds[m].sel({"method": k}).values.ravel() for k in ("ovg", "ddim"))
            reads[m] = three_way(paired_ci(a, b), MIN_EFFECT["s_dc"])
        if reads["s_dc"] != reads["s_dc_raw"]:
            notes.append(f"{ds_name}: S_DC {reads['s_dc']}, literal S_DC {reads['s_dc_raw']}")
    return notes


def texture_claim(a: str, b: str) -> Callable[[Evidence], Finding]:
    def test(ev: Evidence) -> Finding:
        from .realism import texture_verdict

        checks = []
        for ds_name, ds in sorted(ev.extra.get("main", {}).items()):
            got = texture_verdict(ds, a, b)
            if got is not None:
                checks.append((got[0], f"{ds_name}: {got[1]}"))
        return combine(checks, f"needs main results with {a}, {b} and the realism scores")
    return test
