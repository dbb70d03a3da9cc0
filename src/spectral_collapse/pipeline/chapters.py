"""An executed chapter as a file: the content hashes of its inputs recorded in its metadata, why it is stale, and
the clean-ups applied after papermill (progress bars stripped, parameter cells hidden, the dataset in its title).

"Stale" compares content hashes stored in the executed notebook's metadata (``spectral_collapse.inputs``), not
modification times: a fresh clone writes files in arbitrary order and must not re-execute every chapter. Chapters
without stored hashes fall back to modification times. Every write goes through a hidden copy beside the chapter,
which no failure or interruption leaves behind.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

__all__ = ["file_hash", "stale_reason", "strip_progress", "hide_parameter_cells", "title_with_dataset", "stamp"]


def file_hash(path: Path) -> str | None:
    """sha256 of a file's bytes (None when it does not exist)."""
    import hashlib

    if not path.exists():
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _inputs(out: Path) -> dict | None:
    try:
        return json.loads(out.read_text())["metadata"]["spectral_collapse"]["inputs"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def stale_reason(out: Path, deps: list[Path], root: Path | None = None, params: dict | None = None) -> str | None:
    """Why ``out`` must be executed again, in words (None: it is up to date)."""
    if not out.exists():
        return "no chapter yet"
    if params is not None:
        try:
            recorded = json.loads(out.read_text())["metadata"]["spectral_collapse"].get("params")
        except (OSError, ValueError, KeyError, TypeError):
            recorded = None
        # a chapter stamped without parameters (by hand, or before they were recorded) is judged by its files
        if recorded is not None and recorded != json.loads(json.dumps(params, sort_keys=True, default=str)):
            changed = sorted(k for k in set(params) | set(recorded or {})
                             if (recorded or {}).get(k) != json.loads(json.dumps(params.get(k), default=str)))
            return f"its parameters changed ({', '.join(changed) or 'none recorded'})"
    stored = _inputs(out)
    if stored is not None:
        changed = [_key(d, root) for d in deps if stored.get(_key(d, root)) != file_hash(d)]
        return f"{', '.join(changed)} changed" if changed else None
    t = out.stat().st_mtime
    newer = [d.name for d in deps if d.exists() and d.stat().st_mtime > t]
    return f"{', '.join(newer)} newer than the chapter" if newer else None


def _key(path: Path, root: Path | None) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve())) if root else path.name
    except ValueError:
        return str(path)


_PROGRESS = re.compile(r"\d+%\|.*\|.*(it/s|s/it|\?it/s)|^\s*$")
# the runner's line on a stored result it recomputes (``runner.run_study``): a log line naming a file, not a result
_RUN_LOG = re.compile(r": stored results are stale \(.*\); recomputing them$| cannot be read \(.*\); recomputing it$")


def strip_progress(nb) -> int:
    """Drop progress-bar lines (tqdm) from stderr stream outputs of an executed notebook, and the runner's lines on
    stored results it recomputed (from either stream); returns lines removed.

    A long study writes thousands of bar updates, which would fill its chapter, and a recomputation's log line names
    a results file; warnings, errors and everything else a cell prints stay.
    """
    removed = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        keep = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") in ("stderr", "stdout"):
                lines = re.split(r"[\r\n]", out["text"])
                err = out.get("name") == "stderr"
                if err or any(_RUN_LOG.search(ln) for ln in lines):
                    kept = [ln for ln in lines if not (_RUN_LOG.search(ln) or (err and _PROGRESS.search(ln)))]
                    removed += sum(1 for ln in lines if ln.strip()) - sum(1 for ln in kept if ln.strip())
                    if not any(ln.strip() for ln in kept):
                        continue
                    out["text"] = "\n".join(ln for ln in kept if ln.strip() or not err) + ("\n" if err else "")
            keep.append(out)
        cell["outputs"] = keep
    return removed


def hide_parameter_cells(nb) -> int:
    """Tag the parameters cell and papermill's injected-parameters cell ``remove-cell`` in an executed chapter (the
    page shows the run's parameters as a table instead); returns the cells tagged."""
    n = 0
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.cell_type == "code" and {"parameters", "injected-parameters"} & set(tags) and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
            n += 1
    return n


def title_with_dataset(nb, dataset: str, profile: str) -> bool:
    """Append the dataset (and a profile other than quick) to the notebook's first markdown heading, in place:
    "# Main results" -> "# Main results: ihc-sr" or "# Main results: ihc-sr (smoke)"; a question keeps its mark and
    a heading that has a colon already takes a dash, so no heading reads two colons: "# Are the models good enough? —
    ihc-sr", "# Training seeds: how far … — ihc-sr". False when it has none."""
    where = dataset + ("" if profile == "quick" else f" ({profile})")
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        for i, line in enumerate(lines):
            if re.match(r"#+\s", line):
                head = line.rstrip()
                lines[i] = f"{head} — {where}" if head.endswith("?") or ":" in head else f"{head}: {where}"
                cell.source = "\n".join(lines)
                return True
    return False


def glossary_terms(glossary: Path) -> list[str]:
    """The terms of a MyST ``{glossary}`` block in ``glossary`` (a term is an unindented line inside the block)."""
    return list(_glossary(glossary))


def glossary_label(target: str) -> str:
    """The MyST label a math term's glossary entry carries (``S_{HF}`` -> ``glossary-s-hf``): its first definition
    line is ``(glossary-s-hf)=``, so that a Markdown link with typeset text, ``[$S_{HF}$](#glossary-s-hf)``, reaches
    it (the ``{term}`` role shows its text untypeset, and MyST's ``[text](#term)`` misses a term with capitals)."""
    return "glossary-" + re.sub(r"[^a-z0-9]+", "-", target.lower()).strip("-")


def _glossary(glossary: Path) -> dict[str, str | None]:
    """Each term of the glossary block -> the MyST label its definition carries (None when it has none)."""
    if not Path(glossary).is_file():
        return {}
    terms, inside, heads = {}, False, []
    for line in Path(glossary).read_text().splitlines():
        if line.startswith("```{glossary}"):
            inside = True
        elif inside and line.startswith("```"):
            inside = False
        elif inside and line.strip() and not line[0].isspace():
            term = line.strip()   # a headword set as code (`norm_z`) is the term as Sphinx reads it: its text
            term = term[1:-1] if len(term) > 2 and term[0] == term[-1] == "`" else term
            terms[term] = None
            heads.append(term)
        elif inside and line.strip():
            label = re.fullmatch(r"\s+\(([\w-]+)\)=\s*", line)
            for head in heads if label else ():
                terms[head] = label.group(1)
            heads = []
    return terms


# pieces of markdown a link must not go into: fenced code, inline code and roles, links, math, HTML, headings
_PROTECTED = re.compile(r"```.*?```|`[^`]*`|\[[^\]]*\]\([^)]*\)|\$\$.*?\$\$|\$[^$]*\$|<[^>]+>|^#[^\n]*", re.S | re.M)


_NOT_LINKED = {"Cell"}   # "cell" in a chapter's prose is a table cell, not the cache's


def _term_pattern(term: str) -> tuple[re.Pattern, str, str]:
    """(pattern for a use of ``term`` in prose, its math form or "", the target the term role needs).

    A math term such as ``$S_{HF}$`` is used as ``S_HF`` or ``$S_{HF}$`` in the chapters; Sphinx files it under
    its text without the dollars (``S_{HF}``)."""
    m = re.fullmatch(r"\$(.+)\$", term)
    if m:
        target = m.group(1)
        plain = target.replace("{", "").replace("}", "")
        return re.compile(rf"(?<![\w$]){re.escape(plain)}(?![\w])"), term, target
    return re.compile(rf"(?<![\w-]){re.escape(term)}(?![\w-])", re.I), "", term


_HIDDEN = {"remove-cell", "remove-output", "remove_cell", "remove_output"}


def _prose(nb) -> list[tuple[object, str | None]]:
    """The chapter's prose in page order: each markdown cell (its ``source``) and each Markdown output a code cell
    displays (a verdict, a note, a table of parameters; (output, "text/markdown")), outputs of hidden cells left
    out."""
    blocks = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            blocks.append((cell, None))
        elif cell.cell_type == "code" and not _HIDDEN & set(cell.get("metadata", {}).get("tags", [])):
            for out in cell.get("outputs", []):
                if out.get("output_type") in ("display_data", "execute_result") and \
                        "text/markdown" in out.get("data", {}):
                    blocks.append((out, "text/markdown"))
    return blocks


def _get(block) -> str:
    node, mime = block
    text = node.source if mime is None else node["data"][mime]
    return "".join(text) if isinstance(text, list) else text


def _set(block, text: str) -> None:
    node, mime = block
    if mime is None:
        node.source = text
    else:
        node["data"][mime] = text


def link_term(text: str, pattern: re.Pattern, math: str, target: str, label: str | None = None) -> str | None:
    """``text`` with the first use of a term (outside code, links, math, HTML and headings) made a link to its
    glossary entry, or None when the text does not use it: a math term whose entry carries ``label`` becomes a
    Markdown link with the typeset symbol as its text (``[$S_{HF}$](#glossary-s-hf)``), any other term a ``{term}``
    link."""
    def link(words: str) -> str:
        if math and label:
            return f"[{math}](#{label})"
        return f"{{term}}`{words} <{target}>`"

    pos, done, pieces = 0, False, []
    for prot in [*_PROTECTED.finditer(text), None]:
        end = prot.start() if prot else len(text)
        chunk = text[pos:end]
        hit = None if done else pattern.search(chunk)
        if hit:
            chunk = f"{chunk[:hit.start()]}{link(hit.group(0))}{chunk[hit.end():]}"
            done = True
        pieces.append(chunk)
        if prot:
            piece = prot.group(0)
            if not done and math and piece == math:
                piece, done = link(target.replace('{', '').replace('}', '')), True
            pieces.append(piece)
            pos = prot.end()
    return "".join(pieces) if done else None


def link_glossary(nb, glossary: Path) -> int:
    """Make each glossary term's first use on the page a link to the glossary (``link_term``), in place: the
    page's prose is its markdown cells and the Markdown its code cells display (verdicts, notes, parameter tables),
    in page order; headings, code, links and other math are left alone. Returns how many terms were linked."""
    linked = 0
    blocks = _prose(nb)
    for term, label in _glossary(glossary).items():
        if term in _NOT_LINKED:
            continue
        pattern, math, target = _term_pattern(term)
        for block in blocks:
            text = link_term(_get(block), pattern, math, target, label)
            if text is not None:
                _set(block, text)
                linked += 1
                break
    return linked


def write_atomic(nb, out: Path) -> None:
    """Write ``nb`` to ``out`` through a hidden copy beside it, which no failure or interruption leaves behind."""
    import nbformat
    tmp = out.with_name(f".{out.name}.tmp.ipynb")
    try:
        nbformat.write(nb, str(tmp))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def stamp(out: Path, deps: list[Path], root: Path | None = None) -> None:
    """Record the content hashes of ``deps`` in the executed notebook ``out`` (what ``stale_reason`` compares)."""
    import nbformat
    nb = nbformat.read(str(out), as_version=4)
    record_inputs(nb, deps, root)
    write_atomic(nb, out)


def record_inputs(nb, deps: list[Path], root: Path | None, hashes: dict | None = None) -> None:
    """Store the content hashes of ``deps`` (``hashes`` where given) in ``nb``'s metadata."""
    hashes = hashes or {}
    nb.metadata.setdefault("spectral_collapse", {})["inputs"] = {
        _key(d, root): hashes[d] if d in hashes else file_hash(d) for d in deps}
