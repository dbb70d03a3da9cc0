"""The book's width rule for tables, in characters (tests/test_table_widths.py, tests/test_gate_tables_fit.py): a
table fits the 752 px text column while its widest line per column plus ``CELL_PAD`` stays within ``TABLE_CHARS``."""
from __future__ import annotations

TABLE_CHARS = 95
CELL_PAD = 3
LINE_BREAK = "<br>"   # a line break inside a pipe-table cell


def table_chars(table_md: str) -> int:
    """The width a pipe table needs, in characters: per column its longest line (cells split at ``LINE_BREAK``)
    plus ``CELL_PAD``."""
    rows = [ln.strip().strip("|").split(" | ") for ln in table_md.splitlines()
            if ln.strip().startswith("|") and not set(ln.strip()) <= set("|-: ")]
    if not rows:
        return 0
    n = max(len(r) for r in rows)
    widest = [max((len(part.strip()) for r in rows if i < len(r) for part in r[i].split(LINE_BREAK)), default=0)
              for i in range(n)]
    return sum(widest) + CELL_PAD * n
