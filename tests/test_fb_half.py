"""A claim of which only one half can be tested is labelled by the reading of that half, not "not testable here"."""
from spectral_collapse.studies.claims_ablations import _one_level
from spectral_collapse.studies.claims_words import verdict_words
from spectral_collapse.studies.verdicts import FAILS, HOLDS, INCONCLUSIVE, UNTESTABLE


def test_one_tested_half_that_holds_is_partly_testable():
    v, detail = _one_level("ihc-edges", "ddim", (HOLDS, "ihc-edges: k90 DDIM − Gaussian −2.4 [−3.0, −2.0] → holds"))
    assert v == UNTESTABLE
    said = verdict_words(v, "", "", detail)
    assert said == "partly testable: the testable half holds"
    assert verdict_words(v, "below the gate", "", detail).startswith("partly testable: the testable half holds, ")


def test_half_reading_follows_the_comparison():
    for got, want in ((False, FAILS), (INCONCLUSIVE, f"is {INCONCLUSIVE}")):
        v, detail = _one_level("x", "ddim", (got, "x: k90 ddim 3, gaussian 5"))
        assert verdict_words(v, "", "", detail) == f"partly testable: the testable half {want}"


def test_plain_untestable_stays_not_testable():
    assert verdict_words(UNTESTABLE, "", "", "needs pca_collapse results") == UNTESTABLE
