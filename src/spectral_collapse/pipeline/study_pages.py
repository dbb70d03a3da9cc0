"""One book page per study, ``book/studies/<study>.ipynb`` (``<study>-<profile>`` for a profile other than quick),
written from its executed chapters ``<study>-<dataset>.ipynb``: the shared title once, each dataset's answer under
its name in bold, then a section per dataset (``## <dataset>``, labelled ``(<chapter>)=``) with the rest of that
chapter one heading level down; parameter cells dropped, glued values renamed ``<dataset>.<name>``. A study of one
dataset has its chapter as its page, byte for byte. Costs: reading every chapter once (about a second for 30)."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import NamedTuple

import nbformat
from markdown_it import MarkdownIt

from ..studies import registry

__all__ = ["Chapter", "PAGE_KEY", "chapters_by_page", "combine", "demote_headings", "page_files", "chapter_paths"]

PAGE_KEY = "page_of"   # metadata.spectral_collapse.page_of of a combined page: the chapters it was written from
_PARAMETER_TAGS = {"parameters", "injected-parameters"}
_ID = re.compile(r"[^A-Za-z0-9_-]")
# a glue role or directive naming a key of its own page (not ``doc::key``): the page prefixes the key with the dataset
_GLUE_KEY = re.compile(r"(\{glue(?::[\w-]*)?\}`|^(?:```+|:::+)\{glue(?::[\w-]*)?\}[ \t]+)(?![^`\n]*::)", re.M)


class Chapter(NamedTuple):
    """One executed chapter: its name (file stem), study, dataset (as its file name writes it), profile and file."""

    name: str
    study: str
    dataset: str
    profile: str
    path: Path


def _chapter(path: Path, meta: dict) -> Chapter | None:
    """The chapter a file of book/studies/ is, None for a page (no "-" in its name, ``PAGE_KEY`` in its metadata,
    or named <study>-<profile>)."""
    if "-" not in path.stem or PAGE_KEY in meta:
        return None
    study, rest = path.stem.split("-", 1)
    profile = str((meta.get("params") or {}).get("profile", "quick"))
    if profile != "quick":
        if rest == profile:
            return None
        rest = rest.removesuffix(f"-{profile}")
    return Chapter(path.stem, study, rest, profile, path)


def _metadata(path: Path) -> dict:
    """The ``spectral_collapse`` metadata of the notebook at ``path``; raises naming the fix when it is unreadable."""
    try:
        nb = json.loads(path.read_bytes())
    except (OSError, ValueError) as err:
        raise ValueError(f"{path} is not a readable notebook ({err}); execute its study again (python -m "
                         f"spectral_collapse studies --force --study {path.stem.split('-')[0]}) or delete it") from None
    meta = nb.get("metadata", {}).get("spectral_collapse", {}) if isinstance(nb, dict) else {}
    return meta if isinstance(meta, dict) else {}


def chapters_by_page(folder: Path) -> dict[str, list[Chapter]]:
    """{page name: its chapters, in the registry's dataset order (datasets it does not list after, by name)} for the
    executed chapters in ``folder`` (hidden and temporary files left out)."""
    pages: dict[str, list[Chapter]] = {}
    for path in sorted(Path(folder).glob("*.ipynb")):
        if path.name.startswith((".", "_")):
            continue
        chapter = _chapter(path, _metadata(path))
        if chapter:
            name = chapter.study + ("" if chapter.profile == "quick" else f"-{chapter.profile}")
            pages.setdefault(name, []).append(chapter)
    for chapters in pages.values():
        study = registry.STUDIES.get(chapters[0].study)
        order = {d: i for i, d in enumerate(study.datasets if study else ())}
        chapters.sort(key=lambda c: (order.get(c.dataset, len(order)), c.dataset))
    return pages


def chapter_paths(folder: Path) -> list[Path]:
    """The executed chapters in ``folder`` (not the pages written from them), by name."""
    return sorted(c.path for chapters in chapters_by_page(folder).values() for c in chapters)


_MD = MarkdownIt("commonmark")


def demote_headings(text: str) -> str:
    """``text`` (Markdown) with every heading one level down ("## x" -> "### x", setext as ATX; 6 stays 6)."""
    lines = text.split("\n")
    for tok in reversed([t for t in _MD.parse(text) if t.type == "heading_open" and t.map]):
        level = min(int(tok.tag[1]) + 1, 6)
        start, end = tok.map
        if tok.markup.startswith("#"):
            lines[start] = re.sub(r"^(\s{0,3})#{1,6}", lambda m: m.group(1) + "#" * level, lines[start], count=1)
        else:   # setext: the text lines, then the underline
            lines[start:end] = ["#" * level + " " + " ".join(ln.strip() for ln in lines[start:end - 1])]
    return "\n".join(lines)


def _title_line(text: str) -> int | None:
    """The index of the line of ``text``'s first level-1 heading (None: it has none; code blocks do not count)."""
    return next((t.map[0] for t in _MD.parse(text) if t.type == "heading_open" and t.tag == "h1" and t.map), None)


def _title(cell, dataset: str):
    """The title cell without the dataset the chapter's title ends with (``: ihc-sr`` or `` — ihc-sr``)."""
    cell = copy.deepcopy(cell)
    lines = cell.source.split("\n")
    i = _title_line(cell.source)
    lines[i] = re.sub(rf"(?::| —) {re.escape(dataset)}(?= \(|\s*$)", "", lines[i], count=1)
    cell.source = "\n".join(lines)
    return cell


def _is_title(cell) -> bool:
    """A Markdown cell with a level-1 heading (a chapter's title)."""
    return cell.cell_type == "markdown" and _title_line(cell.source) is not None


def _is_answer(cell) -> bool:
    return cell.cell_type == "code" and any("text/markdown" in o.get("data", {}) for o in cell.get("outputs", []))


def _split_answer(cell) -> tuple:
    """The answer cell as two: the outputs up to its Markdown output's first block (the answer paragraph), and the
    rest of that Markdown with the outputs after it (None: no rest)."""
    k = next(i for i, o in enumerate(cell.outputs) if "text/markdown" in o.get("data", {}))
    text = cell.outputs[k]["data"]["text/markdown"]
    blocks = [t.map for t in _MD.parse(text) if t.level == 0 and t.map and (t.nesting == 1 or t.type in (
        "fence", "code_block", "html_block", "hr"))]
    lines, cut = text.split("\n"), blocks[0][1] if blocks else None
    lead, rest = ("\n".join(lines[:cut]).rstrip(), "\n".join(lines[cut:]).strip()) if blocks else (text, "")
    head, tail = copy.deepcopy(cell), copy.deepcopy(cell)
    head.outputs = head.outputs[:k + 1]
    head.outputs[k]["data"] = {"text/markdown": lead, "text/plain": lead}
    tail.outputs = tail.outputs[k:]
    tail.outputs[0]["data"] = {"text/markdown": rest, "text/plain": rest}
    return head, (tail if rest or len(tail.outputs) > 1 else None)


def _section(cell, dataset: str):
    """``cell`` as ``dataset``'s section shows it: headings one level down, glued names prefixed with the dataset."""
    cell = copy.deepcopy(cell)
    if cell.cell_type == "markdown":
        cell.source = _GLUE_KEY.sub(lambda m: f"{m.group(1)}{dataset}.", demote_headings(cell.source))
    for out in cell.get("outputs", []):
        if "text/markdown" in out.get("data", {}):
            out["data"]["text/markdown"] = demote_headings(out["data"]["text/markdown"])
        glued = out.get("metadata", {}).get("scrapbook")
        if glued:
            glued["name"] = f"{dataset}.{glued['name']}"
    return cell


def _unique_id(wanted: str, taken: set[str]) -> str:
    """``wanted`` as a valid cell id (letters, digits, - and _, at most 64 characters) that ``taken`` lacks."""
    base = _ID.sub("-", wanted)[:64] or "cell"
    found, n = base, 1
    while found in taken:
        n += 1
        found = f"{base[:64 - len(str(n)) - 1]}-{n}"
    taken.add(found)
    return found


def combine(chapters: list[tuple[Chapter, nbformat.NotebookNode]]) -> nbformat.NotebookNode:
    """One page from the executed chapters of one study (``(chapter, its notebook)`` in page order); raises
    ValueError for a chapter with no title heading."""
    first = chapters[0][1]
    page = nbformat.v4.new_notebook(metadata={k: copy.deepcopy(v) for k, v in first.metadata.items()
                                              if k in ("kernelspec", "language_info")})
    page.metadata["spectral_collapse"] = {PAGE_KEY: [c.name for c, _ in chapters]}
    taken: set[str] = set()
    heads, answers, sections = [], [], []
    for chapter, nb in chapters:
        cells = [c for c in nb.cells if not (_PARAMETER_TAGS & set(c.get("metadata", {}).get("tags", [])))]
        title = next((i for i, c in enumerate(cells) if _is_title(c)), None)
        if title is None:
            raise ValueError(f"{chapter.path}: no level-1 heading in its Markdown cells, so it has no title to put on the "
                             f"{chapter.study} page; give notebooks/{chapter.study}.ipynb a '# Title' cell")
        heads.append(cells[title])
        answer = next((i for i, c in enumerate(cells) if i > title and _is_answer(c)), None)
        lead, rest = _split_answer(cells[answer]) if answer is not None else (None, None)
        if lead is not None:
            answers += [nbformat.v4.new_markdown_cell(f"**{chapter.dataset}**"), _section(lead, chapter.dataset)]
            answers[-2].id = f"answer-{chapter.dataset}"
            answers[-1].id = f"{chapter.dataset}-{lead.get('id') or answer}"
        sections.append(nbformat.v4.new_markdown_cell(f"({chapter.name})=\n## {chapter.dataset}"))
        sections[-1].id = f"section-{chapter.dataset}"
        for i, cell in enumerate(cells):
            if i != title and (i != answer or rest is not None):
                sections.append(_section(rest if i == answer else cell, chapter.dataset))
                sections[-1].id = f"{chapter.dataset}-{cell.get('id') or i}"
    page.cells = [_title(heads[0], chapters[0][0].dataset), *answers, *sections]
    for cell in page.cells:
        cell.id = _unique_id(cell.get("id") or "cell", taken)
    nbformat.validate(page)
    return page


def page_files(folder: Path) -> dict[Path, bytes]:
    """{page path: its bytes} for every study with chapters in ``folder``."""
    files = {}
    for name, chapters in chapters_by_page(folder).items():
        path = Path(folder) / f"{name}.ipynb"
        if len(chapters) == 1:
            files[path] = chapters[0].path.read_bytes()
        else:
            nbs = [(c, nbformat.reads(c.path.read_text(encoding="utf-8"), as_version=4)) for c in chapters]
            files[path] = (nbformat.writes(combine(nbs)) + "\n").encode("utf-8")
    return files

