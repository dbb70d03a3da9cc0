"""How the claims' verdicts are said in words: the names of the general rules, a verdict with what limits it ("holds
(means only)", "does not hold, indicative only"), and the findings of a chapter as a Markdown list.

``studies.claims`` decides the claims and re-exports these names; the claims page, the chapters and the
conclusions read them from either module.
"""
from __future__ import annotations

import re

from .claim_titles import CLAIM_TITLES
from .verdicts import FAILS, HOLDS

__all__ = ["PAIRED", "SHARE", "CORRELATION", "MEANS", "INDICATIVE", "NO_SPREAD_SHARE", "held_basis", "verdict_words",
           "findings_markdown", "sentence_start"]

# the general rules a claim is decided by (the keys of ``claims.RULES``)
PAIRED, SHARE, CORRELATION, MEANS = "paired comparison", "share of comparisons", "correlation", "means only"
INDICATIVE = "indicative only"   # how a verdict that rests on a model below the quality gate is qualified
NO_SPREAD_SHARE = "share with no spread"   # how a verdict resting on a share no bootstrap draw moves is qualified


def held_basis(verdict: str, by: str = "", detail: str = "") -> str:
    """What a decided verdict (holds or does not hold) rests on when it is not an interval: ``MEANS`` for a claim
    decided on means (``by`` the ``MEANS`` rule), ``NO_SPREAD_SHARE`` when one of its shares has no spread (every
    bootstrap draw gives the same share, so there is no interval: ``shares.share_span``), "" for an interval. The
    claims page's tally, its verdicts and the conclusions' count all read it."""
    from .shares import NO_SPREAD

    if verdict not in (HOLDS, FAILS):
        return ""
    if by == MEANS:
        return MEANS
    return NO_SPREAD_SHARE if f"({NO_SPREAD}" in str(detail) else ""


def verdict_words(verdict: str, caveat: str = "", by: str = "", detail: str = "") -> str:
    """A verdict as a page names it: "does not hold", "does not hold, indicative only" when a caveat limits it,
    "holds (means only)" for a claim decided on means without an interval (``by`` the ``MEANS`` rule) and "holds
    (share with no spread)" for one that rests on a share with no interval (``detail``: its numbers)."""
    basis = held_basis(verdict, by, detail)
    said = f"{verdict} ({basis})" if basis else verdict
    return f"{said}, {INDICATIVE}" if caveat else said


def findings_markdown(found: list) -> str:
    """``judged_on``'s findings as a Markdown list, in the claims page's words; a verdict limited by a caveat (a model
    below the quality gate) is qualified beside it and the caveat follows its numbers."""
    return "\n".join(f"- **{CLAIM_TITLES.get(c.key, c.key)}** ({c.where}): "
                     f"{verdict_words(f.verdict, f.caveat, c.by, f.detail)}. "
                     f"{sentence_start(f.detail)}." + (f" {sentence_start(f.caveat)}." if f.caveat else "")
                     for c, f in found)


_IDENTIFIER = re.compile(r"[a-z][a-z0-9]*[-_][\w-]*")   # "ihc-sr", "s_hf": written as typed, never capitalised


def sentence_start(text: str) -> str:
    """``text`` as the start of a sentence: its first letter capitalised, unless it begins with a key written as a
    user types it ("ihc-sr (best OVG …)", not "Ihc-sr")."""
    text = str(text)
    return text if _IDENTIFIER.match(text) else text[:1].upper() + text[1:]

