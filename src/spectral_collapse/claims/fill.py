"""The fill's claim, beyond the paper: DDIM + fill (``inversion.methods.Fill``) gives texture at least as real as
OVG's and TABA's at structure no worse than OVG's, decided by non-inferiority (``verdicts.rules.NONINFERIOR``)."""
from __future__ import annotations

from dataclasses import replace

from ..metrics.intervals import MIN_EFFECT, no_worse, paired_ci
from ..verdicts.rules import KID_MARGIN, combine
from .compare import label, paired_units
from .evidence import Evidence, per_object

__all__ = ["FILL", "fill_claim"]

FILL = "ddim_fill"


def fill_claim(texture_vs=("ovg", "taba"), structure_vs=("ovg",), fill: str = FILL):
    """The claim's test: per dataset, KID_wav(fill) no worse than ``texture_vs``', S_LF than ``structure_vs``'."""
    def test(ev: Evidence):
        from ..framework.realism import kid_no_worse

        checks = []
        for name, ds in sorted(ev.extra.get("main", {}).items()):
            if fill not in ds["method"].values.tolist():
                continue
            for b in texture_vs:
                got = per_object(ds, ("kid_no_worse", fill, b), lambda b=b: kid_no_worse(ds, fill, b, KID_MARGIN))
                if got is not None:   # with the fraction of b's KID_wav gap to the ground truth the fill closes
                    checks.append((got[0], f"{name}: {got[1]}", replace(got[2], what=f"{name}: KID_wav {fill} against {b}")))
            crops = ev.select("main", per_crop=True, dataset=name, metric="s_lf")
            for b in structure_vs:
                xa, xb = paired_units(crops, fill, b) if not crops.empty else ((), ())
                if len(xa):
                    ci = paired_ci(xa, xb)
                    v = no_worse(ci, MIN_EFFECT["s_lf"])
                    checks.append((v, f"{name}: {label('s_lf')} {fill} − {b} {ci.mean:+.3f} [{ci.lo:+.3f}, "
                                      f"{ci.hi:+.3f}], {ci.n} crops, margin {MIN_EFFECT['s_lf']:g} → {v}"))
        return combine(checks, f"needs main results with {fill}, {', '.join(texture_vs)} and the realism scores")
    return test
