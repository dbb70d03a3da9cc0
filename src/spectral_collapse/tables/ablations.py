"""The ablation chapters' tables (paper Sec. 6.3, Tables 3-6) from a study's results."""
from __future__ import annotations

import json
import os

import pandas as pd
import xarray as xr

from ..reference import paper_tables
from ..train.cache import model_name
from ..studies.ablations import ABLATIONS, ablation_summary, axis_values, paper_key_of
from ..framework.aggregate import LEAK_METRICS, TABLE_METRICS, cell_text
from ..claims.checks import ARM_WORDS, arm_name
from ..claims.evidence import Evidence, MAIN_TABLE, long_frame
from ..framework.method_labels import MODEL_WORDS
from ..claims.shares import share_span, share_table, x0_frames
from ..framework.gate import stored_report
from .main_results import ours_beside_paper
from ..framework.validity import failed_of

__all__ = ["format_ablation", "named_arms", "arm_names", "percent_improved", "percent_table",
           "factor_key", "trained_models", "space_label", "weak_models", "ablation_comparison", "paper_table",
           "shown_levels"]


def arm_names(ds: xr.Dataset) -> dict[str, str]:
    """{arm tag ("eps-factor4"): ``arm_name`` of its axes' values}."""
    axes = json.loads(ds.attrs["axes"])
    return {str(a["tag"]): arm_name({x: a[x] for x in axes if x in a}) for a in json.loads(ds.attrs["arms"])}


def failed_samples(ds: xr.Dataset, sel: dict, method) -> tuple[int, int]:
    """(failed, all) samples (crop x seed) of one (arm, method)."""
    failed = failed_of(ds)
    f = failed.sel({k: v for k, v in sel.items() if k in failed.dims}).sel({"method": method})
    return int(f.sum()), int(f.size)


def format_ablation(ds: xr.Dataset, metrics=LEAK_METRICS, digits: int = 3) -> pd.DataFrame:
    """Rows (axis values, method), columns metrics, cells ``cell_text`` with "(f of n samples failed)" where any."""
    metrics = [m for m in metrics if m in ds] or list(metrics)
    s = ablation_summary(ds, metrics)
    axes = list(axis_values(ds)[0])
    counts = [failed_samples(ds, {a: r[a] for a in axes}, r["method"]) for _, r in s.iterrows()]
    s["cell"] = [cell_text(m, d, digits=digits, lo=a, hi=b) + (f" ({f} of {t} samples failed)" if f else "")
                 for m, d, a, b, (f, t) in zip(s["mean"], s["std"], s["lo"], s["hi"], counts)]
    t = s.pivot_table(index=[*axes, "method"], columns="metric", values="cell", aggfunc="first", sort=False)
    return t[[m for m in metrics if m in t.columns]]


def named_arms(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with axis values as labels and its row labels as leading columns, repeated outer labels blank."""
    out = frame.copy()
    for name in [n for n in frame.index.names if n in ARM_WORDS]:
        out = out.rename(index=lambda v, n=name: ARM_WORDS[n](v) if v == v else v, level=name)   # v != v: NaN
    out.columns = out.columns.set_names([None] * out.columns.nlevels)
    out = out.reset_index()
    outer = list(out.columns[:frame.index.nlevels - 1])
    for j, c in enumerate(outer):
        keys = out[outer[:j + 1]].astype(str).agg("\x1f".join, axis=1)
        out[c] = out[c].astype(object).where(keys.ne(keys.shift()), "")
    return out


def percent_improved(ds: xr.Dataset, metrics=TABLE_METRICS) -> pd.DataFrame:
    """Table 6 as the claims count it: per metric, the share of comparisons x0 wins, beside the paper's."""
    dataset = str(ds.attrs.get("dataset", ""))
    ev = Evidence(frame=long_frame(ds, "x0", dataset), crops=long_frame(ds, "x0", dataset, per_crop=True))
    frame, crops, xs, eps, by = x0_frames(ev)
    cols = ["metric", "improved", "lo", "hi", "comparisons", "unit", "ties", "failed_out"]
    out = (share_table(frame, crops, xs, eps, by, metrics).rename(columns={"share": "improved", "cases": "comparisons"})
           [cols] if xs and eps else pd.DataFrame(columns=cols))
    paper = paper_tables().query("table == 'table6'")[["metric", "mean"]].rename(columns={"mean": "paper_improved"})
    return out.merge(paper, on="metric", how="left")


def percent_table(ds: xr.Dataset, metrics=TABLE_METRICS) -> pd.DataFrame:
    """``percent_improved`` as shown, indexed by metric."""
    pi = percent_improved(ds, metrics)
    spans = [share_span(v, a, b) for v, a, b in zip(pi.improved, pi.lo, pi.hi)]
    return pd.DataFrame({"metric": pi.metric, "x0 better (95 % interval)": spans,
                         "comparisons": pi.comparisons,
                         "interval over": pi.unit.map({"crop": "crops", "seed": "seeds"}).fillna(pi.unit),
                         "paper": pi.paper_improved.map(lambda v: f"{100 * v:.1f} %" if v == v else "—"),
                         "ties": pi.ties, "failed left out": pi.failed_out}).set_index("metric")


def factor_key(ds: xr.Dataset) -> pd.DataFrame:
    """The paper's factor each of ours is compared with, and both input sizes (the paper's fields: 256 px)."""
    size = int(ds["truth_images"].shape[-1])
    key = paper_key_of(ds)
    return pd.DataFrame({"our factor": [ARM_WORDS["factor"](int(f)) for f in key["factor"]],
                         "paper's factor": [ARM_WORDS["factor"](int(v[1:])) if v else "—" for v in key["paper_value"]],
                         "our input (px)": [size // int(f) for f in key["factor"]],
                         "paper input (px)": [256 // int(v[1:]) if v else None for v in key["paper_value"]]})


def trained_models(ds: xr.Dataset) -> pd.DataFrame:
    """One row per model behind the results: arm, model, checkpoint, backbone, size, training and data space."""
    rows, names = [], arm_names(ds)
    for tag, attrs in json.loads(ds.attrs["per_arm"]).items():
        for par, path in json.loads(attrs.get("models") or "{}").items():
            row = {"arm": names.get(tag, tag), "model": MODEL_WORDS.get(par, par),
                   "checkpoint": os.path.basename(str(path)) or "(given)"}
            cfg = stored_report(str(path))[1] if path else {}
            if cfg:
                bb, tr = cfg["model"]["backbone"], cfg["train"]
                row.update(backbone=ARM_WORDS["backbone"](bb.get("kind", "unet")),
                           parameters=f"{cfg['parameters'] / 1e6:.2f} M",
                           shape=f"{bb['in_channels']} × {bb['sample_size']} × {bb['sample_size']}",
                           steps=f"{int(tr['steps']):,}", batch=f"{int(tr['batch_size'])}",
                           **{"learning rate": f"{float(tr['lr']):g}"})
            rows.append({**row, "space": space_label(attrs)})
    return pd.DataFrame(rows).fillna("—")


def space_label(attrs: dict) -> str:
    """An arm's data space in words, naming its VAE ("trained on this dataset" or the pretrained source)."""
    named = ARM_WORDS["space"](str(attrs["space"]))
    vae = (json.loads(attrs.get("latent_space") or "null") or {}).get("vae")
    if vae == "trained":
        return f"{named} (VAE trained on this dataset)"
    if isinstance(vae, dict) and vae.get("source"):
        return f"{named} (pretrained VAE {vae['source']})"
    return named


def weak_models(ds: xr.Dataset) -> list[str]:
    """The checkpoint names (without hash) of the models behind the results below the quality gate."""
    gates = json.loads(ds.attrs.get("model_gate") or "{}") or {}
    return [model_name(k) for k, g in gates.items() if not g.get("passed", True)]


def ablation_comparison(ds: xr.Dataset, metrics=TABLE_METRICS) -> pd.DataFrame:
    """Our (mean, std) beside the paper's BBBC021 number per (arm, method, metric) from Table 3, 4 or 5; eps_vs_x0's
    eps arms are joined with the paper's eps U-Net rows of the main-results table at their scale."""
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


def paper_table(ds: xr.Dataset, metrics=TABLE_METRICS, digits: int = 3) -> pd.DataFrame:
    """Rows (arm, paper's key, paper's table, method), columns (metric, "ours" | "paper") (``shown_levels``)."""
    cmp = ablation_comparison(ds, metrics)
    cmp["paper_table"] = cmp["paper_table"].map(lambda t: t.replace("table", "Table ") if isinstance(t, str) else "—")
    axes = json.loads(ds.attrs["axes"])
    key = [c for c in cmp.columns if c.startswith("paper_") and c not in ("paper_mean", "paper_std")]
    return shown_levels(ours_beside_paper(cmp, [*axes, *key, "method"], metrics).round(digits), axes)


def shown_levels(wide: pd.DataFrame, axes: list[str]) -> pd.DataFrame:
    """``wide`` without index levels that add nothing; the paper's levels named "paper's <key>"."""
    ix = wide.index
    lv = ix.get_level_values

    def paired(a, b) -> bool:   # the two levels' values pair one to one
        return len(set(zip(lv(a), lv(b)))) == len(set(lv(a))) == len(set(lv(b)))

    drop = [n for n in ix.names if n.startswith("paper_") and n != "paper_table"
            and any(paired(a, n) for a in axes if a in ix.names)]
    keep = [n for n in ix.names if n not in drop]
    drop += [n for n in keep if n != "method" and ix.get_level_values(n).nunique() == 1 and len(keep) - len(drop) > 1]
    out = wide.droplevel(drop) if drop and len(drop) < ix.nlevels else wide
    names = [f"paper's {n[len('paper_'):]}" if isinstance(n, str) and n.startswith("paper_") else n
             for n in out.index.names]
    return out.rename_axis(index=names)
