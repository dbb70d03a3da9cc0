"""The book's generated markdown: the numbers of the hand-written pages, from stored results.

The book's pages hold the prose; the numbers come from these fragments, written into book/_generated/ by
scripts/make_toc.py from the stored results (``book_fragments``) and pulled in with MyST's {include}. Nothing here
reads ``benchmarks/``: the benchmark measurements (benchmarks/results/latest.json) come in as the ``bench`` dict.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..plotting.figures import collapse_figure
from ..reference import paper_tables
from ..studies.claims import CLAIMS, evaluate_claims
from ..studies.claims_words import STUDY_TITLES, arm_words
from ..studies.scorecard import (METRICS, Evidence, counts, errata_checks, fmt_metric, load_evidence,
                                 ordering_agreement, paper_evidence, paper_row_notes, scorecard)
from ..studies.scorecard import below_gate_note, not_run_note, ordering_note, ties_note
from ..report.answers import answers_markdown, conclusions_markdown
from ..report.claims_page import claims_markdown
from ..report.tables import GENERATED, md_table
from ..report.reader import reader_text as one_notation
from ..studies.method_labels import name_quoted_methods
from ..studies.store import load_results, results_path
from ..text import interval, minus, percent, ranges

__all__ = ["GENERATED", "TABLE_TITLES", "md_table", "scorecard_markdown", "scorecard_fragment",
           "errata_fragment", "intro_fragment", "book_fragments"]

TABLE_TITLES = {  # in the order the scorecard shows them: Table 2's two halves first
    "table9": "Table 9: BBBC021 x16 (Table 2, right)", "table11": "Table 11: Edges2Shoes (Table 2, left)",
    "table8": "Table 8: BBBC021 x8", "table10": "Table 10: BBBC021 x32",
    "table1": "Table 1: stochastic vs deterministic inversion (share of comparisons improved)",
    "table3": "Table 3: backbone (BBBC021 x16)", "table4": "Table 4: data space (BBBC021 x16)",
    "table5": "Table 5: SR factor (BBBC021)", "table6": "Table 6: x0- vs ε-prediction (share of cases improved)"}


def _cell(r, share: bool) -> str:
    """One scorecard cell, 'paper / ours': a mean ± its std over seeds where there is one, a share with its 95 %
    interval; "not run" where we have no counterpart."""
    def pm(mean, std, printed: bool = False) -> str:
        v = fmt_metric(mean, r.metric, share, printed=printed)
        sd = (fmt_metric(std, r.metric, share, printed=printed)
              if std is not None and np.isfinite(std) and std > 0 else "")
        return f"{v} ± {sd}" if v and sd else v

    # the paper's numbers with the decimals its tables print ("0.83", not "0.830")
    paper = pm(r.paper_mean, getattr(r, "paper_std", np.nan), printed=True)
    o = float(r.ours_mean)
    if not np.isfinite(o):
        return f"{paper} / not run"
    lo, hi = float(getattr(r, "ours_lo", np.nan)), float(getattr(r, "ours_hi", np.nan))
    ours = (f"{fmt_metric(o, r.metric, share)}{LINE_BREAK}{interval_text(lo, hi, r.metric, share)}"
            if np.isfinite(lo) and np.isfinite(hi) else pm(o, float(r.ours_std)))
    return f"{paper} / {ours}"


# a line break inside a pipe-table cell (MyST passes the inline HTML through), so a value and its interval stack
LINE_BREAK = "<br>"
# the text column is 752 px wide at a 1280 px window; a compact table (0.85 em, one line a cell) fits it while its
# widest line per column, in characters, plus CELL_PAD per column stays within TABLE_CHARS
TABLE_CHARS = 95
CELL_PAD = 3
ROW_LABEL_CHARS = 16


def interval_text(lo: float, hi: float, metric: str, share: bool = False) -> str:
    """A 95 % interval in the book's one form (``text.interval``: "[lo, hi]", the unit (%) left to the value it
    follows); "(no spread)" when every bootstrap draw gave the same value (``shares.share_span``: a zero-width
    interval is no interval)."""
    if np.isclose(lo, hi, rtol=0.0, atol=1e-12):
        return "(no spread)"
    return interval(lo, hi, lambda v: fmt_metric(v, metric, share).removesuffix(" %"))


def wrap_label(text: str, width: int = ROW_LABEL_CHARS) -> str:
    """A row label longer than ``width`` characters broken into lines at spaces (``LINE_BREAK``)."""
    lines: list[str] = []
    for word in str(text).split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return LINE_BREAK.join(lines)


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


_TABLE_KEY = re.compile(r"\btable(\d+)\b")
# the scorecard's row keys that are not method labels, as a reader names them
_ROW_NAMES = {"x0_vs_eps": "x0 vs ε", "stochastic_vs_deterministic": "stochastic vs deterministic",
              "unet": "U-Net", "dit": "DiT"}
# the studies that fill the scorecard, by the names of their chapters
_STUDY_NAMES = {k: STUDY_TITLES[k] for k in ("main_results", "backbone_ablation", "space_ablation", "scale_factor",
                                             "eps_vs_x0")}
# a paper table with more metric columns than this is shown as two tables of at most this many, so every column
# fits the text column without a word split across lines
MAX_METRIC_COLUMNS = 5
METRIC_GROUPS = (("image quality", ("psnr", "ms_ssim", "lpips", "fid")),
                 ("spectral scores", ("s_hf", "s_lf", "s_dc", "s_g")))


def table_name(key: str) -> str:
    """A paper table's key as the pages name it: "table1" -> "Table 1"."""
    return _TABLE_KEY.sub(lambda m: f"Table {m.group(1)}", str(key))


def reader_text(text: str) -> str:
    """A scorecard text with the internal keys it carries (table keys, study names, metric columns, row keys)
    written as the pages name them."""
    text = table_name(text)
    text = re.sub(r"\b(" + "|".join(_STUDY_NAMES) + r")\b", lambda m: _STUDY_NAMES[m.group(1)], text)
    text = re.sub(r"\b(" + "|".join(_ROW_NAMES) + r")\b", lambda m: _ROW_NAMES[m.group(1)], text)
    return _metric_names(text)


def compact(table_md: str) -> str:
    """A pipe table in a ``compact-table`` container: book.css keeps each of its cells on one line."""
    return f":::{{container}} compact-table\n{table_md}:::\n"


def _side_by_side(t: pd.DataFrame, idx: list[str], share: bool) -> str:
    """One paper table as pipe tables: a row of the paper's numbers, then a row of ours, per method (and axis value);
    the metric columns in groups of at most ``MAX_METRIC_COLUMNS``."""
    cells: dict[tuple, dict[str, tuple[str, str]]] = {}
    for r in t.itertuples():
        cells.setdefault(tuple(getattr(r, k) for k in idx), {})[r.metric] = _pair(r, share)
    present = [m for m in METRICS if m in set(t["metric"])]
    groups = [("", present)] if len(present) <= MAX_METRIC_COLUMNS else [
        (name, [m for m in ms if m in present]) for name, ms in METRIC_GROUPS]
    groups += [("", [m for m in present if not any(m in ms for _, ms in groups)])]
    out = []
    for name, ms in groups:
        if not ms:
            continue
        rows = []
        for key, by in cells.items():
            labels = [wrap_label(reader_text(arm_words(k, v))) for k, v in zip(idx, key)]
            rows.append([*labels, "paper", *[by.get(m, ("", ""))[0] for m in ms]])
            rows.append([*[""] * len(labels), "ours", *[by.get(m, ("", ""))[1] for m in ms]])
        frame = pd.DataFrame(rows, columns=[*idx, "", *[_METRIC_NAMES.get(m, m) for m in ms]])
        out.append((f"*{name.capitalize()}* ({', '.join(_METRIC_NAMES.get(m, m) for m in ms)}):\n\n" if name else "")
                   + compact(md_table(frame)))
    return "\n".join(out)


def _pair(r, share: bool) -> tuple[str, str]:
    """One scorecard cell as (paper, ours): a mean ± its std over seeds where there is one, a share with its 95 %
    interval; "not run" where we have no counterpart."""
    paper, ours = _cell(r, share).split(" / ", 1)
    return paper or "—", ours


def scorecard_markdown(card: pd.DataFrame) -> str:
    """One section per paper table: per method (and ablation axis value) a row of the paper's numbers and a row of
    ours, one column per metric."""
    out = []
    order = {t: i for i, t in enumerate(TABLE_TITLES)}
    for table, t in sorted(card.groupby("table", sort=False), key=lambda kv: order.get(kv[0], len(order))):
        share = table in ("table1", "table6")
        axis = {"table3": "backbone", "table4": "space", "table5": "scale"}.get(table)
        idx = ([axis] if axis else []) + ["method"]
        src = sorted(set(t["ours_from"].dropna()))
        what = ("ours with its 95 % interval over test crops (over seeds for a metric of a whole set)" if share
                else "each a mean ± its standard deviation over seeds")
        out.append(f"## {TABLE_TITLES.get(table, table_name(table))}\n\nThe paper's numbers and ours, {what}. Ours "
                   f"from: {reader_text('; '.join(src)) if src else 'not run'}.\n\n" + _side_by_side(t, idx, share)
                   + (f"\n{notes}" if (notes := paper_row_notes(table)) else "")
                   + (f"\n{weak}" if (weak := below_gate_note(t)) else ""))
    return "\n".join(out)


def scorecard_fragment(ev: Evidence, profile: str) -> str:
    """The scorecard page's generated part: coverage per table, then every table side by side."""
    card = scorecard(ev)
    cov = counts(card).reset_index().rename(columns={"table": "paper table"})
    cov = cov.assign(**{"paper table": cov["paper table"].map(table_name), "from": cov["from"].map(reader_text)})
    n, k = len(card), int(card["ours_mean"].notna().sum())
    head = (f"On the {profile} profile, {k} of the paper's {n} numbers have a counterpart in our stored results "
            "(each table below names the chapters its numbers come from).\n\n")
    return ordering_markdown(card) + not_run_note(card) + head + md_table(cov) + "\n" + scorecard_markdown(card)


def ordering_markdown(card) -> str:
    """The scorecard's opening summary: where our orderings of methods agree with the paper's, metric by metric."""
    agree = ordering_agreement(card)
    agree = agree[agree["pairs"] > 0]
    if agree.empty:
        return "No method pair is reported both by the paper and by us yet, so no ordering can be compared.\n\n"
    parts = [f"{_METRIC_NAMES.get(r.metric, r.metric.upper())} {r.agree} of {r.pairs} ({percent(r.share, 0)})"
             for r in agree.itertuples()]
    return ("**Where our orderings agree with the paper's.** Of the pairs of methods that the paper and we both "
            "report in the same table and setting, the pairs ordered the same way: " + "; ".join(parts) + ". Half "
            "is what unrelated orderings would give" + (f"; {low}" if (low := ordering_note(agree)) else "") +
            ". " + (f"{tied} " if (tied := ties_note(agree)) else "") + "The absolute values are not comparable (our "
            "small models and bundled data stand in for the paper's).\n\n")


def schedule_fragment(root: str | Path, profile: str) -> str:
    """The OVG page's measured schedules: what the runs translate (which of the main results' seeds and crops, so
    that their DDIM and OVG means can be set beside the introduction's), then each dataset's ``ovg_schedule``
    verdict (best schedule, cost, quality). The comparison between datasets is said once, after the last one."""
    import tempfile

    from ..report.schedule import verdict

    found = [(d, load_results(p)) for d in ("ihc-sr", "ihc-edges")
             if (p := results_path("ovg_schedule", d, profile, root)).exists()]
    if not found:
        return (f"No `ovg_schedule` results are stored for the `{profile}` profile yet; `make book` runs the study "
                "(chapter *Where OVG must act*).\n")
    parts = [schedule_basis(found[0][1], root, profile)]
    with tempfile.TemporaryDirectory() as none:   # no other dataset's result: the comparison waits for the last
        for i, (dataset, ds) in enumerate(found):
            said = verdict(ds, root if i == len(found) - 1 else none)
            # the verdict's paragraphs stand without the chapter's table on this page
            said = said.replace(" in the table above", "")
            parts.append(f"- **{dataset}** ({profile} profile): " + said.replace("\n\n", "\n\n  "))
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


_METRIC_NAMES = {"s_hf": "S_HF", "s_lf": "S_LF", "s_dc": "S_DC", "s_g": "S_G", "psnr": "PSNR", "ms_ssim": "MS-SSIM",
                 "lpips": "LPIPS", "fid": "FID"}


def _metric_names(text: str) -> str:
    """``text`` with the metrics' column names (s_hf, ms_ssim, ...) written as the pages write them."""
    return re.sub(r"\b(" + "|".join(_METRIC_NAMES) + r")\b", lambda m: _METRIC_NAMES[m.group(1)], text)


def errata_fragment(paper: pd.DataFrame | None = None) -> str:
    """The errata page's generated part: the table checks, then the paper's two share tables against its own
    numbers: Table 1 recomputed from Tables 8–11, and Table 6 as printed (its cases are not in the tables)."""
    p = paper_tables() if paper is None else paper
    t1 = evaluate_claims(Evidence(frame=pd.DataFrame(columns=["study"])), paper_evidence(p),
                         claims=[c for c in CLAIMS if c.key == "table1"])
    lines = [f"- **Table 1, recomputed from Tables 8–11** (share of comparisons in which a stochastic method beats a "
             f"deterministic one; a metric holds where the recomputed share lies on the same side of 50 % as the "
             f"reported one): {_metric_names(r['paper numbers'])}." for _, r in t1.iterrows()]
    t6 = p[(p["table"] == "table6") & p["metric"].isin(["psnr", "ms_ssim", "s_lf"])]
    if len(t6):
        lines.append("- **Table 6 as printed** (share of cases in which x0-prediction beats ε-prediction, for the "
                     "structure and reconstruction metrics the text of Sec. 6.3 speaks of): "
                     + ", ".join(f"{_METRIC_NAMES[r.metric]} {percent(r.mean)}" for r in t6.itertuples())
                     + ". The paper's tables give no per-case eps and x0 numbers, so these shares cannot be "
                       "recomputed from them.")
    checks = errata_checks(p)
    col = "metrics compared"
    head = ""
    if col in checks.columns and checks[col].nunique() == 1:   # a constant column says it once, above the table
        head = f"Each row compares the {checks[col].iloc[0]} metrics the two rows both report.\n\n"
        checks = checks.drop(columns=col)
    return (head + md_table(checks) + "\nThe paper's two tables of shares against its own numbers:\n\n"
            + "\n".join(lines) + "\n")


def intro_fragment(root: str | Path, profile: str, dataset: str = "ihc-sr") -> tuple[str, bytes | None]:
    """The introduction's figure block (markdown) and PNG, or a note when the main results are not stored yet."""
    path = results_path("main_results", dataset, profile, root)
    if not path.exists():
        return (f"```{{note}}\nThe figure of this page is drawn from the stored main results ({path}), which do not "
                f"exist yet: `make book` (or `python -m spectral_collapse.cli studies --profile {profile}`) runs the "
                f"studies, and `python scripts/make_toc.py` redraws it.\n```\n", None)
    png, caption = collapse_figure(load_results(path))
    return (f"```{{figure}} {GENERATED}/intro-collapse.png\n:name: fig-collapse\n:width: 100%\n\n{caption}\n```\n", png)


# benchmark label -> the method chapter it belongs to
def book_fragments(results_root: str | Path = "data/results", profile: str = "quick",
                   bench: dict | None = None, gpu: dict | None = None,
                   bench_gpu: dict | None = None) -> dict[str, str | bytes]:
    """Every generated fragment of the book's pages: {file name under book/_generated: text or PNG bytes}, each text
    in the book's one notation (``report.reader.reader_text``), its ranges with an en dash (``text.ranges``).

    ``bench`` is the benchmark run the cost paragraphs and the reproducing estimate quote (the parsed
    benchmarks/results/latest.json, which the caller reads; None: the pages point to the cost chapter); ``gpu`` the
    newest GPU measurement of the paper's scale (``benchmarks/results/*-extras.json``), or None; ``bench_gpu`` the
    newest GPU run of the benchmarks (``benchmarks/results/*-cuda.json``), whose OVG cost the answers quote beside the
    CPU's, or None.
    """
    from .cost_pages import bench_ovg_step_ratio, gpu_fragment, paper_timing, profile_fragment, reproducing_fragment

    if isinstance(bench, (str, Path)):
        raise TypeError("book_fragments takes the benchmark results as a dict (json.loads of "
                        f"{bench}), not a path: the library does not read benchmarks/")
    ev = load_evidence(results_root, profile)
    intro_md, png = intro_fragment(results_root, profile)
    out: dict[str, str | bytes] = {"intro-figure.md": intro_md, "scorecard.md": scorecard_fragment(ev, profile),
                                   "answers.md": answers_markdown(results_root, profile, ev, bench, bench_gpu),
                                   "conclusions.md": conclusions_markdown(ev),
                                   "ovg-schedule.md": schedule_fragment(results_root, profile),
                                   "claims.md": claims_markdown(ev), "errata.md": errata_fragment(),
                                   "reproducing.md": reproducing_fragment(results_root, bench),
                                   "reproducing-profile.md": profile_fragment(profile),
                                   "reproducing-gpu.md": gpu_fragment(gpu, paper_timing(results_root),
                                                                      bench_ovg_step_ratio(bench))}
    if png is not None:
        out["intro-collapse.png"] = png
    from ..report.paper_figures import figures_markdown

    figures_md, figure_pngs = figures_markdown(results_root, profile, ev)
    out["paper-figures.md"] = figures_md
    out.update(figure_pngs)
    # every page in the book's one notation: keys, method labels and ASCII forms as the chapters show them
    return {name: ranges(minus(one_notation(name_quoted_methods(v)))) if isinstance(v, str) else v
            for name, v in out.items()}
