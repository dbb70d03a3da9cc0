"""How the claims' verdicts are said in words: the names of the general rules, a verdict with what limits it ("holds
(means only)", "does not hold, indicative only"), and the findings of a chapter as a Markdown list.

``studies.claims`` decides the claims and re-exports these names; the claims page, the chapters and the
conclusions read them from either module.
"""
from __future__ import annotations

import re

from .claim_titles import CLAIM_TITLES
from .verdicts import FAILS, HOLDS, INCONCLUSIVE, UNTESTABLE
from ..text import listed  # noqa: F401  (re-exported: studies.claims_words.listed)

__all__ = ["PAIRED", "SHARE", "CORRELATION", "MEANS", "INDICATIVE", "NO_SPREAD_SHARE", "BAND_CLAUSE", "chapter_rule",
           "STUDY_TITLES", "study_title", "ARM_WORDS", "arm_words", "arm_phrase", "listed", "gate_models_words",
           "where_words", "arm_name",
           "held_basis", "verdict_words", "HALF_READ", "half_words", "findings_markdown", "sentence_start", "upper_first"]

# the general rules a claim is decided by (the keys of ``claims.RULES``)
PAIRED, SHARE, CORRELATION, MEANS = "paired comparison", "share of comparisons", "correlation", "means only"
INDICATIVE = "indicative only"   # how a verdict that rests on a model below the quality gate is qualified
NO_SPREAD_SHARE = "share with no spread"   # how a verdict resting on a share no bootstrap draw moves is qualified

# the band test of the signed texture error (``verdicts.texture_check``), stated wherever the paired rule is stated
BAND_CLAUSE = ("a comparison of the size of the texture error, |Δlog E_HF|, also does not hold when the method's mean "
               "signed texture error Δlog E_HF ends beyond the real crops' band (their mean ± one standard deviation) on the other side from the "
               "baseline's: it overshoots the band")


# one reader name per study, the chapter's title as prose names it (``registry.STUDIES`` titles), by the study's key
# and by the evidence's short label ("x0", "scale", ...)
STUDY_TITLES = {"main_results": "main results", "backbone_ablation": "backbone ablation",
                "space_ablation": "data-space ablation", "scale_factor": "scale-factor ablation",
                "eps_vs_x0": "ε-prediction vs x0-prediction", "pareto": "Pareto sweep", "pca_collapse": "PCA collapse",
                "seed_spread": "training seeds"}
_EVIDENCE_STUDY = {"main": "main_results", "x0": "eps_vs_x0", "scale": "scale_factor", "backbone": "backbone_ablation",
                   "space": "space_ablation"}


def study_title(key: str) -> str:
    """A study (its key, ``"eps_vs_x0"``, or the evidence's label, ``"x0"``) as every prose text names it: its
    chapter's title in words (``STUDY_TITLES``); any other key unchanged."""
    key = str(key)
    return STUDY_TITLES.get(_EVIDENCE_STUDY.get(key, key), key)


# An arm's value on each ablation axis as every page writes it (the stored results keep the keys): "factor" 4 ->
# "×4", "parameterization" eps -> "ε-prediction", "space" pixel -> "pixel space", "backbone" unet -> "U-Net"
ARM_WORDS = {
    "factor": lambda v: f"×{v}",
    "parameterization": lambda v: {"eps": "ε-prediction", "x0": "x0-prediction", "v": "v-prediction"}.get(
        str(v), f"{v}-prediction"),
    "space": lambda v: f"{v} space",
    "backbone": lambda v: {"unet": "U-Net", "dit": "DiT"}.get(str(v).lower(), str(v)),
    "train_seed": lambda v: f"training seed {v}",
}


def arm_words(axis: str, value) -> str:
    """One arm's value on an ablation axis in the reader's words (``ARM_WORDS``: "dit" -> "DiT", "latent" ->
    "latent space"); a value of another axis as it is."""
    return ARM_WORDS[axis](value) if axis in ARM_WORDS else str(value)


def arm_phrase(axis: str, values) -> str:
    """Arms of one axis as a noun phrase, the axis named once: "the U-Net backbone", "the U-Net and DiT backbones",
    "the pixel space" (the arm's words already end in the axis: never "pixel space space")."""
    words = [arm_words(axis, v) for v in values]
    if all(w.endswith(f" {axis}") for w in words):
        return f"the {listed(words)}"
    return f"the {listed(words)} {axis}{'s' * (len(words) > 1)}"


def gate_models_words(study: str, dataset: str, arms=None, models=()) -> str:
    """Models below the quality gate named in words, never by their folder names: "the DiT model of the backbone
    ablation on ihc-sr" from the arms they serve (``arms``: an ``Evidence.weak_arms`` entry, (axis, {arm value: model
    names})); without arms, "the model of the PCA collapse study on ihc-sr"."""
    what = study_title(study)
    if arms:
        served = sorted({str(v) for v, ms in arms[1].items() if not models or set(ms) & set(models)})
        words = listed(arm_words(arms[0], v) for v in served)
        n = len(served)
        return f"the {words} model{'s' * (n > 1)} of the {what} on {dataset}"
    n = max(len(models), 1)
    return f"the model{'s' * (n > 1)} of the {what} study on {dataset}"


def where_words(where: str) -> str:
    """Where the paper makes a claim, for use inside brackets: a bracketed gloss becomes a comma clause, so no bracket
    nests in another ("Sec. 6.2 (state-of-the-art trade-off)" -> "Sec. 6.2, state-of-the-art trade-off")."""
    return re.sub(r"\s*\(([^()]*)\)", r", \1", str(where))


def chapter_rule(shares: bool = False) -> str:
    """The claims page's paired rule as a chapter quotes it, short, with the band clause (``BAND_CLAUSE``) the texture
    comparisons are also read by; ``shares``: with the rule of a share of comparisons. One text for every chapter."""
    return ("a comparison holds when its paired 95 % interval over crops excludes 0 on the claimed side and its mean "
            "exceeds the metric's minimal effect, does not hold when it does so on the other side, and is "
            f"inconclusive otherwise; {BAND_CLAUSE}"
            + ("; a share holds when its interval lies wholly on the paper's side of 50 %" if shares else "")
            + "; a claim of several checks holds only when all of them hold")


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


# how a finding says that only one half of a two-part claim could be read (``claims_ablations._one_level``), and the
# reading of that half it ends with; ``verdict_words`` labels such a "not testable here" by the half's reading
HALF_READ = "only the claim's other half"
_HALF_SAID = re.compile(rf"{re.escape(HALF_READ)}[^;]*, which (is {INCONCLUSIVE}|{FAILS}|{HOLDS})(?=;|$)")


def half_words(detail: str) -> str:
    """The label of a claim of which only one half could be tested (every part of ``detail`` reads the testable half
    only): "partly testable: the testable half holds" (or "does not hold", "is inconclusive", or "partly testable"
    when the halves read differently); "" when the detail is not of that kind."""
    parts = [p for p in re.split(r";\s*(?![^()]*\))", str(detail)) if p.strip()]
    said = [m.group(1) for p in parts for m in [_HALF_SAID.search(p)] if m]
    if not parts or len(said) != len(parts):
        return ""
    return f"partly testable: the testable half {said[0]}" if len(set(said)) == 1 else "partly testable"


def verdict_words(verdict: str, caveat: str = "", by: str = "", detail: str = "") -> str:
    """A verdict as a page names it: "does not hold", "does not hold, indicative only" when a caveat limits it,
    "holds (means only)" for a claim decided on means without an interval (``by`` the ``MEANS`` rule) and "holds
    (share with no spread)" for one that rests on a share with no interval (``detail``: its numbers); a "not testable
    here" of which one half could be read is labelled by that half (``half_words``: "partly testable: the testable
    half holds")."""
    half = half_words(detail) if verdict == UNTESTABLE else ""
    if half:
        return f"{half}, {INDICATIVE}" if caveat else half
    basis = held_basis(verdict, by, detail)
    said = f"{verdict} ({basis})" if basis else verdict
    return f"{said}, {INDICATIVE}" if caveat else said


def findings_markdown(found: list) -> str:
    """``judged_on``'s findings as a Markdown list, in the claims page's words; a verdict limited by a caveat (a model
    below the quality gate) is qualified beside it and the caveat follows its numbers."""
    return "\n".join(f"- **{CLAIM_TITLES.get(c.key, c.key)}** ({where_words(c.where)}): "
                     f"{verdict_words(f.verdict, f.caveat, c.by, f.detail)}. "
                     f"{sentence_start(f.detail)}." + (f" {sentence_start(f.caveat)}." if f.caveat else "")
                     for c, f in found)


_IDENTIFIER = re.compile(r"[a-z][a-z0-9]*[-_][\w-]*")   # "ihc-sr", "s_hf": written as typed, never capitalised


def sentence_start(text: str) -> str:
    """``text`` as the start of a sentence: its first letter capitalised, unless it begins with a key written as a
    user types it ("ihc-sr (best OVG …)", not "Ihc-sr")."""
    text = str(text)
    return text if _IDENTIFIER.match(text) else upper_first(text)


def upper_first(text: str) -> str:
    """``text`` with its first letter upper-case, unless that letter is Greek: a Greek letter that starts a
    sentence is a symbol ("ε-prediction", "η_HF", "μ_HF"), whose case carries its meaning."""
    text = str(text)
    return text if text[:1] and "\u0370" <= text[0] <= "\u03ff" else text[:1].upper() + text[1:]


def arm_name(sel: dict) -> str:
    """An arm named by its axes' values in words, in the axes' order: {"parameterization": "eps", "factor": 4} ->
    "ε-prediction, ×4"; {"space": "pixel"} -> "pixel space"; an axis without words as "axis value"."""
    return ", ".join(arm_words(a, v) if a in ARM_WORDS else f"{a} {v}" for a, v in sel.items())
