"""Round-five cases of stored results: a numeric ``results_root`` is read as the same folder by every cell of a
chapter (``open_study`` and ``results_path`` alike), and a results file re-signed on purpose is trusted, as the
errors page says: the checksum guards against damage, not against a deliberate re-signing."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from probes import probe
from spectral_collapse.framework.store import folder_parameter
from spectral_collapse.framework.store import CHECKSUM, content_digest, load_results, results_path, save_results

ROOT = Path(__file__).resolve().parents[1]
_CALLS = re.compile(r"(open_study|results_path|stored_reads|failing_claims)\(")   # the last two read as results_path


def _uses(source: str) -> list[str]:
    """The statements of a cell's code that read the parameter ``results_root`` (not those setting it, nor a keyword
    of that name)."""
    return [s for s in re.split(r"\n(?=\S)", source) if re.search(r"\bresults_root\b(?!\s*=)", s)]


@probe("crash", "`-p results_root 5` (stored into the folder `5`, then `TypeError: expected str, bytes or "
                "os.PathLike object, not int` in cell 4)",
       "every cell reads the folder `5`: `results_path` reads a number as `open_study` does, and every chapter "
       "reads `results_root` only through those two")
def test_every_cell_reads_a_numeric_results_root_as_the_same_folder():
    assert results_path("pareto", "ihc-sr", "smoke", 5) == Path("5") / "pareto" / "ihc-sr-smoke.nc"
    assert results_path("pareto", "ihc-sr", "smoke", 5) == results_path("pareto", "ihc-sr", "smoke",
                                                                        folder_parameter("results_root", 5))
    with pytest.raises(TypeError, match=r"^results_root=True is not a folder"):
        results_path("pareto", "ihc-sr", "smoke", True)
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] == "code":
                for use in _uses("".join(cell["source"])):
                    assert _CALLS.search(use), f"{nb.name} reads results_root outside open_study / results_path: {use}"


@probe("silent", "a results file edited and re-signed with `content_digest` (trusted)",
       "trusted, as the errors page and the store's docstring say: the checksum guards against damage, not "
       "against a deliberate re-signing")
def test_a_re_signed_results_file_is_trusted_as_the_docs_say(tmp_path):
    path = tmp_path / "main_results" / "ihc-sr-smoke.nc"
    save_results(xr.Dataset({"psnr": ("sample", np.zeros(3))}), path)
    ds = xr.load_dataset(path)
    ds["psnr"] = ds["psnr"] + 99
    ds.attrs[CHECKSUM] = content_digest(ds)     # the checksum leaves itself out
    ds.to_netcdf(path, engine="h5netcdf")
    assert float(load_results(path)["psnr"][0]) == 99
    errors = " ".join((ROOT / "docs" / "errors.md").read_text().split())
    assert "It is no signature: a person who edits the numbers and computes the checksum again on purpose is not " \
           "caught" in errors
