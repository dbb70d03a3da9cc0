"""A scorecard cell prints the paper's number with the decimals the paper prints and ours with the book's."""
from types import SimpleNamespace

import numpy as np

from spectral_collapse.pipeline.fragments import _cell
from spectral_collapse.studies.scorecard import PAPER_DIGITS


def test_paper_numbers_keep_the_papers_decimals_and_ours_the_books():
    r = SimpleNamespace(metric="s_hf", paper_mean=0.83, paper_std=np.nan, ours_mean=0.8312, ours_std=0.01,
                        ours_lo=np.nan, ours_hi=np.nan)
    paper, ours = _cell(r, share=False).split(" / ")
    assert paper == f"{0.83:.{PAPER_DIGITS['s_hf']}f}"          # "0.83", not "0.830"
    assert ours == "0.831 ± 0.010"


def test_a_missing_counterpart_reads_not_run():
    r = SimpleNamespace(metric="psnr", paper_mean=18.693, paper_std=0.5, ours_mean=np.nan, ours_std=np.nan)
    assert _cell(r, share=False) == "18.69 ± 0.50 / not run"
