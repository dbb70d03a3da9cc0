"""A number and its unit or percent sign never part at a line's end: every displayed text (prose through
``reader_text``, tables through ``reader_table`` and ``table_numbers``, a stored percent through
``spaced_percents``) joins them with a no-break space."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from spectral_collapse.text import NBSP, notation, percent, spaced_percents, unbroken

# a value, then an ordinary (breakable) space, then its unit or percent sign
PARTED = re.compile(r"\d (?:%|px|s|ms|min|dB|[KMG]i?B)(?!\w)")


@pytest.mark.parametrize("said", [
    f"OVG improves {percent(0.123)} of the crops",
    "0.77 s per step at 256 px; 1.6 GB of floats, 48.4 min on 2 cores, 0.1 dB of PSNR, 16 GiB, 34 MB, 12 ms",
    f"a share of {percent(0.625)} [50.0, 75.0]",
])
def test_a_shown_value_keeps_its_unit_on_its_line(said):
    from spectral_collapse.plotting.reader import reader_text

    assert PARTED.search(said)                     # the text as composed parts them
    for shown in (notation(said), reader_text(said), reader_text(said, "html"), unbroken(said)):
        assert not PARTED.search(shown), shown
        assert f"{NBSP}%" in shown or f"{NBSP}s" in shown


def test_a_table_keeps_each_value_with_its_unit():
    from spectral_collapse.plotting.reader import reader_table, table_numbers

    frame = pd.DataFrame({"share": [percent(0.25), percent(0.5)], "time": ["0.8 s", "12 ms"]}, index=["a", "b"])
    html = reader_table(frame)
    assert not PARTED.search(html) and html.count(f"{NBSP}%") == 2
    assert not PARTED.search(table_numbers("3.5 % and 2 px"))


def test_a_stored_percent_is_shown_joined_and_words_code_and_maths_keep_their_spaces():
    assert spaced_percents("at least 90% of it, 12.5 % and 7 %") == f"at least 90{NBSP}% of it, 12.5{NBSP}% and 7{NBSP}%"
    kept = "2 sizes, 3 hours, 4 samples, `12 %`, $5 s$, [x](a%20b)"
    assert unbroken(kept) == kept and notation(kept).count(NBSP) == 0
    once = unbroken("12.3 % and 0.77 s")
    assert unbroken(once) == once                   # idempotent
