"""The hand-written methods pages quote no measurement typed by hand: each number in their prose is either a
setting, a consequence of a formula that these tests recompute, or absent. The introduction and the methods page
say the same thing about what is typed."""
import json
import math
import re
from pathlib import Path

import pytest
from scipy import stats

BOOK = Path(__file__).resolve().parents[1] / "book"


def _prose(name: str) -> str:
    """A page's text with its line breaks and runs of spaces read as single spaces (a notebook page's: its
    markdown cells, from its source in notebooks/book/)."""
    if name.endswith(".ipynb"):
        cells = json.loads((BOOK.parent / "notebooks" / "book" / name).read_text())["cells"]
        return " ".join(" ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown").split())
    return " ".join((BOOK / name).read_text().split())


def test_methods_quotes_no_measured_data_numbers_in_its_gate_paragraphs():
    """Measurements of the bundled crops (their channel spread, their power in a notch band) change with the data;
    typed into prose they go stale unseen, so the page describes them in words."""
    text = _prose("methods.md")
    for typed in ["0.006 to 0.07 %", "within about 0.04", "stray up to 0.1", "about 0.05 below",
                  "0.16 to 0.41", "0.16 to 0.32", "0.24 to 0.41", "median band carries"]:
        assert typed not in text, typed


def test_methods_prose_has_no_code_constants_or_test_paths():
    text = _prose("methods.md")
    assert "SEED_REPLICATES" not in text
    assert not re.search(r"\(?`?tests/test_\w+\.py", text)
    assert "## Sigma coordinates" not in text


def test_intro_and_methods_agree_on_what_is_typed():
    intro, methods = _prose("intro.ipynb"), _prose("methods.md")
    assert "quote none of their measurements" in methods or "quotes none of their measurements" in methods
    assert "quotes measurements of configurations" not in intro
    assert "none of their measurements" in intro


def test_schedule_numbers_of_the_gate_paragraph():
    """σ_0 ≈ 13 and √ᾱ at the top of the VP models' 50-step grid; σ_0/32 ≈ 0.41 for the noise averaged over
    a 32 × 32 crop's pixels."""
    from spectral_collapse.models.schedules import VPSchedule, ddim_sigmas
    sigma0 = float(ddim_sigmas(VPSchedule(), 50)[0])
    text = _prose("methods.md")
    assert "$\\sigma_0 \\approx 13$" in text and round(sigma0) == 13
    assert f"\\sqrt{{\\bar\\alpha}} = {1 / math.sqrt(1 + sigma0 ** 2):.3f}$" in text
    assert "\\approx 0.41" in text and round(sigma0 / 32, 2) == 0.41


def test_training_noise_shares_follow_the_distributions():
    text = _prose("methods.md")
    share = lambda mean, std, sigma: stats.norm.sf((math.log(sigma) - mean) / std)  # noqa: E731
    assert "0.2 % of training samples above $\\sigma = 10$" in text and round(100 * share(-1.2, 1.2, 10), 1) == 0.2
    assert "0.3 % of draws above $\\sigma = 16$" in text and round(100 * share(0, 1, 16), 1) == 0.3
    assert "puts 8 % of draws above" in text and round(100 * share(0, 2, 16)) == 8
    assert "puts 2 % there" in text and round(100 * share(-1.2, 2, 16)) == 2


def test_karras_grid_share_above_ten():
    from spectral_collapse.models.schedules import karras_sigmas
    s = karras_sigmas(50, 0.002, 80.0)
    s = s[s > 0]
    assert "a third of the 50-step grid" in _prose("methods.md")
    assert float((s > 10).float().mean()) == pytest.approx(1 / 3, abs=0.05)


def test_s_g_resolution_numbers():
    text = _prose("methods.md")
    d, n = 3072, 64
    sd = math.sqrt(2 / d)
    assert "0.026 at $d = 3072$" in text and round(sd, 3) == 0.026
    d_ks = lambda err: 2 * stats.norm.cdf(err / sd / 2) - 1  # noqa: E731  two unit normals shifted by err/sd
    assert "$D_{KS} \\approx 0.67$" in text and round(d_ks(0.05), 2) == 0.67
    assert "$D_{KS} \\approx 0.95$" in text and round(d_ks(0.10), 2) == 0.95
    z = lambda err: err * d / math.sqrt(2 * d / n)  # noqa: E731
    assert "z_{\\text{norm}} \\approx 31" in text and round(z(0.1)) == 31
    assert f"20 % about {round(z(0.2))}" in text
    from spectral_collapse.metrics.latent import ks_resolution
    assert "0.17 at $n = 64$" in text and round(ks_resolution(64), 2) == 0.17


def test_methods_page_defines_a_network_call():
    text = _prose("methods.md")
    assert "## What a step costs" in text and "*network calls*" in text and "doubled batch" in text
