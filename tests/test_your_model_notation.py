"""The your-model chapter's own prose writes the latent's norm as maths and its step sizes as powers of ten, as the
tables do (``reader.table_numbers``), never the ASCII "||x_T||^2" or "1e-06"."""
from __future__ import annotations

import json
from pathlib import Path

NB = Path(__file__).resolve().parents[1] / "notebooks" / "your_model.ipynb"


def _code(nb) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def test_the_prose_it_displays_writes_norms_as_maths_and_step_sizes_as_powers_of_ten():
    from spectral_collapse.plotting.reader import table_numbers

    cells = [c for c in _code(json.loads(NB.read_text())) if "display(Markdown(" in c and "said" in c]
    assert cells
    for cell in cells:
        said = [ln for ln in cell.splitlines() if "said" in ln and ('f"' in ln or "f'" in ln)]
        assert not any("||x_T||" in ln for ln in said), cell[:80]
        assert "table_numbers(" in cell, cell[:80]
    assert table_numbers("eta_hf 1e-06") == "eta_hf 10⁻⁶"
