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
    """What would settle an open correlation claim: more distinct points narrow its interval. The rule (``rule``:
    "... ≥ 0.5" or "... ≤ −0.5") reads does not hold only for an interval wholly short of the line and holds only for
    one past it that excludes 0, so the sentence says where r and its interval lie against the line and what each
    outcome would need, without guessing which a narrower interval would give."""
    base = (f"- *{title}*: more distinct (dataset, method) points (another dataset, more methods): a correlation "
            "over a few points has a wide interval")
    r = re.search(rf"r = ({_NUM})(?: \[({_NUM}), ({_NUM})\])?", detail)
    line = re.search(rf"([≥≤])\s*({_NUM})", rule)
    if not (r and line):
        return base + "."
    value, at, sign = _num(r.group(1)), line.group(2), line.group(1)
    short = value < _num(at) if sign == "≥" else value > _num(at)
    side = "short of" if short else "past"
    said = f"; its r ({r.group(1)}) lies {side} the rule's line ({sign} {at})"
    if r.group(2):
        lo, hi = _num(r.group(2)), _num(r.group(3))
        reach = [w for w, on in (("the line", lo < _num(at) < hi), ("0", lo <= 0 <= hi)) if on]
        where = f"reaches across {' and '.join(reach)}" if reach else "lies on one side of the line"
        said += f" and its interval [{r.group(2)}, {r.group(3)}] {where}"
    return base + said + (": it would read does not hold only with an interval wholly short of the line, and holds "
                          "only with one past the line that excludes 0.")


def held_counts(held) -> str:
    """How the claims that hold (rows of ``evaluate_claims``) are counted: with a 95 % interval, on means only (a rule
    that decides on means), or on a share with no spread (the bootstrap gives no interval) — by
    ``claims.held_basis``, the qualifier their verdicts carry."""
    from ..studies.claims import HOLDS, MEANS, NO_SPREAD_SHARE, held_basis

    basis = [held_basis(r.get("verdict", HOLDS), r.get("decided by") or "", r.get("our numbers", ""))
             for _, r in held.iterrows()]
    means, flat = basis.count(MEANS), basis.count(NO_SPREAD_SHARE)
    ci = len(held) - means - flat
    parts = [(n, said) for n, said in ((ci, "on a 95 % interval"),
                                        (means, "on means only, with no interval, read as indicative"),
                                        (flat, "on a share with no spread, for which the bootstrap gives no interval"))
             if n]
    # the first count carries the verb ("4 rest on a 95 % interval; 2 on means only ...")
    return "; ".join(f"{n} {('rests ' if n == 1 else 'rest ') * (i == 0)}{said}" for i, (n, said) in enumerate(parts))


def gate_model_words(ev, study: str, dataset: str, models) -> str:
    """A model below the quality gate named in words: "the DiT model of the backbone ablation on ihc-sr", from the arm
    it serves (``Evidence.weak_arms``); without arms, "the model of the PCA collapse study on ihc-sr"
    (``claims_words.gate_models_words``)."""
    from ..studies.claims_words import gate_models_words

    arms = (getattr(ev, "weak_arms", {}) or {}).get((study, dataset))
    return gate_models_words(study, dataset, arms, models)
