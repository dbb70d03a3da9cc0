"""How the front pages write numbers, counts and names: the shared text helpers and the generated fragments that
use them (claim rules, reproducing estimate, Fig. 6), on synthetic inputs."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spectral_collapse import text as T

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------ text helpers

@pytest.mark.parametrize("x, digits, want", [(-0.28, 2, "-0.28"), (0.19, 2, "+0.19"), (-1.0, 3, "-1.000"),
                                             (0.0, 1, "+0.0"), (float("nan"), 2, "nan"), (None, 2, "nan")])
def test_signed_always_writes_the_sign(x, digits, want):
    assert T.signed(x, digits) == want


def test_plural():
    assert T.plural(1, "thread") == "1 thread" and T.plural(2, "thread") == "2 threads"
    assert T.plural(0, "index", "indices") == "0 indices"


@pytest.mark.parametrize("n", [950, 12_400, 2.91e6, 1.392e8, 1.42e9, 999.96e6, 3.1e13])
def test_large_counts_read_as_words_never_e_notation(n):
    said = T.large(n)
    assert "e+" not in said and "e-" not in said
    if n >= 1e6:
        head = float(said.split()[0])
        scale = {"million": 1e6, "billion": 1e9}.get(said.split()[1]) if len(said.split()) == 2 else None
        if scale:
            assert head * scale == pytest.approx(n, rel=0.01)


# --------------------------------------------------------------------------------------------- claims page

def test_claim_rules_and_correlations_name_symbols_and_counts():
    """The claims' rules name mu_HF by its symbol, and a correlation finding counts coinciding and failed cells."""
    from spectral_collapse.claims.checks import correlation_finding
    from spectral_collapse.claims.paper import CLAIMS

    for c in CLAIMS:
        assert "mu_HF" not in c.rule and "mu_HF" not in c.statement
    rng = np.random.default_rng(0)
    x = rng.random(8)
    w = pd.DataFrame({"a": x, "b": -x + 0.3 * rng.random(8)},
                     index=pd.MultiIndex.from_tuples([("d1" if i < 4 else "d2", f"m{i}") for i in range(8)],
                                                     names=["dataset", "method"]))
    found = correlation_finding(w, {"failed": 1, "coinciding": 1}, "a", "b", -1, 0.5)
    assert "coinciding 1, failed cells 1" in found.detail


# ------------------------------------------------------------------------------------- reproducing estimate

def test_reproducing_estimate_prints_large_counts_in_words(tmp_path, monkeypatch):
    from spectral_collapse.pipeline import fragments as F

    timing = {"parameters": 6.4e8, "shape": [4, 32, 32], "forward": {"cpu_s_per_image": 2.9},
              "forward_backward": {"cpu_s_per_image": 9.9}, "forward_flops": 1.17e11}
    monkeypatch.setattr(F, "paper_timing", lambda root: timing)
    md = F.book_fragments(tmp_path)["reproducing.md"]
    assert "e+" not in md and "million" in md
    assert not re.search(r"\d{5,}", md.replace(",", "")) or re.search(r"\d{1,3}(,\d{3})+", md)


def _page_lines(page: Path) -> list[str]:
    """A hand-written page's lines with each ``{include}`` of a file outside _generated/ expanded (the part between
    its :start-after: and :end-before: markers), as the book shows them."""
    out, lines, i = [], page.read_text().splitlines(), 0
    while i < len(lines):
        m = re.match(r"^`{3,}\{include\}\s+(\S+)", lines[i])
        if not m or "_generated" in m.group(1):
            out.append(lines[i]); i += 1
            continue
        opts = {}
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            o = re.match(r"^:([\w-]+):\s*(.*)$", lines[i])
            if o:
                opts[o.group(1)] = o.group(2)
            i += 1
        i += 1
        text = (page.parent / m.group(1)).read_text()
        if "start-after" in opts:
            text = text.split(opts["start-after"], 1)[1]
        if "end-before" in opts:
            text = text.split(opts["end-before"], 1)[0]
        out += text.splitlines()
    return out


def _too_long_code_lines(lines: list[str], limit: int) -> list[int]:
    """1-based numbers of the lines longer than ``limit`` inside code blocks of a shell or Python kind."""
    too_long, inside = [], None
    for i, line in enumerate(lines, 1):
        m = re.match(r"^\s*(`{3,}|:{3,})(.*)$", line)
        if m:
            if inside is None:
                inside = (m.group(1), m.group(2).strip())
                continue
            if m.group(1) == inside[0] and not m.group(2).strip():
                inside = None
                continue
        if inside and inside[1] in ("bash", "python", "text", "console", "sh", "shell", "") \
                and len(line.rstrip()) > limit:
            too_long.append(i)
    return too_long


def test_book_code_blocks_fit_the_column():
    """Command lines in the hand-written pages' code blocks, and in the parts of the README a page includes, are
    broken to fit the text column (76 characters of monospace: a 77th wraps in the browser), so a reader sees a
    command whole."""
    too_long = []
    for page in (ROOT / "book").glob("*.md"):
        if page.name == "api.md":
            continue
        too_long += [f"{page.name}:{i}" for i in _too_long_code_lines(_page_lines(page), 76)]
    assert not too_long, too_long


def test_the_code_block_check_sees_an_included_long_line(tmp_path):
    (tmp_path / "README.md").write_text("x\n<!-- a -->\n```bash\n" + "y" * 77 + "\n```\n<!-- b -->\n" + "```bash\n"
                                        + "z" * 90 + "\n```\n")
    page = tmp_path / "p.md"
    page.write_text("# P\n\n```{include} README.md\n:start-after: <!-- a -->\n:end-before: <!-- b -->\n```\n")
    lines = _page_lines(page)
    assert "y" * 77 in lines and "z" * 90 not in lines   # only the included part
    assert _too_long_code_lines(lines, 76) == [lines.index("y" * 77) + 1]


# ------------------------------------------------------------------------------------------- figures, Fig. 6

def test_pareto_chart_gives_each_ovg_base_its_own_shape():
    import xarray as xr

    from spectral_collapse.plotting import pareto as P

    grid = pd.DataFrame({"base": ["ovg", "ovg", "ovg_taba", "ovg_taba", "ovg_edm", "ovg_edm"],
                         "eta_hf": [1, 2, 1, 2, 1, 2], "eta_lf": [1, 1, 1, 1, 1, 1],
                         "s_hf": [0.80, 0.90, 0.95, 0.85, 0.9505, 0.70], "s_lf": [0.5, 0.4, 0.6, 0.3, 0.6003, 0.2],
                         "psnr": 20.0, "failed": 0, "on_front": [1, 1, 1, 0, 1, 0],
                         "chosen": [1, 0, 1, 0, 0, 0]})
    base = pd.DataFrame({"method": ["ddim"], "s_hf": [0.75], "s_lf": [0.7], "failed": [0]})
    ds = xr.Dataset(attrs={"dataset": "d"})
    mp = pytest.MonkeyPatch()
    mp.setattr(P, "grid_summary", lambda d: grid.copy())
    mp.setattr(P, "baseline_summary", lambda d: base.copy())
    try:
        spec = P.pareto_chart(ds).to_dict()
    finally:
        mp.undo()
    shapes = [lay["encoding"]["shape"]["scale"]["range"] for lay in spec["layer"]
              if "shape" in lay.get("encoding", {}) and "scale" in lay["encoding"]["shape"]]
    assert shapes and len(set(shapes[0])) == 3   # one shape per OVG base
