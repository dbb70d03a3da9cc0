"""The book's answers, written from the stored results: does our data show spectral collapse, does OVG remove it and
at what cost, where our orderings agree with the paper's, and what limits the evidence.

``answers_markdown`` is the opening of the book (intro page) and ``conclusions_markdown`` its closing page; both are
generated fragments (``pipeline.fragments``), so every number in them comes from ``data/results``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..studies.aggregate import summary
from ..studies.profiles import get_profile
from ..studies.claims import CLAIM_TITLES, FAILS, HOLDS, INCONCLUSIVE, UNTESTABLE, evaluate_claims
from ..studies.claim_titles import INPUT_STRUCTURE
from ..studies.claims_words import upper_first
from ..studies.scorecard import Evidence, ordering_agreement, scorecard
from ..studies.store import load_results, results_path
from .claims_page import deciding_evidence, reader_names, tally_markdown
from .settle import open_part
from ..text import percent
from ..studies.verdicts import fold, overshoots, paired_units, texture_check, versus

# the latent norm ratio as the book typesets it (the glossary's *Norm ratio*), never in ASCII
NORM_RATIO = r"$\lVert\mathbf{x}_T\rVert^2/d$"


__all__ = ["collapse_numbers", "answers_markdown", "conclusions_markdown"]

_DATASETS = ("ihc-sr", "ihc-edges")


def _means(ds: xr.Dataset) -> dict:
    """{method: {metric: mean over seeds}} of the main results, with the latent norm ratio."""
    s = summary(ds, ["psnr", "s_hf", "s_lf", "s_dc", "s_g", "latent_norm_ratio"])
    return {m: dict(zip(g["metric"], g["mean"])) for m, g in s.groupby("method")}


def collapse_numbers(root: str | Path, profile: str) -> dict:
    """{dataset: {method: {metric: mean}}} of the stored main results."""
    out = {}
    for dataset in _DATASETS:
        path = results_path("main_results", dataset, profile, root)
        if path.exists():
            out[dataset] = _means(load_results(path))
    return out


def _f(v, d=3) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.{d}f}"


def _rule(ev: Evidence, checks: list) -> str | None:
    """The three-way verdict of ``checks`` (``verdicts.versus`` / ``texture_check`` results; None ones left out) by
    the claims page's rule, or None when none could be made."""
    made = [c[0] for c in checks if c is not None]
    return fold(HOLDS if v is True else FAILS if v is False else v for v in made) if made else None


# S_DC is scored on each latent scaled to unit variance, whatever the latent's own ||x_T||^2 / d (said beside it)
SCALED_NOTE = "measured on each latent scaled to unit variance"


def _best_reference(best: str | None, gap: dict) -> str:
    """The reference method (TABA or EDM) whose S_DC is the higher, named with that S_DC."""
    if best is None:
        return "no reference method in the main results"
    return f"{best.upper()}, the higher of the references, reaches {_f(gap[best])}"


def _collapse_sentence(dataset: str, m: dict, ev: Evidence) -> str:
    """Whether DDIM collapses on ``dataset``: its S_DC and S_HF below every reference's (TABA, EDM), each a paired
    95 % interval over the test crops beyond the metric's minimal effect, with the means beside."""
    d, refs = m.get("ddim", {}), [r for r in ("taba", "edm") if r in m]
    if not d or not refs:
        return f"- **{dataset}**: the main results lack DDIM or a reference method."
    verdict = _rule(ev, [versus(ev, "main", {"dataset": dataset}, "ddim", r, k, higher=False)
                         for r in refs for k in ("s_dc", "s_hf")])
    words = {HOLDS: "collapse shown", FAILS: "no collapse", INCONCLUSIVE: "collapse inconclusive"}.get(
        verdict, "collapse not judged")
    return (f"- **{dataset}: {words}.** DDIM's latents score S_DC {_f(d['s_dc'])} ({SCALED_NOTE}; the latents' own "
            f"{NORM_RATIO} is {_f(d.get('latent_norm_ratio'), 2)}) and its translations S_HF {_f(d['s_hf'])}, against "
            + ", ".join(f"{r.upper()} {_f(m[r]['s_dc'])} / {_f(m[r]['s_hf'])}" for r in refs)
            + " (S_DC / S_HF; 1 = like white noise / like real texture).")


def _ovg_sentence(dataset: str, m: dict, ev: Evidence) -> str:
    """Whether OVG removes the collapse on ``dataset`` by the claims page's rule (S_HF and S_DC up from DDIM's, the
    signed texture error toward the real crops' band without overshooting it), why not when it does not, whether its
    latents still fall short of the references' S_DC, and which of the input's structure (S_LF, scored against the
    input) and fidelity (PSNR) it costs (a
    paired interval below DDIM's beyond the minimal effect), each cost with its means and the rest said as no loss;
    negative numbers with a true minus sign."""
    from ..text import minus

    d, o = m.get("ddim", {}), m.get("ovg", {})
    if not d or not o:
        return f"- **{dataset}**: the main results lack DDIM or OVG."
    eq = {"dataset": dataset}
    crops = ev.select("main", per_crop=True, **eq)
    rises = {k: versus(ev, "main", eq, "ovg", "ddim", k) for k in ("s_hf", "s_dc")}
    band = ev.bands.get(("main", dataset))
    tex = texture_check(crops, "ovg", "ddim", band=band) if not crops.empty else None
    verdict = _rule(ev, [*rises.values(), tex])
    gap = {r: m[r]["s_dc"] for r in ("taba", "edm") if r in m}
    best = max(gap, key=gap.get) if gap else None
    short = best is not None and _rule(ev, [versus(ev, "main", eq, best, "ovg", "s_dc")]) == HOLDS
    part = {HOLDS: "OVG reduces it" if short else "OVG removes it", FAILS: "OVG does not remove it",
            INCONCLUSIVE: "whether OVG removes it is inconclusive"}.get(verdict, "OVG not judged")
    said = {"s_lf": (INPUT_STRUCTURE, f"S_LF {_f(d['s_lf'])} → {_f(o['s_lf'])}"),
            "psnr": ("fidelity", f"PSNR {_f(d['psnr'], 1)} → {_f(o['psnr'], 1)} dB")}
    lost = [k for k in said if _rule(ev, [versus(ev, "main", eq, "ovg", "ddim", k, higher=False)]) == HOLDS]
    # a score that rises beyond its minimal effect is a gain, said as one, not as "no loss"
    gained = [k for k in said if k not in lost and _rule(ev, [versus(ev, "main", eq, "ovg", "ddim", k)]) == HOLDS]
    kept = [k for k in said if k not in lost and k not in gained]
    price = "; ".join(
        ([f"it costs {' and '.join(f'{said[k][0]} ({said[k][1]})' for k in lost)}"] if lost else [])
        + ([f"it keeps more of {' and '.join(f'{said[k][0]} ({said[k][1]})' for k in gained)}, beyond the minimal "
            f"effect{'s' * (len(gained) > 1)}"] if gained else [])
        + ([f"no loss of {' or '.join(said[k][0] for k in kept)} beyond the minimal effect{'s' * (len(kept) > 1)} "
            f"({', '.join(said[k][1] for k in kept)})"] if kept else []))
    return minus(f"- **{dataset}: {part}.** S_HF {_f(d['s_hf'])} → {_f(o['s_hf'])}, S_DC {_f(d['s_dc'])} → "
                 f"{_f(o['s_dc'])} ({_best_reference(best, gap)}), {NORM_RATIO} "
                 f"{_f(d.get('latent_norm_ratio'), 2)} → {_f(o.get('latent_norm_ratio'), 2)}"
                 + _why_not(verdict, rises, tex, crops, band) + f"; {price}.")


def _why_not(verdict, rises: dict, tex, crops: pd.DataFrame, band) -> str:
    """Which of the claim's parts keeps OVG's verdict from "holds": a score that does not rise beyond its minimal
    effect, or a signed texture error (Δlog E_HF, < 0 too smooth, > 0 too noisy) that does not move toward the real
    crops' band or overshoots it. Empty when the claim holds."""
    if verdict == HOLDS:
        return ""
    names = {"s_hf": "S_HF", "s_dc": "S_DC"}
    why = [f"{names[k]} " + ("falls, beyond its minimal effect" if r[0] == FAILS else
                             "does not rise beyond its minimal effect") for k, r in rises.items()
           if r is not None and r[0] != HOLDS]
    if tex is not None and tex[0] != HOLDS:
        ovg, ddim = paired_units(crops[crops["metric"] == "delta_log_e_hf"], "ovg", "ddim")  # as the check pairs them
        mean = {"ovg": float(ovg.mean()), "ddim": float(ddim.mean())}
        where = "" if band is None else f", the real crops' band [{band[0]:+.2f}, {band[1]:+.2f}]"
        over = band is not None and overshoots(mean["ovg"], mean["ddim"], band)
        move = ("overshoots the real crops' band" if over else
                "does not move toward the real crops' band beyond its minimal effect")
        why.append(f"its signed texture error {move} (Δlog E_HF {mean['ddim']:+.2f} → {mean['ovg']:+.2f}{where})")
    return (": " + "; ".join(why)) if why else ""


def _cost_phrase(bench: dict | None, bench_gpu: dict | None) -> str | None:
    """What an OVG translation costs against a DDIM translation, as the *Performance benchmarks* chapter measures it
    (one model, batch and step count for both, timed in one run): on the CPU of ``bench`` and on the GPU of
    ``bench_gpu`` (parsed benchmark records, either None), each named with the setting it was timed at; None when
    neither has the measurement."""
    parts, settings = [], []
    for r, key in ((bench, "ratio_cpu"), (bench_gpu, "ratio_wall")):
        try:
            inv = r["benchmarks"]["inversion"]
            ratio = inv["translation"]["ovg"][key]["median"]
        except (KeyError, TypeError):
            continue
        machine = r.get("machine") or {}
        cpu = " ".join(w for w in str(machine.get("cpu", "")).replace("(R)", "").replace("(TM)", "").split()
                       if w != "Processor") or "unnamed"
        where = f"one {gpu_name(machine['gpu'])}" if machine.get("gpu") else f"one thread of an {cpu} CPU"
        shape = inv.get("image_shape") or []
        settings.append(f"the {inv.get('profile', '')} U-Net, {shape[-1]}-px images, batch {inv.get('batch')}, "
                        f"{inv.get('steps')} steps each way" if len(shape) >= 2 else "")
        parts.append((f"{ratio:.2f}x", where))
    if not parts:
        return None
    one = len(set(settings)) == 1   # one setting: said once, before the devices
    setting = f" ({settings[0]})" if one and settings[0] else ""
    said = " and ".join(f"{x}{' the time of a DDIM translation' * (i == 0)} on {where}"
                        + (f" ({st})" if st and not one else "") for i, ((x, where), st) in enumerate(zip(parts, settings)))
    return (f"**Cost.** An OVG translation{setting}, inversion and sampling timed together in one run, takes {said} "
            "(the *Performance benchmarks* chapter, which also gives the cost of one "
            "inversion step). The ratio depends on the network, the number of steps and the device: the *Reproducing "
            "at the paper's scale* page measures it for the paper's latent U-Net, a larger network, at the "
            "paper's number of steps.")


def gpu_name(device: str) -> str:
    """A GPU as prose names it: the maker and model, without the memory size and bus ("NVIDIA H100 80GB HBM3" ->
    "NVIDIA H100 GPU")."""
    import re

    words = [w for w in str(device).split() if not re.fullmatch(r"\d+\s*[GM]B|HBM\d*e?|PCIe|SXM\d*|NVL", w, re.I)]
    name = " ".join(words) or "GPU"
    return name if name.upper().endswith("GPU") else f"{name} GPU"


def answers_markdown(root: str | Path, profile: str, ev: Evidence, bench: dict | None = None,
                     bench_gpu: dict | None = None) -> str:
    """The book's opening answers (markdown), or a note when the main results are not stored yet. ``bench`` /
    ``bench_gpu``: the parsed CPU and GPU benchmark records OVG's cost is quoted from (None: not quoted)."""
    nums = collapse_numbers(root, profile)
    if not any(k in nums for k in _DATASETS):
        return ("```{note}\nThe answers on this page are computed from the stored main results, which do not exist "
                f"yet for the `{profile}` profile: `make book` runs the studies.\n```\n")
    cost = _cost_phrase(bench, bench_gpu)
    c = evaluate_claims(ev)
    rule = ("means over crops and seeds; each verdict by the claims page's rule: paired 95 % intervals over the test "
            "crops, beyond each metric's minimal effect")
    lines = ["**Does our data show spectral collapse?** Standard (DDIM) inversion against the stochastic TABA and "
             f"the EDM sampler, on the bundled test crops ({rule}):", ""]
    lines += [_collapse_sentence(k, nums[k], ev) for k in _DATASETS if k in nums]
    lines += ["", _verdicts_line(c, ("collapse_sdc", "collapse_shf"))]
    lines += ["", "**Does OVG remove it, and at what cost?** OVG at the step sizes its Pareto sweep chose, against "
              f"DDIM ({rule}):", ""]
    lines += [_with_seeds(_ovg_sentence(k, nums[k], ev), _runs_of(root, profile, k, "ovg_vs_ddim"))
              for k in _DATASETS if k in nums]
    lines += ["", _verdicts_line(c, ("ovg_vs_ddim",))]
    if cost:
        lines += ["", cost]
    seeds = _seed_line(root, profile)
    if seeds:
        lines += ["", seeds]
    agree = ordering_agreement(scorecard(ev))
    agree = agree[agree["pairs"] > 0]
    if len(agree):
        lines += ["", "**Where do we agree with the paper?** Pairs of methods ordered as in the paper's tables: "
                  + "; ".join(f"{r.metric.upper()} {percent(r.share, 0)} of {r.pairs}" for r in agree.itertuples())
                  + " (see the {doc}`scorecard`)."]
    lines += ["", f"**The paper's claims on our results** ({{doc}}`claims`): {tally_markdown(c)}."]
    lines += ["", _caveats(root, profile)]  # root: the results root
    return "\n".join(lines) + "\n"


def _runs_of(root: str | Path, profile: str, dataset: str, claim: str) -> dict:
    """{"seed k": verdict} of one claim over the training runs of the seed_spread study on ``dataset``; {} when those
    results are not stored or do not judge the claim."""
    from ..studies.claim_titles import CLAIM_TITLES
    from .seed_claims import claims_by_seed

    path = results_path("seed_spread", dataset, profile, root)
    if not path.exists():
        return {}
    table = claims_by_seed(load_results(path))
    row = table[table["claim"] == CLAIM_TITLES.get(claim, claim)]
    if row.empty:
        return {}
    return {c: str(row.iloc[0][c]) for c in table.columns if c.startswith("seed ")}


def _with_seeds(sentence: str, runs: dict) -> str:
    """``sentence`` (a dataset's answer, ending in ".") with a note when the training runs do not all agree on it."""
    if len(set(runs.values())) < 2:
        return sentence
    return (sentence[:-1] + "; with the main models retrained from other seeds the claim reads "
            + ", ".join(f"training {s}: {v}" for s, v in runs.items()) + ", so this answer depends on the training run.")


def _seed_line(root: str | Path, profile: str) -> str | None:
    """How the main results' claims fare when the main models are trained again from other seeds (the seed_spread
    study's stored results, per dataset that has them): how many keep their verdict in every training run, and each
    one that does not with its verdict per run. None when no such results are stored."""
    from .seed_claims import agreement, claims_by_seed

    parts, where = [], []
    for name in _DATASETS:
        path = results_path("seed_spread", name, profile, root)
        if not path.exists():
            continue
        table = claims_by_seed(load_results(path))
        seeds = [col for col in table.columns if col.startswith("seed ")]
        kept, moved = agreement(table)
        text = (f"on {name}, {len(kept)} of the {len(kept) + len(moved)} claims the main results answer keep their "
                f"verdict in all {len(seeds)} training runs")
        if len(moved):
            text += " (" + "; ".join(f"*{r['claim']}* reads " + ", ".join(f"training {s}: {r[s]}" for s in seeds)
                                     for _, r in moved.iterrows()) + ")"
        parts.append(text)
        where.append(name)
    if not parts:
        return None
    return ("**Does it depend on the trained model?** With the main ε-prediction and EDM models of "
            + " and ".join(where) + " trained again from two other seeds (the chapter *Training seeds: how far the "
            "numbers move between training runs*): " + "; ".join(parts)
            + ". A verdict that moves with the training seed is within the spread between training runs, which the "
            "intervals over test crops do not include.")


def _verdicts_line(c, keys) -> str:
    """The verdicts of the claims ``keys`` (paired intervals over test crops), as the claims page gives them."""
    rows = c.set_index("claim")
    return ("On paired 95 % intervals over the test crops, the claims page reads: "
            + "; ".join(f"*{CLAIM_TITLES.get(k, k)}* **{rows.loc[k, 'verdict']}**" for k in keys if k in rows.index)
            + ".")


def _caveats(root: str | Path, profile: str) -> str:
    """The caveats paragraph, with the training length and sample counts of the stored main results (the models'
    own configs, found beside the results root's ``weights/``, and the results' attributes), not of the profile as
    it is now. ``root``: the results root."""
    import json

    p = get_profile(profile)
    path = results_path("main_results", "ihc-sr", profile, root)
    steps, batch, n_test, n_seeds, crops = set(), set(), None, None, None
    if path.exists():
        ds = load_results(path)
        n_test, n_seeds = int(ds.attrs.get("n_test", 0)) or None, ds.sizes.get("seed")
        crops = len(np.unique(ds["crop"].values)) if "crop" in ds else n_test
        for ck in json.loads(ds.attrs.get("checkpoints") or "{}").values():  # every model behind the results
            for folder in (Path(ck), Path(root).parent / "weights" / Path(ck).name):
                try:
                    train = json.loads((folder / "config.json").read_text())["train"]
                except (OSError, ValueError, KeyError):
                    continue
                steps.add(train.get("steps"))
                batch.add(train.get("batch_size"))
                break
    steps, batch = sorted(x for x in steps if x), sorted(x for x in batch if x)
    span = (f"{steps[0]}" if len(steps) == 1 else f"{steps[0]} to {steps[-1]}") if steps else ""
    trained = (f"trained for {span} steps of batch {'/'.join(map(str, batch))} on {p.image_size}-px crops" if steps
               else f"{p.image_size}-px crops")
    if n_test and n_seeds and crops == n_test and n_seeds > 1:  # every seed translated the same crops
        counted = f"each table cell is a mean over the same {n_test} test crops, translated with each of {n_seeds} seeds"
    elif n_test and n_seeds:
        counted = f"each table cell is a mean over {n_test} test crops per seed and {n_seeds} seeds ({crops} crops in all)"
    else:
        counted = "each table cell is a mean over the test crops of each seed"
    return (f"**Caveats.** The `{profile}` models are small ({trained}), the data are bundled analogues of BBBC021 and "
            f"Edges2Shoes, and {counted}: these numbers speak about the direction of an effect, not its size on the "
            "paper's data.")


def _title(key: str) -> str:
    return CLAIM_TITLES.get(key, key)


def _why_inconclusive(detail: str) -> str:
    """What keeps an inconclusive claim from a verdict, in words, read from its first open comparison."""
    from ..studies.verdicts import WITHIN_EFFECT

    if "fewer than" in detail and "too few" in detail:
        return "too few distinct comparisons"
    if "Fisher-z" in detail:
        return "the correlation's interval reaches past the rule's line"
    part = open_part(detail)
    if WITHIN_EFFECT in part:
        return "a mean difference within the minimal effect"
    if "leans the other way" in part:
        return "a mean that leans the other way, with an interval that reaches 0"
    return "an interval that reaches 0"


def conclusions_markdown(ev: Evidence) -> str:
    """The closing page, which the opening answers do not repeat: what our evidence supports and what it does not
    (each claim with the comparison its verdict rests on and that comparison's interval), the limits of that
    evidence in numbers (samples, failed samples, models below the quality gate, shares on too few comparisons,
    claims we cannot test), and what would settle each open claim."""
    from ..studies.claims import CLAIMS
    from ..studies.claims_words import study_title, where_words
    from ..studies.samples import sample_size
    from ..studies.shares import MIN_COMPARISONS
    from ..studies.claims import INDICATIVE
    from ..text import minus, plural
    from .settle import gate_model_words, held_counts, settle_correlation, settle_within

    c = evaluate_claims(ev)
    by_key = {cl.key: cl for cl in CLAIMS}

    def line(r, extra: str = "") -> str:
        where = "" if f"({r['where']})" in r["title"] else f" ({where_words(r['where'])})"  # a title may name it
        caveat = f"; {INDICATIVE}: {r['caveat']}" if r["caveat"] else ""
        return f"- **{r['title']}**{where}: {deciding_evidence(r['verdict'], r['our numbers'])}{extra}{caveat}."

    out = []
    held, failed = c[c["verdict"] == HOLDS], c[c["verdict"] == FAILS]
    open_, untestable = c[c["verdict"] == INCONCLUSIVE], c[c["verdict"] == UNTESTABLE]
    if len(held):
        out += ["## What the evidence supports", "",
                f"{plural(len(held), 'claim')} of {len(c)} hold on our results, each on every dataset where it can "
                f"be checked ({held_counts(held)}); the comparison shown is the first of each claim's comparisons:",
                "", *[line(r) for _, r in held.iterrows()], ""]
    if len(failed) or len(open_):
        out += ["## What it does not support", ""]
        if len(failed):
            out += [f"{plural(len(failed), 'claim')} go the other way somewhere, beyond the uncertainty; the "
                    "comparison shown is the one that does:", "", *[line(r) for _, r in failed.iterrows()], ""]
        if len(open_):
            out += [f"{plural(len(open_), 'claim')} can be read neither way; the comparison shown is the first "
                    "that is open, and the reason follows it:", "",
                    *[line(r, f"; open: {_why_inconclusive(r['our numbers'])}") for _, r in open_.iterrows()], ""]
    limits = []
    order = {s: i for i, s in enumerate(dict.fromkeys(s for cl in CLAIMS for s in cl.reads))}
    reads_of = {"main_results": "main", "backbone_ablation": "backbone", "space_ablation": "space",
                "scale_factor": "scale", "eps_vs_x0": "x0"}
    for reads in sorted({reads_of.get(s, s) for s in ev.files}, key=lambda s: order.get(s, len(order))):
        said = sample_size(ev, (reads,))
        limits.append(f"- {upper_first(said)}.")
    limits = list(dict.fromkeys(limits))
    weak = [(k, v) for k, v in ev.weak.items() if v]
    for (study, dataset), models in weak:
        leaning = [r["title"] for _, r in c.iterrows() if any(m in r["caveat"] for m in models)]
        limits.append(f"- Below the quality gate: {gate_model_words(ev, study, dataset, models)}"
                      + (f"; {', '.join(f'*{t}*' for t in leaning)} rest{'s' if len(leaning) == 1 else ''} on it "
                         f"in part, and {'its verdict is' if len(leaning) == 1 else 'their verdicts are'} indicative "
                         "only" if leaning else "") + ".")
    few = [r["title"] for _, r in open_.iterrows()
           if _why_inconclusive(r["our numbers"]) == "too few distinct comparisons"]
    if few:
        limits.append(f"- Shares on fewer than {MIN_COMPARISONS} distinct comparisons, too few for a verdict: "
                      + ", ".join(f"*{t}*" for t in few) + ".")
    limits += [f"- Not testable here: *{r['title']}*: {r['our numbers']}." for _, r in untestable.iterrows()]
    if limits:
        out += ["## Limits of this evidence, in numbers", "", *limits, ""]
    nxt = []
    for _, r in open_.iterrows():
        why = _why_inconclusive(r["our numbers"])
        cl = by_key.get(r["claim"])
        study = ", ".join(study_title(k) for k in cl.reads) if cl else ""
        if why == "a mean difference within the minimal effect":
            nxt.append(settle_within(r["title"], r["our numbers"]))
        elif why == "too few distinct comparisons":
            nxt.append(f"- *{r['title']}*: run the {study} study on more settings or datasets, so that "
                       f"each share counts at least {MIN_COMPARISONS} distinct comparisons.")
        elif "correlation" in why:
            nxt.append(settle_correlation(r["title"], r["our numbers"], r["rule"]))
        else:
            lean = ("; its mean leans the other way, so a narrower interval may read does not hold"
                    if "leans the other way" in why else "")
            nxt.append(f"- *{r['title']}*: more test crops or seeds in the {study} study, to narrow the interval "
                       f"that reaches 0{lean}.")
    for (study, dataset), models in weak:
        words = gate_model_words(ev, study, dataset, models)
        nxt.append(f"- Train {words} until {'it passes' if len(models) == 1 else 'they pass'} the quality gate and "
                   f"run the {study_title(study)} study on {dataset} again.")
    if nxt:
        out += ["## What would settle the open claims", "", *nxt, ""]
    return reader_names(minus("\n".join(out)))
