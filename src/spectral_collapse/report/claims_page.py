"""The claims page, written from the stored results in the reader's names: each of the paper's claims with our
verdict, the comparison it rests on and that comparison's 95 % interval, the rule and the sample, and a note for a
metric a claim names that our results lack. Its helpers (``reader_names``, ``glossary_links``, ``deciding_evidence``)
also serve the conclusions page (``report.answers``).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..studies.claims import FAILS, HOLDS, INCONCLUSIVE, UNTESTABLE, evaluate_claims
from ..studies.scorecard import Evidence
from ..studies.verdicts import tally_text
from .settle import bare_part, claim_parts

__all__ = ["claims_markdown", "rules_markdown", "rule_text", "tally_markdown", "reader_names", "internal_keys",
           "deciding_evidence", "glossary_links", "paper_dissent"]


def _key_names() -> dict[str, str]:
    """The internal keys a claim's numbers carry, each with the name the pages use: the method labels of the
    studies (``method_labels.METHOD_NAMES``, the controls left out: "copy" is also an English word), the metric
    columns of the metrics registry (``verdicts.label``), the PCA study's noise series and the backbone keys."""
    from ..metrics import METRICS
    from ..studies.method_labels import METHOD_NAMES
    from ..studies.verdicts import label

    names = {k: v for k, v in METHOD_NAMES.items() if k not in ("copy", "ground_truth")}
    names.update({m: label(m) for m in METRICS if m != label(m)})
    names.update({"gaussian": "Gaussian noise", "unet": "U-Net", "dit": "DiT"})
    names.update(_PAPER_DATASETS)
    return names


_PAPER_DATASETS = {"bbbc021": "BBBC021", "edges2shoes": "Edges2Shoes"}  # the paper's datasets, as it names them


def internal_keys() -> list[str]:
    """The keys a reader must not meet on the front pages: the method labels and metric columns, and the claims'
    own keys (those that are not also English words, such as "space" or "backbone")."""
    from ..studies.claims import CLAIMS

    claims = {c.key for c in CLAIMS if re.search(r"[_\d]", c.key)}
    return sorted({*_key_names(), *claims} - {"pca", "gaussian", "unet", "dit", *_PAPER_DATASETS})


def reader_names(text: str) -> str:
    """``text`` with every internal key written as the pages name it ("S_DC(ddim)" -> "S_DC(DDIM)", "ovg_edm" ->
    "OVG + EDM", "s_hf: 62.5 %" -> "S_HF: 62.5 %"). A key inside a longer name (a model folder such as
    ihc-sr-x4-eps-dit-quick, a path, a code span) is left as it is."""
    names = _key_names()
    keys = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w\-./`{{<])({keys})(?![\w\-/`}}>])")
    parts = re.split(r"(`[^`\n]*`)", text)  # code spans as typed
    return "".join(p if p.startswith("`") else operands(pattern.sub(lambda m: names[m.group(1)], p)) for p in parts)


def operands(text: str) -> str:
    """``text`` with each compound name that is an operand of a difference bracketed, so that the difference does not
    read as arithmetic: "TABA − OVG + EDM" -> "TABA − (OVG + EDM)", "OVG + EDM − DDIM" -> "(OVG + EDM) − DDIM"."""
    compound = sorted({v for v in _key_names().values() if " + " in v}, key=len, reverse=True)
    if not compound or " − " not in text:
        return text
    alt = "|".join(map(re.escape, compound))
    text = re.sub(rf"(?<=[\w)] − )({alt})(?![\w)])", r"(\1)", text)
    return re.sub(rf"(?<![\w(])({alt})(?= − )", r"(\1)", text)


# jargon of the claims' numbers -> (its glossary term, the words to link); linked at its first use on the page
_JARGON = (("k90", "k90", "k90"), ("coinciding with another method", "Coinciding methods", "coinciding"),
           ("Fisher-z interval", "Fisher-z interval", "Fisher-z interval"),
           ("OVG (stable form)", "ovg_stable", "OVG (stable form)"),
           ("distinct comparisons", "Distinct comparison", "distinct comparisons"),
           ("minimal effect", "Minimal effect", "minimal effect"),
           ("signed texture error", "Signed texture error", "signed texture error"))


def glossary_links(text: str) -> str:
    """``text`` with the first use of each jargon word linked to its glossary entry (``book/glossary.md``)."""
    for phrase, term, words in _JARGON:
        i = text.find(phrase)
        if i >= 0:
            linked = phrase.replace(words, f"{{term}}`{words} <{term}>`", 1)
            text = text[:i] + linked + text[i + len(phrase):]
    return text


def deciding_evidence(verdict: str, detail: str) -> str:
    """The comparison a verdict rests on, short: for "does not hold" or "inconclusive" the first comparison that
    reads so, for "holds" the first of those that hold, with its 95 % interval where it has one (said in words when
    it has none), and how many comparisons there are."""
    if verdict == UNTESTABLE:
        return detail
    parts = claim_parts(detail)
    want = {FAILS: f"→ {FAILS}", INCONCLUSIVE: f"→ {INCONCLUSIVE}"}.get(verdict, f"→ {HOLDS}")
    pick = next((p for p in parts if want in p), parts[0])
    text = bare_part(pick)
    if "[" not in text and "bootstrap cannot give an interval" not in text:
        text += " (means only, no interval)"
    n = sum(" → " in p for p in parts)  # notes after the comparisons carry no verdict of their own
    unit = "metrics" if re.match(r"[\w-]+: [\d.]+ ?%", text) else "comparisons"  # a share per metric
    return text if n <= 1 else f"{text} (1 of {n} {unit})"


def paper_dissent(found, skip=()) -> str:
    """Markdown for a chapter that quotes the paper's claims (``found``: ``claims.chapter_claims``, less the keys in
    ``skip``): each claim the paper's own tables do not support, judged by the same rule on the numbers they print
    (the claims page's "On the paper's own tables"), with the printed numbers that go the other way, so the chapter
    never sets our numbers against a claim without saying that the paper's rows contradict it too; '' when the
    paper's tables support every claim. The text follows our verdicts on the page: it says the tables do not support
    a claim "either" only where our verdict is "does not hold"."""
    from ..studies.claims import CLAIM_TITLES
    from ..studies.scorecard import paper_evidence, paper_printed
    from ..text import verb

    against = [(c, f, c.test(paper_evidence())) for c, f in found if c.key not in skip]
    against = [(c, f, p) for c, f, p in against if p.verdict == FAILS]
    out = []
    for c, ours, p in against:
        detail = paper_printed(p.detail)
        parts = claim_parts(detail)
        judged = [q for q in parts if " → " in q]
        other = [q.split(" → ")[0] for q in judged if q.endswith(f"→ {FAILS}")]
        what = "this claim" if len(found) == 1 else f"the claim “{CLAIM_TITLES.get(c.key, c.key)}”"
        either = " either" if ours.verdict == FAILS else ""   # "either" echoes our own "does not hold" only
        if judged and other:
            said = (f"{len(other)} of the claim's {len(judged)} comparisons {verb(len(other), 'goes', 'go')} the "
                    "other way (" + "; ".join(other) + ")")
        else:
            said = f"it does not hold ({detail})"
        out.append(f"The paper's own tables do not support {what}{either}: judged by the same rule on the numbers "
                   f"they print, {said}.")
    return reader_names(" ".join(out))


def _missing_metrics(statement: str, detail: str, reads: tuple[str, ...], ev: Evidence) -> str:
    """A sentence for each metric the claim's statement names that our per-metric numbers leave out (the study the
    claim reads does not store it), saying which stored results do hold it; "" when none is missing, or when the
    numbers are not per metric (a correlation, a PCA)."""
    from ..studies.evidence import METRICS as EVIDENCE_METRICS
    from ..studies.claims_words import study_title
    from ..studies.verdicts import label

    if detail.startswith("Pearson"):  # a correlation is one number over points, not a row per metric
        return ""
    detail = reader_names(detail)
    named = [m for m in EVIDENCE_METRICS if re.search(rf"(?<![\w-]){re.escape(label(m))}(?![\w-])", statement)]
    shown = [m for m in named if re.search(rf"(?<![\w-]){re.escape(label(m))}(?![\w-])", detail)]
    missing = [m for m in named if m not in shown] if shown else []
    if not missing:
        return ""
    roots = {Path(p).parents[1] for ps in ev.files.values() for p in ps}
    out = []
    for m in missing:
        held = sorted({f.parent.name.replace("_", " ") for root in roots for f in root.glob("*/*.nc")
                       if _holds_metric(f, m)})
        shows = "its chapter shows" if len(held) == 1 else "their chapters show"
        where = (f"the stored {', '.join(held)} results hold it, and {shows} it"
                 if held else "no stored results hold it")
        out.append(f"{label(m)}, which the claim names, is not in the stored results it is judged on "
                   f"({', '.join(study_title(k) for k in reads)}), so the verdict rests on the other metrics; "
                   f"{where}")
    return "; ".join(out)


def _holds_metric(path: Path, metric: str) -> bool:
    """Whether the stored results file ``path`` has a finite value of ``metric``, as a variable or as an entry of a
    metric axis (False when it cannot be read)."""
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            if metric in ds.data_vars:
                return bool(np.isfinite(np.asarray(ds[metric].values, dtype=float)).any())
            for dim in ds.dims:
                if dim in ds.coords and metric in [str(v) for v in ds[dim].values]:
                    for v in ds.data_vars.values():
                        if dim in v.dims and np.isfinite(np.asarray(v.sel({dim: metric}).values, dtype=float)).any():
                            return True
            return False
    except (OSError, ValueError, TypeError, KeyError):
        return False


def rules_markdown() -> str:
    """The general rules that decide the claims, each stated once and named (``claims.RULES``): the claims page lists
    them above the claims, and each claim names the one it is decided by."""
    from ..studies.claims import RULES

    from ..studies.claim_titles import SLF_READING

    return ("**The rules.** Each claim below states what it asks of the numbers and names the rule that decides it:"
            "\n\n" + "\n".join(f"- *{name}*: {text}." for name, text in RULES.items())
            + f"\n\n**How S_LF is read.** {SLF_READING}.\n")


def tally_markdown(c: pd.DataFrame) -> str:
    """How many claims read each verdict, how those that hold are counted (with a 95 % interval, on means only, on a
    share with no spread: ``settle.held_counts``, the count the conclusions give too), and how many verdicts rest on
    a model below the quality gate (indicative only), named."""
    from ..studies.claims import HOLDS, INDICATIVE
    from ..text import plural
    from .settle import held_counts

    limited = c[c["caveat"].fillna("") != ""] if "caveat" in c else c.iloc[0:0]
    text = tally_text(c["verdict"])
    held = c[c["verdict"] == HOLDS]
    if len(held) and "our numbers" in held:
        text += f"; of those that hold, {held_counts(held)}"
    if len(limited):
        text += (f"; {plural(len(limited), 'verdict')} rest{'s' * (len(limited) == 1)} on a model below the quality "
                 f"gate, {INDICATIVE}: " + ", ".join(f"*{t}* ({v})" for t, v in zip(limited["title"],
                                                                                  limited["verdict"])))
    return text


def sentence(text: str) -> str:
    """``text`` as the start of a sentence: its first letter upper-case ("needs LPIPS ..." -> "Needs LPIPS ..."),
    a leading Greek symbol kept as it is (``claims_words.upper_first``)."""
    from ..studies.claims_words import upper_first

    return upper_first(text)


# "x0" and "eps" as the model kinds a rule compares ("cases where x0 beats eps"): the glossary's names
_KINDS = re.compile(r"(?<![\w\-`])(x0|eps|ε) (beats|against|vs\.?|and|over) (x0|eps|ε)(?![\w\-`])")
_KIND_NAMES = {"x0": "x0-prediction", "eps": "ε-prediction", "ε": "ε-prediction"}


def _top_level(text: str, sep: str = "; ") -> list[str]:
    """``text`` split at each ``sep`` outside parentheses and brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "([" and 1 or -(ch in ")]")
        if depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i + len(sep)
    return parts + [text[start:]]


def rule_text(rule: str, decided_by: str = "") -> str:
    """A claim's rule as the page says it, in sentences a reader takes in one at a time: the model kinds it compares
    by their names ("x0 beats eps" -> "x0-prediction beats ε-prediction"), each clause the rule joins with ";" a
    sentence of its own, a closing parenthesis of several clauses ("... swept (means only, no interval; a grid point
    ... is not a point of the front)") its own sentences, and the general rule that decides it ("Decided by the
    *means only* rule (above).")."""
    rule = _KINDS.sub(lambda m: f"{_KIND_NAMES[m.group(1)]} {m.group(2)} {_KIND_NAMES[m.group(3)]}", rule.strip())
    out = []
    for clause in _top_level(rule.rstrip(".")):
        m = re.match(r"^(.*\S) \(([^()]*; [^()]*)\)$", clause.strip(), re.S)
        pieces = [m.group(1), *_top_level(m.group(2))] if m else [clause]
        # a first word that is a symbol or a key ("x0", "S_HF(ddim)") keeps its case
        out += [p.strip() if re.match(r"[A-Za-z]+[\d_(]", p.strip()) else sentence(p.strip()) for p in pieces
                if p.strip()]
    if decided_by:
        out.append(f"Decided by the *{decided_by}* rule (above)")
    return " ".join(p + ("" if p.endswith((".", "?", "!")) else ".") for p in out)


def copied_rows(copies: dict) -> list[str]:
    """The distinct copied rows of the paper's tables that the claims read (``copies``: claim -> notes of
    ``paper_copies.copies_read``), in the order the claims first read them."""
    return list(dict.fromkeys(t for notes in copies.values() for t in notes))


def _copy_subject(note: str) -> str:
    """The rows a copy note is about, its words before "carry" / "carries": "Table 5's TABA row (BBBC021 ×16, ...)"."""
    return re.split(r"\s+carr(?:y|ies)\b", note, maxsplit=1)[0]


def copies_markdown(copies: dict) -> str:
    """The copied rows of the paper's tables, each said once above the claims (the claims that read one refer to it
    by ``copies_reference``); "" when no claim reads one."""
    rows = copied_rows(copies)
    if not rows:
        return ""
    return ("**Copied rows in the paper's tables.** Some rows the claims read on the paper's own tables carry "
            "another row's numbers; the claim sections below name the ones they read:\n\n"
            + "\n".join(f"{i}. {t}" for i, t in enumerate(rows, 1)) + "\n")


def copies_reference(notes) -> str:
    """A claim section's short pointer to the copied rows it reads (said in full once, ``copies_markdown``)."""
    if not notes:
        return ""
    return ("- It reads copied rows (see *Copied rows in the paper's tables* above): "
            + "; ".join(re.sub(r"^The ", "the ", _copy_subject(t)) for t in dict.fromkeys(notes)) + ".\n")


def claims_markdown(ev: Evidence, paper: Evidence | None = None) -> str:
    """The claims page's generated part, in the reader's names: the general rules (each once, by name), the tally, a
    summary table (each claim, our verdict with the comparison it rests on and that comparison's 95 % interval, the
    verdict on the paper's tables), then one section per claim: where the paper makes it, its statement, our verdict
    (qualified where it rests on a model below the quality gate) with every comparison, the sample, the claim's own
    rule and the general rule that decides it, a note for a metric the rule names that our results lack, the
    verdict on the paper's tables, and each copied printed row those tables' numbers come from
    (``paper_copies.copies_read``: the same setting then reads two values on the page, and the note says which is
    the copy)."""
    from ..studies.claims import CLAIMS, verdict_words
    from ..text import minus

    from ..studies.paper_copies import copies_read
    from ..studies.scorecard import paper_evidence

    c = evaluate_claims(ev, paper)
    reads = {cl.key: cl.reads for cl in CLAIMS}
    pev = paper if paper is not None else paper_evidence()
    copies = {k: copies_read(pev.frame, r) for k, r in reads.items()}   # a paper row that carries another row's numbers
    table = pd.DataFrame({"claim": c["title"], "ours": [verdict_words(v, k, b, d) for v, k, b, d in
                                                                   zip(c["verdict"], c["caveat"], c["decided by"],
                                                                       c["our numbers"])],
                          "what it rests on (95 % interval)": [deciding_evidence(v, d) for v, d in
                                                               zip(c["verdict"], c["our numbers"])],
                          "the paper's own tables": c["paper's tables"]})
    rows = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    rows += ["| " + " | ".join(str(v).replace("|", "\\|") for v in r) + " |" for r in table.itertuples(index=False)]
    lines = [rules_markdown(),
             f"Verdicts on our results: {tally_markdown(c)}. The table gives, for each claim, the comparison "
             "its verdict rests on (for a verdict other than holds, the first comparison that reads so) with its 95 % "
             "interval; the section of the claim below gives every comparison.\n", "\n".join(rows) + "\n",
             copies_markdown(copies)]
    for _, r in c.rename(columns={"paper's tables": "paper verdict"}).iterrows():
        note = _missing_metrics(r["statement"], r["our numbers"], reads.get(r["claim"], ()), ev)
        caveat = f"\n- Indicative only: {r['caveat']}." if r["caveat"] else ""
        lines.append(f"\n## {r['title']}\n\n{r['where']}. {r['statement']}\n\n- **Our verdict: "
                     f"{verdict_words(r['verdict'], r['caveat'], r['decided by'], r['our numbers'])}.** {sentence(r['our numbers'])}{caveat}\n"
                     f"- Sample: {r['our sample']}.\n- Rule: {rule_text(r['rule'], r['decided by'])}\n"
                     + (f"- Not in our numbers: {note}.\n" if note else "")
                     + f"- On the paper's own tables: **{r['paper verdict']}**. {r['paper numbers']}\n"
                     + copies_reference(copies.get(r["claim"], ())))
    return glossary_links(reader_names(minus("\n".join(lines))))
