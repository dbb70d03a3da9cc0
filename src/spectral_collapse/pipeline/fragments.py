"""The book's generated markdown: the numbers of the hand-written pages, from stored results.

The method pages and the reproducing page hold the prose; their numbers come from these fragments, written into
book/_generated/ by scripts/make_toc.py from the stored results (``book_fragments``) and pulled in with MyST's
{include}. The pages that read every result at once (introduction, scorecard, claims, figures, conclusions, errata)
are notebooks of their own (``pipeline.book_pages``). Nothing here reads ``benchmarks/``: the benchmark measurements
(benchmarks/results/latest.json) come in as the ``bench`` dict.
"""
from __future__ import annotations

from pathlib import Path

from ..plotting.reader import reader_text as one_notation
from ..studies.method_labels import name_quoted_methods
from ..studies.store import load_results, results_path
from ..text import minus, ranges

__all__ = ["schedule_fragment", "schedule_basis", "book_fragments", "table_chars", "TABLE_CHARS", "CELL_PAD"]

# the text column is 752 px wide at a 1280 px window; a compact table (0.85 em, one line a cell) fits it while its
# widest line per column, in characters, plus CELL_PAD per column stays within TABLE_CHARS
TABLE_CHARS = 95
CELL_PAD = 3
LINE_BREAK = "<br>"   # a line break inside a pipe-table cell


def table_chars(table_md: str) -> int:
    """The width a pipe table needs, in characters: per column its longest line (cells split at ``LINE_BREAK``, a
    column's header included) plus ``CELL_PAD``."""
    rows = [ln.strip().strip("|").split(" | ") for ln in table_md.splitlines()
            if ln.strip().startswith("|") and not set(ln.strip()) <= set("|-: ")]
    if not rows:
        return 0
    n = max(len(r) for r in rows)
    widest = [max((len(part.strip()) for r in rows if i < len(r) for part in r[i].split(LINE_BREAK)), default=0)
              for i in range(n)]
    return sum(widest) + CELL_PAD * n


def schedule_fragment(root: str | Path, profile: str) -> str:
    """The OVG page's measured schedules: what the runs translate (which of the main results' seeds and crops, so
    that their DDIM and OVG means can be set beside the introduction's), then each dataset's ``ovg_schedule``
    verdict (best schedule, cost, quality). The comparison between datasets is said once, after the last one."""
    found = [(d, load_results(p)) for d in ("ihc-sr", "ihc-edges")
             if (p := results_path("ovg_schedule", d, profile, root)).exists()]
    if not found:
        return (f"No `ovg_schedule` results are stored for the `{profile}` profile yet; `make book` runs the study "
                "(chapter *Where OVG must act*).\n")
    parts = [schedule_basis(found[0][1], root, profile)]
    for dataset, ds in found:
        best = str(ds.attrs.get("best_schedule", "")) or "none"
        parts.append(f"- **{dataset}** ({profile} profile): best schedule within "
                     f"{float(ds.attrs['max_time_ratio']):g}x DDIM's time: {best} (share of the gain "
                     f"{float(ds.attrs.get('best_gain_share', float('nan'))):.2f}; chapter *Where OVG must act*)")
    return "\n".join(parts) + "\n"


def schedule_basis(ds, root: str | Path, profile: str) -> str:
    """What the schedule runs translate, beside what the main results average: the seed and number of test crops
    of the stored ``ovg_schedule`` result against the main results' seeds (the introduction's means)."""
    seed, n = ds.attrs.get("seed"), ds.attrs.get("n_test", ds.sizes.get("sample"))
    main = results_path("main_results", "ihc-sr", profile, root)
    seeds = int(load_results(main).sizes.get("seed", 1)) if main.exists() else None
    text = f"Each run translates the main results' {n} test crops with sampling seed {seed} only"
    if seeds and seeds > 1:
        text += (f", so its DDIM and full-OVG means (and PSNR) differ from the introduction's, which average "
                 f"{seeds} seeds ({seeds * int(n)} translations)")
    return text + ".\n"


def book_fragments(results_root: str | Path = "data/results", profile: str = "quick",
                   bench: dict | None = None, gpu: dict | None = None,
                   bench_gpu: dict | None = None) -> dict[str, str | bytes]:
    """Every generated fragment of the book's pages: {file name under book/_generated: text or PNG bytes}, each text
    in the book's one notation (``plotting.reader.reader_text``), its ranges with an en dash (``text.ranges``).

    ``bench`` is the benchmark run the cost paragraphs and the reproducing estimate quote (the parsed
    benchmarks/results/latest.json, which the caller reads; None: the pages point to the cost chapter); ``gpu`` the
    newest GPU measurement of the paper's scale (``benchmarks/results/*-extras.json``), or None; ``bench_gpu`` (the
    newest GPU run of the benchmarks) is not read by any fragment.
    """
    from .cost_pages import bench_ovg_step_ratio, gpu_fragment, paper_timing, profile_fragment, reproducing_fragment

    if isinstance(bench, (str, Path)):
        raise TypeError("book_fragments takes the benchmark results as a dict (json.loads of "
                        f"{bench}), not a path: the library does not read benchmarks/")
    out: dict[str, str | bytes] = {"ovg-schedule.md": schedule_fragment(results_root, profile),
                                   "reproducing.md": reproducing_fragment(results_root, bench),
                                   "reproducing-profile.md": profile_fragment(profile),
                                   "reproducing-gpu.md": gpu_fragment(gpu, paper_timing(results_root),
                                                                      bench_ovg_step_ratio(bench))}
    # every page in the book's one notation: keys, method labels and ASCII forms as the chapters show them
    return {name: ranges(minus(one_notation(name_quoted_methods(v)))) if isinstance(v, str) else v
            for name, v in out.items()}
