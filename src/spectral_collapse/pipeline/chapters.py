"""An executed chapter as a file: its inputs' content hashes (never modification times) in its metadata, why it is
stale, papermill's clean-ups."""
from __future__ import annotations

import json
import re
from pathlib import Path

from ..digest import read_sha256

__all__ = ["file_hash", "stale_reason", "strip_progress", "hide_parameter_cells", "title_with_dataset", "record_inputs"]


def file_hash(path: Path) -> str | None:
    """sha256 of a file's bytes (None when it does not exist)."""
    return read_sha256(path) if path.exists() else None


def _recorded(out: Path, field: str):
    try:
        return json.loads(out.read_text())["metadata"]["spectral_collapse"][field]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def stale_reason(out: Path, deps: list[Path], root: Path | None = None, params: dict | None = None) -> str | None:
    """Why ``out`` must be executed again, in words (None: it is up to date)."""
    if not out.exists():
        return "no chapter yet"
    if params is not None:
        recorded = _recorded(out, "params") or {}
        params = json.loads(json.dumps(params, sort_keys=True, default=str))
        changed = sorted(k for k in set(params) | set(recorded) if recorded.get(k) != params.get(k))
        if changed:
            return f"its parameters changed ({', '.join(changed)})"
    stored = _recorded(out, "inputs")
    if stored is None:
        return "no inputs recorded in the chapter"
    changed = [_key(d, root) for d in deps if stored.get(_key(d, root)) != file_hash(d)]
    return f"{', '.join(changed)} changed" if changed else None


def _key(path: Path, root: Path | None) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve())) if root else path.name
    except ValueError:
        return str(path)


_PROGRESS = re.compile(r"\d+%\|.*\|.*(it/s|s/it|\?it/s)|^\s*$")
# the runner's line on a stored result it recomputes (``runner.run_study``): a log line naming a file, not a result
_RUN_LOG = re.compile(r": stored results are stale \(.*\); recomputing them$| cannot be read \(.*\); recomputing it$")


def strip_progress(nb) -> int:
    """Drop tqdm's lines from a notebook's stderr and the runner's lines on results it recomputed; returns how many."""
    removed = 0
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        keep = []
        for out in cell.get("outputs", []):
            lines = re.split(r"[\r\n]", out["text"]) if out.get("output_type") == "stream" else []
            err = out.get("name") == "stderr"
            if lines and (err or any(_RUN_LOG.search(ln) for ln in lines)):
                kept = [ln for ln in lines if not (_RUN_LOG.search(ln) or (err and _PROGRESS.search(ln)))]
                removed += sum(1 for ln in lines if ln.strip()) - sum(1 for ln in kept if ln.strip())
                if not any(ln.strip() for ln in kept):
                    continue
                out["text"] = "\n".join(kept) + ("\n" if err else "")   # _PROGRESS drops stderr's blank lines
            keep.append(out)
        cell["outputs"] = keep
    return removed


def hide_parameter_cells(nb) -> int:
    """Tag the parameters and injected-parameters cells ``remove-cell``; returns the cells tagged."""
    n = 0
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.cell_type == "code" and {"parameters", "injected-parameters"} & set(tags) and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
            n += 1
    return n


def title_with_dataset(nb, dataset: str, profile: str) -> bool:
    """Append the dataset (and a profile but quick) to the first heading: "# Main results: ihc-sr (smoke)", "# Are the
    models good enough? — ihc-sr" after a question or a colon; False with no heading."""
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


def record_inputs(nb, deps: list[Path], root: Path | None, hashes: dict | None = None) -> None:
    """Store the content hashes of ``deps`` (``hashes`` where given) in ``nb``'s metadata."""
    nb.metadata.setdefault("spectral_collapse", {})["inputs"] = {
        _key(d, root): (hashes or {}).get(d) or file_hash(d) for d in deps}
