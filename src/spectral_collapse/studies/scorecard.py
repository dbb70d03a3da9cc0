"""Reproduction scorecard: the paper's numbers beside ours, matched by a join.

Every row of the paper's tables (``reference.paper_tables()``: Tables 1, 3-6, 8-11 in long form) is left-joined on
``KEYS`` = (table, dataset, scale, backbone, space, method, metric) with the rows we derive from stored results; a
paper row with no counterpart reads "not run". Our rows come from:

- ``main_results/<dataset>-<profile>.nc``: bundled ``ihc-sr`` stands in for BBBC021 x16 (Table 9), ``ihc-edges``
  for Edges2Shoes (Table 11); a real ``bbbc021`` run maps to Table 8 / 9 / 10 by its SR factor and a real
  ``edges2shoes`` run to Table 11. A real dataset replaces its bundled stand-in on the same key.
- ablation results (``backbone_ablation`` -> Table 3 by ``backbone``, ``space_ablation`` -> Table 4 by ``space``,
  ``scale_factor`` -> Table 5 by ``scale``/``factor``), BBBC021 stand-ins only (those tables are BBBC021 x16).
- Table 1 ("% of comparisons where a stochastic method beats a deterministic one") recomputed from the main
  results, and Table 6 ("% of cases where x0-prediction beats eps-prediction") from ``eps_vs_x0`` results.

Aggregation is the paper's: mean over the test images of one seed, then mean and std (ddof 1) over seeds.
The ``Evidence`` built here (a long frame of per-seed means, a long frame of per-crop values, plus whole Pareto /
PCA results) is also what the claims (``studies.claims``) are judged on; ``errata_checks`` compares the paper's
tables with each other.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..reference import paper_tables
from .aggregate import coinciding_methods
from .shares import LOWER_IS_BETTER, countable, percent_improved, share_notes
from .validity import failed_of
from .store import load_results

__all__ = ["KEYS", "METRICS", "LOWER_IS_BETTER", "DETERMINISTIC", "STOCHASTIC", "OVG_LABELS", "TABLE6_METHODS",
           "PAPER_SCALES", "STANDIN", "ABLATIONS", "EXTRA_STUDIES", "CROP_METRICS", "Evidence", "evidence_of",
           "long_frame", "crop_frame", "load_evidence", "paper_evidence", "our_table_rows", "scorecard", "countable",
           "percent_improved", "share_notes", "ordering_agreement", "counts", "errata_checks", "scale_labels",
           "method_means", "fmt_value", "fmt_metric"]

KEYS = ["table", "dataset", "scale", "backbone", "space", "method", "metric"]
METRICS = ("psnr", "ms_ssim", "lpips", "fid", "s_hf", "s_lf", "s_dc", "s_g")
DETERMINISTIC = ("ddim", "null_class", "direct_inversion")   # Table 1's "deterministic" group
STOCHASTIC = ("taba", "renoise")                             # Table 1's "stochastic" group
OVG_LABELS = ("ovg", "ovg_taba", "ovg_edm")
TABLE6_METHODS = ("ddim", "taba", "ovg")                     # Table 6's rows (our stable OVG form is shown apart)
PAPER_SCALES = ("x8", "x16", "x32")
_MAIN_TABLE = {("bbbc021", "x8"): "table8", ("bbbc021", "x16"): "table9", ("bbbc021", "x32"): "table10",
               ("edges2shoes", ""): "table11"}
STANDIN = {"ihc-sr": "bbbc021", "bbbc021": "bbbc021", "ihc-edges": "edges2shoes", "edges2shoes": "edges2shoes"}
# study -> (short name in the evidence frame, the ablation axis, paper table)
ABLATIONS = {"backbone_ablation": ("backbone", "backbone", "table3"), "space_ablation": ("space", "space", "table4"),
             "scale_factor": ("scale", "scale", "table5")}
_AXIS_ALIASES = {"backbone": ("backbone", "arch", "architecture"), "space": ("space", "data_space"),
                 "scale": ("scale", "factor", "sr_factor"), "parameterization": ("parameterization", "prediction",
                                                                                  "objective", "target")}
EXTRA_STUDIES = ("pareto", "pca_collapse")   # read whole, for the claims that need more than table numbers
_NON_METRIC_DIMS = {"sample", "image", "channel", "y", "x", "noise_image", "model"}
CROP_METRICS = (*METRICS, "delta_log_e_hf")  # those held per sample go into Evidence.crops
_CROP_COLUMNS = ["study", "dataset", "method", "seed", "sample", "crop", "metric", "value"]


# ------------------------------------------------------------------------------------------ evidence frames

def long_frame(ds: xr.Dataset, study: str, dataset: str) -> pd.DataFrame:
    """Per-seed means of every known metric in ``ds``: study, dataset, <other dims>, method, seed, metric, value,
    with ``samples`` (per cell, NaN for set-level metrics), ``failed`` / ``n`` (samples failed / kept in that cell,
    where the results record failures) and ``same_as``
    (the method this one coincides with, ``aggregate.coinciding_methods``; "" for none).

    Per-sample variables are averaged over the kept samples of each seed; set-level ones (s_g, fid) are taken
    as they are. Variables without a ``method`` dimension are skipped.
    """
    frames = []
    failed = failed_of(ds)
    same = coinciding_methods(ds)
    for m in METRICS:
        if m not in ds or "method" not in ds[m].dims:
            continue
        v = ds[m]
        v = v.mean("sample", skipna=True) if "sample" in v.dims else v
        extra = [d for d in v.dims if d in _NON_METRIC_DIMS]
        if extra:  # a metric on images or models, not a table entry
            continue
        df = v.to_dataframe(name="value").reset_index()[[*v.dims, "value"]].assign(metric=m)
        df["samples"] = ds.sizes["sample"] if "sample" in ds[m].dims else np.nan
        if failed is not None and "sample" in failed.dims and set(failed.dims) - {"sample"} <= set(v.dims):
            bad = failed.sum("sample").broadcast_like(v).transpose(*v.dims)
            df["failed"] = bad.values.ravel().astype(int)
            df["n"] = ds.sizes["sample"] - df["failed"]
        df["same_as"] = df["method"].astype(str).map(same).fillna("")
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=["study", "dataset", "method", "seed", "metric", "value"])
    return _name_axes(pd.concat(frames, ignore_index=True).assign(study=study, dataset=dataset), ds)


def _name_axes(out: pd.DataFrame, ds: xr.Dataset) -> pd.DataFrame:
    """``out`` with a ``seed`` column (0 when the results have none), the axes under their evidence names (the
    first of an axis's ``_AXIS_ALIASES`` that is a dimension or coordinate of ``ds``) and labels as text."""
    if "seed" not in out:
        out["seed"] = 0
    for axis, names in _AXIS_ALIASES.items():
        name = next((n for n in names if n in ds.dims or n in ds.coords), None)
        if name and name != axis and name in out:
            out = out.rename(columns={name: axis})
    for col in ("method", *(a for a in _AXIS_ALIASES if a in out)):
        out[col] = out[col].astype(str)
    return out


def crop_frame(ds: xr.Dataset, study: str, dataset: str) -> pd.DataFrame:
    """Per-crop values of every per-sample metric in ``ds`` (``CROP_METRICS``; set-level ones such as s_g and fid
    have no crops): study, dataset, <other dims>, method, seed, sample, crop, metric, value, same_as, with the axes
    named as in ``long_frame``. A failed sample (``validity.failed_of``) keeps its row with value NaN. ``crop``
    identifies the test crop: the results' ``crop`` variable (the index into the paired split each (seed, sample)
    translated) where stored, else the sample index (every seed translated the same crops)."""
    frames, failed, same = [], failed_of(ds), coinciding_methods(ds)
    for m in CROP_METRICS:
        v = ds[m] if m in ds else None
        if v is None or not {"method", "sample"} <= set(v.dims) or set(v.dims) & (_NON_METRIC_DIMS - {"sample"}):
            continue
        if failed is not None and set(failed.dims) <= set(v.dims):
            v = v.where(~failed.astype(bool))
        crop = ds["crop"] if "crop" in ds and set(ds["crop"].dims) <= set(v.dims) else v["sample"]
        df = v.to_dataframe(name="value").reset_index()[[*v.dims, "value"]].assign(metric=m)
        df["crop"] = crop.broadcast_like(v).transpose(*v.dims).values.ravel()
        df["same_as"] = df["method"].astype(str).map(same).fillna("")
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=_CROP_COLUMNS)
    return _name_axes(pd.concat(frames, ignore_index=True).assign(study=study, dataset=dataset), ds)


def _factor(ds: xr.Dataset, default: int | None = None) -> int | None:
    """The SR factor a results file was made with (data_meta attr), if recorded."""
    try:
        meta = json.loads(ds.attrs.get("data_meta", "{}"))
    except (TypeError, json.JSONDecodeError):
        meta = {}
    f = meta.get("factor", default)
    return int(f) if f not in (None, "") else None


@dataclass
class Evidence:
    """What claims are judged on: a long frame of per-seed means, one of per-crop values (``crop_frame``; empty for
    the paper's tables, which report means only) and whole Pareto / PCA results, ours or the paper's."""

    frame: pd.DataFrame
    extra: dict = field(default_factory=dict)      # study ("pareto", "pca_collapse") -> {dataset: xr.Dataset}
    source: str = "ours"                           # "ours" | "paper"
    files: dict = field(default_factory=dict)      # study -> [paths] (ours)
    crops: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_CROP_COLUMNS))
    bands: dict = field(default_factory=dict)      # (study, dataset) -> the real crops' band (``verdicts.real_band``)
    spaces: dict = field(default_factory=dict)     # (study, dataset) -> {arm's axis value ("" for one arm): space}

    def select(self, study: str, per_crop: bool = False, **eq) -> pd.DataFrame:
        """Rows of one study (of ``crops`` when ``per_crop``, else of ``frame``) with column == value for each
        keyword (columns absent -> no rows); per crop, the columns empty for the whole study are dropped."""
        f = self.crops if per_crop else self.frame
        if f.empty or "study" not in f:
            return f
        f = f[f["study"] == study]
        if per_crop:  # the columns of other studies' axes
            f = f.loc[:, f.notna().any() | (f.columns == "value")]
        for k, v in eq.items():
            if k not in f:
                return f.iloc[0:0]
            f = f[f[k].isin(v if isinstance(v, (list, tuple, set)) else [v])]
        return f


def arm_spaces(ds: xr.Dataset) -> dict:
    """The data space ("pixel" or "latent") each arm of a results file diffused in: {axis value: space} for an
    ablation (its arms' ``per_arm`` records, keyed by the value of its last axis), {"": space} for a single-arm study;
    {} when the results do not record it."""
    if "per_arm" in ds.attrs and "arms" in ds.attrs:
        per_arm, arms = json.loads(ds.attrs["per_arm"]), json.loads(ds.attrs["arms"])
        out = {}
        for a in arms:
            space = (per_arm.get(a.get("tag"), {}) or {}).get("space")
            if space and a.get("coords"):
                out[str(a["coords"][-1][1])] = str(space)
        return out
    return {"": str(ds.attrs["space"])} if ds.attrs.get("space") else {}


def evidence_of(ds: xr.Dataset, short: str, dataset: str | None = None) -> Evidence:
    """One results dataset as evidence (``short``: its name in the evidence, "main", "x0", "scale", ...), read as
    ``load_evidence`` reads a stored file: a chapter judges the claims on its own results with it."""
    dataset = str(dataset or ds.attrs.get("dataset", ""))
    fr = long_frame(ds, short, dataset)
    if short == "main":
        fr["factor"] = _factor(ds)
    from .verdicts import real_band

    band = real_band(ds)
    spaces = arm_spaces(ds)
    return Evidence(frame=fr, source="ours", crops=crop_frame(ds, short, dataset),
                    bands={} if band is None else {(short, dataset): band},
                    spaces={(short, dataset): spaces} if spaces else {})


def load_evidence(root: str | Path = "data/results", profile: str = "quick") -> Evidence:
    """Our evidence: every stored results file of ``profile`` under ``root`` that the scorecard knows how to read."""
    root = Path(root)
    frames, crops, files, extra, bands, spaces = [], [], {}, {}, {}, {}
    studies = {"main_results": "main", **{k: v[0] for k, v in ABLATIONS.items()}, "eps_vs_x0": "x0"}
    for study, short in studies.items():
        for path in sorted((root / study).glob(f"*-{profile}.nc")):
            ds = load_results(path)
            one = evidence_of(ds, short, str(ds.attrs.get("dataset") or path.stem.rsplit("-", 1)[0]))
            frames.append(one.frame)
            crops.append(one.crops)
            bands.update(one.bands)
            spaces.update(one.spaces)
            files.setdefault(study, []).append(str(path))
    for study in EXTRA_STUDIES:
        for path in sorted((root / study).glob(f"*-{profile}.nc")):
            ds = load_results(path)
            extra.setdefault(study, {})[str(ds.attrs.get("dataset") or path.stem.rsplit("-", 1)[0])] = ds
            files.setdefault(study, []).append(str(path))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["study", "dataset", "method", "seed", "metric", "value"])
    crops = [c for c in crops if not c.empty]
    return Evidence(frame=frame, extra=extra, source="ours", files=files, bands=bands, spaces=spaces,
                    crops=pd.concat(crops, ignore_index=True) if crops else pd.DataFrame(columns=_CROP_COLUMNS))


def paper_evidence(paper: pd.DataFrame | None = None) -> Evidence:
    """The paper's Tables 3-5 and 8-11 as evidence (one "seed" holding the reported mean)."""
    p = paper_tables() if paper is None else paper
    rows = []
    main = p[p["table"].isin(list(_MAIN_TABLE.values()))]
    rows.append(main.assign(study="main", dataset=np.where(main["scale"] != "", main["dataset"] + " " + main["scale"],
                                                          main["dataset"])))
    for _, (short, axis, table) in ABLATIONS.items():
        t = p[p["table"] == table]
        rows.append(t.assign(study=short, dataset="bbbc021"))
    f = pd.concat(rows, ignore_index=True).rename(columns={"mean": "value"})
    f["seed"] = 0
    return Evidence(frame=f[["study", "dataset", "scale", "backbone", "space", "method", "seed", "metric", "value"]],
                    source="paper")


# ----------------------------------------------------------------------------------------- table rows

def _agg(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean and std (ddof 1) over seeds of per-seed means, with the number of seeds (``ours_n``) and of failed
    samples (``ours_failed``). A deterministic method (the same value for every seed) has std NaN, not 0."""
    g = frame.groupby(by, dropna=False)["value"]
    out = g.agg(ours_mean="mean", ours_std=lambda s: s.std(ddof=1) if s.count() > 1 and s.nunique() > 1 else np.nan,
                ours_n="count").reset_index()
    if "failed" in frame:
        out["ours_failed"] = frame.groupby(by, dropna=False)["failed"].sum(min_count=1).to_numpy()
    return out


def scale_labels(values) -> dict:
    """Our SR-factor coordinate values -> the paper's x8 / x16 / x32 (by name, else by rank when there are 3)."""
    vals = [str(v) for v in values]
    if all(v in PAPER_SCALES for v in vals):
        return {v: v for v in vals}
    named = {v: f"x{int(float(v))}" for v in vals
             if re.fullmatch(r"\d+(\.0)?", v) and f"x{int(float(v))}" in PAPER_SCALES}
    if len(named) == len(vals):
        return named
    nums = sorted(vals, key=lambda v: float(re.sub(r"[^0-9.]", "", v) or "nan"))
    return dict(zip(nums, PAPER_SCALES)) if len(nums) == 3 else {}


def _space_note(space: str | None, paper_space: str) -> str:
    """Which of our spaces a row comes from, beside the paper's: "our pixel-space models beside the paper's
    latent-space rows" ("" when not recorded)."""
    if not space:
        return ""
    if space == paper_space:
        return f"our {space}-space models, in the same space as the paper's rows"
    return f"our {space}-space models beside the paper's {paper_space}-space rows"


def our_table_rows(ev: Evidence) -> pd.DataFrame:
    """Our rows on the paper's ``KEYS``: ours_mean, ours_std (over seeds), ours_lo / ours_hi (Tables 1 and 6: the
    share's 95 % interval, ``paper_shares``), ours_n (seeds; Tables 1, 6: distinct comparisons), ours_failed (samples
    left out of the mean; NaN where not recorded), ours_from: which study, dataset and arm, in which data space
    (pixel or latent, beside the paper's), and which methods coincide (one text for every row of a table's source, so
    the scorecard states it once)."""
    out = []
    main = ev.select("main")
    if "factor" not in main:
        main = main.assign(factor=np.nan)
    for (dataset, factor), g in main.groupby(["dataset", "factor"], dropna=False):
        pds = STANDIN.get(dataset)
        if pds is None:
            continue
        factor = None if pd.isna(factor) else factor
        if dataset == "bbbc021":
            scale = f"x{int(factor)}" if factor else ""
        else:
            scale = "x16" if pds == "bbbc021" else ""
        table = _MAIN_TABLE.get((pds, scale))
        if table is None:
            continue
        a = _agg(g, ["method", "metric"]).assign(table=table, dataset=pds, scale=scale, backbone="unet",
                                                 space="latent", real=dataset == pds)
        space = _space_note(ev.spaces.get(("main", dataset), {}).get(""), "latent")
        note = ", ".join(n for n in ("" if dataset == pds else "bundled stand-in", space) if n)
        same = g.groupby("method")["same_as"].first().to_dict() if "same_as" in g else {}
        both = "; ".join(f"{m} coincides with {o} sample for sample (counted once in shares)"
                         for m, o in sorted(same.items()) if o)
        a["ours_from"] = (f"main_results {dataset}" + (f" x{int(factor)}" if factor else "")
                          + (f" ({note})" if note else "") + (f"; {both}" if both else ""))
        out.append(a)
    for study, (short, axis, table) in ABLATIONS.items():
        g = ev.select(short)
        if g.empty or axis not in g:
            continue
        for dataset, gd in g.groupby("dataset"):
            if STANDIN.get(dataset) != "bbbc021":
                continue  # Tables 3-5 are BBBC021 only
            labels = scale_labels(gd[axis].unique()) if axis == "scale" else {v: v.lower() for v in gd[axis].unique()}
            gd = gd[gd[axis].isin(list(labels))].assign(paper_value=lambda d: d[axis].map(labels))
            a = _agg(gd, ["paper_value", axis, "method", "metric"])
            fixed = {"backbone": "unet", "space": "latent", "scale": "x16", axis: a["paper_value"]}
            arm_space = ev.spaces.get((short, dataset), {})
            paper_space = a["paper_value"] if axis == "space" else pd.Series("latent", index=a.index)

            def source(v, k, ps) -> str:
                said = f"{study} {dataset} factor {v} as {k}" if axis == "scale" else f"{study} {dataset} {axis} {v}"
                space = _space_note(arm_space.get(str(v)), ps)
                return f"{said} ({space})" if space else said

            out.append(a.assign(table=table, dataset="bbbc021", real=dataset == "bbbc021",
                                ours_from=[source(v, k, ps) for v, k, ps in zip(a[axis], a["paper_value"],
                                                                                paper_space)],
                                **fixed))
    from .paper_shares import table1_rows, table6_rows

    out += [t for t in (table1_rows(ev), table6_rows(ev)) if t is not None]
    cols = [*KEYS, "ours_mean", "ours_std", "ours_lo", "ours_hi", "ours_n", "ours_failed", "ours_from"]
    if not out:
        return pd.DataFrame(columns=cols)
    rows = pd.concat(out, ignore_index=True)
    rows = rows.sort_values("real", ascending=False, kind="stable").drop_duplicates(KEYS)  # real data first
    for c in ("ours_failed", "ours_lo", "ours_hi"):
        if c not in rows:
            rows[c] = np.nan
    return rows[cols].reset_index(drop=True)


def scorecard(ev: Evidence | None = None, paper: pd.DataFrame | None = None, **load_kw) -> pd.DataFrame:
    """Every paper row with ours beside it (left join on KEYS); ``status`` is "compared" or "not run"."""
    ev = ev if ev is not None else load_evidence(**load_kw)
    paper = paper_tables() if paper is None else paper
    ours = our_table_rows(ev)
    card = paper.rename(columns={"mean": "paper_mean", "std": "paper_std"}).merge(
        ours, on=KEYS, how="left", validate="one_to_one")
    card["status"] = np.where(card["ours_mean"].notna(), "compared", "not run")
    return card


def counts(card: pd.DataFrame) -> pd.DataFrame:
    """Per table: paper numbers, how many have a counterpart of ours, and where ours come from."""
    g = card.groupby("table", sort=False)
    out = pd.DataFrame({"paper numbers": g.size(), "compared": g["ours_mean"].count()})
    out["from"] = g["ours_from"].agg(lambda s: "; ".join(sorted(set(s.dropna()))) or "not run")
    order = sorted(out.index, key=lambda t: int(re.sub(r"\D", "", t) or 0))
    return out.reindex(order)


# ------------------------------------------------------------------------------------------ number formatting

def method_means(f: pd.DataFrame, by=("dataset", "method")) -> pd.DataFrame:
    """Mean over seeds, wide by metric: index ``by``, one column per metric."""
    if f.empty:
        return pd.DataFrame()
    return f.groupby([*by, "metric"])["value"].mean().unstack("metric")


def fmt_value(x: float) -> str:
    """Three decimals, or "nan"."""
    return "nan" if x is None or not np.isfinite(x) else f"{x:.3f}"


def fmt_metric(v: float, metric: str, share: bool = False) -> str:
    """A metric value as the tables print it: PSNR / FID 2 decimals, others 3, shares in %; "" if missing."""
    if v is None or not np.isfinite(v):
        return ""
    if share:
        return f"{100 * v:.1f}%"
    return f"{v:.2f}" if metric in ("psnr", "fid") else f"{v:.3f}"


# ------------------------------------------------------------------------------------------------- errata

def errata_checks(paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """The paper's internal inconsistencies that its own tables show, each checked by code (max |difference|)."""
    p = paper_tables() if paper is None else paper
    def rows(table, method, **kw) -> pd.Series:
        q = p[(p["table"] == table) & (p["method"] == method)]
        for k, v in kw.items():
            q = q[q[k] == v]
        return q.set_index("metric")["mean"]

    def diff(a, b) -> tuple[str, int]:
        """'max |a - b| over the metrics but FID (|FID difference|)', and how many metrics were compared."""
        j = pd.concat([a, b], axis=1, join="inner").dropna()
        d = (j.iloc[:, 0] - j.iloc[:, 1]).abs()
        rest = d[d.index != "fid"]
        text = fmt_metric(float(rest.max()), "psnr") if len(rest) else "n/a"
        return text + (f" ({fmt_metric(float(d['fid']), 'fid')})" if "fid" in d.index else ""), len(j)

    checks = [
        ("Table 5 x16 TABA row vs Table 4 pixel-space TABA row", rows("table5", "taba", scale="x16"),
         rows("table4", "taba", space="pixel")),
        ("Table 5 x16 TABA row vs Table 9 TABA row (the same setting)", rows("table5", "taba", scale="x16"),
         rows("table9", "taba")),
        ("Table 3 U-Net \"OGV\" row vs Table 9 OVG + TABA", rows("table3", "ovg", backbone="unet"),
         rows("table9", "ovg_taba")),
        ("Table 3 U-Net \"OGV\" row vs Table 9 plain OVG", rows("table3", "ovg", backbone="unet"),
         rows("table9", "ovg")),
        ("Table 5 x8 \"OGV\" row vs Table 8 OVG + TABA", rows("table5", "ovg", scale="x8"), rows("table8", "ovg_taba")),
        ("Table 5 x32 \"OGV\" row vs Table 10 OVG + EDM", rows("table5", "ovg", scale="x32"),
         rows("table10", "ovg_edm")),
        ("Table 10 EDM vs Standard", rows("table10", "edm"), rows("table10", "ddim")),
        ("Table 10 OVG + EDM vs OVG", rows("table10", "ovg_edm"), rows("table10", "ovg")),
        ("Table 4 pixel TABA vs pixel OVG", rows("table4", "taba", space="pixel"),
         rows("table4", "ovg", space="pixel")),
    ]
    checks += [(f"{t.replace('table', 'Table ')}: Null Class vs Direct", rows(t, "null_class"),
                rows(t, "direct_inversion")) for t in ("table8", "table9", "table10", "table11")]
    out = []
    for name, a, b in checks:
        d, n = diff(a, b)
        out.append({"comparison": name, "metrics compared": n, "max |difference| but FID (FID)": d})
    return pd.DataFrame(out)


def ordering_agreement(card: pd.DataFrame) -> pd.DataFrame:
    """Per metric: of the pairs of methods (same table, dataset and setting) that both the paper and we report, the
    share ordered the same way (the paper's ties and ours are left out). Tables 1 and 6 are shares, not method
    rows, and are not counted. Columns: metric, pairs, agree, share."""
    c = card[card["ours_mean"].notna() & card["paper_mean"].notna() & ~card["table"].isin(["table1", "table6"])]
    rows = []
    group = [k for k in KEYS if k not in ("method",)]
    for metric, g in c.groupby("metric"):
        pairs = agree = 0
        for _, cell in g.groupby([k for k in group if k != "metric"], dropna=False):
            v = cell[["paper_mean", "ours_mean"]].to_numpy(float)
            for i in range(len(v)):
                for j in range(i + 1, len(v)):
                    dp, do = np.sign(v[i, 0] - v[j, 0]), np.sign(v[i, 1] - v[j, 1])
                    if dp == 0 or do == 0:
                        continue
                    pairs += 1
                    agree += int(dp == do)
        rows.append({"metric": metric, "pairs": pairs, "agree": agree, "share": agree / pairs if pairs else np.nan})
    order = {m: i for i, m in enumerate(METRICS)}
    out = pd.DataFrame(rows, columns=["metric", "pairs", "agree", "share"])
    return out.sort_values("metric", key=lambda s: s.map(order)).reset_index(drop=True)
