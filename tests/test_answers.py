"""The book's opening answers (report.answers): how they qualify a verdict that moves between training runs."""


def test_an_answer_that_moves_with_the_training_seed_says_so():
    from spectral_collapse.report.answers import _with_seeds

    line = "- **ihc-sr: OVG does not remove it.** S_HF 0.85 → 0.96."
    assert _with_seeds(line, {}) == line
    assert _with_seeds(line, {"seed 0": "holds", "seed 1": "holds"}) == line
    moved = _with_seeds(line, {"seed 0": "does not hold", "seed 1": "does not hold", "seed 2": "holds"})
    assert moved.startswith(line[:-1]) and "seed 2: holds" in moved and moved.endswith("training run.")
