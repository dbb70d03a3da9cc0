"""Sentence starts keep a leading Greek symbol's case; the scorecard names ε-prediction with its symbol."""


def test_sentence_start_keeps_a_leading_greek_letter():
    from spectral_collapse.report.claims_page import sentence
    from spectral_collapse.studies.claims_words import sentence_start, study_title, upper_first

    title = study_title("eps_vs_x0")
    assert title.startswith("ε")
    for f in (sentence_start, upper_first, sentence):
        assert f(title) == title
        assert f("η_HF too large") == "η_HF too large"
        assert f("needs LPIPS") == "Needs LPIPS"


def test_conclusions_limits_keep_epsilon_lower_case():
    import inspect

    from spectral_collapse.report import answers

    assert "[:1].upper()" not in inspect.getsource(answers)


def test_scorecard_says_epsilon_not_eps():
    from spectral_collapse.pipeline import fragments as F

    assert "eps" not in F.TABLE_TITLES["table6"] and "ε" in F.TABLE_TITLES["table6"]
    assert F._ROW_NAMES["x0_vs_eps"] == "x0 vs ε"
