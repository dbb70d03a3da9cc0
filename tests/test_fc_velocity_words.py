"""The velocity chapter's words: power and frequency never share "above 0", one form of the frequency unit."""
import numpy as np

from tests.test_chapter_text_b import _falling, _velocity


def test_frequency_is_never_said_above_0_and_one_unit_form():
    from spectral_collapse.report.velocity import SUMMARY_COLUMNS, positive_cells_text, velocity_verdict

    quiet = _falling(-3, -6)
    guided = quiet.copy()
    guided[0, 1:3] = 0.8
    ds = _velocity({"ddim": quiet, "ovg": guided})
    texts = [velocity_verdict(ds), positive_cells_text(ds), positive_cells_text(_velocity({"ddim": quiet})),
             *map(str, SUMMARY_COLUMNS.values())]
    for text in texts:
        assert "frequency above 0" not in text and "cycles/px" not in text, text
    assert positive_cells_text(_velocity({"ddim": quiet})).startswith("No update's log power")
