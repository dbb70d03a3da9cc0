"""The ablation chapters beside the paper (Tables 3, 4 and 5; eps_vs_x0 beside the main-results table of each
scale): the join of our per-arm means with the paper's BBBC021 rows, the table a chapter shows, its lead and its
notes on the paper's rows. Re-exported by ``report.ablations``.
"""
from __future__ import annotations

import json
import re

import pandas as pd
import xarray as xr

from ..reference import paper_tables
from ..studies.ablations import ABLATIONS, ablation_summary
from ..studies.aggregate import TABLE_METRICS

__all__ = ["ablation_comparison", "paper_rows_shown", "paper_lead", "paper_table", "shown_levels", "paired",
           "paper_notes"]


def ablation_comparison(ds: xr.Dataset, metrics=TABLE_METRICS) -> pd.DataFrame:
    """Our (mean, std) beside the paper's (BBBC021) number for each (arm, method, metric): a join on those keys with
    the paper table the chapter replicates (Table 3, 4 or 5), named per row in ``paper_table``.

    eps_vs_x0 replicates Table 6, a table of shares (``percent_improved``); its eps arms are joined with the paper's
    eps U-Net rows of the main-results table of their factor's scale (Table 8, 9 or 10), the paper's full report of
    each setting, in which plain OVG and OVG + TABA have rows of their own.
    """
    from ..studies.evidence import MAIN_TABLE
    from ..studies.ablations import paper_key_of

    study = ds.attrs["study"]
    ours = ablation_summary(ds, metrics).rename(columns={"mean": "ours_mean", "std": "ours_std"})
    paper = paper_tables()
    key = paper_key_of(ds)
    ax, col = key.columns[0], key["paper_column"].iloc[0]
    ours = ours.merge(key[[ax, "paper_value"]], on=ax, how="left")
    if study == "eps_vs_x0":
        ours.loc[ours["parameterization"] != "eps", "paper_value"] = None
        ours["paper_table"] = [MAIN_TABLE.get(("bbbc021", v)) for v in ours["paper_value"]]
        paper = paper[(paper.backbone == "unet") & (paper.space == "latent")]
    else:
        ours["paper_table"] = ABLATIONS[study][1]
    paper = paper[paper.dataset == "bbbc021"].rename(columns={col: "paper_value", "mean": "paper_mean",
                                                              "std": "paper_std", "table": "paper_table"})
    on = ["paper_table", "paper_value", "method", "metric"]
    out = ours.merge(paper[[*on, "paper_mean", "paper_std"]], on=on, how="left")
    out.loc[out["paper_value"].isna(), "paper_table"] = None
    return out.rename(columns={"paper_value": f"paper_{col}"})


def paper_rows_shown(ds: xr.Dataset, metrics=TABLE_METRICS) -> list[dict]:
    """The paper's printed rows the chapter's comparison shows, each by its full key (``reference.ROW_KEYS``: table,
    dataset, scale, backbone, space, method), in the order of the comparison."""
    from ..reference import ROW_KEYS

    cmp = ablation_comparison(ds, metrics).dropna(subset=["paper_mean"])
    col = next(c for c in cmp.columns if c.startswith("paper_") and c not in ("paper_mean", "paper_std", "paper_table"))
    paper = paper_tables()
    rows = []
    for (table, value, method), _ in cmp.groupby(["paper_table", col, "method"], sort=False):
        found = paper[(paper.table == table) & (paper.dataset == "bbbc021") & (paper[col[len("paper_"):]] == value)
                      & (paper.method == method)][ROW_KEYS].drop_duplicates()
        rows += found.to_dict("records")
    return rows


def paper_lead(ds: xr.Dataset) -> str:
    """Markdown: which of the paper's tables the chapter's "paper" columns come from, on which keys."""
    from ..reference import table_word as table_name

    cmp = ablation_comparison(ds)
    shown = cmp.dropna(subset=["paper_table"])
    col = next(c for c in cmp.columns if c.startswith("paper_") and c not in ("paper_mean", "paper_std", "paper_table"))
    pairs = shown[[col, "paper_table"]].drop_duplicates()
    tables = ", ".join(dict.fromkeys(table_name(t) for t in pairs["paper_table"]))
    caveat = "Our data and models are small analogues: compare orderings, not values."
    if ds.attrs["study"] == "eps_vs_x0":
        pairs = shown[[c for c in ("factor", col, "paper_table") if c in shown]].drop_duplicates()
        ours = pairs["factor"] if "factor" in pairs else [None] * len(pairs)
        which = "; ".join((f"our ×{f} beside " if f is not None else "") + f"{v} from {table_name(t)}"
                          for f, v, t in zip(ours, pairs[col], pairs["paper_table"]))
        return (f"The eps arms beside the paper's eps U-Net rows (BBBC021, latent space) of the main-results table of "
                f"their factor's scale ({which}), matched to them by scale, method and metric; Table 6, the table this "
                f"chapter replicates, gives shares only (below), and the paper reports no x0 rows. {caveat}")
    arms = ""
    for ax in json.loads(ds.attrs["axes"]):
        if ax in shown and paired(shown[ax], shown[col]) and (shown[ax].astype(str) != shown[col].astype(str)).any():
            both = shown[[ax, col]].drop_duplicates()
            from ..studies.claims_words import ARM_WORDS

            def word(v):   # an arm's value as the tables name it ("×2", "U-Net"); the paper's "x8" as "×8"
                return ARM_WORDS[ax](v) if ax in ARM_WORDS else v

            def theirs(v):
                return f"×{str(v)[1:]}" if str(v)[:1] == "x" and str(v)[1:].isdigit() else v

            arms += " Rows by our " + ax + ": " + ", ".join(
                f"{word(a)} beside the paper's {col[len('paper_'):]} {theirs(b)}" for a, b in zip(both[ax], both[col])) + "."
    named = (" The paper's table is named on every row." if pairs["paper_table"].nunique() > 1 else "")
    return (f"Rows are matched to the paper's {tables} (BBBC021, the only dataset of the paper's ablations) by "
            f"{col[len('paper_'):]}, method and metric.{arms}{named} Under each metric, ours beside the paper's number. {caveat}")


def paper_table(ds: xr.Dataset, metrics=TABLE_METRICS, digits: int = 3) -> pd.DataFrame:
    """The chapter's comparison table: rows (arm, the paper's column, the paper's table, method), columns (metric,
    "ours" | "paper"), ours beside the paper's number under each metric (a metric the paper does not report has
    ours alone). Row levels that say nothing a row does not already say are left out (``shown_levels``): the paper's
    column where it repeats the arm, a level with one value for every row (the lead, ``paper_lead``, names it)."""
    from ..reference import table_word as table_name

    cmp = ablation_comparison(ds, metrics)
    cmp["paper_table"] = cmp["paper_table"].map(lambda t: table_name(t) if isinstance(t, str) else "—")
    axes = json.loads(ds.attrs["axes"])
    key = [c for c in cmp.columns if c.startswith("paper_") and c not in ("paper_mean", "paper_std")]
    wide = cmp.pivot_table(index=[*axes, *key, "method"], columns="metric", values=["ours_mean", "paper_mean"],
                           sort=False).round(digits)
    wide = wide.swaplevel(0, 1, axis=1).rename(columns={"ours_mean": "ours", "paper_mean": "paper"}, level=1)
    cols = [(m, w) for m in metrics for w in ("ours", "paper") if (m, w) in wide.columns and wide[(m, w)].notna().any()]
    wide = wide[cols]
    wide.columns = pd.MultiIndex.from_tuples(cols)
    return shown_levels(wide, axes)


def paired(ours, theirs) -> bool:
    """Whether two columns of values pair one to one (each of ours with one of theirs, and back)."""
    pairs = set(zip(ours, theirs))
    return len({a for a, _ in pairs}) == len(pairs) == len({b for _, b in pairs})


def shown_levels(wide: pd.DataFrame, axes: list[str]) -> pd.DataFrame:
    """``wide`` with the row levels a reader needs: a "paper_<axis>" level that pairs one to one with its axis (the
    lead, ``paper_lead``, names the pairs) and any level but the method's with one value throughout dropped; the paper's levels named in words ("paper_scale" ->
    "paper's scale")."""
    ix = wide.index

    drop = [n for n in ix.names if n.startswith("paper_") and n != "paper_table"
            and any(paired(ix.get_level_values(a), ix.get_level_values(n)) for a in axes if a in ix.names)]
    keep = [n for n in ix.names if n not in drop]
    drop += [n for n in keep if n != "method" and ix.get_level_values(n).nunique() == 1 and len(keep) - len(drop) > 1]
    out = wide.droplevel(drop) if drop and len(drop) < ix.nlevels else wide
    names = [f"paper's {n[len('paper_'):]}" if isinstance(n, str) and n.startswith("paper_") else n
             for n in out.index.names]
    return out.rename_axis(index=names)


def paper_notes(ds: xr.Dataset, metrics=TABLE_METRICS) -> str:
    """Markdown: methods whose rows in the paper's table carry the same numbers on every metric shown for one arm
    (the errata page lists such rows), so a reader does not set our difference between them against a difference
    the paper's table does not have; then each row shown that another of the paper's tables contradicts
    (``studies.paper_copies.copy_notes``: which row carries which row's numbers and which of the two is the copy,
    the same sentence in every chapter that shows a row of the pair). '' when there is neither."""
    from ..studies.claims_words import arm_words
    from ..studies.method_labels import method_name

    cmp = ablation_comparison(ds, metrics).dropna(subset=["paper_mean"])
    key = [c for c in cmp.columns if c.startswith("paper_") and c not in ("paper_mean", "paper_std", "paper_table")]
    lines = []
    for arm, g in cmp.groupby(key, sort=False):
        rows = g.pivot_table(index="method", columns="metric", values="paper_mean", sort=False)
        rows = rows.loc[:, rows.notna().all()]
        if rows.shape[1] < 2:
            continue
        for _, same in rows.groupby(list(rows.columns), sort=False):
            if len(same) > 1:
                # the arm in the reader's words, as a modifier: "the DiT arm", "the pixel-space arm"
                arm_name = re.sub(r" (space)$", r"-\1", arm_words(key[0][len("paper_"):],
                                                                  arm[0] if isinstance(arm, tuple) else arm))
                names = " and ".join(method_name(m) for m in same.index)
                lines.append(f"{names} of the {arm_name} arm carry the same numbers on all {rows.shape[1]} metrics "
                             "shown here")
    out = []
    if lines:
        out.append("In the paper's table, " + "; ".join(lines) + " (see {doc}`the errata </errata>`), so our "
                   "difference between those methods has no counterpart in the paper's numbers.")
    notes = _copy_notes_shown(paper_rows_shown(ds, metrics)) if "paper_table" in cmp else []
    if notes:
        out.append("Rows of the paper's tables that carry another row's numbers (see {doc}`the errata </errata>`), "
                   "shown as the paper prints them:\n\n" + "\n".join(f"- {n}" for n in notes))
    return "\n\n".join(out)


def _copy_notes_shown(rows: list[dict]) -> list[str]:
    """``studies.paper_copies.copy_notes`` on the rows a chapter shows, keeping a copy group's sentence only where the
    chapter's table carries one of the group's copies (the row that repeats another's numbers): a page that shows
    only the row copied, or a row of the copy's setting, does not show what the sentence is about. Sentences on rows
    that other tables contradict are kept."""
    from ..reference import ROW_KEYS
    from ..studies.paper_copies import copy_groups, copy_notes, copy_sentence

    def key(r) -> tuple:
        return tuple(str(r[k]) for k in ROW_KEYS)

    shown = {key(r) for r in rows}
    groups = copy_groups()
    hidden = {copy_sentence(g) for g in groups if not any(key(c) in shown for c in g["copies"])}
    kept = {copy_sentence(g) for g in groups} - hidden
    return [n for n in copy_notes(rows) if n in kept or n not in hidden]
