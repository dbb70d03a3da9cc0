"""The paper's quantitative claims, each a small function of the scorecard's ``Evidence`` with a verdict.

Each claim returns a ``Finding``: "holds", "does not hold", "inconclusive" or "not testable here", with the numbers
behind it, decided by one of the general rules (``RULES``; intervals from ``studies.verdicts``). The same function
runs on evidence built from the paper's own tables (``scorecard.paper_evidence``: one "seed" = the reported mean),
where it decides on the means, so the claims page also shows where the paper's tables disagree with its text.
``evaluate_claims`` tabulates every claim; ``glue_verdicts`` and ``chapter_verdicts`` serve a chapter's own results.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import pandas as pd

from ..text import signed
from .claim_titles import CLAIM_TITLES
from .claims_ablations import (TIE_RULE, ablation_collapse, claim_pca, claim_scale_monotone, claim_scale_psnr,
                               versus_or_tie)
from .claims_shares import share_claim
from .claims_texture import sdc_literal, texture_claim
from .claims_words import CORRELATION, INDICATIVE, MEANS, PAIRED, SHARE
from .evidence import STUDY_NAMES, evidence_of
from .paper_shares import table1_frames, x0_frames
from .samples import sample_size
from .scorecard import (OVG_LABELS, STANDIN, Evidence, fmt_value, load_evidence, method_means, paper_evidence,
                        paper_printed)
from .shares import MIN_COMPARISONS
from .tuning import best_on_validation
from .verdicts import (FAILS, HOLDS, INCONCLUSIVE, UNTESTABLE, Finding, combine, correlation_finding, distinct_points,
                       label, texture_check)

__all__ = ["HOLDS", "FAILS", "INCONCLUSIVE", "UNTESTABLE", "Finding", "Claim", "CLAIMS", "CLAIM_TITLES", "RULES",
           "PAIRED", "SHARE", "CORRELATION", "MEANS", "INDICATIVE", "judge", "evaluate_claims", "judged_on",
           "chapter_claims", "chapter_verdicts", "glue_verdicts"]


@dataclass(frozen=True)
class Claim:
    key: str
    where: str                         # section / table / figure of the paper
    statement: str                     # the claim, in our words
    rule: str                          # what it asks of the numbers
    test: Callable[[Evidence], Finding]
    reads: tuple[str, ...] = ("main",)  # the evidence it is judged on (samples.sample_size counts it)
    by: str = ""                       # the general rule (a key of ``RULES``) that decides it; "" for its own alone

    @property
    def full_rule(self) -> str:
        """The claim's rule with the general rule it is decided by written out."""
        return f"{self.rule}; {RULES[self.by]}" if self.by else self.rule


def _datasets(ev: Evidence, study: str = "main") -> list[str]:
    f = ev.select(study)
    return sorted(f["dataset"].unique()) if not f.empty and "dataset" in f else []


def _below(metric: str, low: str, highs: tuple[str, ...]) -> Callable[[Evidence], Finding]:
    def test(ev: Evidence) -> Finding:
        checks = [versus_or_tie(ev, "main", {"dataset": ds}, low, h, metric, higher=False, prefix=f"{ds}: ")
                  for ds in _datasets(ev) for h in highs]
        return combine(checks, f"needs main results with {low} and one of {', '.join(highs)} ({metric})")
    return test


def _corr(a: str, b: str, sign: int, threshold: float = 0.5) -> Callable[[Evidence], Finding]:
    """Pearson r of ``a`` and ``b`` over distinct (dataset, method) points (``verdicts.correlation_finding``)."""
    def test(ev: Evidence) -> Finding:
        w, why = distinct_points(ev.select("main"), ev.select("main", per_crop=True), (a, b))
        lack = [label(m) for m in (a, b) if m not in w]
        if lack:
            return Finding(UNTESTABLE, f"no {', '.join(lack)}")
        short = w[w[[a, b]].isna().any(axis=1)]
        w = w[[a, b]].dropna()
        w = w[w.groupby(level="dataset")[a].transform("count") > 2] if "dataset" in w.index.names else w
        if len(w) < 3 or w[a].nunique() < 2 or w[b].nunique() < 2:
            return Finding(UNTESTABLE, f"< 3 varying points of {a}, {b}")
        found = correlation_finding(w, why, a, b, sign, threshold, paper=ev.source == "paper")
        if short.empty:
            return found
        names = [" ".join(map(str, k if isinstance(k, tuple) else (k,))) for k in short.index]
        return Finding(found.verdict, f"{found.detail}; no point: " + ", ".join(names))
    return test


def _main_by_dataset(ev: Evidence):
    """(dataset, per-method metric means) of the stored main results, one dataset at a time."""
    w = method_means(ev.select("main"))
    for ds in (w.index.get_level_values(0).unique() if not w.empty else []):
        yield ds, w.loc[ds]


def _claim_edm_tradeoff(ev: Evidence) -> Finding:
    checks = [versus_or_tie(ev, "main", {"dataset": ds}, "edm", "ddim", m, higher=m == "s_hf", prefix=f"{ds}: ")
              for ds in _datasets(ev) for m in ("s_hf", "s_lf")]
    return combine(checks, "needs main results with edm and ddim")


def _claim_taba_structure(ev: Evidence) -> Finding:
    checks = []
    for ds in _datasets(ev):
        crops = ev.select("main", per_crop=True, dataset=ds, metric="s_lf")
        f = crops if not crops.empty else ev.select("main", dataset=ds, metric="s_lf")
        means = f.groupby("method")["value"].mean() if not f.empty else pd.Series(dtype=float)
        ovg = [m for m in OVG_LABELS if m in means.index and np.isfinite(means[m])]
        if "taba" not in means.index or not ovg:
            continue
        sweep = ev.extra.get("pareto", {}).get(ds)   # the best variant is picked on validation, judged on test
        best = best_on_validation(sweep, ovg, "s_lf") if sweep is not None else None
        how = "validation S_LF"
        if best is None:  # the paper's tables, or a run without a sweep: the compared means themselves
            best, how = max(ovg, key=lambda m: means[m]), "mean S_LF"
        checks.append(versus_or_tie(ev, "main", {"dataset": ds}, "taba", best, "s_lf", higher=False,
                                    prefix=f"{ds} (best OVG by {how}: {best}): "))
    return combine(checks, "needs main results with taba and an OVG variant")


def _claim_ovg_front(ev: Evidence) -> Finding:
    from .pareto import pareto_front

    checks = []
    for ds, d in _main_by_dataset(ev):
        if not {"s_hf", "s_lf"} <= set(d.columns) or not any(m in d.index for m in OVG_LABELS):
            continue
        d = d[["s_hf", "s_lf"]].dropna()
        front = pareto_front(d["s_hf"], d["s_lf"])
        on = [m for m, f in zip(d.index, front) if f]
        checks.append((any(m in OVG_LABELS for m in on), f"{ds}: front = {', '.join(on)}"))
    return combine(checks, "needs main results with an OVG variant and S_HF, S_LF")


def _claim_ovg_vs_ddim(ev: Evidence) -> Finding:
    checks = []
    for ds in _datasets(ev):
        checks += [versus_or_tie(ev, "main", {"dataset": ds}, "ovg", "ddim", m, prefix=f"{ds}: ")
                   for m in ("s_hf", "s_dc")]
        crops = ev.select("main", per_crop=True, dataset=ds)
        checks.append(texture_check(crops, "ovg", "ddim", prefix=f"{ds}: ", band=ev.bands.get(("main", ds)))
                      if not crops.empty else None)
    found = combine(checks, "needs main results with ovg and ddim")
    literal = sdc_literal(ev)
    return replace(found, detail=found.detail + "".join(f" [{n}]" for n in literal)) if literal else found


def _claim_lpips(ev: Evidence) -> Finding:
    checks = []
    for ds, d in _main_by_dataset(ev):
        if STANDIN.get(ds.split(" ")[0]) != "edges2shoes":
            continue
        if "lpips" not in d or d["lpips"].dropna().empty or "ovg_edm" not in d.index:
            continue
        best = d["lpips"].idxmin()
        checks.append((best == "ovg_edm", f"{ds}: lowest LPIPS {best} {fmt_value(d.loc[best, 'lpips'])}"
                       + ("" if best == "ovg_edm" else f", ovg_edm {fmt_value(d.loc['ovg_edm', 'lpips'])}")))
    return combine(checks, "needs LPIPS (AlexNet weights) on an Edges2Shoes stand-in")


def _claim_pareto(ev: Evidence) -> Finding:
    """Some OVG grid point on each sweep's joint S_HF / S_LF front of grid points and baselines (``pareto.joint_front``,
    grid points with failed samples left out)."""
    from .pareto import joint_front

    if ev.source == "paper":
        return Finding(UNTESTABLE, "Fig. 6 gives no numbers and the step sizes are not published")
    checks = []
    for ds, res in sorted(ev.extra.get("pareto", {}).items()):
        grid, _, front = joint_front(res)
        by_base = grid[front[:len(grid)]].groupby("base").size()
        bases = ", ".join(f"{k} {b}" for b, k in sorted(by_base.items(), key=lambda x: str(x[0]))) or "none"
        checks.append((by_base.sum() > 0, f"{ds}: OVG points on the joint front: {bases}; baselines: "
                                          f"{int(front[len(grid):].sum())}"))
    return combine(checks, "needs pareto study results")


# The general rules, each stated once (the claims page lists them) and named by the claims decided by them.
RULES = {
    PAIRED: ("paired 95 % bootstrap interval over crops, on the claimed side of 0 beyond the metric's minimal effect "
             "(metrics.intervals.MIN_EFFECT); every comparison must hold; |Δlog E_HF| also needs the mean inside the "
             f"real crops' band; paper tables: the means, {TIE_RULE}"),
    SHARE: ("share of distinct comparisons won, 95 % bootstrap interval over crops (seeds for S_G) wholly on the "
            f"paper's side of 50 %; under {MIN_COMPARISONS} comparisons: inconclusive; paper tables: the reported "
            "share's side of 50 %"),
    CORRELATION: ("Pearson r over distinct (dataset, method) means, 95 % Fisher-z interval beyond the threshold and "
                  "excluding 0; wholly short of the threshold: does not hold; paper tables: r alone"),
    MEANS: "method means only, no interval: indicative",
}


CLAIMS: list[Claim] = [
    Claim("collapse_sdc", "Sec. 4, Sec. 6.2, Table 2",
          "Standard deterministic inversion leaves spatially correlated latents: its decorrelation score S_DC is "
          "below that of TABA and EDM.",
          "S_DC(ddim) − S_DC(taba) < 0 and S_DC(ddim) − S_DC(edm) < 0 on every dataset",
          _below("s_dc", "ddim", ("taba", "edm")), by=PAIRED),
    Claim("collapse_shf", "Sec. 4, Sec. 6.2, Table 2",
          "Those correlated latents give outputs short of high frequencies: S_HF of standard inversion is below "
          "TABA's and EDM's.", "S_HF(ddim) − S_HF(taba) < 0 and S_HF(ddim) − S_HF(edm) < 0 on every dataset",
          _below("s_hf", "ddim", ("taba", "edm")), by=PAIRED),
    Claim("table1", "Table 1",
          "Stochastic inversions (TABA, ReNoise) beat deterministic ones (standard, Null-Class, DirectInversion) on "
          "S_DC, S_HF and S_G in most comparisons, and lose on S_LF in most.",
          "share of distinct (dataset, stochastic, deterministic) comparisons won by the stochastic method: above "
          "50 % for S_DC, S_HF and S_G, below 50 % for S_LF",
          share_claim("table1", table1_frames, {"s_hf": True, "s_lf": False, "s_dc": True, "s_g": True}), by=SHARE),
    Claim("pca_collapse", "Sec. 4, Fig. 3",
          "Inverted latents concentrate their variance in fewer principal components than Gaussian noise, and more "
          "so as the input gets sparser.", "k90 (components for 90 % of the variance) of every DDIM series below "
          "Gaussian noise's, and below that of the next less sparse series; each difference a 95 % interval over "
          "subsamples of the latents (all series at one subsample size, drawn without replacement), read as a "
          "paired comparison is, with one component as its minimal effect (results without subsamples: the k90s "
          "themselves, two-way)", claim_pca, reads=("pca_collapse",)),
    Claim("corr_hf_dc", "Sec. 4, Fig. 4a, Fig. 14, Fig. 15",
          "S_HF and S_DC are strongly and positively correlated across methods.",
          "Pearson r(S_HF, S_DC) ≥ 0.5", _corr("s_hf", "s_dc", +1), by=CORRELATION),
    Claim("corr_dc_g", "Sec. 4, Fig. 8, Fig. 14",
          "The decorrelation score S_DC and the Gaussianity score S_G are strongly and positively correlated.",
          "Pearson r(S_DC, S_G) ≥ 0.5", _corr("s_dc", "s_g", +1), by=CORRELATION),
    Claim("tradeoff_lf_dc", "Sec. 4, Fig. 4b, Fig. 16",
          "Restoring Gaussian, decorrelated latents costs structure: S_LF falls as S_DC rises.",
          f"Pearson r(S_LF, S_DC) ≤ {signed(-0.5, 1)}", _corr("s_lf", "s_dc", -1), by=CORRELATION),
    Claim("edm_tradeoff", "Sec. 4 (parameterization trade-off)",
          "x0-prediction (EDM) restores high-frequency texture but drifts structurally: higher S_HF and lower S_LF "
          "than ε-prediction (standard DDIM).",
          "S_HF(edm) − S_HF(ddim) > 0 and S_LF(edm) − S_LF(ddim) < 0 on every dataset", _claim_edm_tradeoff,
          by=PAIRED),
    Claim("ovg_vs_ddim", "Sec. 5, Sec. 6.2",
          "OVG removes the collapse of standard inversion: higher S_HF and S_DC than DDIM.",
          "S_HF(ovg) − S_HF(ddim) > 0 and S_DC(ovg) − S_DC(ddim) > 0 on every dataset; and, where the signed texture "
          "error Δlog E_HF (log E_HF − μ_HF of the real crops) is stored, OVG's moves toward 0 without "
          "overshooting: |mean Δlog E_HF(ovg)| < |mean Δlog E_HF(ddim)| and the paired interval of the per-crop "
          "|Δ(ovg)| − |Δ(ddim)| below 0 beyond its minimal effect, OVG's mean not ending beyond the real crops' band "
          "(mean ± std of the ground truth's per-crop Δlog E_HF) on the other side from DDIM's", _claim_ovg_vs_ddim,
          by=PAIRED),
    Claim("ovg_texture", "Sec. 5, Sec. 6.2 (texture restored)",
          "OVG restores realistic texture after standard inversion: detail right in luminance and in colour, and "
          "crops closer to real ones than DDIM's.",
          "on every dataset: OVG's mean luma and chroma detail (log energy over the real reference crops' mean) inside "
          "the real crops' band (mean ± std of the ground truth's per-crop value), and KID_wav(ovg) − KID_wav(ddim) "
          "< 0, its paired 95 % interval over the crops below 0 (read only where KID_wav ranks the ground truth "
          "first and every control worse)", texture_claim("ovg", "ddim"), by=PAIRED),
    Claim("ovg_taba_texture", "Sec. 6.2 (OVG + TABA)",
          "OVG added to TABA restores texture better than TABA alone.",
          "as for OVG against DDIM, with OVG + TABA against TABA", texture_claim("ovg_taba", "taba"), by=PAIRED),
    Claim("taba_structure", "Sec. 6.2",
          "TABA pays for its texture with structure: its S_LF is below that of the best OVG configuration.",
          "S_LF(taba) − S_LF(best OVG) < 0 on every dataset, the best of ovg, ovg_taba, ovg_edm by mean S_LF on the "
          "Pareto sweep's validation crops (the paper: by its table's means)",
          _claim_taba_structure, by=PAIRED),
    Claim("ovg_front", "Sec. 6.2 (state-of-the-art trade-off)",
          "OVG gives the best realism / fidelity trade-off: an OVG variant lies on the S_HF / S_LF Pareto front of "
          "all methods.", "some OVG label is non-dominated among the method means on every dataset (means only, no "
          "interval)", _claim_ovg_front, by=MEANS),
    Claim("ovg_edm_lpips", "Sec. 6.2",
          "On Edges2Shoes, OVG + EDM has the best perceptual quality (lowest LPIPS).",
          "argmin LPIPS over methods is ovg_edm on the Edges2Shoes stand-in", _claim_lpips),
    Claim("pareto_expands", "Sec. 5.2, Fig. 6",
          "Sweeping (eta_HF, eta_LF) expands the Pareto frontier beyond the baselines'.",
          "some OVG grid point lies on the joint S_HF / S_LF front of grid points and baselines, on every dataset "
          "swept (means only, no interval; a grid point with a failed sample is not a point of the front); the "
          "numbers name the OVG variants whose points make it", _claim_pareto, reads=("pareto",), by=MEANS),
    Claim("backbone", "Sec. 6.3, Table 3",
          "Collapse is not a convolutional artefact: with both U-Net and DiT, standard inversion has lower S_HF and "
          "S_DC than OVG.", "for each backbone, DDIM's S_HF and S_DC below OVG's: S_HF(ddim) − S_HF(ovg) < 0 and "
          "S_DC(ddim) − S_DC(ovg) < 0",
          ablation_collapse("backbone", "backbone", ("ovg",)), reads=("backbone",), by=PAIRED),
    Claim("space", "Sec. 6.3, Table 4",
          "Collapse is not a VAE artefact: in pixel space as in latent space, standard inversion has lower S_HF "
          "and S_DC than TABA / OVG.", "in each space (pixel and latent), DDIM's S_HF and S_DC below TABA's and OVG's: "
          "S_HF(ddim) − S_HF(taba), S_HF(ddim) − S_HF(ovg), S_DC(ddim) − S_DC(taba) and S_DC(ddim) − S_DC(ovg) "
          "each < 0",
          ablation_collapse("space", "space", ("taba", "ovg")), reads=("space",), by=PAIRED),
    Claim("scale_x32", "Sec. 6.3, Table 5",
          "At the sparsest input (x32) standard inversion keeps the highest PSNR but the lowest S_HF; TABA and OVG "
          "keep texture.", "at the largest factor, DDIM's PSNR above TABA's and OVG's and its S_HF below both: "
          "PSNR(ddim) − PSNR(taba) and PSNR(ddim) − PSNR(ovg) each > 0, S_HF(ddim) − S_HF(taba) and "
          "S_HF(ddim) − S_HF(ovg) each < 0", claim_scale_psnr, reads=("scale",), by=PAIRED),
    Claim("scale_monotone", "Sec. 4, Fig. 3",
          "Collapse intensifies as the input becomes sparser (x8 → x16 → x32).",
          "S_DC of ddim decreasing at each step of the SR factor, each step paired on the same crops (seed, sample) "
          "at both factors", claim_scale_monotone, reads=("scale",), by=PAIRED),
    Claim("x0_cure", "Sec. 6.3, Table 6",
          "Switching to x0-prediction improves S_HF and S_DC in most cases.",
          "share of distinct (dataset, method, factor) cases where x0 beats eps: above 50 % for S_HF and S_DC",
          share_claim("table6", x0_frames, {"s_hf": True, "s_dc": True}), reads=("x0",), by=SHARE),
    Claim("x0_structure", "Sec. 6.3 text",
          "...but structural fidelity and reconstruction (S_LF, PSNR, MS-SSIM) improve in only a minority of cases.",
          "share of distinct (dataset, method, factor) cases where x0 beats eps: below 50 % for S_LF, PSNR and "
          "MS-SSIM", share_claim("table6", x0_frames, {"psnr": False, "ms_ssim": False, "s_lf": False}),
          reads=("x0",), by=SHARE),
]


def judge(c: Claim, ev: Evidence) -> Finding:
    """``c``'s finding on ``ev``. Where it rests, wholly or in part, on results computed with a model below the
    quality gate (``ev.weak``), its ``caveat`` says so (``gate_caveat``)."""
    found = c.test(ev)
    weak = sorted({m for (study, _), names in ev.weak.items() if study in c.reads for m in names})
    if not weak or found.verdict == UNTESTABLE:
        return found
    return replace(found, caveat=gate_caveat(weak, c.test(ev.gated())))


def gate_caveat(weak: list[str], alone: Finding) -> str:
    """A verdict's caveat when models below the quality gate (``weak``) enter it: the models, and what the claim
    judged without them (``alone``) gives: "k of n comparisons hold", its verdict, or that none is left."""
    if alone.verdict == UNTESTABLE:
        rest = "no comparison rests on models that pass it"
    elif count := re.match(r"(\d+) of (\d+)", alone.detail):
        rest = f"on the models that pass it, {count.group(1)} of {count.group(2)} comparisons hold"
    else:
        rest = f"on the models that pass it: {alone.verdict}"
    return f"{INDICATIVE}: below the quality gate: {', '.join(weak)}; {rest}"


def judged_on(ev: Evidence, reads: str, keys=None) -> list[tuple[Claim, Finding]]:
    """The claims that read the evidence ``reads`` ("main", "x0", "scale", ...; ``keys``: only these), each with
    its finding on ``ev`` (``judge``): what a chapter says of its own results, by the claims page's rule."""
    return [(c, judge(c, ev)) for c in CLAIMS if reads in c.reads and (keys is None or c.key in keys)]


def chapter_claims(ds, keys=None, reads: dict | None = None) -> list[tuple[Claim, Finding]]:
    """The claims a study's results answer on their own (``keys``: only these), judged on those results by the
    claims page's rule: what the study's chapter says, in the page's words. [] for a study no claim reads.
    ``reads``: results of other studies the chapter took its settings from, e.g. {"pareto": the sweep}."""
    short = STUDY_NAMES.get(ds.attrs.get("study", ""))
    if not short:
        return []
    ev = evidence_of(ds, short)
    for study, other in (reads or {}).items():
        if other is not None:
            ev.extra.setdefault(study, {})[str(ds.attrs.get("dataset", ""))] = other
    return judged_on(ev, short, keys)


def evaluate_claims(ours: Evidence | None = None, paper: Evidence | None = None, claims=CLAIMS,
                    **load_kw) -> pd.DataFrame:
    """One row per claim: where, statement, rule (its own part) and the general rule it is decided by (a key of
    ``RULES``), our verdict with its caveat ("" or what limits it), numbers and sample size, and the verdict on the
    paper's tables, its numbers with the decimals the paper prints (``scorecard.paper_printed``)."""
    ours = ours if ours is not None else load_evidence(**load_kw)
    paper = paper if paper is not None else paper_evidence()
    rows = []
    for c in claims:
        o, p = judge(c, ours), c.test(paper)
        rows.append({"claim": c.key, "title": CLAIM_TITLES.get(c.key, c.key), "where": c.where,
                     "statement": c.statement, "rule": c.rule, "decided by": c.by, "verdict": o.verdict,
                     "caveat": o.caveat, "our numbers": o.detail, "our sample": sample_size(ours, c.reads),
                     "paper's tables": p.verdict, "paper numbers": paper_printed(p.detail)})
    return pd.DataFrame(rows)


def chapter_verdicts(ds, keys=None, reads: dict | None = None) -> pd.DataFrame:
    """``chapter_claims`` as a table, one row per claim: key, title, where in the paper, verdict, caveat and the
    numbers it rests on. A chapter shows this table and glues each verdict (``glue_verdicts``)."""
    rows = [{"claim": c.key, "title": CLAIM_TITLES.get(c.key, c.key), "where": c.where, "verdict": f.verdict,
             "caveat": f.caveat, "numbers": f.detail} for c, f in chapter_claims(ds, keys, reads)]
    return pd.DataFrame(rows, columns=["claim", "title", "where", "verdict", "caveat", "numbers"])


def glue_verdicts(ds, keys=None, reads: dict | None = None) -> dict[str, str]:
    """{"claim_<key>": verdict} for the claims a chapter answers: the names a chapter's text glues its verdict words
    under, so the words come from the claims page's rule and cannot go stale (tests/test_glued_verdicts.py)."""
    return {f"claim_{c.key}": f.verdict for c, f in chapter_claims(ds, keys, reads)}
