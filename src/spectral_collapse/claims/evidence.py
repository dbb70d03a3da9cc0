"""The evidence the scorecard and the claims read: our stored results (``load_evidence``), or the paper's Tables 3-5
and 8-11 (``paper_evidence``, one "seed" holding the reported mean), as long frames."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..reference import paper_tables
from ..framework.aggregate import coinciding_methods
from ..framework.oracle_arm import arm_results
from ..framework.store import load_results
from ..framework.validity import failed_of

__all__ = ["METRICS", "ABLATIONS", "EXTRA_STUDIES", "CROP_METRICS", "STUDY_NAMES", "Evidence", "long_frame",
           "weak_arms", "evidence_of", "load_evidence", "oracle_evidence", "paper_evidence", "seed_arms",
           "seed_evidence", "per_object"]

METRICS = ("psnr", "ms_ssim", "lpips", "fid", "s_hf", "s_lf", "s_dc", "s_g")
MAIN_TABLE = {("bbbc021", "x8"): "table8", ("bbbc021", "x16"): "table9", ("bbbc021", "x32"): "table10",
              ("edges2shoes", ""): "table11"}
# study -> (short name in the evidence frame, the ablation axis, paper table)
ABLATIONS = {"backbone_ablation": ("backbone", "backbone", "table3"), "space_ablation": ("space", "space", "table4"),
             "scale_factor": ("scale", "scale", "table5")}
AXES = ("backbone", "space", "scale", "parameterization")   # the axes' evidence names (a results' "factor" is "scale")
EXTRA_STUDIES = ("pareto", "pca_collapse")   # read whole, for the claims that need more than table numbers
# each results folder the evidence reads, by its short name in the evidence
STUDY_NAMES = {"main_results": "main", **{k: v[0] for k, v in ABLATIONS.items()}, "eps_vs_x0": "x0",
               **{s: s for s in EXTRA_STUDIES}}
_NON_METRIC_DIMS = {"sample", "image", "channel", "y", "x", "noise_image", "model"}
CROP_METRICS = (*METRICS, "delta_log_e_hf", "support_leak")  # those held per sample go into Evidence.crops
_FRAME_COLUMNS = ["study", "dataset", "method", "seed", "metric", "value"]
_CROP_COLUMNS = ["study", "dataset", "method", "seed", "sample", "crop", "metric", "value"]
_HASH = re.compile(r"-[0-9a-f]{12}$")   # a model name's configuration hash


def long_frame(ds: xr.Dataset, study: str, dataset: str, per_crop: bool = False) -> pd.DataFrame:
    """Per-seed means (``per_crop``: each crop's value, a failed sample's NaN) of every known metric in ``ds`` as a
    long frame, with ``samples``, ``failed`` / ``n`` and ``same_as``."""
    frames, failed, same = [], failed_of(ds), coinciding_methods(ds)
    for m in CROP_METRICS if per_crop else METRICS:
        v = ds[m] if m in ds else None
        if v is None or "method" not in v.dims or set(v.dims) & (_NON_METRIC_DIMS - {"sample"}):
            continue  # a metric on images or models is not a table entry
        if per_crop and "sample" not in v.dims:
            continue
        if per_crop and failed is not None and set(failed.dims) <= set(v.dims):
            v = v.where(~failed.astype(bool))
        if not per_crop and "sample" in v.dims:
            v = v.mean("sample", skipna=True)
        df = v.to_dataframe(name="value").reset_index()[[*v.dims, "value"]].assign(metric=m)
        if per_crop:
            crop = ds["crop"] if "crop" in ds and set(ds["crop"].dims) <= set(v.dims) else v["sample"]
            df["crop"] = crop.broadcast_like(v).transpose(*v.dims).values.ravel()
        else:
            df["samples"] = ds.sizes["sample"] if "sample" in ds[m].dims else np.nan
            if failed is not None and "sample" in failed.dims and set(failed.dims) - {"sample"} <= set(v.dims):
                df["failed"] = failed.sum("sample").broadcast_like(v).transpose(*v.dims).values.ravel().astype(int)
                df["n"] = ds.sizes["sample"] - df["failed"]
        df["same_as"] = df["method"].astype(str).map(same).fillna("")
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=_CROP_COLUMNS if per_crop else _FRAME_COLUMNS)
    out = pd.concat(frames, ignore_index=True).assign(study=study, dataset=dataset)
    if "seed" not in out:
        out["seed"] = 0
    if "scale" not in out:   # the axes under their evidence names (``AXES``), labels as text
        out = out.rename(columns={"factor": "scale"})
    for col in ("method", *(a for a in AXES if a in out)):
        out[col] = out[col].astype(str)
    return out


@dataclass
class Evidence:
    """What claims are judged on: long frames of per-seed means and per-crop values (empty for the paper's tables,
    which report means only), and whole Pareto / PCA results."""

    frame: pd.DataFrame
    extra: dict = field(default_factory=dict)      # study ("pareto", "pca_collapse", "main") -> {dataset: xr.Dataset}
    source: str = "ours"                           # "ours" | "paper"
    crops: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_CROP_COLUMNS))
    # (study, dataset) -> (names of the models below the quality gate, ``weak_arms``: which arms they computed)
    weak: dict = field(default_factory=dict)
    truths: dict = field(default_factory=dict)     # (study, dataset) -> {metric: the ground truth's mean} (``truths``)

    def gated(self) -> "Evidence":
        """The same evidence without what a model below the quality gate computed (an ablation: its arms)."""
        frame, crops, extra = self.frame, self.crops, {k: dict(v) for k, v in self.extra.items()}
        for (study, dataset), (_, arms) in self.weak.items():
            if study in extra:
                extra[study].pop(dataset, None)
                continue
            frame, crops = (_without(f, study, dataset, arms) for f in (frame, crops))
        return replace(self, frame=frame, crops=crops, extra=extra, weak={})

    def only(self, dataset: str) -> "Evidence":
        """The same evidence on one dataset alone."""
        extra = {k: {d: r for d, r in v.items() if d == dataset} for k, v in self.extra.items()}
        on = [f[f["dataset"].astype(str) == dataset] if "dataset" in f else f for f in (self.frame, self.crops)]
        pick = lambda d: {k: v for k, v in d.items() if k[1] == dataset}   # noqa: E731
        return replace(self, frame=on[0], crops=on[1], extra=extra, weak=pick(self.weak), truths=pick(self.truths))

    def datasets(self) -> list[str]:
        """Every dataset the evidence holds."""
        names = {str(d) for f in (self.frame, self.crops) if "dataset" in f for d in f["dataset"].unique()}
        return sorted(names | {str(d) for v in self.extra.values() for d in v})

    def with_arm(self, short: str, dataset: str, arm: "Evidence") -> "Evidence":
        """This evidence with a study's results on one dataset replaced by ``arm``'s (one training seed's)."""
        out = [pd.concat([_without(f, short, dataset, None), g], ignore_index=True) if not g.empty else
               _without(f, short, dataset, None) for f, g in ((self.frame, arm.frame), (self.crops, arm.crops))]
        extra = {k: dict(v) for k, v in self.extra.items()}
        for k, v in arm.extra.items():
            extra.setdefault(k, {}).update(v)
        return replace(self, frame=out[0], crops=out[1], extra=extra, truths={**self.truths, **arm.truths},
                       weak={**{k: v for k, v in self.weak.items() if k != (short, dataset)}, **arm.weak})

    def select(self, study: str, per_crop: bool = False, **eq) -> pd.DataFrame:
        """Rows of one study (of ``crops`` when ``per_crop``) with column == value for each keyword (absent: none);
        per crop, the columns empty for the whole study are dropped."""
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


def _without(f: pd.DataFrame, study: str, dataset: str, arms) -> pd.DataFrame:
    """``f`` without the rows of ``study`` on ``dataset`` of ``arms`` ((axis, {value: names}); None: all of them)."""
    if f.empty or "study" not in f:
        return f
    hit = (f["study"] == study) & (f["dataset"].astype(str) == dataset)
    if arms is not None and arms[0] in f:
        hit &= f[arms[0]].astype(str).isin(list(arms[1]))
    return f[~hit]


def _gate_failed(ds) -> set[str]:
    """The models (with their hash) of a result's ``model_gate`` record below the quality gate now: by the report
    stored with the same weights (``gate.current_verdict``), else by the verdict recorded with the result."""
    from ..framework.gate import current_verdict
    from ..framework.model_set import CHECKPOINT_ROOT

    gate = json.loads(ds.attrs.get("model_gate") or "{}")
    return {k for k, v in gate.items() if not (current_verdict(k, CHECKPOINT_ROOT) or (v.get("passed", True),))[0]}


def weak_arms(ds: xr.Dataset) -> tuple[str, dict] | None:
    """(axis, {arm value: names of its models below the quality gate}) of an ablation's results, or None."""
    if "per_arm" not in ds.attrs or "arms" not in ds.attrs:
        return None
    per_arm, arms, weak, out = json.loads(ds.attrs["per_arm"]), json.loads(ds.attrs["arms"]), _gate_failed(ds), {}
    for a in arms:
        models = json.loads(per_arm.get(a["tag"], {}).get("models") or "{}")
        names = sorted(_HASH.sub("", u) for u in (Path(str(p)).name for p in models.values()) if u in weak)
        if names:
            out[str(a["coords"][-1][1])] = names
    if not out:
        return None
    axis = str(arms[0]["coords"][-1][0])
    return ("scale" if axis == "factor" else axis), out


def seed_arms(ds: xr.Dataset) -> dict[int, xr.Dataset]:
    """{training seed: that run's results, shaped as main_results'} of the seed-spread study's results."""
    if "train_seed" not in ds.dims:
        raise ValueError("these results have no train_seed axis; they are not the seed_spread study's")
    return {int(k): ds.sel(train_seed=k).assign_attrs(study="main_results") for k in ds["train_seed"].values}


_MEMO: dict = {}      # (id of an object, key) -> (the object, value): ``per_object``
_MEMO_SIZE = 64


def per_object(obj, key, compute):
    """``compute()`` once per (``obj``, ``key``) while ``obj`` lives in the recent ``_MEMO_SIZE`` entries: a claim's
    checks on the same results (every dataset, one dataset, one training seed) share their costly parts."""
    hit = _MEMO.get((id(obj), key))
    if hit is not None and hit[0] is obj:
        return hit[1]
    value = compute()
    _MEMO[(id(obj), key)] = (obj, value)
    while len(_MEMO) > _MEMO_SIZE:
        _MEMO.pop(next(iter(_MEMO)))
    return value


def seed_evidence(ds: xr.Dataset, dataset: str) -> dict[int, "Evidence"]:
    """{training seed: its results as main-results evidence on ``dataset``} of the seed-spread study's results."""
    return per_object(ds, ("seeds", dataset), lambda: {k: evidence_of(arm, "main", dataset)
                                                         for k, arm in seed_arms(ds).items()})


def evidence_of(ds: xr.Dataset, short: str, dataset: str | None = None) -> Evidence:
    """One results dataset as evidence (``short``: its name in ``STUDY_NAMES``), as ``load_evidence`` reads it."""
    dataset = str(dataset or ds.attrs.get("dataset", ""))
    below = sorted(_HASH.sub("", k) for k in _gate_failed(ds))   # by name without the hash
    if short in EXTRA_STUDIES:
        return Evidence(frame=pd.DataFrame(columns=_FRAME_COLUMNS), extra={short: {dataset: ds}},
                        weak={(short, dataset): (below, None)} if below else {})
    fr = long_frame(ds, short, dataset)
    if short == "main":
        factor = json.loads(ds.attrs.get("data_meta") or "{}").get("factor")   # the SR factor, if recorded
        fr["factor"] = int(factor) if factor not in (None, "") else None
    truth = {m: float(np.nanmean(ds[f"control_{m}"].sel(control="ground_truth").values)) for m in ("s_hf",)
             if f"control_{m}" in ds and "ground_truth" in ds["control"].values.tolist()}
    return Evidence(frame=fr, source="ours", crops=long_frame(ds, short, dataset, per_crop=True),
                    extra={"main": {dataset: ds}} if short == "main" else {},
                    truths={(short, dataset): truth},
                    weak={(short, dataset): (below, weak_arms(ds))} if below else {})


def _stored(root: str | Path, profile: str, studies) -> list[tuple[str, str, xr.Dataset]]:
    """(study, dataset, results) of every stored ``profile`` results file under ``root`` for each of ``studies``."""
    out = []
    for study in studies:
        for path in sorted((Path(root) / study).glob(f"*-{profile}.nc")):
            ds = load_results(path)
            out.append((study, str(ds.attrs.get("dataset") or path.stem.rsplit("-", 1)[0]), ds))
    return out


def _joined(parts: list[Evidence], fields: tuple = ()) -> Evidence:
    """The evidence of ``parts`` together (frames without the whole-results studies', and the dict ``fields``)."""
    extra: dict = {}
    for e in parts:
        for k, v in e.extra.items():
            extra.setdefault(k, {}).update(v)
    frames = [e.frame for e in parts if not set(e.extra) & set(EXTRA_STUDIES)]
    crops = [e.crops for e in parts if not e.crops.empty]
    return Evidence(frame=pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=_FRAME_COLUMNS),
                    extra=extra, source="ours",
                    crops=pd.concat(crops, ignore_index=True) if crops else pd.DataFrame(columns=_CROP_COLUMNS),
                    **{f: {k: v for e in parts for k, v in getattr(e, f).items()} for f in fields})


def load_evidence(root: str | Path = "data/results", profile: str = "quick") -> Evidence:
    """Our evidence: every stored results file of ``profile`` under ``root`` that the scorecard knows how to read."""
    ev = _joined([evidence_of(ds, STUDY_NAMES[study], dataset) for study, dataset, ds in
                  _stored(root, profile, STUDY_NAMES)], ("weak", "truths"))
    for _, dataset, ds in _stored(root, profile, ["seed_spread"]):   # the claims' training seeds
        ev.extra.setdefault("seed_spread", {})[dataset] = ds
    return ev


def paper_evidence(paper: pd.DataFrame | None = None) -> Evidence:
    """The paper's Tables 3-5 and 8-11 as evidence (one "seed" holding the reported mean)."""
    p = paper_tables() if paper is None else paper
    main = p[p["table"].isin(list(MAIN_TABLE.values()))]
    rows = [main.assign(study="main", dataset=np.where(main["scale"] != "", main["dataset"] + " " + main["scale"],
                                                       main["dataset"]))]
    rows += [p[p["table"] == table].assign(study=short, dataset="bbbc021") for short, _, table in ABLATIONS.values()]
    f = pd.concat(rows, ignore_index=True).rename(columns={"mean": "value"}).assign(seed=0)
    return Evidence(frame=f[["study", "dataset", "scale", "backbone", "space", "method", "seed", "metric", "value"]],
                    source="paper")


def oracle_evidence(root: str | Path = "data/results", profile: str = "quick"):
    """``load_evidence`` on the oracle arms of the stored results of ``profile`` that carry one."""
    arms = [(STUDY_NAMES[study], dataset, arm_results(ds)) for study, dataset, ds in
            _stored(root, profile, STUDY_NAMES)]
    return _joined([evidence_of(arm, short, str(arm.attrs.get("dataset") or dataset))
                    for short, dataset, arm in arms if arm is not None])
