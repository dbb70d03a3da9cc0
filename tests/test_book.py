"""Book infrastructure: config bridge, generated toc, charts, and an offline render in headless chromium.

The central test builds a one-page book with the project's own _config.yml and vendored MathJax from a
notebook executed by papermill (an SVG chart, an interactive chart, an image grid, maths), then opens
the HTML in Debian chromium with DNS mapped to nowhere and checks that everything drew.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import altair as alt
import nbformat
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from PIL import Image

from spectral_collapse.plotting import (
    compose_grid, metric_bars, metric_heatmap, setup_altair, vega_versions, write_vega_bundle,
)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NO_CHROMIUM = "Debian chromium not installed: `apt-get install -y chromium` (.ci/run installs it)"


def _load_script(name: str):
    """Import scripts/<name>.py as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- config bridge and toc

def test_book_config_symlinks_resolve_to_top_level_files():
    for name in ("_config.yml", "_toc.yml"):
        link = ROOT / "book" / name
        assert link.is_symlink(), f"book/{name} must be a symlink so `jupyter-book build book/` finds it"
        assert link.resolve() == (ROOT / name).resolve()
        assert yaml.safe_load(link.read_text()), f"book/{name} does not resolve to a readable YAML file"


def test_config_is_offline_and_does_not_execute():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    sphinx = config["sphinx"]
    extensions = sphinx["config"]["extensions"]
    assert {"sphinx.ext.autodoc", "spectral_collapse.pipeline.sphinx_docstrings", "myst_nb",
            "sphinx_book_theme"} <= set(extensions)
    # thebe is off, and its extension would write a duplicate `const` script into every page
    assert config["launch_buttons"]["thebe"] is False and "sphinx_thebe" not in extensions
    assert "extra_extensions" not in sphinx, "sphinx.config.extensions is the whole list; extra_extensions is ignored"
    mathjax = sphinx["config"]["mathjax_path"]
    assert "://" not in mathjax
    extra = ROOT / "book" / sphinx["config"]["html_extra_path"][0]
    # Sphinx serves mathjax_path from _static/, and html_extra_path is copied to the html root
    assert (extra / Path(mathjax).relative_to("..")).is_file()
    assert (extra / "mathjax" / "a11y" / "assistive-mml.js").is_file()


def test_make_toc_lists_only_present_notebooks_in_study_order(tmp_path):
    make_toc = _load_script("make_toc")
    studies = tmp_path / "book" / "studies"
    studies.mkdir(parents=True)
    for name in ("pca-ihc-sr", "zzz_new-ihc-sr", "main_results-ihc-sr", "main_results-edges", ".hidden"):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# Study: {name.partition('-')[2]}")])
        nbformat.write(nb, studies / f"{name}.ipynb")
    pkg = tmp_path / "src" / "spectral_collapse"
    (pkg / "metrics").mkdir(parents=True)
    for rel in ("__init__.py", "cli.py", "metrics/__init__.py", "metrics/spectral.py", "metrics/_private.py"):
        (pkg / rel).write_text('"""x."""\n')
    assert make_toc.main(["--root", str(tmp_path)]) == 0
    toc = yaml.safe_load((tmp_path / "_toc.yml").read_text())
    parts = {p["caption"]: [c["file"] for c in p["chapters"]] for p in toc["parts"]}
    assert parts["Studies"] == ["studies/index"]
    # the paper's story: the main results first (in registry order within the part); a study no part lists last
    # one page per study, written beside its chapters (book/studies/<study>.ipynb), both datasets on one
    assert parts["Main results"] == ["studies/main_results"]
    assert parts["Other studies"] == ["studies/pca", "studies/zzz_new"]
    assert "## ihc-sr" in (studies / "main_results.ipynb").read_text()
    assert (studies / "pca.ipynb").read_bytes() == (studies / "pca-ihc-sr.ipynb").read_bytes()
    captions = [p["caption"] for p in toc["parts"]]
    assert captions.index("Main results") < captions.index("Other studies") < captions.index("Reproduction")
    api = (tmp_path / "book" / "api.md").read_text()
    assert re.findall(r"\.\. automodule:: (\S+)", api) == ["spectral_collapse.cli", "spectral_collapse.metrics.spectral"]
    # each module under its own heading, inside its subpackage's section; no section heading twice
    assert re.findall(r"^(#+ .*)$", api, re.M)[1:] == [
        "## `spectral_collapse`: top-level modules", "### `spectral_collapse.cli`",
        "## `spectral_collapse.metrics`", "### `spectral_collapse.metrics.spectral`"]
    assert make_toc.main(["--root", str(tmp_path), "--check"]) == 0
    (studies / "pareto-ihc-sr.ipynb").write_text("{}")
    assert make_toc.main(["--root", str(tmp_path), "--check"]) == 1


def test_make_toc_without_studies_is_valid_for_sphinx_external_toc(tmp_path):
    from sphinx_external_toc.parsing import parse_toc_yaml

    make_toc = _load_script("make_toc")
    path = tmp_path / "_toc.yml"
    path.write_text(make_toc.render_toc([]))
    site = parse_toc_yaml(path)
    assert site.root.docname == "intro"
    committed = parse_toc_yaml(ROOT / "_toc.yml")
    for doc in committed:
        if not doc.startswith("studies/") or doc == "studies/index":
            assert any((ROOT / "book" / f"{doc}{ext}").is_file() for ext in (".md", ".ipynb")), \
                f"_toc.yml names book/{doc}, which does not exist as .md or executed .ipynb"
    # the book builds only the files its toc lists (only_build_toc_files): a page left out is silently dropped
    pages = {str(p.relative_to(ROOT / "book").with_suffix("")) for p in (ROOT / "book").rglob("*.md")
             if not {"_build", "_vendor", "_generated", "_static"} & set(p.relative_to(ROOT / "book").parts)}
    assert pages <= set(committed), f"book pages missing from _toc.yml (never built): {sorted(pages - set(committed))}"


def test_environment_yml_pins_match_constraints():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line:
            name, version = line.strip().split("==")
            pins[name.lower().replace("_", "-")] = version
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {}
    for req in pip:
        if "==" in req:
            name, version = req.split("==")
            listed[name.lower()] = version
            pinned = pins.get(name.lower())
            assert pinned == version, f"environment.yml has {req}; constraints.txt has {pinned}"
    assert any(req.startswith("-e ") for req in pip)
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        name = re.split(r"[<>=\[ ;]", dep, maxsplit=1)[0].lower()
        assert name in listed, f"pyproject dependency {name} is not pinned in environment.yml"


def test_makefile_book_runs_studies_then_toc_then_build():
    if shutil.which("make") is None:
        pytest.skip("make not installed")
    out = subprocess.run(["make", "-n", "-B", "book"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    expected = ("pip install -c constraints.txt -e", "spectral_collapse.cli studies --profile quick",
                "scripts/make_toc.py", "jupyter-book build book/")
    steps = [out.index(s) for s in expected]
    assert steps == sorted(steps), out


def test_make_test_slow_runs_the_slow_tests_and_ci_runs_the_test_command():
    """`make test` leaves the tests marked slow out (pyproject's -m), `make test-slow` runs only them through the same
    installation, and .ci/run runs `make test`, the README's test command, then `make test-slow` on the tests of the
    built book."""
    if shutil.which("make") is None:
        pytest.skip("make not installed")
    import shlex
    import tomllib

    addopts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    assert "not slow" in shlex.split(addopts)[shlex.split(addopts).index("-m") + 1]
    for target, marker in (("test", None), ("test-slow", "slow and not gpu")):
        out = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
        assert "pip install -c constraints.txt -e" in out, out
        pytest_line = shlex.split([line for line in out.splitlines() if "bin/pytest" in line][-1])
        assert (pytest_line[pytest_line.index("-m") + 1] if "-m" in pytest_line else None) == marker, pytest_line
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    runs = [line for line in ci if line.startswith("make ")]
    assert [r.split()[1] for r in runs] == ["test", "test-slow"], runs
    slow_files = shlex.split(runs[1].split("PYTEST_ARGS=", 1)[1].split("||")[0])[0].split()
    assert slow_files == ["tests/test_book.py", "tests/test_book_pages.py"]
    assert all((ROOT / f).is_file() for f in slow_files)


# --------------------------------------------------------------------------- charts and image grid

def _results() -> xr.Dataset:
    rng = np.random.default_rng(1)
    return xr.Dataset(
        {"psnr": (("method", "guidance", "seed", "sample"), rng.normal(20, 3, (3, 2, 4, 5))),
         "s_hf": (("method", "guidance", "seed", "sample"), rng.random((3, 2, 4, 5)))},
        coords={"method": ["DDIM", "EDM", "TABA"], "guidance": ["none", "OVG"], "seed": [0, 1, 2, 3]},
    )


def _layer_data(chart) -> pd.DataFrame:
    spec = chart.to_dict()
    (values,) = spec["datasets"].values()
    return pd.DataFrame(values)


def test_metric_bars_mean_and_std_over_seeds():
    ds = _results()
    chart = metric_bars(ds, "psnr", color="guidance")
    data = _layer_data(chart).set_index(["method", "guidance"])
    per_seed = ds["psnr"].mean("sample")
    for method in ds.method.values:
        for guidance in ds.guidance.values:
            runs = per_seed.sel({"method": method, "guidance": guidance}).values
            row = data.loc[(method, guidance)]
            np.testing.assert_allclose(row["mean"], runs.mean())
            np.testing.assert_allclose(row["std"], runs.std(ddof=1))
            np.testing.assert_allclose(row["hi"] - row["lo"], 2 * runs.std(ddof=1))
    marks = [layer["mark"]["type"] for layer in chart.to_dict()["layer"]]
    assert marks == ["point", "errorbar", "errorbar"]   # a mean with its interval: a point, the rule over a halo


def test_metric_bars_rejects_unknown_dimension():
    with pytest.raises(KeyError, match="scale"):
        metric_bars(_results(), "psnr", color="scale")


def test_the_heatmap_aggregates_correctly():
    ds = _results()
    cells = _layer_data(metric_heatmap(ds, "s_hf", x="method", y="guidance", agg="median"))
    cell = cells[(cells.method == "TABA") & (cells.guidance == "none")].iloc[0]
    np.testing.assert_allclose(cell["s_hf"], np.median(ds.s_hf.sel({"method": "TABA", "guidance": "none"})))


def test_charts_render_to_svg_offline():
    import vl_convert as vlc

    ds = _results()
    for chart in (metric_bars(ds, "psnr"),
                  metric_heatmap(ds, "psnr", x="method", y="guidance")):
        svg = vlc.vegalite_to_svg(chart.to_dict())
        assert svg.lstrip().startswith("<svg") and "DDIM" in svg


def test_compose_grid_pixels_and_layout():
    gray = np.linspace(-1, 1, 2 * 1 * 4 * 4).reshape(2, 1, 4, 4)
    rgb = -np.ones((3, 3, 8, 8))
    rgb[1, 0] = 1.0  # pure red in [-1, 1]
    grid = compose_grid({"low-res": gray, "output": rgb}, pad=2, titles=["a", "b", "c"], min_cell=8)
    size, pad = 8, 2
    arr = np.asarray(grid)
    title_h = 12 + 2 * pad
    label_w = grid.width - 3 * (size + pad) - pad
    assert grid.height == title_h + 2 * (size + pad) + pad
    # first gray image, nearest-neighbour upscaled 4 -> 8: pixel (0,0) block is value -1 -> 0, last is +1 -> 255
    top, left = title_h + pad, label_w + pad
    expected = np.rint((gray[0, 0] + 1) / 2 * 255).astype(np.uint8).repeat(2, 0).repeat(2, 1)
    np.testing.assert_array_equal(arr[top:top + size, left:left + size, 0], expected)
    # red image in the second row, second column
    top2, left2 = top + size + pad, left + size + pad
    assert (arr[top2:top2 + size, left2:left2 + size] == [255, 0, 0]).all()
    # the missing third gray image is background
    assert (arr[top:top + size, left + 2 * (size + pad):left + 2 * (size + pad) + size] == 255).all()


def test_compose_grid_shows_latents_channel_by_channel():
    """4-channel latents (a VAE's) are drawn as a 2 x 2 mosaic of grey panels, channel c at row c // 2, column c % 2."""
    import numpy as np

    lat = np.zeros((1, 4, 2, 2))
    for c in range(4):
        lat[0, c] = -1 + 2 * c / 3  # channel c has one grey level
    grid = np.asarray(compose_grid({"z": lat}, pad=0, cell=4, min_cell=4))
    tile = grid[:, -4:]  # the one 4 x 4 tile, after the label
    for c in range(4):
        r, q = divmod(c, 2)
        assert (tile[2 * r:2 * r + 2, 2 * q:2 * q + 2] == round(255 * c / 3)).all()
    odd = np.asarray(compose_grid({"z": np.ones((1, 2, 2, 2))}, pad=0, cell=4, min_cell=4))[:, -4:]
    assert (odd[:2, :2] == 255).all() and (odd[2:, :] == 128).all()  # 2 channels: a 2 x 2 mosaic, 2 panels unused


def test_compose_grid_marks_failed_samples_instead_of_drawing_them():
    """A non-finite sample, or one the caller marks failed, is a grey tile; a row of failures says so in its label."""
    ok = np.zeros((2, 3, 8, 8))           # mid-grey in [-1, 1] -> 128
    nan = ok.copy()
    nan[1, 0, 3, 3] = np.nan              # second sample non-finite
    size, pad = 48, 2
    plain = compose_grid({"out": ok}, pad=pad, cell=size)
    marked = compose_grid({"out": ok}, pad=pad, cell=size, failed={"out": [False, True]})
    auto = compose_grid({"out": nan}, pad=pad, cell=size)
    allbad = compose_grid({"out": ok}, pad=pad, cell=size, failed={"out": [True, True]})
    for g in (plain, marked, auto):
        assert g.width == plain.width
    left1 = plain.width - (size + pad)   # second column
    def tile(g, left):
        return np.asarray(g)[pad:pad + size, left:left + size]
    assert (tile(plain, left1) == 128).all()
    for g in (marked, auto):
        t = tile(g, left1)
        assert (t == 200).mean() > 0.8 and (t[..., 0] == 90).any()   # the grey tile with the word, not the image
        assert (tile(g, left1 - (size + pad)) == 128).all()  # the first sample is drawn as it is
    assert allbad.width > plain.width    # the label grew by " (all failed)"


def test_setup_altair_modes():
    try:
        assert setup_altair() == "svg" and alt.renderers.active == "svg"
        with pytest.raises(ValueError, match="svg, interactive"):
            setup_altair("mimetype")
    finally:
        alt.renderers.enable("default")


# --------------------------------------------------------------------------- the tiny offline book

NOTEBOOK_CELLS = [
    ("markdown", "# Tiny page\n\nInline maths $\\sigma_t^2 = (1 - \\bar\\alpha_t) / \\bar\\alpha_t$ and a display:\n\n"
                 "$$\n\\mathbf{u}_{HF} = -\\eta_{HF} \\left(\\mathbf{g}_{HF} - \\frac{\\langle \\mathbf{g}_{HF},"
                 " \\mathbf{g}_{LF}\\rangle}{\\lVert \\mathbf{g}_{LF}\\rVert_2^2} \\mathbf{g}_{LF}\\right)\n$$"),
    ("parameters", "n_samples = 3"),
    ("code", "import numpy as np, xarray as xr\n"
             "from spectral_collapse.plotting import setup_altair, metric_bars, image_grid\n"
             "rng = np.random.default_rng(0)\n"
             "ds = xr.Dataset({'psnr': (('method', 'seed', 'sample'), rng.normal(20, 2, (3, 2, n_samples))),\n"
             "                 's_hf': (('method', 'seed', 'sample'), rng.random((3, 2, n_samples)))},\n"
             "                coords={'method': ['DDIM', 'EDM', 'TABA'], 'seed': [0, 1]})\n"
             "setup_altair('svg')\n"
             "metric_bars(ds, 'psnr', title='svgchart')"),
    ("code", "setup_altair('interactive')\nmetric_bars(ds, 's_hf')"),
    ("code", "image_grid({'row': rng.uniform(-1, 1, (2, 3, 8, 8))})"),
]


@pytest.fixture(scope="module")
def tiny_book(tmp_path_factory):
    """Executed one-notebook book built with the project's _config.yml; returns the html folder."""
    import nbformat
    import papermill

    root = tmp_path_factory.mktemp("tinybook")
    book = root / "book"
    book.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, source in NOTEBOOK_CELLS:
        if kind == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
        else:
            cell = nbformat.v4.new_code_cell(source)
            if kind == "parameters":
                cell.metadata["tags"] = ["parameters"]
            nb.cells.append(cell)
    nbformat.write(nb, root / "page.ipynb")
    papermill.execute_notebook(str(root / "page.ipynb"), str(book / "page.ipynb"), parameters={"n_samples": 4},
                               kernel_name="python3", progress_bar=False, cwd=str(root))
    shutil.copy(ROOT / "_config.yml", book / "_config.yml")
    (book / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    shutil.copytree(ROOT / "book" / "_vendor", book / "_vendor")
    write_vega_bundle(book / "_static" / "vega-offline.js")
    proc = subprocess.run([str(BIN / "jupyter-book"), "build", str(book), "-W", "--keep-going"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return book / "_build" / "html"


def _chromium(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    """Headless chromium with the network cut off (every host name resolves to nothing)."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=8000", "--window-size=1280,1600",
           f"--user-data-dir={tmp_path / 'profile'}", *extra, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


# Injected first into a copy of a page: records uncaught errors (a script's SyntaxError included), failed loads of
# scripts, styles and images, unhandled promise rejections and console.error calls into a <pre> that --dump-dom shows.
_PROBE = """<script>(function () {
  var seen = [];
  function keep(what) { seen.push(String(what)); var pre = document.getElementById("console-errors-probe");
                        if (pre) { pre.textContent = JSON.stringify(seen); } }
  window.addEventListener("error", function (e) {
    var el = e.target;
    if (el && el !== window && (el.src || el.href)) { keep("failed to load " + (el.src || el.href)); }
    else { keep(e.message + " (" + (e.filename || "") + ":" + (e.lineno || 0) + ")"); }
  }, true);
  window.addEventListener("unhandledrejection", function (e) { keep("unhandled rejection: " + e.reason); });
  var error = console.error;
  console.error = function () { keep("console.error: " + Array.prototype.join.call(arguments, " "));
                                return error.apply(console, arguments); };
  document.addEventListener("DOMContentLoaded", function () {
    var pre = document.createElement("pre"); pre.id = "console-errors-probe"; pre.hidden = true;
    pre.textContent = JSON.stringify(seen); document.body.appendChild(pre);
  });
})();</script>"""


def open_page(page: Path, tmp_path: Path, *extra: str) -> tuple[str, list[str]]:
    """The DOM of ``page`` after headless chromium (network cut off) ran it, and the JavaScript errors it raised:
    uncaught exceptions (a duplicate ``const`` declaration is one), failed loads of a script, style or image,
    unhandled promise rejections, console.error calls, and any "Uncaught" line chromium logs. The page is opened from
    a copy beside it (same folder, so its relative links hold) with the probe script put first into its head."""
    from html import unescape

    html = page.read_text(errors="replace")
    if "<head>" not in html:  # a redirect stub (the book's index.html): only chromium's own log is read
        proc = _chromium(page.as_uri(), tmp_path, "--dump-dom", "--enable-logging=stderr", "--v=0", *extra)
        return proc.stdout, [line for line in proc.stderr.splitlines() if "CONSOLE" in line and "Uncaught" in line]
    probe = page.with_name(f".probe-{page.name}")
    probe.write_text(html.replace("<head>", "<head>" + _PROBE, 1))
    try:
        proc = _chromium(probe.as_uri(), tmp_path, "--dump-dom", "--enable-logging=stderr", "--v=0", *extra)
    finally:
        probe.unlink()
    m = re.search(r'<pre id="console-errors-probe"[^>]*>(.*?)</pre>', proc.stdout, re.S)
    assert m, f"{page.name}: the probe did not run; chromium said: {proc.stderr[-1500:]}"
    found = json.loads(unescape(m.group(1)))
    found += [line for line in proc.stderr.splitlines() if "CONSOLE" in line and "Uncaught" in line]
    return proc.stdout, found


# Injected into a copy of a page, run once it has loaded: where the chapter's answer starts (the top of the first bold
# "Answer"; and of each one above the first section heading: a study page's answer per dataset), what runs past the text column (an element whose right edge passes the column's, or a table's output box
# that scrolls sideways) and each image's drawn and natural width; written as JSON into a <pre> that --dump-dom shows.
_LAYOUT = """<script>window.addEventListener("load", function () { setTimeout(function () {
  var out = {answer: null, overflow: [], images: []};
  var art = document.querySelector("article.bd-article") || document.body;
  var style = getComputedStyle(art), box = art.getBoundingClientRect();
  var right = box.right - parseFloat(style.paddingRight);
  out.column = art.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  var strong = [].filter.call(art.querySelectorAll("strong"),
                              function (s) { return /^\\s*Answer\\b/.test(s.textContent); });
  if (strong.length) { out.answer = strong[0].getBoundingClientRect().top + window.scrollY; }
  var h2 = art.querySelector("h2"), below = h2 ? h2.getBoundingClientRect().top : Infinity;
  out.answers = strong.filter(function (s) { return s.getBoundingClientRect().top < below; })
                      .map(function (s) { return s.getBoundingClientRect().top + window.scrollY; });
  [].forEach.call(art.querySelectorAll("*"), function (el) {
    var r = el.getBoundingClientRect();
    if (!r.width || el.closest("details:not([open]), .sd-dropdown:not([open]), mjx-assistive-mml, .bd-toc")) { return; }
    var scrolls = /auto|scroll/.test(getComputedStyle(el).overflowX) && el.scrollWidth > el.clientWidth + 1
                  && !el.closest("pre, .highlight");
    if (scrolls || (r.right > right + 1 && !el.closest("pre, .highlight"))) {
      var by = Math.round(Math.max(r.right - right, el.scrollWidth - el.clientWidth));
      var text = (el.textContent || "").replace(/\\s+/g, " ").trim().slice(0, 80);
      out.overflow.push(el.tagName.toLowerCase() + " " + by + " px: " + text);
    }
  });
  [].forEach.call(art.querySelectorAll("img"), function (im) {
    out.images.push({src: im.getAttribute("src"), drawn: im.getBoundingClientRect().width, natural: im.naturalWidth});
  });
  var pre = document.createElement("pre"); pre.id = "layout-probe"; pre.hidden = true;
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
}, 300); });</script>"""
FIRST_SCREEN = (1400, 900)   # a reader's window: the answer starts above its lower edge


def page_layout(page: Path, tmp_path: Path) -> dict:
    """The layout of ``page`` in headless chromium at ``FIRST_SCREEN``: ``answer`` (px from the top where the first
    bold "Answer" starts; None when the page has none), ``answers`` (where each one above the first section starts), ``column`` (the text column's width), ``overflow`` (what runs
    past the column or scrolls sideways, each with how far) and ``images`` (src, drawn and natural width)."""
    from html import unescape

    probe = page.with_name(f".layout-{page.name}")
    probe.write_text(page.read_text(errors="replace").replace("<head>", "<head>" + _LAYOUT, 1))
    try:
        proc = _chromium(probe.as_uri(), tmp_path, "--dump-dom", f"--window-size={FIRST_SCREEN[0]},{FIRST_SCREEN[1]}")
    finally:
        probe.unlink()
    m = re.search(r'<pre id="layout-probe"[^>]*>(.*?)</pre>', proc.stdout, re.S)
    assert m, f"{page.name}: the layout probe did not run; chromium said: {proc.stderr[-1500:]}"
    return json.loads(unescape(m.group(1)))


def svg_text_px(svg: Path) -> float | None:
    """The smallest font size (px) a chart's SVG sets; None when it sets none."""
    sizes = [float(x) for x in re.findall(r'font-size(?:="|:\s*)([\d.]+)(?:px)?', svg.read_text(errors="replace"))]
    return min(sizes) if sizes else None


def console_errors(page: Path, tmp_path: Path) -> list[str]:
    """The JavaScript errors ``page`` raises in headless chromium (see open_page)."""
    return open_page(page, tmp_path)[1]


@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_console_error_probe_sees_a_duplicate_declaration_and_a_missing_script(tmp_path):
    page = tmp_path / "site" / "page.html"
    page.parent.mkdir()
    page.write_text('<html><head><script>const X = 1;</script><script>const X = 2;</script>'
                    '<script src="missing.js"></script></head><body><p>x</p>'
                    '<script>console.error("broken");</script></body></html>')
    found = " | ".join(console_errors(page, tmp_path))
    assert "already been declared" in found and "missing.js" in found and "broken" in found, found
    page.write_text("<html><head><script>const X = 1;</script></head><body><p>x</p></body></html>")
    assert console_errors(page, tmp_path) == []
    assert sorted(p.name for p in page.parent.iterdir()) == ["page.html"]  # the probe copy is gone


@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_tiny_book_raises_no_javascript_error(tiny_book, tmp_path):
    """The project's _config.yml gives pages that run without a console error (no script declared twice, no
    script or style that fails to load offline)."""
    assert console_errors(tiny_book / "page.html", tmp_path) == []


def test_tiny_book_html_uses_only_local_scripts(tiny_book):
    html = (tiny_book / "page.html").read_text()
    scripts = re.findall(r'<script[^>]*\ssrc="([^"]+)"', html)
    assert any("mathjax/tex-svg-full.js" in s for s in scripts)
    assert any("vega-offline.js" in s for s in scripts)
    remote = [s for s in scripts if "://" in s]
    assert remote == [], f"remote scripts would need a network: {remote}"
    assert sum("tex-svg-full.js" in s for s in scripts) == 1, "MathJax must be loaded exactly once"
    # the interactive chart asks for exactly the library versions the offline bundle presets
    versions = vega_versions()
    assert f'maybeLoadScript("vega-lite", "{versions["vegalite_version"]}")' in html
    bundle_head = (tiny_book / "_static" / "vega-offline.js").read_text()[:400]
    assert json.dumps(versions, sort_keys=True) in bundle_head


@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_tiny_book_renders_offline_in_chromium(tiny_book, tmp_path):
    proc = _chromium((tiny_book / "page.html").as_uri(), tmp_path, "--dump-dom")
    dom = proc.stdout
    assert "<html" in dom, proc.stderr[-2000:]
    # the SVG chart is an image myst-nb wrote next to the page
    svgs = re.findall(r'<img[^>]+src="([^"]+\.svg)"', dom)
    assert svgs, "no <img> of an SVG chart in the page"
    # (a chart title is written with a capital first letter: "Svgchart")
    assert any("svgchart" in (tiny_book / s).read_text().lower() for s in svgs)
    # the interactive chart drew through the offline bundle (vega-embed inserts its marks into the page)
    assert re.search(r'class="vega-embed[^"]*".*?<(svg|canvas)[^>]*class="marks"', dom, re.S), \
        "vega-embed did not draw the interactive chart"
    shown = re.sub(r"<script\b.*?</script>", "", dom, flags=re.S)  # the page without its script sources
    assert "Error loading script" not in shown and "JavaScript Error" not in shown
    # MathJax typeset both formulas: output elements present, no TeX source left
    assert shown.count("<mjx-container") >= 2
    assert "\\mathbf{u}" not in shown and "\\bar\\alpha" not in shown
    assert re.search(r'<img[^>]+src="[^"]+\.png"', dom), "image grid missing"


@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_tiny_book_screenshot(tiny_book, tmp_path):
    shot = tmp_path / "page.png"
    proc = _chromium((tiny_book / "page.html").as_uri(), tmp_path, f"--screenshot={shot}")
    assert shot.is_file(), proc.stderr[-2000:]
    img = np.asarray(Image.open(shot).convert("L"))
    assert img.shape == (1600, 1280)
    assert (img < 128).mean() > 0.005, "screenshot is (nearly) blank"


@pytest.mark.slow
def test_real_book_builds_as_typed(real_book):
    """`jupyter-book build book/` from the repository root, through the symlinked config (autodoc imports all)."""
    html = real_book
    assert (html / "mathjax" / "tex-svg-full.js").is_file()
    assert "save_results" in (html / "api.html").read_text()
    assert not dead_links(html), dead_links(html)[:20]
    assert not raw_output(html), raw_output(html)[:20]


def dead_links(html: Path) -> list[str]:
    """Links of the built pages that lead nowhere: an internal href whose file does not exist, and http(s) links
    made from bare file names (linkify turning ``ARCHITECTURE.md`` into http://ARCHITECTURE.md)."""
    import re
    from urllib.parse import unquote, urlsplit

    bad = []
    for page in sorted(html.rglob("*.html")):
        if {"_static", "_sources"} & set(page.relative_to(html).parts):  # the theme's template fragments
            continue
        for href in re.findall(r'href="([^"]+)"', page.read_text(errors="replace")):
            parts = urlsplit(href)
            if parts.scheme in ("http", "https"):
                if re.fullmatch(r"[\w.-]+\.(md|py|json|yml|csv|ipynb)", parts.netloc):
                    bad.append(f"{page.relative_to(html)}: {href}")
                continue
            if parts.scheme or not parts.path:  # mailto:, javascript:, a bare #anchor
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if not target.exists():
                bad.append(f"{page.relative_to(html)}: {href}")
    return bad


_HTML_TAGS = set("""a abbr address area article aside audio b base bdi bdo blockquote body br button canvas caption
cite code col colgroup data datalist dd del details dfn dialog div dl dt em embed fieldset figcaption figure footer
form h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe img input ins kbd label legend li link main map mark menu
meta meter nav noscript object ol optgroup option output p param picture pre progress q rp rt ruby s samp script
search section select slot small source span strong style sub summary sup table tbody td template textarea tfoot th
thead time title tr track u ul var video wbr svg path g defs use symbol rect circle line polyline polygon text tspan
clippath lineargradient radialgradient stop mask pattern marker title desc foreignobject image ellipse math mi mo mn
ms mtext mrow msup msub msubsup mfrac msqrt mroot mtable mtr mtd mspace mstyle semantics annotation mover munder
munderover mpadded mphantom menclose mjx-container""".split())
_RAW = [("NaN", r"(?i)(?<![\w-])nan(?![\w-])"), ("a traceback", r"Traceback"),
        ("a printed warning", r"\b\w*Warning: "), ("a machine path", r"(?<![\w.~])/(?:root|home|tmp|work|check|usr|opt)/"),
        ("a commit hash", r"\b(?:commit|revision) [0-9a-f]{7,40}\b|\b[0-9a-f]{40}\b"),
        ("a file readers do not have", r"\b[\w-]+-facts\.md\b|shared/reference"),
        ("a raw role", r"\{(?:glue|eval)(?::\w+)?\}"),
        ("a numpy repr", r"\bnp\.(?:(?:u?int|float|complex)\d+\(|(?:str|bool)_\(|(?:True|False)_\b)")]
_ROLE_GUIDES = ("extending.html",)   # the guide that shows a chapter's role syntax to its writer, as code


def raw_output(html: Path) -> list[str]:
    """What no page of the built book may show a reader: NaN, a traceback, a printed warning, a machine path, a
    commit hash, a citation of a file the suite does not ship (the project's reference notes) in its visible text
    (scripts and styles left out), or a ``<placeholder>`` that the HTML swallowed
    as an unknown tag. The API reference (api.html) and the error catalogue (errors.html) may name NaN: there it is
    the value a function returns or a message names, in words, not a number shown as a result."""
    import re
    from html import unescape
    from html.parser import HTMLParser

    class Visible(HTMLParser):
        def __init__(self):
            super().__init__()
            self.text, self.tags, self.skip = [], set(), 0

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)
            self.skip += tag in ("script", "style")

        def handle_endtag(self, tag):
            self.skip -= tag in ("script", "style") and self.skip > 0

        def handle_data(self, data):
            if not self.skip:
                self.text.append(data)

    bad = []
    for page in sorted(html.rglob("*.html")):
        if {"_static", "_sources"} & set(page.relative_to(html).parts):
            continue
        v = Visible()
        v.feed(page.read_text(errors="replace"))
        text = unescape(" ".join(v.text))
        for what, pattern in _RAW:
            if what == "NaN" and page.name in ("api.html", "errors.html") or what == "a raw role" and (
                    page.name in _ROLE_GUIDES):
                continue
            m = re.search(pattern, text)
            if m:
                bad.append(f"{page.relative_to(html)}: {what}: ...{text[max(0, m.start() - 60):m.end() + 60]}...")
        lost = sorted(t for t in v.tags if t not in _HTML_TAGS and not t.startswith(("mjx-", "bd-", "pst-")))
        if lost:
            bad.append(f"{page.relative_to(html)}: placeholders swallowed as tags: {', '.join(lost)}")
    return bad


def test_raw_output_check_finds_what_a_reader_must_not_see(tmp_path):
    pages = {"nan.html": "<p>S_G: nan</p>", "tb.html": "<pre>Traceback (most recent call last)</pre>",
             "warn.html": "<div>RuntimeWarning: invalid value</div>", "path.html": "<p>see /root/work/x.py</p>",
             "hash.html": "<p>at commit 3f2f3769c2b2</p>", "tag.html": "<p>SHA-256 <sha256>, expected</p>",
             "ref.html": "<p>as the released code does (ovg-official-facts.md 1.5)</p>",
             "ok.html": "<p>nanometre scale; a warning is stated in words; data/results/x.nc; &lt;sha256&gt;</p>"
                        "<script>var x = NaN; // /root/</script>",
             "api.html": "<p>Returns NaN where no sample is kept.</p>",  # the reference names the value it returns
             "errors.html": "<p>A crop holding NaN scores NaN and is left out.</p>",  # as does a message it lists
             "role.html": "<p>with <code>--jobs {glue:text}`cl_jobs</code> workers</p>",
             "np.html": "<p>np.int64(590) target crops</p>",
             "npok.html": "<p><code>np.round(x).astype(np.uint8)</code></p>",
             "extending.html": "<p>write <code>{glue:text}`name`</code> in the text</p>"}
    for name, body in pages.items():
        (tmp_path / name).write_text(f"<html><body>{body}</body></html>")
    found = raw_output(tmp_path)
    kept = ("ok.html", "api.html", "errors.html", "npok.html", "extending.html")
    assert sorted(f.split(":")[0] for f in found) == sorted(n for n in pages if n not in kept), found
    (tmp_path / "api.html").write_text("<p>Traceback (most recent call last)</p>")  # only NaN is the reference's
    assert any(f.startswith("api.html: a traceback") for f in raw_output(tmp_path))


def test_dead_link_check_finds_missing_pages_and_linkified_file_names(tmp_path):
    (tmp_path / "a.html").write_text('<a href="b.html#x">b</a> <a href="missing.html">m</a> '
                                     '<a href="http://ARCHITECTURE.md">x</a> <a href="https://example.org/a">ok</a>')
    (tmp_path / "b.html").write_text("")
    assert dead_links(tmp_path) == ["a.html: missing.html", "a.html: http://ARCHITECTURE.md"]

