"""Sphinx extension of _config.yml: write the study pages the table of contents lists (``pipeline.study_pages``) before
it is read, so a fresh clone's build has them. Costs: reading the chapters once, about a second for the book's 30."""
from __future__ import annotations

import re
from pathlib import Path

__all__ = ["listed_docs", "write_listed_pages", "setup"]


def listed_docs(toc: Path) -> set[str]:
    """The documents a jb-book ``_toc.yml`` lists ("studies/pareto"); empty without the file."""
    return set(re.findall(r"^\s*(?:-\s*)?(?:file|root):\s*(\S+)\s*$", toc.read_text(encoding="utf-8"), re.M)) \
        if toc.is_file() else set()


def write_listed_pages(book: Path) -> list[Path]:
    """Write each study page ``book``/_toc.yml lists that is missing or differs from its chapters; returns them."""
    from .study_pages import page_files

    book, listed, written = Path(book), listed_docs(Path(book) / "_toc.yml"), []
    if not (book / "studies").is_dir():
        return written
    for path, data in page_files(book / "studies").items():
        if f"studies/{path.stem}" in listed and (not path.exists() or path.read_bytes() != data):
            path.write_bytes(data)
            written.append(path)
    return written


def setup(app):
    # config-inited at priority 100: before sphinx-external-toc (900) reads the toc and looks for its files
    app.connect("config-inited", lambda app, config: write_listed_pages(Path(app.srcdir)), priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
