"""The model-quality chapter's gate tables fit the text column (the book's width rule in characters), and its charts
keep model keys as they are typed."""
from __future__ import annotations

import numpy as np

from spectral_collapse.framework.quality import CHECKS, THRESHOLDS
import table_rule as F


def _html_chars(frame) -> int:
    """The width an HTML table needs by the rule of ``table_rule.table_chars``: per column its longest cell or the
    longest word of its header (a header wraps at spaces; a row label does not), plus ``CELL_PAD``."""
    cols = [(str(frame.index.name or ""), [str(v) for v in frame.index])]
    cols += [(str(c), [str(v) for v in frame[c]]) for c in frame.columns]
    return sum(max([len(w) for w in head.split()] + [len(v) for v in cells]) + F.CELL_PAD for head, cells in cols)


def _rows(names):
    rng = np.random.default_rng(0)
    rows = []
    for i, name in enumerate(names):
        row = {"model": name, "gate": "fails" if i == 0 else "passes", "steps": 6000}
        for c in CHECKS:   # a failing first row, values of every size the checks give; edges: edge-map models
            if c not in THRESHOLDS and "edges" not in name:
                continue
            v = THRESHOLDS.get(c, 0.04) * (1.4 if i == 0 and c == "spectrum" else rng.uniform(0.02, 0.9))
            row[c] = (v, not (i == 0 and c == "spectrum"))
        rows.append(row)
    return rows


def test_the_gate_tables_fit_the_text_column():
    from spectral_collapse.tables.quality import gate_frame
    from spectral_collapse.framework.model_set import MODEL_SET, SEED_REPLICATES

    names = [f"{r.key}-quick" for r in MODEL_SET] + [f"{r.key}-quick" for r in SEED_REPLICATES]
    for group in (names[:len(MODEL_SET)], names[len(MODEL_SET):]):
        table = gate_frame(_rows(sorted(group, key=len, reverse=True)))
        assert "steps" not in table and _html_chars(table) <= F.TABLE_CHARS, _html_chars(table)


def test_a_check_column_shows_at_most_two_decimals_beyond_its_threshold():
    from spectral_collapse.tables.quality import gate_frame

    rows = _rows(["a", "b"])
    rows[1]["mean"] = (0.0062, True)      # a small value does not widen the column past 3 decimals (threshold 0.1)
    table = gate_frame(rows)
    assert table.loc["b", "mean"] == "0.006" and "edges" not in table   # no edge-map model: no edges column
    rows[1]["edges"] = (0.00123, True)     # an edges check passed: its values are in the edge table, not here
    assert "edges" not in gate_frame(rows)
    rows[1]["edges"] = (0.123, False)      # failed: the column shows it marked, two significant figures
    assert gate_frame(rows).loc["b", "edges"] == "0.12\u00a0✗" and gate_frame(rows).loc["a", "edges"] == "—"


def test_the_loss_chart_title_does_not_begin_with_a_model_key():
    import xarray as xr

    from spectral_collapse.plotting.labels import chart_title
    from spectral_collapse.plotting.metric_charts import loss_chart

    ds = xr.Dataset({"train_step": (("model", "t"), [[50.0, 100.0]]), "train_loss": (("model", "t"), [[1.0, 0.5]]),
                     "heldout_step": (("model", "h"), [[50.0, 100.0]]),
                     "heldout_loss": (("model", "h", "band"), [[[0.9], [0.4]]])},
                    coords={"model": ["ihc-sr-x4-eps"]})
    title = loss_chart(ds, "ihc-sr-x4-eps").title
    assert "ihc" not in str(title).lower() and chart_title(title) == title
