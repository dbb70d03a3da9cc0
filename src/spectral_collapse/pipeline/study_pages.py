"""One book page per study, ``book/studies/<study>[-<profile>].ipynb``, from its chapters ``<study>-<dataset>.ipynb``:
the title once, each dataset's answer under its name in bold, then a section per dataset (``## <dataset>``, labelled
``(<chapter>)=``) one heading level down, glued values renamed ``<dataset>.<name>``; a study of one dataset has its
chapter as its page. Costs: reading every chapter once (about a second for 30)."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import NamedTuple

import nbformat
from markdown_it import MarkdownIt

from ..studies import registry

__all__ = ["Chapter", "PAGE_KEY", "chapters_by_page", "combine", "demote_headings", "page_files", "chapter_paths",
           "names_dataset", "one_dataset_page", "study_titled", "FIRST_SCREEN"]

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
    """The chapter a file of book/studies/ is; None for a page (no "-", ``PAGE_KEY``, or named <study>-<profile>)."""
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
    """{page name: its chapters in the registry's dataset order, others after by name} of the chapters in ``folder``."""
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


def _title(cell, dataset: str, profile: str | None = None):
    """The title cell without its ending ``: <dataset>`` or `` — <dataset>`` (and `` (<profile>)`` when given)."""
    cell = copy.deepcopy(cell)
    lines = cell.source.split("\n")
    i = _title_line(cell.source)
    after = rf"(?: \({re.escape(profile)}\))?\s*$" if profile else r"(?= \(|\s*$)"
    lines[i] = re.sub(rf"(?::| —) {re.escape(dataset)}{after}", "", lines[i], count=1)
    cell.source = "\n".join(lines)
    return cell


FIRST_SCREEN = 2500   # characters of a page's text below its title that a reader sees before scrolling, about


def _shown(cell) -> str:
    """The text a cell shows a reader: a Markdown cell's source; a code cell's input (unless hidden) and outputs."""
    tags = set(cell.get("metadata", {}).get("tags", []))
    if "remove-cell" in tags:
        return ""
    if cell.cell_type != "code":
        return cell.source
    shown = [] if {"remove-input", "hide-input"} & tags else [cell.source]
    for out in [] if "remove-output" in tags else cell.get("outputs", []):
        data = out.get("data", {})
        shown.append(data.get("text/markdown") or data.get("text/plain") or out.get("text", ""))
    return "\n".join(shown)


def names_dataset(nb, dataset: str) -> bool:
    """Whether page ``nb`` names ``dataset`` on its first screen (``FIRST_SCREEN`` characters) besides its title."""
    cells = list(nb.cells)
    title = next((i for i, c in enumerate(cells) if _is_title(c)), None)
    if title is None:
        return False
    lines = cells[title].source.split("\n")
    del lines[_title_line(cells[title].source)]
    text = "\n".join(lines)
    for cell in cells[title + 1:]:
        if len(text) >= FIRST_SCREEN:
            break
        text += "\n" + _shown(cell)
    return re.search(rf"(?<![\w-]){re.escape(dataset)}(?![\w-])", text[:FIRST_SCREEN]) is not None


def one_dataset_page(chapter: Chapter) -> bytes:
    """A one-dataset study's page: its chapter byte for byte, the title without the dataset when the first screen
    names it (``names_dataset``) or the study stores no results."""
    data = chapter.path.read_bytes()
    nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    study = registry.STUDIES.get(chapter.study)
    if not names_dataset(nb, chapter.dataset) and (study is None or study.run is not None):
        return data
    i = next(i for i, c in enumerate(nb.cells) if _is_title(c))
    nb.cells[i] = _title(nb.cells[i], chapter.dataset)
    return (nbformat.writes(nb) + "\n").encode("utf-8")


def study_titled(path: Path, dataset: str, profile: str) -> None:
    """Rewrite a report's chapter at ``path`` with the study's title, ``dataset`` named once under it unless its first
    screen names it (idempotent)."""
    nb = nbformat.read(str(path), as_version=4)
    i = next((i for i, c in enumerate(nb.cells) if _is_title(c)), None)
    if i is None:
        return
    cell = _title(nb.cells[i], dataset, profile)
    if not names_dataset(nb, dataset):
        lines = cell.source.split("\n")
        lines.insert(_title_line(cell.source) + 1, f"\nYour data: `{dataset}`.")
        cell.source = "\n".join(lines)
    if cell.source != nb.cells[i].source:
        nb.cells[i] = cell
        nbformat.write(nb, str(path))


def _is_title(cell) -> bool:
    """A Markdown cell with a level-1 heading (a chapter's title)."""
    return cell.cell_type == "markdown" and _title_line(cell.source) is not None


def _is_answer(cell) -> bool:
    return cell.cell_type == "code" and any("text/markdown" in o.get("data", {}) for o in cell.get("outputs", []))


def _split_answer(cell) -> tuple:
    """(the answer cell up to its Markdown output's first block, the rest with the outputs after it or None)."""
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
    """One page from one study's ``(chapter, its notebook)`` pairs in page order; a chapter without a title raises."""
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
            files[path] = one_dataset_page(chapters[0])
        else:
            nbs = [(c, nbformat.reads(c.path.read_text(encoding="utf-8"), as_version=4)) for c in chapters]
            files[path] = (nbformat.writes(combine(nbs)) + "\n").encode("utf-8")
    return files

