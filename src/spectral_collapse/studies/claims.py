"""The paper's quantitative claims, one row of ``CLAIMS`` each: a check of the scorecard's ``Evidence`` (our results,
or the paper's own tables) returning a ``Finding`` ("holds", "does not hold", "inconclusive", "not testable here")
decided by one of the general rules (``RULES``)."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable

import pandas as pd

from ..text import signed
from .claim_checks import (correlated, differences, lowest_lpips, ovg_front, ovg_texture_check, pareto_expands,
                           pca_fewer, scale_monotone, scale_psnr, taba_structure, texture_claim)
from .evidence import Evidence, STUDY_NAMES, evidence_of, paper_evidence
from .shares import MIN_COMPARISONS, share_claim, table1_frames, x0_frames
from .verdicts import TIE_RULE, UNTESTABLE, Finding

__all__ = ["Claim", "CLAIMS", "RULES", "PAIRED", "SHARE", "CORRELATION", "MEANS", "INDICATIVE", "INPUT_STRUCTURE",
           "judge", "evaluate_claims", "chapter_verdicts"]

# the general rules a claim is decided by (the keys of ``RULES``)
PAIRED, SHARE, CORRELATION, MEANS = "paired comparison", "share of comparisons", "correlation", "means only"
INDICATIVE = "indicative only"   # how a verdict that rests on a model below the quality gate is qualified
# what S_LF measures (App. B.5: low frequencies against the input condition), as the titles and verdicts name it
INPUT_STRUCTURE = "the input's structure"


@dataclass(frozen=True)
class Claim:
    key: str
    title: str                         # the claim's heading on the claims page
    where: str                         # section / table / figure of the paper
    statement: str                     # the claim, in our words
    rule: str                          # what it asks of the numbers
    test: Callable[[Evidence], Finding]
    reads: tuple[str, ...] = ("main",)  # the evidence it is judged on
    by: str = ""                       # the general rule (a key of ``RULES``) that decides it; "" for its own alone


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
    Claim("collapse_sdc", "Standard inversion leaves correlated latents", "Sec. 4, Sec. 6.2, Table 2",
          "Standard deterministic inversion leaves spatially correlated latents: its decorrelation score S_DC is "
          "below that of TABA and EDM.",
          "S_DC(ddim) − S_DC(taba) < 0 and S_DC(ddim) − S_DC(edm) < 0 on every dataset",
          differences("main", (("ddim", "taba", "s_dc", False), ("ddim", "edm", "s_dc", False)),
                      "needs main results with ddim and one of taba, edm (s_dc)"), by=PAIRED),
    Claim("collapse_shf", "Standard inversion loses high frequencies", "Sec. 4, Sec. 6.2, Table 2",
          "Those correlated latents give outputs short of high frequencies: S_HF of standard inversion is below "
          "TABA's and EDM's.", "S_HF(ddim) − S_HF(taba) < 0 and S_HF(ddim) − S_HF(edm) < 0 on every dataset",
          differences("main", (("ddim", "taba", "s_hf", False), ("ddim", "edm", "s_hf", False)),
                      "needs main results with ddim and one of taba, edm (s_hf)"), by=PAIRED),
    Claim("table1", "Stochastic inversions beat deterministic ones on texture (Table 1)", "Table 1",
          "Stochastic inversions (TABA, ReNoise) beat deterministic ones (standard, Null-Class, DirectInversion) on "
          "S_DC, S_HF and S_G in most comparisons, and lose on S_LF in most.",
          "share of distinct (dataset, stochastic, deterministic) comparisons won by the stochastic method: above "
          "50 % for S_DC, S_HF and S_G, below 50 % for S_LF",
          share_claim("table1", table1_frames, {"s_hf": True, "s_lf": False, "s_dc": True, "s_g": True}), by=SHARE),
    Claim("pca_collapse", "Inverted latents need fewer principal components, fewer as inputs get sparser",
          "Sec. 4, Fig. 3",
          "Inverted latents concentrate their variance in fewer principal components than Gaussian noise, and more "
          "so as the input gets sparser.", "k90 (components for 90 % of the variance) of every DDIM series below "
          "Gaussian noise's, and below that of the next less sparse series; each difference a 95 % interval over "
          "subsamples of the latents (all series at one subsample size, drawn without replacement), read as a "
          "paired comparison is, with one component as its minimal effect (results without subsamples: the k90s "
          "themselves, two-way)", pca_fewer, reads=("pca_collapse",)),
    Claim("corr_hf_dc", "Texture and decorrelation go together", "Sec. 4, Fig. 4a, Fig. 14, Fig. 15",
          "S_HF and S_DC are strongly and positively correlated across methods.",
          "Pearson r(S_HF, S_DC) ≥ 0.5", correlated("s_hf", "s_dc", +1), by=CORRELATION),
    Claim("corr_dc_g", "Decorrelation and Gaussianity go together", "Sec. 4, Fig. 8, Fig. 14",
          "The decorrelation score S_DC and the Gaussianity score S_G are strongly and positively correlated.",
          "Pearson r(S_DC, S_G) ≥ 0.5", correlated("s_dc", "s_g", +1), by=CORRELATION),
    Claim("tradeoff_lf_dc", f"Decorrelated latents keep less of {INPUT_STRUCTURE}", "Sec. 4, Fig. 4b, Fig. 16",
          "Restoring Gaussian, decorrelated latents costs structure: S_LF falls as S_DC rises.",
          f"Pearson r(S_LF, S_DC) ≤ {signed(-0.5, 1)}", correlated("s_lf", "s_dc", -1), by=CORRELATION),
    Claim("edm_tradeoff", f"EDM restores texture and keeps less of {INPUT_STRUCTURE}",
          "Sec. 4 (parameterization trade-off)",
          "x0-prediction (EDM) restores high-frequency texture but drifts structurally: higher S_HF and lower S_LF "
          "than ε-prediction (standard DDIM).",
          "S_HF(edm) − S_HF(ddim) > 0 and S_LF(edm) − S_LF(ddim) < 0 on every dataset",
          differences("main", (("edm", "ddim", "s_hf", True), ("edm", "ddim", "s_lf", False)),
                      "needs main results with edm and ddim"), by=PAIRED),
    Claim("ovg_vs_ddim", "OVG removes the collapse of standard inversion", "Sec. 5, Sec. 6.2",
          "OVG removes the collapse of standard inversion: higher S_HF and S_DC than DDIM.",
          "S_HF(ovg) − S_HF(ddim) > 0 and S_DC(ovg) − S_DC(ddim) > 0 on every dataset; and, where the signed texture "
          "error Δlog E_HF (log E_HF − μ_HF of the real crops) is stored, OVG's moves toward 0 without "
          "overshooting: |mean Δlog E_HF(ovg)| < |mean Δlog E_HF(ddim)| and the paired interval of the per-crop "
          "|Δ(ovg)| − |Δ(ddim)| below 0 beyond its minimal effect, OVG's mean not ending beyond the real crops' band "
          "(mean ± std of the ground truth's per-crop Δlog E_HF) on the other side from DDIM's",
          differences("main", (("ovg", "ddim", "s_hf", True), ("ovg", "ddim", "s_dc", True)),
                      "needs main results with ovg and ddim", more=ovg_texture_check), by=PAIRED),
    Claim("ovg_texture", "OVG restores realistic texture (luma, chroma, KID)", "Sec. 5, Sec. 6.2 (texture restored)",
          "OVG restores realistic texture after standard inversion: detail right in luminance and in colour, and "
          "crops closer to real ones than DDIM's.",
          "on every dataset: OVG's mean luma and chroma detail (log energy over the real reference crops' mean) inside "
          "the real crops' band (mean ± std of the ground truth's per-crop value), and KID_wav(ovg) − KID_wav(ddim) "
          "< 0, its paired 95 % interval over the crops below 0 (read only where KID_wav ranks the ground truth "
          "first and every control worse)", texture_claim("ovg", "ddim"), by=PAIRED),
    Claim("ovg_taba_texture", "OVG + TABA restores texture better than TABA", "Sec. 6.2 (OVG + TABA)",
          "OVG added to TABA restores texture better than TABA alone.",
          "as for OVG against DDIM, with OVG + TABA against TABA", texture_claim("ovg_taba", "taba"), by=PAIRED),
    Claim("taba_structure", f"TABA pays for texture with {INPUT_STRUCTURE}", "Sec. 6.2",
          "TABA pays for its texture with structure: its S_LF is below that of the best OVG configuration.",
          "S_LF(taba) − S_LF(best OVG) < 0 on every dataset, the best of ovg, ovg_taba, ovg_edm by mean S_LF on the "
          "Pareto sweep's validation crops (the paper: by its table's means)",
          taba_structure, by=PAIRED),
    Claim("ovg_front", f"An OVG variant is on the front of texture and {INPUT_STRUCTURE}",
          "Sec. 6.2 (state-of-the-art trade-off)",
          "OVG gives the best realism / fidelity trade-off: an OVG variant lies on the S_HF / S_LF Pareto front of "
          "all methods.", "some OVG label is non-dominated among the method means on every dataset (means only, no "
          "interval)", ovg_front, by=MEANS),
    Claim("ovg_edm_lpips", "OVG + EDM has the best perceptual quality on edges", "Sec. 6.2",
          "On Edges2Shoes, OVG + EDM has the best perceptual quality (lowest LPIPS).",
          "argmin LPIPS over methods is ovg_edm on the Edges2Shoes stand-in", lowest_lpips),
    Claim("pareto_expands", "Sweeping OVG's step sizes pushes the front out", "Sec. 5.2, Fig. 6",
          "Sweeping (eta_HF, eta_LF) expands the Pareto frontier beyond the baselines'.",
          "some OVG grid point lies on the joint S_HF / S_LF front of grid points and baselines, on every dataset "
          "swept (means only, no interval; a grid point with a failed sample is not a point of the front); the "
          "numbers name the OVG variants whose points make it", pareto_expands, reads=("pareto",), by=MEANS),
    Claim("backbone", "Collapse is not a convolutional artefact (U-Net and DiT)", "Sec. 6.3, Table 3",
          "Collapse is not a convolutional artefact: with both U-Net and DiT, standard inversion has lower S_HF and "
          "S_DC than OVG.", "for each backbone, DDIM's S_HF and S_DC below OVG's: S_HF(ddim) − S_HF(ovg) < 0 and "
          "S_DC(ddim) − S_DC(ovg) < 0",
          differences("backbone", (("ddim", "ovg", "s_hf", False), ("ddim", "ovg", "s_dc", False)),
                      "needs backbone results with ddim and ovg", axis="backbone"), reads=("backbone",), by=PAIRED),
    Claim("space", "Collapse is not a VAE artefact (pixel and latent space)", "Sec. 6.3, Table 4",
          "Collapse is not a VAE artefact: in pixel space as in latent space, standard inversion has lower S_HF "
          "and S_DC than TABA / OVG.", "in each space (pixel and latent), DDIM's S_HF and S_DC below TABA's and OVG's: "
          "S_HF(ddim) − S_HF(taba), S_HF(ddim) − S_HF(ovg), S_DC(ddim) − S_DC(taba) and S_DC(ddim) − S_DC(ovg) "
          "each < 0",
          differences("space", [("ddim", r, m, False) for r in ("taba", "ovg") for m in ("s_hf", "s_dc")],
                      "needs space results with ddim and taba/ovg", axis="space"), reads=("space",), by=PAIRED),
    Claim("scale_x32", "At the sparsest input, DDIM keeps PSNR and loses texture", "Sec. 6.3, Table 5",
          "At the sparsest input (x32) standard inversion keeps the highest PSNR but the lowest S_HF; TABA and OVG "
          "keep texture.", "at the largest factor, DDIM's PSNR above TABA's and OVG's and its S_HF below both: "
          "PSNR(ddim) − PSNR(taba) and PSNR(ddim) − PSNR(ovg) each > 0, S_HF(ddim) − S_HF(taba) and "
          "S_HF(ddim) − S_HF(ovg) each < 0", scale_psnr, reads=("scale",), by=PAIRED),
    Claim("scale_monotone", "Collapse grows as the input gets sparser", "Sec. 4, Fig. 3",
          "Collapse intensifies as the input becomes sparser (x8 → x16 → x32).",
          "S_DC of ddim decreasing at each step of the SR factor, each step paired on the same crops (seed, sample) "
          "at both factors", scale_monotone, reads=("scale",), by=PAIRED),
    Claim("x0_cure", "x0-prediction improves texture and decorrelation", "Sec. 6.3, Table 6",
          "Switching to x0-prediction improves S_HF and S_DC in most cases.",
          "share of distinct (dataset, method, factor) cases where x0 beats eps: above 50 % for S_HF and S_DC",
          share_claim("table6", x0_frames, {"s_hf": True, "s_dc": True}), reads=("x0",), by=SHARE),
    Claim("x0_structure", f"x0-prediction rarely improves fidelity or {INPUT_STRUCTURE}", "Sec. 6.3 text",
          "...but structural fidelity and reconstruction (S_LF, PSNR, MS-SSIM) improve in only a minority of cases.",
          "share of distinct (dataset, method, factor) cases where x0 beats eps: below 50 % for S_LF, PSNR and "
          "MS-SSIM", share_claim("table6", x0_frames, {"psnr": False, "ms_ssim": False, "s_lf": False}),
          reads=("x0",), by=SHARE),
]


def judge(c: Claim, ev: Evidence) -> Finding:
    """``c``'s finding on ``ev``. Where it rests, wholly or in part, on results computed with a model below the
    quality gate (``ev.weak``), its ``caveat`` says so (``gate_caveat``)."""
    found = c.test(ev)
    weak = sorted({m for (study, _), (names, _) in ev.weak.items() if study in c.reads for m in names})
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


def evaluate_claims(ours: Evidence, paper: Evidence | None = None) -> pd.DataFrame:
    """One row per claim: where, statement, rule (its own part) and the general rule it is decided by (a key of
    ``RULES``), our verdict with its caveat ("" or what limits it) and numbers, and the verdict on the
    paper's tables with its numbers."""
    paper = paper if paper is not None else paper_evidence()
    rows = []
    for c in CLAIMS:
        o, p = judge(c, ours), c.test(paper)
        rows.append({"claim": c.key, "title": c.title, "where": c.where, "statement": c.statement, "rule": c.rule,
                     "decided by": c.by, "verdict": o.verdict, "caveat": o.caveat, "our numbers": o.detail,
                     "paper's tables": p.verdict, "paper numbers": p.detail})
    return pd.DataFrame(rows)


def chapter_verdicts(ds, keys=None, reads: dict | None = None) -> pd.DataFrame:
    """The claims a study's results answer on their own (``keys``: only these), judged by the claims page's rule: one
    row per claim (key, title, where, verdict, caveat, numbers); a chapter glues each verdict as ``claim_<key>``.
    ``reads``: results of other studies the chapter took its settings from, e.g. {"pareto": the sweep}."""
    cols = ["claim", "title", "where", "verdict", "caveat", "numbers"]
    short = STUDY_NAMES.get(ds.attrs.get("study", ""))
    if not short:
        return pd.DataFrame(columns=cols)
    ev = evidence_of(ds, short)
    for study, other in (reads or {}).items():
        if other is not None:
            ev.extra.setdefault(study, {})[str(ds.attrs.get("dataset", ""))] = other
    found = {c: judge(c, ev) for c in CLAIMS if short in c.reads and (keys is None or c.key in keys)}
    return pd.DataFrame([(c.key, c.title, c.where, f.verdict, f.caveat, f.detail) for c, f in found.items()],
                        columns=cols)
