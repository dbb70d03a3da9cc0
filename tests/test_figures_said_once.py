"""Each time and count of the suite is said once, on the cost page (book/costs.md): the README and the Makefile's
comments point there instead of quoting a time, a test count or a study count that could drift from it."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# a duration ("17 min 2 s", "about 2.5 minutes", "1 h"), a test count ("2,117 tests") or a study count ("26 studies")
QUOTED = re.compile(r"\b\d+(?:[.,]\d+)? ?(?:min|minutes|h|hours|s|seconds)\b|\b\d[\d,]* tests\b|\b\d+ studies\b")


def quoted_figures(text: str) -> list[str]:
    """The times and counts ``text`` quotes."""
    return [m.group(0) for m in QUOTED.finditer(text)]


def test_the_pattern_finds_times_and_counts_and_leaves_sizes_alone():
    assert quoted_figures("make test  # 17 min 2 s for 2,117 tests; about 2.5 minutes; the 26 studies") == [
        "17 min", "2 s", "2,117 tests", "2.5 minutes", "26 studies"]
    assert quoted_figures("about 7 GB of disk; 32 px crops; Python 3.10+") == []


def test_readme_and_makefile_comments_leave_times_and_counts_to_the_cost_page():
    readme = (ROOT / "README.md").read_text()
    comments = "\n".join(line for line in (ROOT / "Makefile").read_text().splitlines() if line.lstrip().startswith("#"))
    assert quoted_figures(readme) == [] and quoted_figures(comments) == []
    assert "book/costs.md" in readme and "book/costs.md" in comments
