"""What the ablation chapters say about their results (paper Sec. 6.3, Tables 3–6): our tables, the join with the
paper's BBBC021 rows, Table 6's "% improved", what was trained, the verdict paragraphs.

Everything here is computed from a study's ``xr.Dataset`` (``studies.ablations.run_ablation_spec``); the per-arm
aggregation (``ablation_summary``, ``improvement_table``) is in ``spectral_collapse.studies.ablations``. Our SR
factors are paired with the paper's by their rank in the profile's factor list (``paper_key_of``), so a study that ran
one factor pairs it with the same row of the paper as the study of every factor. Failed samples are counted in one
unit throughout: a sample is one test crop translated with one seed.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..reference import paper_tables
from ..studies.ablations import ablation_summary, axis_values, paper_key_of, profile_factors
from ..studies.aggregate import TABLE_METRICS, cell_text
# an arm's value on each ablation axis as every page writes it, one table (``claims_words.ARM_WORDS``)
from ..studies.claims_words import ARM_WORDS, arm_name
from ..studies.validity import failed_of
from ..text import listed, percent
from ..studies.method_labels import MODEL_WORDS
from .ablation_paper import (ablation_comparison, paper_lead, paper_notes, paper_rows_shown,  # noqa: F401
                             paper_table, shown_levels)

__all__ = ["format_ablation", "ablation_comparison", "paper_table", "paper_lead", "paper_notes", "paper_rows_shown",
           "percent_improved", "percent_table",
           "factor_key", "paper_key_of", "profile_factors", "trained_models", "latent_space_text", "run_settings",
           "ablation_verdict", "arm_name", "arm_names", "named_arms", "one_header", "ARM_WORDS"]


def named_arms(frame: pd.DataFrame) -> pd.DataFrame:
    """A chapter table as a reader sees it: each row level that is an ablation axis (``ARM_WORDS``) with its values
    in words ("unet" -> "U-Net", 4 -> "×4", "eps" -> "ε-prediction", "pixel" -> "pixel space"), the rest and the
    cells unchanged, and its row labels as leading columns under one header (``one_header``); the table itself keeps
    the stored values (code reads rows by them)."""
    ix = frame.index
    names = list(ix.names)

    def word(name, v):
        return ARM_WORDS[name](v) if name in ARM_WORDS and not (isinstance(v, float) and np.isnan(v)) else v

    out, notes = failed_row_notes(frame)
    if isinstance(ix, pd.MultiIndex):
        out.index = pd.MultiIndex.from_tuples([tuple(word(n, v) for n, v in zip(names, t[:-1])) + (t[-1] + note,)
                                               if names[-1] == "method" else tuple(word(n, v) for n, v in zip(names, t))
                                               for t, note in zip(ix, notes)], names=names)
    else:
        out.index = pd.Index([word(names[0], v) for v in ix], name=names[0])
    return one_header(out)


_ALL_FAILED = re.compile(r"^n/a \((\d+) of (\d+) samples failed\)$")


def failed_row_notes(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """A row of ``format_ablation`` whose every cell failed in all its samples, said once: its cells read "n/a" and
    its note (" (48 of 48 failed)", as the main results' table labels a method's failed crops) goes beside the row's
    method; every other row keeps its cells and gets "". Returns (the table, one note per row)."""
    out, notes = frame.copy(), []
    for i, (_, row) in enumerate(frame.iterrows()):
        found = {m.groups() if (m := _ALL_FAILED.match(str(v))) else None for v in row.values}
        if len(found) == 1 and None not in found:
            f, t = found.pop()
            out.iloc[i] = "n/a"
            notes.append(f" ({f} of {t} failed)")
        else:
            notes.append("")
    return out, notes


def one_header(frame: pd.DataFrame) -> pd.DataFrame:
    """A table whose named row labels (an arm and a method) become its leading columns, so that its HTML has one
    header, the labels' names in it, and no extra header row holding only the index's names; an outer label that
    repeats the row above it is left blank, as a grouped index shows it. The column levels lose their names (a
    "metric" above the metric names says nothing more). A table without named row labels is returned as it is."""
    if all(n is None for n in frame.index.names):
        return frame
    out = frame.copy()
    out.columns = out.columns.set_names([None] * out.columns.nlevels)
    out = out.reset_index()
    outer = [c for c in out.columns[:frame.index.nlevels - 1]]
    for j, c in enumerate(outer):
        keys = out[outer[:j + 1]].astype(str).agg("\x1f".join, axis=1)
        out[c] = out[c].astype(object).where(keys.ne(keys.shift()), "")
    return out


def arm_names(ds: xr.Dataset) -> dict[str, str]:
    """{arm tag (``per_arm``'s keys, "eps-factor4"): ``arm_name`` of its axes' values}, from the results' ``arms``."""
    axes = json.loads(ds.attrs["axes"])
    out = {}
    for arm in json.loads(ds.attrs.get("arms") or "[]"):
        if isinstance(arm, dict) and "tag" in arm:
            out[str(arm["tag"])] = arm_name({a: arm[a] for a in axes if a in arm})
    return out


def _failed_samples(ds: xr.Dataset, sel: dict, method) -> tuple[int, int]:
    """(failed, all) samples of one (arm, method) over every seed; a sample is one test crop translated with one
    seed. (0, 0) when the results record no failures."""
    failed = failed_of(ds)
    if failed is None:
        return 0, 0
    f = failed.sel({k: v for k, v in sel.items() if k in failed.dims}).sel({"method": method})
    return int(f.sum()), int(f.size)


def format_ablation(ds: xr.Dataset, metrics=TABLE_METRICS, digits: int = 3) -> pd.DataFrame:
    """Rows (axis values, method), columns metrics, cells as ``aggregate.cell_text`` (the paper's tables' layout);
    a cell with failed samples says how many of how many, over every seed ("n/a (48 of 48 samples failed)"), a sample
    being one test crop translated with one seed."""
    s = ablation_summary(ds, metrics)
    axes = list(axis_values(ds)[0])
    counts = [_failed_samples(ds, {a: r[a] for a in axes}, r["method"]) for _, r in s.iterrows()]
    lo, hi = (s["lo"], s["hi"]) if "lo" in s else ([None] * len(s), [None] * len(s))

    def cell(m, d, a, b, f, t) -> str:
        text = cell_text(m, d, digits=digits, lo=a, hi=b)
        return text + (f" ({f} of {t} samples failed)" if f else "")

    s["cell"] = [cell(m, d, a, b, f, t) for m, d, a, b, (f, t) in zip(s["mean"], s["std"], lo, hi, counts)]
    t = s.pivot_table(index=[*axes, "method"], columns="metric", values="cell", aggfunc="first", sort=False)
    return t[[m for m in metrics if m in t.columns]]


def percent_improved(ds: xr.Dataset, metrics=TABLE_METRICS) -> pd.DataFrame:
    """Table 6 from this chapter's results, counted as the claims and the scorecard count it
    (``verdicts.share_table`` over ``paper_shares.x0_frames``): per metric, the share of distinct (method, factor)
    comparisons in which the x0 model beats the eps model (means over each comparison's crops; lower is better for
    LPIPS), its 95 % interval (bootstrap over crops; over seeds for the set-level S_G), the number of comparisons,
    beside the paper's share (``paper_improved``)."""
    from ..studies.paper_shares import x0_frames
    from ..studies.scorecard import Evidence, crop_frame, long_frame
    from ..studies.verdicts import share_table

    dataset = str(ds.attrs.get("dataset", ""))
    ev = Evidence(frame=long_frame(ds, "x0", dataset), crops=crop_frame(ds, "x0", dataset))
    frame, crops, xs, eps, by = x0_frames(ev)
    cols = ["metric", "improved", "lo", "hi", "comparisons", "unit", "notes"]
    out = (share_table(frame, crops, xs, eps, by, metrics).rename(columns={"share": "improved", "cases": "comparisons"})
           [cols] if xs and eps else pd.DataFrame(columns=cols))
    paper = paper_tables()
    paper = paper[(paper.table == "table6")][["metric", "mean"]].rename(columns={"mean": "paper_improved"})
    return out.merge(paper, on="metric", how="left")


def percent_table(ds: xr.Dataset, metrics=TABLE_METRICS) -> pd.DataFrame:
    """``percent_improved`` as the chapter shows it: our share with its interval, in percent, the comparisons it
    counts (named), and the paper's share; the notes name each S_G tie with both values and the KS resolution they lie
    within (checkable against the table of means), and the comparisons missing because an arm failed on every
    sample."""
    from ..studies.paper_shares import x0_frames
    from ..studies.scorecard import Evidence, crop_frame, long_frame
    from ..studies.shares import comparison_name, failed_arm_names, share_comparisons

    pi = percent_improved(ds, metrics)
    dataset = str(ds.attrs.get("dataset", ""))
    ev = Evidence(frame=long_frame(ds, "x0", dataset), crops=crop_frame(ds, "x0", dataset))
    frame, crops, xs, eps, by = x0_frames(ev)
    missing = failed_arm_names(frame, xs, eps, by) if xs and eps else []
    named, notes = [], []
    for m, said in zip(pi.metric, pi.notes):
        out, pair_on, _, _ = share_comparisons(frame, crops, xs, eps, by, m)
        named.append(", ".join(comparison_name(r, pair_on, by, False) for r in out.itertuples()))
        ties = out[out["outcome"] == "tie"]
        parts = [n for n in str(said or "").split("; ") if n and "failed" not in n and "ties" not in n]
        if len(ties):
            parts.insert(0, "S_G ties counted half, x0 vs ε within the KS test's resolution at their latents: "
                         + "; ".join(f"{comparison_name(r, pair_on, by, False)} {r.value_better:.3f} vs "
                                     f"{r.value_worse:.3f} (resolution {r.resolution:.3f})"
                                     for r in ties.itertuples()))
        notes.append("; ".join(parts))
    from ..studies.shares import share_span

    ours = [share_span(v, a, b) for v, a, b in zip(pi.improved, pi.lo, pi.hi)]
    gone = f"; none for {'; '.join(missing)}" if missing else ""
    return pd.DataFrame({"metric": pi.metric, "x0 better (95 % interval)": ours,
                         "comparisons": [(f"{n}: {w}" if w else str(n)) + gone for n, w in zip(pi.comparisons, named)],
                         "interval over": pi.unit.map({"crop": "crops", "seed": "seeds"}).fillna(pi.unit),
                         "paper": pi.paper_improved.map(lambda v: percent(v) if v == v else "—"),
                         "notes": notes}).set_index("metric")


def factor_key(ds: xr.Dataset) -> pd.DataFrame:
    """Which paper row each of our factors is compared with, with both input sizes (the paper's fields are 256 px),
    as a reader reads it: each factor in the book's form ("×2" beside the paper's "×8"), no stored key as a header."""
    size = int(ds["truth_images"].shape[-1])
    key = paper_key_of(ds)
    return pd.DataFrame({"our factor": [ARM_WORDS["factor"](int(f)) for f in key["factor"]],
                         "paper's factor": [ARM_WORDS["factor"](int(v[1:])) if v else "—" for v in key["paper_value"]],
                         "our input (px)": [size // int(f) for f in key["factor"]],
                         "paper input (px)": [256 // int(v[1:]) if v else None for v in key["paper_value"]]})


def trained_models(ds: xr.Dataset) -> pd.DataFrame:
    """One row per model behind the results: arm (``arm_name``), model (its parameterization in words), checkpoint,
    backbone, parameters, latent shape, training steps, batch, learning rate, data space (read from each checkpoint's config.json, or its shipped copy's in data/weights, where present)."""
    from ..train.shipped import shipped_dir

    rows = []
    names = arm_names(ds)
    for tag, attrs in json.loads(ds.attrs["per_arm"]).items():
        for par, path in json.loads(attrs.get("models") or "{}").items():
            row = {"arm": names.get(tag, tag), "model": MODEL_WORDS.get(par, par),
                   "checkpoint": os.path.basename(str(path)) or "(given)"}
            cfg_file = os.path.join(str(path), "config.json")
            if path and not os.path.exists(cfg_file):  # computed elsewhere: the shipped copy has the same config
                cfg_file = str(shipped_dir(path) / "config.json")
            if path and os.path.exists(cfg_file):
                cfg = json.loads(Path(cfg_file).read_text())
                bb = cfg["model"]["backbone"]
                row.update(backbone=ARM_WORDS["backbone"](bb.get("kind", "unet")), parameters=cfg.get("parameters"),
                           shape=f"{bb['in_channels']} × {bb['sample_size']} × {bb['sample_size']}",
                           steps=cfg["train"]["steps"], batch=cfg["train"]["batch_size"],
                           **{"learning rate": cfg["train"]["lr"]})
            row["space"] = _space_words(attrs)
            rows.append(row)
    out = pd.DataFrame(rows)
    shown = {"parameters": lambda v: f"{v / 1e6:.2f} M", "steps": lambda v: f"{int(v):,}",
             "batch": lambda v: f"{int(v)}", "learning rate": lambda v: f"{float(v):g}"}
    for col, form in shown.items():   # as the chapters' prose writes them ("1.11 M", "6,000", "0.001")
        if col in out:
            out[col] = [form(v) if pd.notna(v) else "—" for v in out[col]]
    return out


def _space_words(attrs: dict) -> str:
    """An arm's data space as the chapters name it: "pixel space", or "latent space" with the VAE it diffuses in
    ("latent space (VAE trained on this dataset)", "latent space (pretrained VAE <source>)")."""
    ls = json.loads(attrs.get("latent_space") or "null") or {}
    space = str(attrs.get("space") or ("latent" if ls else "pixel"))
    named = ARM_WORDS["space"](space)
    if space != "latent" or not ls:
        return named
    vae = ls.get("vae")
    if vae == "trained":
        return f"{named} (VAE trained on this dataset)"
    if isinstance(vae, dict) and vae.get("source"):
        return f"{named} (pretrained VAE {vae['source']})"
    return named


def latent_space_text(ds: xr.Dataset, arm: str = "latent") -> str:
    """Markdown: the latent arm's latent space (which VAE, how latents are encoded and scaled) and its reconstruction
    figures (test reconstruction PSNR and MSE), from the results' ``latent_space_info``; results that do not record it
    fall back to the VAE checkpoint's record when it is present here, else say how to show them."""
    attrs = json.loads(ds.attrs["per_arm"]).get(arm)
    if attrs is None:
        return f"No arm `{arm}` in these results."
    ls = json.loads(attrs.get("latent_space") or "null") or {}
    vae = ls.get("vae")
    if vae == "trained":
        from ..train.cache import model_name

        what = f"a VAE trained on this dataset (`{model_name(ls.get('checkpoint'))}`)"
    elif isinstance(vae, dict):
        sub = f", subfolder `{vae['subfolder']}`" if vae.get("subfolder") else ""
        what = f"the pretrained VAE `{vae.get('source')}`{sub}"
    else:
        what = "a VAE"
    info = json.loads(attrs.get("latent_space_info") or "null")
    scale = ls.get("scaling_factor", (info or {}).get("scaling_factor"))
    how = [f"encoded by the posterior {ls['encode']}" if ls.get("encode") else "",
           f"scaled by {float(scale):.4g} (unit variance on the training crops)" if scale is not None else ""]
    how = " and ".join(h for h in how if h)
    lines = [f"The {arm} arm diffuses in the latents of {what}" + (f", {how}." if how else ".")]
    if info is None and ls.get("checkpoint"):
        from ..studies.models import CHECKPOINT_ROOT

        f = Path(CHECKPOINT_ROOT) / ls["checkpoint"] / "latent_space.json"
        if f.exists():
            info = json.loads(f.read_text())
        else:
            lines.append("Its reconstruction figures are not stored with these results, and its checkpoint is not "
                         "present here: rerun the study (rerun=True) to show them.")
    if info and "test_reconstruction_psnr" in info:
        mse = info.get("test_reconstruction_mse")
        lines.append(f"It reconstructs the held-out test crops at PSNR {info['test_reconstruction_psnr']:.2f} dB"
                     + (f" (MSE {mse:.4f})." if mse is not None else "."))
    return " ".join(lines)


def run_settings(ds: xr.Dataset) -> pd.DataFrame:
    """The run's settings as a table: steps, test images, OVG step sizes, metric conventions, each arm's models,
    when it was computed and with which packages."""
    from ..studies.settings import compact as readable, settings_table

    names = arm_names(ds)

    def kinds(a: dict) -> list[str]:
        """Every model kind the arm ran, its own first: its models' roles ("eps", "edm"; "unet/eps" by its kind)."""
        try:
            roles = [str(r).rpartition("/")[2] for r in json.loads(a.get("models") or "{}")]
        except (TypeError, ValueError):
            roles = []
        return [k for k in dict.fromkeys([a.get("parameterization"), *roles]) if k]

    def described(a: dict) -> str:
        """An arm's setup in the chapters' words: "U-Net, pixel space, ε-prediction and EDM models, wavelet sym3"
        (every model the arm ran); a latent arm's space is said once, by its latent-space entry (naming the VAE)."""
        keys = ("backbone", "space", "parameterization", "wavelet", "latent_space")
        shown = [k for k in keys if a.get(k) is not None and readable(a[k]) != "—"]
        if "latent_space" in shown:
            shown = [k for k in shown if k != "space"]
        return ", ".join(listed(MODEL_WORDS.get(p, p) for p in kinds(a)) + " models"
                         if k == "parameterization" and len(kinds(a)) > 1 else
                         ARM_WORDS[k](a[k]) if k in ARM_WORDS else f"{k.replace('_', ' ')} {readable(a[k], 1)}"
                         for k in shown)

    arms = {f"arm {names.get(tag, tag)}": described(a) for tag, a in json.loads(ds.attrs["per_arm"]).items()}
    return settings_table(ds, ("steps", "n_test", "ovg", "s_hf_unit", "s_lf_condition", "s_dc_definition", "axes"),
                          extra=arms)


def _x0_failed_note(ds: xr.Dataset) -> str:
    """Which (method, factor) cells of the x0 arms have failed samples (non-finite, or beyond the validity bounds of
    the methods page), how many of how many samples (one test crop translated with one seed), and why."""
    failed = failed_of(ds)
    if "parameterization" not in ds.dims or failed is None:
        return ""
    x0 = failed.sel(parameterization="x0")
    rest = [d for d in x0.dims if d not in ("method", "factor")]
    count, size = x0.sum(rest), int(np.prod([x0.sizes[d] for d in rest]))
    bad = [(str(m), int(f), int(count.sel({"method": m}).sel(factor=f)))
           for m in count["method"].values for f in count["factor"].values
           if int(count.sel({"method": m}).sel(factor=f)) > 0]
    if not bad:
        return ""
    cells = ", ".join(f"{m} x{f} ({k} of {size} samples" + (", every one" if k == size else "") + ")"
                      for m, f, k in bad)
    from ..studies.scorecard import TABLE6_METHODS

    whole = [m for m, _, k in bad if k == size and m in TABLE6_METHODS]   # the methods the shares count
    stable = ("ovg_stable" in ds["method"].values and
              not bool(failed.sel({"method": "ovg_stable", "parameterization": "x0"}).any()))
    return (f" Failed samples with the x0 models (non-finite, or beyond the methods page's validity bounds; a sample "
            f"is one test crop translated with one seed): {cells}. "
            "OVG as the paper writes it (Eq. 7-14) differentiates $\\lVert\\varepsilon\\rVert^2$ with "
            "$\\varepsilon = (x - \\hat{x}_0) / \\sigma$, which an "
            "x0 model only gives through a division by the small $\\sigma$ of the first inversion steps, so a fixed step "
            "size overshoots there. Cells with failed samples say how many of their samples failed, and their means "
            "run over the rest."
            + (f" {', '.join(sorted(set(whole)))} diverged on every crop with the x0 model, so the shares above have "
               "no comparison for it and count only the remaining ones." if whole else
               " The shares above leave the failed samples out.")
            + (" The stable form (`ovg_stable`: an Euler step in $\\sigma$ with a trust region, see the OVG method page) "
               "kept every sample of the x0 models." if stable else ""))


_PAPER_SAYS = {
    "backbone_ablation": "collapse under DDIM with both backbones and recovery under TABA / OVG (Table 3)",
    "space_ablation": "collapse under DDIM in pixel space as in latent space (Table 4)",
    "scale_factor": "that collapse under DDIM deepens as the input gets sparser (Sec. 4, Fig. 3), and Table 5 gives "
                    "DDIM's scores at each factor",
    "eps_vs_x0": "x0-prediction a cure for collapse (S_HF, S_DC improve in most comparisons) that rarely improves "
                 "structure (S_LF, PSNR; Table 6)"}


def _what_is_tested(ds: xr.Dataset, found) -> str:
    """What the claims page tests on this chapter, in its words, and the chapter's methods its comparisons leave out
    (a method no comparison of the findings names): the verdict speaks for the methods it compares, not for every
    row of the tables. '' when no claim reads the chapter."""
    import re

    if not found:
        return ""
    said = " ".join(f"“{c.statement}”" for c, _ in found)
    details = " ".join(str(f.detail) for _, f in found)
    left = [str(m) for m in ds["method"].values if not re.search(rf"(?<![\w]){re.escape(str(m))}(?![\w])", details)]
    text = f"The claims page tests {'this' if len(found) == 1 else 'these'} as: {said}"
    if left:
        rows = " and ".join(f"`{m}`" for m in left)
        text += (f" The {rows} row{'s' * (len(left) > 1)} of the tables {'are' if len(left) > 1 else 'is'} not part "
                 f"of {'that test' if len(found) == 1 else 'those tests'}, so the verdict below does not speak for "
                 f"{'them' if len(left) > 1 else 'it'}.")
    return text + " "


def ablation_verdict(ds: xr.Dataset) -> str:
    """Markdown, from the numbers: what the paper reports for this ablation, what the claims page tests of it (and
    which of the chapter's methods its comparisons leave out), then each claim of the claims page that reads it
    (``studies.claims``), judged on this chapter's results alone by the same rule and in the same words
    (holds / does not hold / inconclusive, with paired 95 % intervals over crops), after those verdicts each claim the
    paper's own tables do not support with their numbers that go the other way (``claims_page.paper_dissent``), and
    the x0 arms' failed
    samples;
    for the scale factors, how DDIM's scores move over the factors in the paper's Table 5 and in ours
    (``ablation_curves.factor_trend_text``)."""
    from ..studies.claims import chapter_claims, findings_markdown
    from ..studies.claims_words import chapter_rule
    from .claims_page import paper_dissent

    study = ds.attrs["study"]
    found = chapter_claims(ds)
    lines = findings_markdown(found)
    note = _x0_failed_note(ds).strip() if study == "eps_vs_x0" else ""
    if study == "scale_factor":
        from .ablation_curves import factor_trend_text

        trend = factor_trend_text(ds)
    else:
        trend = ""
    # the paper's own rows against a claim quoted here (Table 5's trend is said by ``factor_trend_text``)
    dissent = paper_dissent(found, skip=("scale_monotone",) if trend else ())
    return (f"The paper reports {_PAPER_SAYS[study]}. " + (f"{trend}\n\n" if trend else "")
            + f"{_what_is_tested(ds, found)}" + "Our numbers, judged by the claims "
            f"page's rule on this chapter's results ({chapter_rule(shares=True)}):\n\n" + lines
            + (f"\n\n{dissent}" if dissent else "") + (f"\n\n{note}" if note else ""))
