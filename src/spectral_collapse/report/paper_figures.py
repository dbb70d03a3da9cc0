"""The paper's Figs. 1, 2, 4 and 6 beside our analogues.

Each figure gets one sentence on what the paper's panel shows, our analogue drawn from the stored results, and
whether ours agrees: the verdicts of the claims that the figure illustrates (``studies.claims``, three-way, with
their numbers), folded into one word by ``agreement``. A figure drawn from one dataset (``PaperFigure.datasets``) is
judged on the claims' verdicts on that dataset alone, so a claim that fails elsewhere does not decide it. Nothing
here is written by hand after looking at the numbers: the page follows whatever results are stored.

``figures_markdown(results_root, profile, ev)`` returns the page's markdown and the PNGs it refers to
({file name: bytes}); ``pipeline.fragments.book_fragments`` writes both under ``book/_generated/``.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..studies.claims import CLAIM_TITLES, CLAIMS, evaluate_claims
from ..studies.store import load_results, results_path
from ..text import percent
from ..studies.verdicts import FAILS, HOLDS

__all__ = ["PaperFigure", "FIGURES", "agreement", "agreement_sentence", "on_datasets", "fig2_rows", "fig4_points",
           "figures_markdown", "spectrum_slopes", "spectrum_finding"]


@dataclass(frozen=True)
class PaperFigure:
    number: int
    title: str
    paper: str                  # what the paper's panel shows, in our words
    claims: tuple[str, ...]     # the claims (studies.claims keys) whose verdicts decide agreement
    ours: str                   # what our analogue is
    datasets: tuple[str, ...] | None = None   # the datasets the analogue is drawn from (None: every dataset)
    texture: tuple[str, ...] = ()   # methods the panel shows with the right texture: each is checked by the overshoot
                                    # rule of "OVG removes the collapse" (``texture_findings``)


FIGURES = (
    PaperFigure(1, "Spectral collapse",
                "DDIM-inverted noise maps of a spectrally sparse input carry far less high-frequency energy than "
                "Gaussian noise and keep the input's low-frequency imprint, so translations come out smooth; OVG "
                "restores a flat (white) latent spectrum and the texture",
                ("collapse_sdc", "collapse_shf", "ovg_vs_ddim"),
                "the introduction's figure: input, DDIM's and OVG's translations and latents, Gaussian noise, and "
                "the latents' radial power spectra (ihc-sr, seed 0)", ("ihc-sr",)),
    PaperFigure(2, "Qualitative comparison",
                "on BBBC021 x16 in latent space, the deterministic baselines (DDIM, DirectInversion, Null-Class) "
                "are oversmoothed, the stochastic ones (ReNoise, TABA) and plain EDM show artefacts or drift from "
                "the input's structure, and OVG + EDM has both texture and structure",
                ("edm_tradeoff", "taba_structure", "ovg_front"),
                "the same methods on the ihc-sr test crops (pixel space, x4), with the signed texture error "
                "Δlog E_HF (< 0 too smooth, > 0 too noisy) and S_LF of each", ("ihc-sr",), texture=("ovg_edm",)),
    PaperFigure(4, "S_HF and S_LF against S_DC",
                "across methods, S_HF rises with the decorrelation score S_DC (a), while S_LF falls as S_DC rises "
                "(b): decorrelated latents give texture but cost the input's structure",
                ("corr_hf_dc", "tradeoff_lf_dc"),
                "one point per distinct (dataset, method), the mean over crops and seeds of the main results"),
    PaperFigure(6, "Pareto frontier of the OVG step sizes",
                "sweeping (eta_HF, eta_LF) traces OVG points beyond the baselines' S_LF / S_HF envelope, so a step "
                "pair can be chosen that keeps both high",
                ("pareto_expands",),
                "the Pareto sweep of each bundled dataset: every grid point, each base's front and chosen point, "
                "and the baselines on the same crops"),
)

_FIG2_METHODS = ("ddim", "direct_inversion", "null_class", "renoise", "taba", "edm", "ovg_edm", "ovg")
# the groups of the paper's panel, as the page names them: the deterministic and the stochastic baselines, plain EDM
# (the EDM model without guidance) and the OVG-guided methods; every method has one, so no cell of the table is blank
_GROUP = {"ddim": "deterministic", "direct_inversion": "deterministic", "null_class": "deterministic",
          "renoise": "stochastic", "taba": "stochastic", "edm": "EDM model", "ovg_edm": "OVG guidance",
          "ovg": "OVG guidance"}


def agreement(verdicts) -> str:
    """One word for a figure from its claims' verdicts: all hold -> "agrees"; any does not hold -> "does not agree"
    (or "partly agrees" when another holds); none decided -> "undecided"."""
    vs = list(verdicts)
    if vs and all(v == HOLDS for v in vs):
        return "agrees"
    if FAILS in vs:
        return "partly agrees" if HOLDS in vs else "does not agree"
    return "partly agrees" if HOLDS in vs else "undecided"


def agreement_sentence(word: str) -> str:
    """``agreement``'s word as a sentence about our analogue and the paper's panel."""
    if word == "undecided":
        return "Whether our analogue agrees with it is undecided"
    return f"Our analogue {word} with it"


def on_datasets(ev, datasets) -> object:
    """The evidence ``ev`` restricted to ``datasets`` (every study's rows, crops, bands and whole results): the claims
    judged on it speak of those datasets alone."""
    from dataclasses import replace

    if not datasets:
        return ev
    keep = set(datasets)

    def rows(f):
        return f[f["dataset"].isin(keep)] if not f.empty and "dataset" in f else f

    return replace(ev, frame=rows(ev.frame), crops=rows(ev.crops),
                   extra={k: {d: v for d, v in per.items() if d in keep} for k, per in ev.extra.items()},
                   bands={k: v for k, v in ev.bands.items() if k[1] in keep},
                   spaces={k: v for k, v in getattr(ev, "spaces", {}).items() if k[1] in keep})


def _png(chart) -> bytes:
    import vl_convert as vlc

    from ..plotting.labels import reader_spec   # titles and labels in reader form, as the chapters' charts

    return vlc.vegalite_to_png(reader_spec(chart.to_dict()), scale=2.0)  # sharp where the page scales it


def _image_png(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _group(method: str) -> str:
    """The group a method of Fig. 2's table belongs to (``_GROUP``), never blank."""
    return _GROUP[method]


def fig2_rows(ds) -> pd.DataFrame:
    """Fig. 2's numbers: per shown method, its group, and mean S_HF, Δlog E_HF and S_LF over kept crops and seeds."""
    rows = []
    for m in _FIG2_METHODS:
        if m not in ds["method"].values:
            continue
        kept = ~ds["failed"].sel({"method": m}) if "failed" in ds else True
        row = {"method": m, "group": _group(m)}
        for metric in ("s_hf", "delta_log_e_hf", "s_lf"):
            if metric in ds:
                row[metric] = float(ds[metric].sel({"method": m}).where(kept).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def fig4_points(ev) -> pd.DataFrame:
    """Fig. 4's points: one per distinct (dataset, method) of the main results, the mean over crops and seeds of
    S_HF, S_LF and S_DC (the points the correlation claims are computed on), and for each its 95 % bootstrap
    interval over the crops (each crop's mean over seeds; ``<metric>_lo`` / ``<metric>_hi``, NaN where the results
    hold no per-crop values)."""
    from ..metrics.intervals import bootstrap_ci

    metrics = ["s_hf", "s_lf", "s_dc"]
    f = ev.frame
    f = f[(f["study"] == "main") & f["metric"].isin(metrics)]
    if f.empty:
        return pd.DataFrame(columns=["dataset", "method", *metrics])
    points = (f.groupby(["dataset", "method", "metric"])["value"].mean().unstack("metric").reset_index()
              .dropna(subset=["s_dc"]))
    crops = getattr(ev, "crops", None)
    for m in metrics:
        points[f"{m}_lo"], points[f"{m}_hi"] = np.nan, np.nan
    if crops is None or crops.empty or not {"crop", "metric", "value"} <= set(crops.columns):
        return points
    c = crops[(crops["study"] == "main") & crops["metric"].isin(metrics)]
    per_crop = c.groupby(["dataset", "method", "metric", "crop"])["value"].mean()
    for (dataset, method, metric), values in per_crop.groupby(level=[0, 1, 2]):
        at = (points["dataset"] == dataset) & (points["method"] == method)
        if at.any() and len(values) > 1:
            ci = bootstrap_ci(values.to_numpy(), n_boot=2000)
            points.loc[at, f"{metric}_lo"], points.loc[at, f"{metric}_hi"] = ci.lo, ci.hi
    return points


def _fig2_grid(ds):
    from ..plotting.charts import compose_grid

    k = min(4, ds.sizes["image"])
    rows = {"input": ds["source_images"].values[:k]}
    failed = {}
    for m in _FIG2_METHODS:
        if m in ds["method"].values:
            rows[m] = ds["images"].sel({"method": m}).isel(seed=0).values[:k]
            if "failed" in ds:
                failed[m] = ds["failed"].sel({"method": m}).isel(seed=0).values[:k]
    if "truth_images" in ds:
        rows["ground truth"] = ds["truth_images"].values[:k]
    return compose_grid(rows, cell=72, failed=failed)


def _claim_lines(table: pd.DataFrame, keys) -> tuple[list[str], list[str]]:
    verdicts, lines = [], []
    for key in keys:
        row = table[table["claim"] == key]
        if row.empty:
            continue
        r = row.iloc[0]
        verdicts.append(r["verdict"])
        lines.append(f"- {r['title']} ({r['where']}): **{r['verdict']}**. {r['our numbers']}")
    return verdicts, lines


def texture_findings(ev, methods, datasets) -> tuple[list[str], list[str]]:
    """(verdicts, markdown lines): for each of ``methods`` and each dataset of ``datasets`` with stored per-crop
    errors, whether its signed texture error moves from DDIM's toward 0 without ending beyond the real crops' band on
    the other side (``studies.verdicts.texture_check``, the rule the claim "OVG removes the collapse" applies to OVG):
    a panel that shows a method with the right texture agrees only where this holds."""
    from ..studies.method_labels import method_name
    from ..studies.verdicts import texture_check

    verdicts, lines = [], []
    for ds in datasets or sorted(ev.select("main", per_crop=True).get("dataset", pd.Series(dtype=str)).unique()):
        crops = ev.select("main", per_crop=True, dataset=ds)
        for m in methods:
            found = texture_check(crops, m, "ddim", prefix=f"{ds}: ", band=ev.bands.get(("main", ds))) \
                if not crops.empty and m in set(crops.get("method", [])) else None
            if found is None:
                continue
            v, detail = found
            verdicts.append(v)
            lines.append(f"- {method_name(m)}'s texture moves toward the real crops' without overshooting them (the "
                         "figure's own check, not a claim of the claims page: the overshoot rule that the claim *OVG "
                         f"removes the collapse* applies to OVG alone, applied here to {method_name(m)}): **{v}**. "
                         f"{detail}")
    return verdicts, lines


def spectrum_slopes(ds, seed: int = 0) -> dict:
    """The slope (least squares of log10 power on log10 radial frequency, the zero frequency left out) and the range
    in decades of the latents' radially averaged power spectra that Fig. 1's analogue draws: DDIM's, OVG's (the
    first of ovg, ovg_taba, ovg_edm stored) and Gaussian noise of the same shape; {} without stored latents."""
    from ..metrics.latent import radial_power_spectrum

    if "latents" not in ds:
        return {}
    methods = list(map(str, ds["method"].values))
    ovg = next((m for m in ("ovg", "ovg_taba", "ovg_edm") if m in methods), None)
    if "ddim" not in methods or ovg is None:
        return {}
    lat = {m: ds["latents"].sel({"method": m}).isel(seed=seed).values for m in ("ddim", ovg)}
    lat["gaussian"] = np.random.default_rng(0).standard_normal(lat["ddim"].shape)
    out = {}
    for name, z in lat.items():
        f, pw = radial_power_spectrum(z)
        p = np.asarray(pw).reshape(-1, len(f)).mean(0)
        keep = (np.asarray(f) > 0) & (p > 0)
        x, y = np.log10(np.asarray(f)[keep]), np.log10(p[keep])
        out["ovg" if name == ovg else name] = (float(np.polyfit(x, y, 1)[0]), float(y.max() - y.min()))
    return out


def spectrum_finding(ds) -> tuple[str, str] | None:
    """Fig. 1's own check (no claim of the claims page tests it): does OVG restore a flat latent spectrum? Holds when
    OVG's slope lies nearer the Gaussian noise's than DDIM's, does not hold when it lies nearer DDIM's. (verdict,
    markdown line), None without stored latents."""
    s = spectrum_slopes(ds)
    if not s:
        return None
    d, o, g = s["ddim"][0], s["ovg"][0], s["gaussian"][0]
    closed = (o - d) / (g - d) if g != d else np.nan
    v = HOLDS if abs(o - g) < abs(o - d) else FAILS
    words = ("lies nearer the Gaussian noise's: ours agrees that OVG flattens the latent spectrum" if v == HOLDS else
             "lies nearer DDIM's: OVG's latent spectrum still falls nearly as steeply as DDIM's, so ours does not "
             "show the flat (white) spectrum of the paper's panel")
    return v, (f"- The latents' spectra of our figure (the figure's own check, not a claim of the claims page): slope "
               f"of $\\log_{{10}}$ power against $\\log_{{10}}$ frequency {_fmt(d, True)} for DDIM (a range of {s['ddim'][1]:.1f} "
               f"decades), {_fmt(o, True)} for OVG ({s['ovg'][1]:.1f}) and {_fmt(g, True)} for Gaussian noise "
               f"({s['gaussian'][1]:.1f}); OVG closes {percent(closed, 0)} of DDIM's gap to the noise's slope and "
               f"{words}: **{v}**.")


def _fmt(v: float, signed: bool = False) -> str:
    """A score with two decimals (three near 0); ``signed`` for an error whose sign means something (a true minus
    sign, "+" for a positive one)."""
    if not np.isfinite(v):
        return "—"
    text = (f"{v:+.2f}" if abs(v) >= 0.005 else f"{v:+.3f}") if signed else f"{v:.2f}"
    return text.replace("-", "−")


def _means_only_note(fig: PaperFigure) -> str:
    """A note for a figure whose claims rest on means only (decided by the ``MEANS`` rule, no interval): its agreement
    is not a reading of uncertainty, and is indicative."""
    from ..studies.claims import MEANS

    keys = [c.key for c in CLAIMS if c.key in fig.claims and c.by == MEANS]
    if not keys:
        return ""
    if len(keys) == len(fig.claims):
        return ("\nThe claim" + ("s" if len(keys) > 1 else "") + " behind this figure rest" + ("" if len(keys) > 1
                else "s") + " on means only, with no interval, so its agreement is not judged with uncertainty: read "
                "it as indicative.\n")
    titles = [f"*{CLAIM_TITLES.get(k, k)}*" for k in keys]
    named = titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]
    count = "one rests" if len(keys) == 1 else f"{len(keys)} rest"   # the titles after a colon keep their capital
    return (f"\nOf the claims behind this figure, {count} on means only, with no interval: {named}; the others are "
            "judged on their intervals. That part of the agreement is indicative.\n")


def sweep_crops(stored) -> str:
    """How many of the profile's validation crops the Pareto sweep scores, from its stored results (``n_images`` and
    the profile's ``n_val``): "The sweep scores 12 of the profile's 16 validation crops ...", or '' when unknown."""
    import json

    said = set()
    for ds in stored:
        n = ds.attrs.get("n_images")
        try:
            n_val = json.loads(ds.attrs.get("profile_values", "{}")).get("n_val")
        except ValueError:
            n_val = None
        if n is not None and n_val and "validation" in str(ds.attrs.get("tuning_split", "")):
            said.add((int(n), int(n_val)))
    if len(said) != 1:
        return ""
    n, n_val = said.pop()
    of = "all" if n == n_val else f"{n} of"
    return (f"The sweep scores {of} the profile's {n_val} validation crops of each dataset, none of them a test crop "
            "the tables score.")


def _coinciding(ds) -> str:
    """A note on the methods of Fig. 2's table that coincide sample for sample with another ("" when none)."""
    from ..studies.aggregate import coinciding_methods

    same = {m: o for m, o in coinciding_methods(ds).items() if m in _FIG2_METHODS and o in _FIG2_METHODS}
    if not same:
        return ""
    pairs = "; ".join(f"{m} coincides with {o} sample for sample" for m, o in sorted(same.items()))
    return f"\n{pairs}, so their rows are the same.\n"


def figures_markdown(results_root, profile: str, ev) -> tuple[str, dict[str, bytes]]:
    """The page's markdown (one section per figure) and its PNGs ({file name: bytes}) from the stored results."""
    from .tables import GENERATED, md_table
    from ..plotting.pareto import pareto_figure

    tables = {}
    for ds in {f.datasets for f in FIGURES}:
        keys = sorted({k for f in FIGURES if f.datasets == ds for k in f.claims})
        tables[ds] = evaluate_claims(on_datasets(ev, ds), claims=[c for c in CLAIMS if c.key in keys])
    main = results_path("main_results", "ihc-sr", profile, results_root)
    main_ds = load_results(main) if main.exists() else None
    pngs: dict[str, bytes] = {}
    parts = []
    for fig in FIGURES:
        verdicts, lines = _claim_lines(tables[fig.datasets], fig.claims)
        if fig.texture:
            more, said = texture_findings(on_datasets(ev, fig.datasets), fig.texture, fig.datasets)
            verdicts, lines = verdicts + more, lines + said
        if fig.number == 1 and main_ds is not None and (found := spectrum_finding(main_ds)):
            verdicts, lines = verdicts + [found[0]], lines + [found[1]]
        word = agreement(verdicts)
        on = (f"judged on {', '.join(fig.datasets)} alone, the dataset it is drawn from"
              if fig.datasets else "judged on every dataset")
        body = [f"## Fig. {fig.number}: {fig.title}\n",
                f"**The paper's panel:** {fig.paper}.\n\n**Ours:** {fig.ours}. **{agreement_sentence(word)}** "
                f"({', '.join(verdicts) or 'no verdict'}; the claims and checks behind it, by the claims page's rule, "
                f"{on}):\n",
                "\n".join(lines) + "\n" + _means_only_note(fig)]
        drawn = None
        if fig.number == 1 and main_ds is not None:
            drawn = "intro-collapse.png"   # the introduction's figure, written by book_fragments
        elif fig.number == 2 and main_ds is not None:
            pngs["fig2-translations.png"] = _image_png(_fig2_grid(main_ds))
            drawn = "fig2-translations.png"
            nums = fig2_rows(main_ds)
            if not nums.empty:
                nums = nums.assign(**{c: [_fmt(v, signed=c == "delta_log_e_hf") for v in nums[c]]
                                      for c in ("s_hf", "delta_log_e_hf", "s_lf") if c in nums})
                body.append("\nMeans over kept crops and seeds (ihc-sr):\n\n" + md_table(nums.rename(columns={
                    "s_hf": "S_HF", "delta_log_e_hf": "Δlog E_HF", "s_lf": "S_LF"})) + _coinciding(main_ds))
        elif fig.number == 4:
            points = fig4_points(ev)
            if len(points) >= 3:
                from ..plotting.figures import correlation_figure

                pngs["fig4-correlations.png"] = _png(correlation_figure(points))
                drawn = "fig4-correlations.png"
        elif fig.number == 6:
            paths = [results_path("pareto", d, profile, results_root) for d in ("ihc-sr", "ihc-edges")]
            stored = [load_results(p) for p in paths if p.exists()]
            if stored:
                pngs["fig6-pareto.png"] = _png(pareto_figure(stored))
                drawn = "fig6-pareto.png"
                if said := sweep_crops(stored):
                    body.append(f"\n{said}\n")
        if drawn:   # a plain image: the book numbers its own figures, which would clash with the paper's numbers
            width = "55%" if fig.number == 2 else "100%"
            body.insert(1, f"```{{image}} {GENERATED}/{drawn}\n:width: {width}\n:alt: our analogue of the paper's "
                           f"Fig. {fig.number}\n```\n\n*Our analogue of the paper's Fig. {fig.number} ({profile} "
                           "profile).*\n")
        else:
            body.insert(1, "```{note}\nThe results this figure is drawn from are not stored yet: `make book` runs "
                           "the studies.\n```\n")
        parts.append("\n".join(body))
    return "\n".join(parts), pngs
