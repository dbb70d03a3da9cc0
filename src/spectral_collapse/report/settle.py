"""Parts of the conclusions page (``report.answers.conclusions_markdown``) read from each claim's stored finding:
what would settle an open claim (a comparison whose mean lies within the minimal effect, a correlation whose
interval reaches past the rule's line), how the claims that hold are counted (on an interval, on means only, on a
share with no spread), and a model below the quality gate named in words. A finding's detail is read in parts
(``claim_parts``; ``open_part``: the first open one; ``bare_part``: one without its verdict arrow)."""
from __future__ import annotations

import re

from ..studies.claims import INCONCLUSIVE

__all__ = ["settle_within", "settle_correlation", "held_counts", "gate_model_words", "MEANS_ONLY",
           "claim_parts", "bare_part", "open_part"]

MEANS_ONLY = "means only"  # how a rule that decides on means, without an interval, says so
_NUM = r"[+\-−]?\d+(?:\.\d+)?"


def _num(text: str) -> float:
    return float(text.replace("−", "-"))


def settle_within(title: str, detail: str) -> str:
    """What would settle a claim whose open comparison has its mean difference within the minimal effect: when its
    whole interval lies within ± that effect, nothing more of the same (the data point against an effect of the
    rule's size); when the interval reaches beyond it, more samples could settle it either way."""
    part = open_part(detail)
    effect = part.rsplit("(", 1)[-1].rstrip(")") if "(" in part else ""
    ci = re.search(rf"\[({_NUM}), ({_NUM})\]", part)
    size = re.search(r"±(\d+(?:\.\d+)?)", effect)
    inside = bool(ci and size) and max(abs(_num(ci.group(1))), abs(_num(ci.group(2)))) <= _num(size.group(1))
    said = f"Its open comparison ({bare_part(part)}) has a mean difference within the minimal effect" + (
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


def claim_parts(detail: str) -> list[str]:
    """A finding's detail cut into its comparisons: the text after "N of M hold: " split at the semicolons that
    are not inside brackets."""
    body = re.sub(r"^\d+ of \d+ (testable )?hold[^:]*: ", "", detail)
    out, depth, cur = [], 0, ""
    for ch in body:
        depth += ch in "([" and 1 or 0
        depth -= ch in ")]" and 1 or 0
        if ch == ";" and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts, merged, carry = [p for p in [*out, cur.strip()] if p], [], ""
    for i, p in enumerate(parts):  # a piece without a verdict arrow belongs to the comparison after it
        if " → " not in p and i < len(parts) - 1:
            carry += p + "; "
        else:
            merged.append(carry + p)
            carry = ""
    return merged


def bare_part(part: str) -> str:
    """One comparison without its verdict arrow and its parenthesised notes (the interval in brackets stays, and so
    does a note that stands in for an interval: "(no spread over 96 crops: ...)", a bracketed operand of a difference:
    "TABA − (OVG + EDM)", and the paper's setting each of our scales stands for: "×2 (for the paper's ×8)")."""
    from ..studies.shares import NO_SPREAD

    part = part.split(" → ")[0]
    keep = re.findall(rf" \({NO_SPREAD}[^()]*\)", part)
    keep += re.findall(r"(?<= − )\([^()]*\)|\([^()]*\)(?= − )", part)   # a bracketed operand of a difference
    keep += re.findall(r" \(for the paper's [^()]*\)", part)   # the paper's setting an analogue of ours stands for
    for i, k in enumerate(keep):
        part = part.replace(k, f"\0{i}\0")
    while True:
        cut = re.sub(r" \([^()]*\)", "", part)
        if cut == part:
            break
        part = cut
    for i, k in enumerate(keep):
        part = part.replace(f"\0{i}\0", k)
    return part.strip()


def open_part(detail: str) -> str:
    """The first comparison of a finding's detail that reads inconclusive, with its reason ("" when none does)."""

    return next((p for p in claim_parts(detail) if f"→ {INCONCLUSIVE}" in p), "")
