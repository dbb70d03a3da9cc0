"""The paper's quantitative claims, one row of ``CLAIMS`` each: a check of the ``Evidence`` (our results or the
paper's tables) returning a ``Finding``, decided by one of the general rules (``RULES``)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import pandas as pd

from ..metrics.intervals import t_interval
from ..text import signed
from ..verdicts.effect import FULL, NO_GAP, claim_effect, effect_named, effect_text, pooled, strength_verdict
from ..verdicts.rules import (CORRELATION, EFFECT, GATE, MEANS, NONINFERIOR, PAIRED, RULES, SEEDS, SHARE, SUBSAMPLES, TEXTURE_RULE,
                              claimed_strength, fold, fold_datasets)
from ..verdicts.seeds import ONE_RUN, over_seeds
from ..verdicts.words import DEPENDS, FAILS, HOLDS, MEANS_ONLY, UNGATED, UNTESTABLE, Finding, base_verdict
from .checks import (arm_words, correlated, differences, lowest_lpips, ovg_front, ovg_texture_check,
                     pareto_expands, pca_fewer, scale_monotone, scale_psnr, taba_structure, texture_claim)
from .fill import fill_claim
from .evidence import Evidence, STUDY_NAMES, evidence_of, paper_evidence, seed_evidence
from .shares import share_claim, table1_frames, x0_frames

__all__ = ["Claim", "CLAIMS", "RULES", "PAIRED", "SHARE", "CORRELATION", "MEANS", "EFFECT", "INPUT_STRUCTURE",
           "judge", "evaluate_claims", "chapter_verdicts",
           "NO_ORACLE", "with_exact_model", "rules_text"]

# what S_LF measures (App. B.5: low frequencies against the input condition), as the titles and verdicts name it
INPUT_STRUCTURE = "the input's structure"
NO_ORACLE = "no oracle arm"   # the claims page's exact-model column where the claim's studies ran no oracle
# DDIM and EDM under the exact model integrate its one probability-flow ODE: a claimed difference between them is absent
DDIM_IS_EDM = ("does not hold by construction: with the exact model DDIM and EDM integrate the same probability-flow "
               "ODE, so they differ only by how each discretises it")


@dataclass(frozen=True)
class Claim:
    key: str
    title: str                         # the claim's heading on the claims page
    where: str                         # section / table / figure of the paper
    statement: str                     # the claim, in our words
    rule: str                          # what it asks of the numbers
    test: Callable[[Evidence], Finding]
    reads: tuple[str, ...] = ("main",)  # the evidence it is judged on
    by: str = PAIRED                   # the general rule (a key of ``verdicts.rules.RULES``) that decides it
    claimed: str = ""                  # the paper's own effect word ("removes", "restores"): decided on the gap closed
    arms: tuple = ()                   # (axis, values) of the arms the claim names: each must pass the quality gate
    exact: str = ""                    # what the exact model decides by construction, in words ("" : its rule decides)


def _correlation_claim(key: str, title: str, where: str, statement: str, x: str, y: str, sign: int) -> Claim:
    """A claim that ``x`` and ``y`` correlate across methods with ``sign``: Pearson r at least 0.5 that way."""
    bound = "≥ 0.5" if sign > 0 else f"≤ {signed(-0.5, 1)}"
    return Claim(key, title, where, statement, f"Pearson r({x.upper()}, {y.upper()}) {bound}", correlated(x, y, sign),
                 by=CORRELATION)



def _ablation_claim(axis: str, title: str, where: str, statement: str, rule: str, methods: tuple,
                    arms: tuple) -> Claim:
    """The ablation ``axis``'s claim: on each of its ``arms`` DDIM's S_HF and S_DC below each of ``methods``'."""
    pairs = [("ddim", m, score, False) for m in methods for score in ("s_hf", "s_dc")]
    return Claim(axis, title, where, statement, rule,
                 differences(axis, pairs, f"needs {axis} results with ddim and {'/'.join(methods)}", axis=axis),
                 reads=(axis,), by=PAIRED, arms=(axis, arms))


CLAIMS: list[Claim] = [
    Claim("collapse_sdc", "Standard inversion leaves correlated latents", "Sec. 4, Sec. 6.2, Table 2",
          "Standard deterministic inversion leaves spatially correlated latents: its decorrelation score S_DC is "
          "below that of TABA and EDM.",
          "S_DC(ddim) − S_DC(taba) < 0 and S_DC(ddim) − S_DC(edm) < 0 on every dataset",
          differences("main", (("ddim", "taba", "s_dc", False), ("ddim", "edm", "s_dc", False)),
                      "needs main results with ddim and one of taba, edm (s_dc)"), by=PAIRED, exact=DDIM_IS_EDM),
    Claim("collapse_shf", "Standard inversion loses high frequencies", "Sec. 4, Sec. 6.2, Table 2",
          "Those correlated latents give outputs short of high frequencies: S_HF of standard inversion is below "
          "TABA's and EDM's.", "S_HF(ddim) − S_HF(taba) < 0 and S_HF(ddim) − S_HF(edm) < 0 on every dataset",
          differences("main", (("ddim", "taba", "s_hf", False), ("ddim", "edm", "s_hf", False)),
                      "needs main results with ddim and one of taba, edm (s_hf)"), by=PAIRED, exact=DDIM_IS_EDM),
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
          "themselves, two-way)", pca_fewer, reads=("pca_collapse",), by=SUBSAMPLES),
    *(_correlation_claim(*row) for row in (
        ("corr_hf_dc", "Texture and decorrelation go together", "Sec. 4, Fig. 4a, Fig. 14, Fig. 15",
         "S_HF and S_DC are strongly and positively correlated across methods.", "s_hf", "s_dc", +1),
        ("corr_dc_g", "Decorrelation and Gaussianity go together", "Sec. 4, Fig. 8, Fig. 14",
         "The decorrelation score S_DC and the Gaussianity score S_G are strongly and positively correlated.",
         "s_dc", "s_g", +1),
        ("tradeoff_lf_dc", f"Decorrelated latents keep less of {INPUT_STRUCTURE}", "Sec. 4, Fig. 4b, Fig. 16",
         "Restoring Gaussian, decorrelated latents costs structure: S_LF falls as S_DC rises.", "s_lf", "s_dc", -1))),
    Claim("edm_tradeoff", f"EDM restores texture and keeps less of {INPUT_STRUCTURE}",
          "Sec. 4 (parameterization trade-off)",
          "x0-prediction (EDM) restores high-frequency texture but drifts structurally: higher S_HF and lower S_LF "
          "than ε-prediction (standard DDIM).",
          "S_HF(edm) − S_HF(ddim) > 0, EDM closing over half of DDIM's S_HF gap to the ground truth, and "
          "S_LF(edm) − S_LF(ddim) < 0 on every dataset",
          differences("main", (("edm", "ddim", "s_hf", True), ("edm", "ddim", "s_lf", False)),
                      "needs main results with edm and ddim"), by=EFFECT, claimed="restores", exact=DDIM_IS_EDM),
    Claim("ovg_vs_ddim", "OVG removes the collapse of standard inversion", "Sec. 5, Sec. 6.2",
          "OVG removes the collapse of standard inversion: higher S_HF and S_DC than DDIM.",
          "S_HF(ovg) − S_HF(ddim) > 0 and S_DC(ovg) − S_DC(ddim) > 0 on every dataset, OVG closing over half of "
          "DDIM's gap on each; and, where Δlog E_HF is stored, " + TEXTURE_RULE.replace("method", "OVG").replace(
              "baseline", "DDIM"),
          differences("main", (("ovg", "ddim", "s_hf", True), ("ovg", "ddim", "s_dc", True)),
                      "needs main results with ovg and ddim", more=ovg_texture_check), by=EFFECT, claimed="removes"),
    Claim("ovg_texture", "OVG restores realistic texture (luma, chroma, KID)", "Sec. 5, Sec. 6.2 (texture restored)",
          "OVG restores realistic texture after standard inversion: detail right in luminance and in colour, and "
          "crops closer to real ones than DDIM's.",
          "on every dataset: OVG's mean luma and chroma detail (log energy over the real reference crops' mean) inside "
          "the real crops' band (mean ± std of the ground truth's per-crop value), and KID_wav(ovg) − KID_wav(ddim) "
          "< 0, its paired 95 % interval over the crops below 0 (read only where KID_wav ranks the ground truth "
          "first and every control worse); OVG closing over half of DDIM's gap to the real crops on each score read "
          "(luma detail, chroma detail, KID_wav)", texture_claim("ovg", "ddim"), by=EFFECT, claimed="restores"),
    Claim("ovg_taba_texture", "OVG + TABA restores texture better than TABA", "Sec. 6.2 (OVG + TABA)",
          "OVG added to TABA restores texture better than TABA alone.",
          "as for OVG against DDIM, with OVG + TABA against TABA", texture_claim("ovg_taba", "taba"), by=EFFECT,
          claimed="restores"),
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
    Claim("fill", "Filling the input's missing directions gives texture without losing structure",
          "beyond the paper (the support theorem)",
          "Keeping the inverted latent's component on the input's support and drawing the rest fresh (DDIM + fill) "
          "gives texture at least as real as OVG's and TABA's, at structure no worse than OVG's.",
          "on every dataset: KID_wav(ddim_fill) no worse than KID_wav(ovg) and KID_wav(taba), and S_LF(ddim_fill) "
          "no worse than S_LF(ovg), each by non-inferiority", fill_claim(), by=NONINFERIOR),
    Claim("ovg_edm_lpips", "OVG + EDM has the best perceptual quality on edges", "Sec. 6.2",
          "On Edges2Shoes, OVG + EDM has the best perceptual quality (lowest LPIPS).",
          "argmin LPIPS over methods is ovg_edm on the Edges2Shoes stand-in", lowest_lpips, by=MEANS),
    Claim("pareto_expands", "Sweeping OVG's step sizes pushes the front out", "Sec. 5.2, Fig. 6",
          "Sweeping (eta_HF, eta_LF) expands the Pareto frontier beyond the baselines'.",
          "some OVG grid point lies on the joint S_HF / S_LF front of grid points and baselines, on every dataset "
          "swept (means only, no interval; a grid point with a failed sample is not a point of the front); the "
          "numbers name the OVG variants whose points make it", pareto_expands, reads=("pareto",), by=MEANS),
    *(_ablation_claim(*row) for row in (
        ("backbone", "Collapse is not a convolutional artefact (U-Net and DiT)", "Sec. 6.3, Table 3",
         "Collapse is not a convolutional artefact: with both U-Net and DiT, standard inversion has lower S_HF and "
         "S_DC than OVG.", "for each backbone, DDIM's S_HF and S_DC below OVG's: S_HF(ddim) − S_HF(ovg) < 0 and "
         "S_DC(ddim) − S_DC(ovg) < 0", ("ovg",), ("unet", "dit")),
        ("space", "Collapse is not a VAE artefact (pixel and latent space)", "Sec. 6.3, Table 4",
         "Collapse is not a VAE artefact: in pixel space as in latent space, standard inversion has lower S_HF "
         "and S_DC than TABA / OVG.", "in each space (pixel and latent), DDIM's S_HF and S_DC below TABA's and OVG's: "
         "S_HF(ddim) − S_HF(taba), S_HF(ddim) − S_HF(ovg), S_DC(ddim) − S_DC(taba) and S_DC(ddim) − S_DC(ovg) "
         "each < 0", ("taba", "ovg"), ("pixel", "latent")))),
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


def _decide(c: Claim, ev: Evidence, strength: bool = True) -> Finding:
    """``c``'s finding on ``ev`` (``strength``: the gap closed decides a "removes" / "restores" claim); where models
    below the quality gate enter it, the passing arms decide (``UNGATED`` when none or a named arm is left)."""
    check = claimed_strength if c.claimed and strength else (lambda f: f)
    found = check(c.test(ev))
    weak = sorted({m for (study, _), (names, _) in ev.weak.items() if study in c.reads for m in names})
    if not weak or found.verdict == UNTESTABLE:
        return found
    gated = ev.gated()
    alone = check(c.test(gated))
    axis, values = c.arms or (None, ())   # the arms the claim names, lost where only models below the gate ran them
    have = [set().union(*(set(f[axis].astype(str)) if axis in (f := e.select(s)) else set() for s in c.reads))
            for e in (ev, gated)]
    lost = [arm_words(axis, v) for v in values if v in have[0] and v not in have[1]]
    verdict = UNGATED if alone.verdict == UNTESTABLE or lost else alone.verdict
    part = (f"; the claim names the {' and '.join(lost)} arm{'s' if len(lost) > 1 else ''}, whose model is below it; "
            f"on the passing arms alone (partial evidence): {alone.verdict}" if lost else "")
    gate = f"below the quality gate: {', '.join(weak)}{part} (with them: {found.verdict})"
    return replace(found, verdict=verdict, effect=alone.effect, gaps=alone.gaps,
                   caveat="; ".join(x for x in (gate, found.caveat) if x))


def _seeds_decide(c: Claim, ev: Evidence) -> bool:
    """Whether training seeds decide ``c`` where the seed-spread study has results (``RULES[SEEDS]``)."""
    return c.reads == ("main",) and c.by in (PAIRED, EFFECT) and ev.source == "ours"


def _by_seed(c: Claim, ev: Evidence, dataset: str) -> Finding | None:
    """``c`` judged on each training run of ``dataset`` (the seed-spread study's): one verdict over the runs, each gap
    pooled over them (Student t); None where the claim reads more than the main results or no seeds were trained."""
    spread = ev.extra.get("seed_spread", {}).get(dataset)
    if spread is None or not _seeds_decide(c, ev):
        return None
    runs = {k: _decide(c, ev.with_arm("main", dataset, arm).only(dataset), strength=False)
            for k, arm in seed_evidence(spread, dataset).items()}
    verdict, each = over_seeds({k: f.verdict for k, f in runs.items()})
    gaps = pooled([g for f in runs.values() for g in f.gaps])   # each gap once, over the runs
    agree = sum(f.verdict == HOLDS for f in runs.values())
    head = (each if len(runs) == 1   # one run: its verdict, said to rest on one training run (seeds.ONE_RUN)
            else f"the direction holds on {agree} of {len(runs)} training runs" if verdict in (HOLDS, DEPENDS)
            else each.replace("training seed", "training run"))
    read = [g for g in gaps if g.word != NO_GAP]
    if c.claimed and read and verdict != DEPENDS:
        strength = fold(strength_verdict(g) for g in read)
        if verdict == HOLDS and strength != HOLDS:
            short = ", ".join(str(g.what) for g in read if strength_verdict(g) != HOLDS)
            head += f"; the strength, which needs over {FULL:g} of the gap on every score: {strength} ({short})"
        verdict = fold([verdict, strength])
    elif c.claimed and read and any(strength_verdict(g) == FAILS for g in read):
        verdict = FAILS
    per_run = "\n".join(f"{dataset}, training run {k}: {f.verdict}: {f.detail}" for k, f in runs.items())
    over = f"; {effect_text(gaps)}" if gaps else ""
    by: dict = {}   # each paired comparison without a gap to pool as a fraction: the runs' mean differences
    for f in runs.values():
        for what, mean, has_gap in f.diffs:
            if not has_gap:
                by.setdefault(what, []).append(mean)
    for what, means in by.items():   # their mean, with its Student t interval over the runs
        ci = t_interval(means)
        over += (f"; {what} {signed(ci.mean)} [{signed(ci.lo)}, {signed(ci.hi)}] over {len(means)} training runs "
                 "(Student t)" if len(means) > 1 else f"; {what} {signed(ci.mean)}")
    caveat = "; ".join(f"training run {k}: {f.caveat}" for k, f in runs.items() if f.caveat)
    return Finding(verdict, f"{dataset}: {head}{over}", caveat, effect=claim_effect(gaps), gaps=tuple(gaps),
                   runs=per_run)


def judge(c: Claim, ev: Evidence) -> Finding:
    """``c``'s finding on ``ev``; on a dataset with several training seeds the seeds decide it (``_by_seed``); a claim
    decided on means says so (``MEANS_ONLY``)."""
    found = _decide(c, ev)
    seeds = {d: f for d in ev.datasets() if (f := _by_seed(c, ev, d)) is not None}
    if seeds and found.verdict != UNTESTABLE:
        main = ev.select("main")
        rest = [_decide(c, ev.only(d)) for d in sorted(set(main.get("dataset", pd.Series(dtype=str))
                                                           .astype(str)) - set(seeds))]
        rest = [f for f in rest if f.verdict != UNTESTABLE]
        verdict = fold_datasets([f.verdict for f in seeds.values()] + [f.verdict for f in rest])
        gaps = (*(g for f in rest for g in f.gaps), *(g for f in seeds.values() for g in f.gaps))
        found = replace(found, verdict=verdict, effect=claim_effect(gaps), gaps=gaps,
                        detail="; ".join(f.detail for f in [*rest, *seeds.values()]),
                        caveat="; ".join(dict.fromkeys(f.caveat for f in [found, *rest, *seeds.values()]
                                                       if f.caveat)),   # found: the main results, every image
                        runs="\n".join(f.runs for f in seeds.values()))   # one line per run
    if found.verdict != UNTESTABLE and _seeds_decide(c, ev) and all(ONE_RUN in f.detail for f in seeds.values()):
        found = replace(found, caveat="; ".join(x for x in (ONE_RUN, found.caveat) if x))   # no second seed here
    if c.by == MEANS and found.verdict != UNTESTABLE:
        found = replace(found, verdict=f"{found.verdict} {MEANS_ONLY}",
                        caveat="; ".join(x for x in ("means only, no interval", found.caveat) if x))
    return found


def with_exact_model(c: Claim, exact: Evidence | None) -> str:
    """``c``'s verdict on the oracle arms (``exact``: evidence from the exact Gaussian denoiser's results alone) by
    the same rule; ``NO_ORACLE`` where none of the studies it reads has an oracle arm."""
    if exact is None:
        return NO_ORACLE
    have = set(exact.frame["study"]) if "study" in exact.frame else set()
    if not set(c.reads) & (have | {k for k, v in exact.extra.items() if v}):
        return NO_ORACLE
    return c.exact or judge(c, exact).verdict


def evaluate_claims(ours: Evidence, paper: Evidence | None = None, per_dataset: bool = True,
                    exact: Evidence | None = None) -> pd.DataFrame:
    """One row per claim: texts, rule, our verdict, effect, caveat, numbers, and the other verdicts."""
    paper = paper if paper is not None else paper_evidence()
    datasets = ours.datasets() if per_dataset else []
    rows = []
    for c in CLAIMS:
        o, p = judge(c, ours), c.test(paper)
        each = {d: judge(c, ours.only(d)).verdict for d in datasets} if len(datasets) > 1 else {}
        differs = "; ".join(f"on {d}: {v}" for d, v in each.items() if v != o.verdict and base_verdict(v) != UNTESTABLE)
        rows.append({"claim": c.key, "title": c.title, "where": c.where, "statement": c.statement, "rule": c.rule,
                     "decided by": c.by, "paper's word": c.claimed, "verdict": o.verdict, "effect": o.effect,
                     "effect, by score": effect_named(o.gaps), "gap closed": effect_text(o.gaps),
                     "per dataset": differs, "caveat": o.caveat, "our numbers": o.detail, "per training run": o.runs,
                     "with the exact model": with_exact_model(c, exact),
                     "paper's tables": p.verdict, "paper numbers": p.detail})
    return pd.DataFrame(rows)


def chapter_verdicts(ds, keys=None, reads: dict | None = None) -> pd.DataFrame:
    """The claims a study's results answer on their own (``keys``: only these), as the claims page judges them;
    ``reads``: other studies' results the chapter took settings from ({"pareto": ..., "seed_spread": ...})."""
    cols = ["claim", "title", "where", "verdict", "caveat", "numbers", "effect", "scope", "decided by"]
    short = STUDY_NAMES.get(ds.attrs.get("study", ""))
    if not short:
        return pd.DataFrame(columns=cols)
    ev = evidence_of(ds, short)
    dataset = str(ds.attrs.get("dataset", ""))
    for study, other in (reads or {}).items():
        if other is not None:
            ev.extra.setdefault(study, {})[dataset] = other
    found = {c: judge(c, ev) for c in CLAIMS if short in c.reads and (keys is None or c.key in keys)}
    scope = f"on {dataset}" if dataset else ""
    return pd.DataFrame([(c.key, c.title, c.where, " ".join(x for x in (f.verdict, scope) if x), f.caveat, f.detail,
                          f.effect, scope, c.by) for c, f in found.items()], columns=cols)


def rules_text(table: pd.DataFrame) -> str:
    """The general rules deciding a claims table's claims, as a chapter states them, then the seeds' and the gate's."""
    names = list(dict.fromkeys(table["decided by"])) if len(table) else []
    text = {**RULES}
    if len(table) and "caveat" in table and table["caveat"].astype(str).str.contains(ONE_RUN).any():   # one run
        text[SEEDS] = (f"these results hold one training run: a verdict the seeds would decide says \"{ONE_RUN}\" "
                       f"in its caveat ({RULES[SEEDS]})")
    return "; ".join(f"{n}: {text[n]}" for n in [*names, SEEDS, GATE] if n in text)
