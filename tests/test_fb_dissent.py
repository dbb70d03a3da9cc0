"""The paper's-tables dissent of a chapter: "either" only beside our own "does not hold", and placed after our
verdicts; the band clause names |Δlog E_HF| as the size of the texture error, not the signed error."""
from spectral_collapse.studies.claims import CLAIMS, FAILS, HOLDS, INCONCLUSIVE, Finding
from spectral_collapse.studies.scorecard import paper_evidence


def _failing_claim():
    ev = paper_evidence()
    return next(c for c in CLAIMS if c.test(ev).verdict == FAILS)


def test_either_only_beside_our_does_not_hold():
    from spectral_collapse.report.claims_page import paper_dissent

    c = _failing_claim()
    for ours, want in ((FAILS, True), (INCONCLUSIVE, False), (HOLDS, False)):
        text = paper_dissent([(c, Finding(ours, "x", ""))])
        assert text.startswith("The paper's own tables do not support")
        assert (" either" in text) is want, (ours, text)


def test_band_clause_does_not_call_the_absolute_error_signed():
    from spectral_collapse.studies.claims_words import BAND_CLAUSE, chapter_rule

    for text in (BAND_CLAUSE, chapter_rule()):
        assert "signed texture error |Δlog E_HF|" not in text
        assert "|Δlog E_HF|" in text
