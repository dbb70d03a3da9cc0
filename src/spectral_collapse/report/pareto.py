"""What the Pareto chapter says: whether OVG expands the S_HF / S_LF frontier of the baselines (Sec. 5.2, Fig. 6)."""
from __future__ import annotations

import json

import xarray as xr

from ..studies.pareto import joint_front
from ..text import verb

__all__ = ["frontier_verdict"]


def frontier_verdict(ds: xr.Dataset) -> dict:
    """Does OVG expand the S_HF / S_LF frontier of the baselines (Sec. 5.2, Fig. 6)? Numbers and one paragraph.

    On the joint front of every grid point free of failed samples and every baseline (means over the sweep's images), count the OVG
    points; the claim holds when at least one OVG point is on it (OVG reaches beyond the baselines' envelope).
    The chosen point of the primary base is compared with the best baseline on each axis.
    """
    grid, base, front = joint_front(ds)
    n_ovg, n_base = int(front[:len(grid)].sum()), int(front[len(grid):].sum())
    dominated = [str(m) for m, on in zip(base["method"], front[len(grid):]) if not on]
    primary = ds.attrs.get("primary", "ovg")
    ch = json.loads(ds.attrs.get("choices", "{}")).get(primary)
    out = {"front_ovg": n_ovg, "front_baselines": n_base, "dominated_baselines": dominated, "choice": ch,
           "holds": bool(n_ovg > 0)}
    text = (f"On the joint S_HF / S_LF front of {len(grid)} grid points free of failed samples and {len(base)} baselines, "
            f"{n_ovg} {verb(n_ovg, 'point is', 'points are')} OVG and {n_base} "
            f"{verb(n_base, 'is a baseline', 'are baselines')}; baselines dominated by some point: "
            f"{', '.join(dominated) or 'none'}.")
    if ch and len(base):
        best_hf, best_lf = base.loc[base["s_hf"].idxmax()], base.loc[base["s_lf"].idxmax()]
        text += (f" The chosen {primary} point (eta_HF = {ch['eta_hf']:.3g}, eta_LF = {ch['eta_lf']:.3g}) has "
                 f"S_HF {ch['s_hf']:.3f} and S_LF {ch['s_lf']:.3f}; the best baseline on S_HF is {best_hf['method']} "
                 f"({best_hf['s_hf']:.3f}) and on S_LF {best_lf['method']} ({best_lf['s_lf']:.3f}).")
    from ..studies.claims import chapter_claims, findings_markdown

    verdict = "holds" if out["holds"] else "does not hold"
    out["text"] = (f"The paper's claim that OVG expands the frontier {verdict} here. " + text
                   + "\n\nOn the claims page, by the same rule:\n\n" + findings_markdown(chapter_claims(ds)))
    return out
