"""Parts of the conclusions page (``report.answers.conclusions_markdown``) read from each claim's stored finding:
what would settle an open claim (a comparison whose mean lies within the minimal effect, a correlation whose
interval reaches past the rule's line), how the claims that hold are counted (on an interval, on means only, on a
share with no spread), and a model below the quality gate named in words."""
from __future__ import annotations

import re

__all__ = ["settle_within", "settle_correlation", "held_counts", "gate_model_words", "MEANS_ONLY"]

MEANS_ONLY = "means only"  # how a rule that decides on means, without an interval, says so
_NUM = r"[+\-−]?\d+(?:\.\d+)?"


def _num(text: str) -> float:
    return float(text.replace("−", "-"))


def settle_within(title: str, detail: str) -> str:
    """What would settle a claim whose open comparison has its mean difference within the minimal effect: when its
    whole interval lies within ± that effect, nothing more of the same (the data point against an effect of the
    rule's size); when the interval reaches beyond it, more samples could settle it either way."""
    from .answers import _open_part
    from .claims_page import _bare

    part = _open_part(detail)
    effect = part.rsplit("(", 1)[-1].rstrip(")") if "(" in part else ""
    ci = re.search(rf"\[({_NUM}), ({_NUM})\]", part)
    size = re.search(r"±(\d+(?:\.\d+)?)", effect)
    inside = bool(ci and size) and max(abs(_num(ci.group(1))), abs(_num(ci.group(2)))) <= _num(size.group(1))
    said = f"Its open comparison ({_bare(part)}) has a mean difference within the minimal effect" + (
        f" ({effect})" if effect else "")
    if inside:
        return (f"- *{title}*: more samples would not settle it. {said}, and its whole interval lies within it: the "
                "data point against an effect of the size the rule counts, and more samples would narrow the interval "
                "around a difference too small to count rather than make the claim hold.")
    return (f"- *{title}*: more samples could settle it. {said}, but its interval reaches beyond it: a narrower "
            "interval would show whether the difference is too small to count or large enough for the rule.")


def settle_correlation(title: str, detail: str, rule: str) -> str:
    """What would settle an open correlation claim: more distinct points narrow its interval; when r itself falls
    short of the rule's line (``rule``: "... ≥ 0.5" or "... ≤ −0.5"), a narrower interval would likely read does not
    hold, and when r is past the line, holds."""
    base = (f"- *{title}*: more distinct (dataset, method) points (another dataset, more methods): a correlation "
            "over a few points has a wide interval")
    r = re.search(rf"r = ({_NUM})", detail)
    line = re.search(rf"([≥≤])\s*({_NUM})", rule)
    if not (r and line):
        return base + "."
    value, at = _num(r.group(1)), _num(line.group(2))
    short = value < at if line.group(1) == "≥" else value > at
    return base + (f"; its r ({r.group(1)}) falls short of the rule's line ({line.group(1)} {line.group(2)}), so a "
                   "narrower interval would likely read does not hold." if short else
                   f"; its r ({r.group(1)}) is past the rule's line ({line.group(1)} {line.group(2)}), so a narrower "
                   "interval that excludes 0 would read holds.")


def held_counts(held) -> str:
    """How the claims that hold (rows of ``evaluate_claims``) are counted: with a 95 % interval, on means only (a rule
    that decides on means), or on a share with no spread (the bootstrap gives no interval)."""
    from ..studies.shares import NO_SPREAD

    means = [r.get("decided by") == MEANS_ONLY or MEANS_ONLY in str(r["rule"]) for _, r in held.iterrows()]
    flat = [not m and NO_SPREAD in str(r["our numbers"]) for m, (_, r) in zip(means, held.iterrows())]
    ci = len(held) - sum(means) - sum(flat)
    parts = [f"{ci} with its 95 % interval"] if ci else []
    parts += [f"{sum(means)} on means only, with no interval, read as indicative"] if sum(means) else []
    parts += [f"{sum(flat)} on a share with no spread over crops, for which the bootstrap gives no interval"] if sum(flat) else []
    return "; ".join(parts)


def gate_model_words(ev, study: str, dataset: str, models) -> str:
    """A model below the quality gate named in words, with its name in code: "the DiT model of the backbone ablation
    (`ihc-sr-x4-eps-dit-quick`)", from the arm it serves (``Evidence.weak_arms``); without arms, "the model of the
    PCA study on ihc-sr (`...`)"."""
    from ..studies.samples import STUDY_NAMES

    arms = (getattr(ev, "weak_arms", {}) or {}).get((study, dataset))
    names = ", ".join(f"`{m}`" for m in models)
    what = STUDY_NAMES.get(study, study)
    if arms:
        served = sorted({v for v, ms in arms[1].items() if set(ms) & set(models)})
        words = " and ".join(f"{v} {arms[0]}" if arms[0] == "space" else str(v) for v in served)
        one = len(models) == 1
        return f"the {words} model{'' if one else 's'} of the {what} on {dataset} ({names})"
    return f"the model{'' if len(models) == 1 else 's'} of the {what} on {dataset} ({names})"
