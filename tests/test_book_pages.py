"""The book's pages: in the toc, their generated fragments and figures (numbers from stored results, never typed), the
notebook pages executed into book/, the build, and every page of the real book opened in headless chromium with the
network cut off."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from spectral_collapse.pipeline import fragments as F
from spectral_collapse.pipeline.execute import PAGES as BOOK_PAGES
from spectral_collapse.tables import reproducing as R
from spectral_collapse.claims import scorecard as S
from spectral_collapse.claims import evidence as EV
from spectral_collapse.framework.store import results_path, save_results
from test_book import (BIN, CHROMIUM, FIRST_SCREEN, NO_CHROMIUM, ROOT, _chromium, _load_script, open_page, page_layout,
                       svg_text_px)

MD_PAGES = ["reproducing", "extending", "methods"]
PAGES = [*BOOK_PAGES, *MD_PAGES]
INCLUDE = re.compile(r"```\{include\}\s+(\S+)")


def toc_docs(path: Path) -> list[str]:
    from sphinx_external_toc.parsing import parse_toc_yaml

    return list(parse_toc_yaml(path))


# ------------------------------------------------------------------------------------------------ toc and files

def test_every_page_is_in_the_toc_and_its_includes_exist():
    make_toc = _load_script("make_toc")
    docs = toc_docs(ROOT / "_toc.yml")
    rendered = yaml.safe_load(make_toc.render_toc([]))
    assert rendered["parts"][1]["chapters"][0]["file"] == "studies/index"  # the studies part stays second
    for page in PAGES:
        assert page in docs, f"{page} is not in _toc.yml; run `make toc`"
        assert page == "intro" or f"file: {page}\n" in make_toc.render_toc([])
    for page in BOOK_PAGES:   # a notebook page: its source and the page executed from it, no .md beside it
        assert (ROOT / "notebooks" / "book" / f"{page}.ipynb").is_file()
        assert (ROOT / "book" / f"{page}.ipynb").is_file() and not (ROOT / "book" / f"{page}.md").exists()
    for page in MD_PAGES:
        src = ROOT / "book" / f"{page}.md"
        assert src.is_file()
        for inc in INCLUDE.findall(src.read_text()):
            target = (src.parent / inc).resolve()
            assert target.is_file(), f"{page}.md includes {inc}, which does not exist (run `make toc`)"
    assert docs.index("methods") < docs.index("studies/index") < docs.index("scorecard") < docs.index("api")


def test_fragments_cover_every_include_and_degrade_without_results(tmp_path):
    make_toc = _load_script("make_toc")
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / make_toc.GENERATED / "old-figure.png").parent.mkdir(parents=True)
    (tmp_path / "book" / make_toc.GENERATED / "old-figure.png").write_bytes(b"x")
    written = make_toc.write_fragments(tmp_path, "quick")
    gen = tmp_path / "book" / make_toc.GENERATED
    assert not (gen / "old-figure.png").exists()              # stale files are removed
    names = {p.name for p in gen.iterdir()}
    wanted = {Path(inc).name for page in MD_PAGES for inc in INCLUDE.findall((ROOT / "book" / f"{page}.md").read_text())
              if "_generated" in inc}
    assert wanted <= names and len(written) >= len(wanted)
    assert "measure_paper_unet" in (gen / "reproducing.md").read_text()
    assert make_toc.write_fragments(tmp_path, "quick") == []  # idempotent


def _main_results(dataset="ihc-sr", n_img=3, seeds=(0, 1)) -> xr.Dataset:
    rng = np.random.default_rng(0)
    methods = ["ddim", "taba", "ovg"]
    shape = (len(methods), len(seeds), 4)
    ds = xr.Dataset({m: (("method", "seed", "sample"), rng.random(shape)) for m in ("psnr", "s_hf", "s_lf", "s_dc")},
                    coords={"method": methods, "seed": list(seeds), "sample": range(4)})
    ds["s_g"] = (("method", "seed"), rng.random(shape[:2]))
    img = ("image", "channel", "y", "x")
    ds["images"] = (("method", "seed", *img), rng.uniform(-1, 1, (*shape[:2], n_img, 3, 8, 8)))
    ds["latents"] = (("method", "seed", *img), rng.standard_normal((*shape[:2], n_img, 3, 8, 8)))
    ds["source_images"] = (img, rng.uniform(-1, 1, (n_img, 3, 8, 8)))
    ds["truth_images"] = (img, rng.uniform(-1, 1, (n_img, 3, 8, 8)))
    ds.attrs.update(dataset=dataset, profile="quick")
    return ds


def test_intro_figure_is_drawn_from_the_stored_results():
    from PIL import Image
    import io

    from spectral_collapse.plotting.figures import collapse_figure

    img = Image.open(io.BytesIO(collapse_figure(_main_results())))
    assert img.width > img.height / 2 and np.asarray(img.convert("L")).std() > 10


def test_paper_figures_numbers_are_means_of_the_stored_results(tmp_path):
    """Fig. 2's table and Fig. 4's points are means recomputed here from the stored file; Fig. 2's grid is drawn."""
    from spectral_collapse.plotting.figures import FIG2_GROUPS, fig2_grid, fig2_rows, fig4_points

    ds = _main_results()
    ds["delta_log_e_hf"] = ds["s_hf"] - 0.5
    save_results(ds, results_path("main_results", "ihc-sr", "quick", tmp_path), add_provenance=False)
    ev = EV.load_evidence(tmp_path, "quick")
    rows = fig2_rows(ds).set_index("method")
    assert list(rows.index) == ["ddim", "taba", "ovg"] and rows.loc["taba", "group"] == FIG2_GROUPS["taba"]
    assert rows.loc["taba", "s_lf"] == pytest.approx(float(ds["s_lf"].sel({"method": "taba"}).mean()))
    assert rows.loc["ovg", "delta_log_e_hf"] == pytest.approx(float(ds["s_hf"].sel({"method": "ovg"}).mean()) - 0.5)
    assert np.asarray(fig2_grid(ds).convert("L")).std() > 10
    pts = fig4_points(ev).set_index("method")
    assert len(pts) == 3 and pts.loc["ovg", "s_dc"] == pytest.approx(float(ds["s_dc"].sel({"method": "ovg"}).mean()))


def test_reproducing_fragments_from_synthetic_measurements(tmp_path):
    bench = {"date": "2026-01-01", "benchmarks": {"inversion": {
        "profile": "quick", "batch": 8, "parameters": 1_110_000,
        "rows": [{"label": "ovg", "calls_per_step": 1.0, "backward_per_step": 1.0, "mem_ratio": 1.7,
                  "ratio_cpu": {"median": 2.61, "q25": 2.5, "q75": 2.7, "n": 3}},
                 {"label": "ddim", "calls_per_step": 1.0, "backward_per_step": 0.0,
                  "ratio_cpu": {"median": 1.0, "n": 1}}]}}}
    timing = {"forward": {"cpu_s_per_image": 0.5, "wall_s_per_image": 0.6},
              "forward_backward": {"cpu_s_per_image": 1.5, "wall_s_per_image": 1.7}, "forward_flops": 2e11,
              "parameters": 8.6e8, "shape": [4, 32, 32], "threads": 1, "created": "2026-01-01",
              "machine": {"cpu": "x86_64", "cpu_count": 2, "torch": "2.x"}}
    est = R.paper_scale_estimate(timing, ovg_step_ratio=3.0).set_index("work")
    from spectral_collapse.framework.profiles import get_profile

    p = get_profile("paper")
    train = 2 * 2 * p.train_eps.steps * p.train_eps.batch_size * 1.5 / 3600
    assert est.iloc[0]["cpu_hours"] == pytest.approx(train)
    # per image: ddim 100, taba 98, edm 100, ovg 50 * 3 + 50, ovg_taba 48 * 3 + 50, ovg_edm 200 forwards
    per_image = 100 + 98 + 100 + 200 + 194 + 200
    n = 2 * p.n_test * len(p.seeds)
    assert est.iloc[1]["cpu_hours"] == pytest.approx(n * per_image * 0.5 / 3600)
    assert est.loc["total", "gpu_hours"] == pytest.approx(est.iloc[:2]["gpu_hours"].sum())
    (tmp_path / R.TIMING_FILE).parent.mkdir(parents=True)
    (tmp_path / R.TIMING_FILE).write_text(json.dumps(timing))
    assert F.bench_ovg_step_ratio(bench) == 2.61 and F.paper_timing(tmp_path) == timing
    text = F.book_fragments(tmp_path, "quick", bench)["reproducing.md"]
    assert "| OVG inversion step in forwards | 2.61 |" in text and "| total |" in text
    assert "| OVG inversion step in forwards | 5.00 |" in md_of(R.timing_table(timing))  # 2 * 1.5 / 0.5 - 1


def test_errata_checks_find_the_copied_rows():
    checks = S.errata_checks().set_index("comparison")["max |difference| but FID (FID)"]
    assert checks["Table 5 x16 TABA row vs Table 4 pixel-space TABA row"] == "0.00 (0.00)"
    assert checks["Table 5 x16 TABA row vs Table 9 TABA row (the same setting)"] != "0.00 (0.00)"
    assert checks['Table 3 U-Net "OGV" row vs Table 9 OVG + TABA'] == "0.00 (0.00)"
    assert checks["Table 10 EDM vs DDIM"].startswith("0.00")
    from spectral_collapse.reference.method_names import METHOD_NAMES
    # comparisons named with the book's method names, not the paper's (Standard, Null Class, Direct)
    assert all(re.search(rf"(?<![\w-]){w}(?![\w-])", c) is None for c in checks.index for w in ("Standard", "Direct"))
    assert any(METHOD_NAMES["null_class"] in c and METHOD_NAMES["direct_inversion"] in c for c in checks.index)


def md_of(frame: pd.DataFrame) -> str:
    from spectral_collapse.tables.main_results import md_table

    return md_table(frame)


def test_reproducing_tables_read_the_profile_and_set_the_gpu_hours_beside_the_estimate():
    """The profile table reads the profile; the GPU table's measured hours stand beside the estimate's hours for as
    many runs, with the FLOP rate the measured step reached against the one the estimate assumes."""
    from spectral_collapse.framework.profiles import get_profile

    quick, paper = get_profile("quick"), get_profile("paper")
    prof = R.profile_table("quick").set_index("quantity")["value"]
    assert prof["ε-prediction: steps, batch"] == f"{quick.train_eps.steps}, {quick.train_eps.batch_size}"
    assert prof["EDM: steps, batch"] == f"{quick.train_edm.steps}, {quick.train_edm.batch_size}"
    page = (ROOT / "book" / "reproducing.md").read_text()
    assert "minutes" not in page and "this machine" not in page and "_generated/reproducing-profile.md" in page
    timing = {"forward": {"cpu_s_per_image": 0.5}, "forward_backward": {"cpu_s_per_image": 1.5},
              "forward_flops": 2e11, "parameters": 8.6e8, "shape": [4, 32, 32], "threads": 1,
              "created": "2026-11-21T18:49:51+00:00", "machine": {"cpu": "x86_64", "cpu_count": 2,
                                                                 "torch": "2.14.1+cu130"}}
    t = R.timing_table(timing).set_index("quantity")["value"]
    assert t["PyTorch"] == "2.14.1" and t["measured"] == "2026-11-21" and t["CPU cores"] == "2"
    step_s, steps = 0.5, paper.train_eps.steps
    gpu = {"gpu": "Test GPU", "paper_scale": {"total_projected_gpu_hours": 44.4, "translation": {
        "batch": 4, "steps": 50, "ovg_s": 3.0, "ddim_s": 1.0, "ratio": 3.0},
        "train": [{"backbone": "unet", "space": "latent", "parameterization": "eps", "dataset": "bbbc021",
                   "step_s": step_s, "steps": steps, "projected_gpu_hours": step_s * steps / 3600, "params_M": 600,
                   "peak_GiB": 40.0},
                  {"backbone": "unet", "space": "pixel", "parameterization": "eps", "dataset": "bbbc021",
                   "error": "OutOfMemoryError at the paper's batch of 64 on 80 GB"}]}}
    g = R.gpu_table(gpu, timing, ovg_step_ratio=3.0).set_index("quantity")["value"]
    estimate = R.paper_scale_estimate(timing).iloc[0]["gpu_hours"] / 4      # the estimate's hours of one such run
    assert g["measured / estimated"] == f"{step_s * steps / 3600 / estimate:.1f}"
    assert g["latent U-Net runs (1), measured GPU hours"] == f"{step_s * steps / 3600:,.1f}"
    assert g["sustained TFLOP/s reached"] == f"{paper.train_eps.batch_size * 3 * 2e11 / step_s / 1e12:.0f}"
    assert g["OVG / DDIM on the GPU"] == "3.00" and g["OVG / DDIM by the estimate's step cost"] == f"{(3 + 1) / 2:.2f}"
    runs = R.gpu_train_table(gpu)
    assert runs["error"].tolist() == ["", "OutOfMemoryError"] and runs["steps"].tolist() == [f"{steps:,}", ""]


def test_a_doc_link_does_not_repeat_the_word_the():
    """`the {doc}\`claims\`` renders the page's title, "The paper's claims", after "the": such a link names
    its text."""
    for page in sorted((ROOT / "book").glob("*.md")):
        for target in re.findall(r"\b[Tt]he \{doc\}`([^`<>]+)`", page.read_text()):
            title = next(line for line in (page.parent / f"{target}.md").read_text().splitlines()
                         if line.startswith("# "))
            assert not title[2:].lower().startswith("the "), f"{page.name}: 'the {{doc}}`{target}`' reads 'the {title[2:]}'"


def _labels() -> set[str]:
    """Every MyST target label, `(name)=`, of the book pages and the study notebooks, and the dataset sections of
    the study pages (labelled with their chapter's name, pipeline.study_pages)."""
    from spectral_collapse.pipeline.study_pages import chapters_by_page

    texts = [p.read_text() for p in (ROOT / "book").rglob("*.md") if "_build" not in p.parts]
    texts += ["".join(c.get("source", "")) if isinstance(c.get("source"), str) else "".join(c["source"])
              for nb in (ROOT / "notebooks").glob("*.ipynb") for c in json.loads(nb.read_text())["cells"]]
    sections = {c.name for chapters in chapters_by_page(ROOT / "book" / "studies").values() if len(chapters) > 1
                for c in chapters}
    return sections | {m for text in texts for m in re.findall(r"^\(([\w-]+)\)=\s*$", text, re.M)}


def test_glossary_defines_the_terms_the_pages_use_and_its_links_resolve():
    glossary = ROOT / "book" / "glossary.md"
    block = glossary.read_text().split("```{glossary}", 1)[1].split("\n```", 1)[0]   # its headwords: unindented lines
    terms = {line.strip() for line in block.splitlines() if line.strip() and not line[0].isspace()}
    assert {"DDIM", "EDM", "ε-prediction", "x0-prediction", "ReNoise", "Null-Class", "DirectInversion", "EDICT",
            "BDIA", "PSNR", "MS-SSIM", "LPIPS", "FID", "k90", "Minimal effect", "ihc-sr", "ihc-edges", "Seed",
            "Training seed", "Control", "Quality gate", "Verdict"} <= terms
    text = glossary.read_text()
    verdict = " ".join(text.split("\nVerdict\n")[1].split("\n\n")[0].split())
    assert all(w in verdict for w in ("holds", "does not hold", "inconclusive", "not testable here"))
    assert "*Are the models good enough?*" not in text
    labels = _labels()
    for page in sorted((ROOT / "book").glob("*.md")):
        for label in re.findall(r"\{ref\}`[^`]*<([\w-]+)>`", page.read_text()):
            assert label in labels, f"{page.name} links to ({label})=, which no page or notebook defines"


def test_config_keeps_typed_quotes_and_dashes_and_wraps_long_code():
    """Sphinx's smart quotes would turn `--force` into an en dash and 'x' into curly quotes on every page; the
    book's stylesheet lets long inline code wrap inside the text column, and it is committed (not ignored)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["sphinx"]["config"]["smartquotes"] is False
    css = sorted((ROOT / "book" / "_static").glob("*.css"))
    assert css and any("overflow-wrap" in f.read_text() for f in css)
    ignored = subprocess.run(["git", "check-ignore", "-q", *map(str, css)], cwd=ROOT)
    assert ignored.returncode == 1, "a stylesheet under book/_static is git-ignored"


def test_pages_spell_the_command_line_one_way():
    """The book's pages and the study notebooks' prose write `python -m spectral_collapse ...` (the same command as
    `python -m spectral_collapse.cli ...`, which the library's own messages print)."""
    pages = [p for p in (ROOT / "book").glob("*.md")]
    prose = ["".join(c["source"]) for nb in (ROOT / "notebooks").glob("*.ipynb")
             for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "markdown"]
    for name, text in [(p.name, p.read_text()) for p in pages] + [("a notebook", s) for s in prose]:
        assert "python -m spectral_collapse.cli" not in text, name


def test_md_table_escapes_pipes():
    from spectral_collapse.tables.main_results import md_table

    text = md_table(pd.DataFrame({"a|b": ["x|y", 1]}))
    assert text.splitlines() == ["| a\\|b |", "|---|", "| x\\|y |", "| 1 |"]


# ------------------------------------------------------------------------------------------------ the build

def test_pages_build_in_a_book_of_their_own(tmp_path):
    """The new pages with their fragments, built with the project's config: no warning from any of them."""
    book = tmp_path / "book"
    shutil.copytree(ROOT / "book", book, ignore=shutil.ignore_patterns("_build", "studies", "api.md", "_toc.yml",
                                                                       "_config.yml"))
    (book / "studies").mkdir()
    # the study chapters are not built here: the targets the pages link to stand in, the model-quality chapter's
    # label and a page for every study page a page or fragment links with {doc}`/studies/<study>`
    (book / "studies" / "index.md").write_text("# Studies\n\n(model-quality)=\n## Are the models good enough?\n")
    texts = [f.read_text() for f in [*book.glob("*.md"), *book.glob("_generated/*.md")]]
    texts += ["".join(c["source"]) for f in book.glob("*.ipynb") for c in json.loads(f.read_text())["cells"]
              if c["cell_type"] == "markdown"]
    linked = {m for text in texts for m in re.findall(r"\{doc\}`(?:[^`<]*<)?/(studies/[\w-]+)>?`", text)}
    # and a study page's dataset sections that a page links with {ref}`ihc-sr <pareto-ihc-sr>`
    sections = {m for text in texts for m in re.findall(r"\{ref\}`[^`<]*<(\w+-ihc-[\w-]+)>`", text)}
    linked = sorted(linked | {f"studies/{label.split('-')[0]}" for label in sections})
    for doc in linked:
        labelled = [f"({x})=\n## {x}\n" for x in sorted(sections) if f"studies/{x.split('-')[0]}" == doc]
        (book / f"{doc}.md").write_text("\n".join([f"# {doc}\n", *labelled]))
    shutil.copy(ROOT / "_config.yml", book / "_config.yml")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    (book / "api.md").write_text("# API reference\n")
    make_toc = _load_script("make_toc")
    (book / "_toc.yml").write_text(make_toc.render_toc(linked))
    proc = subprocess.run([str(BIN / "jupyter-book"), "build", str(book), "--keep-going"], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    mine = [line for line in log.splitlines() if "WARNING" in line and "py:" not in line
            and any(f"{p}.md" in line or f"{p}.ipynb" in line or "_generated" in line for p in PAGES)]
    assert mine == [], "\n".join(mine)
    html = book / "_build" / "html"
    for page in PAGES:
        assert (html / f"{page}.html").is_file()
    assert "Table 9: BBBC021 x16" in (html / "scorecard.html").read_text()   # the side-by-side tables
    assert "does not hold" in (html / "claims.html").read_text()             # the glued verdicts


# ----------------------------------------------------------------------------------- every page in chromium

def _page_problems(html_dir: Path, page: Path, dom: str) -> list[str]:
    """What is wrong with one rendered page (empty list when it loaded, drew and typeset)."""
    problems = []
    if "<html" not in dom or 'id="main-content"' not in dom and "bd-main" not in dom:
        problems.append("did not load")
    shown = re.sub(r"<script\b.*?</script>", "", dom, flags=re.S)
    # altair's HTML output replaces a chart by <div class="error">Error loading script / JavaScript Error ...</div>
    if re.search(r'<div class="error"[^>]*>\s*(Error loading script|JavaScript Error)', shown):
        problems.append("a script failed")
    src = page.read_text()
    remote = [s for s in re.findall(r'<script[^>]*\ssrc="([^"]+)"', src) if "://" in s]
    if remote:
        problems.append(f"remote scripts {remote}")
    for img in re.findall(r'<img[^>]+src="([^"]+)"', dom):
        if "://" not in img and not img.startswith("data:") and not (page.parent / img).resolve().is_file():
            problems.append(f"missing image {img}")
    if "\\(" in src or "\\[" in src or 'class="math' in src:
        if "<mjx-container" not in dom:
            problems.append("maths not typeset")
        if re.search(r"\\(mathbf|frac|sigma|epsilon)", re.sub(r"<mjx-assistive-mml.*?</mjx-assistive-mml>", "", shown,
                                                              flags=re.S)):
            problems.append("raw TeX left on the page")
    charts = len(re.findall(r'<div id="altair-viz-', src))   # interactive charts (SVG charts are <img>)
    if len(re.findall(r'<(svg|canvas)[^>]*class="marks"', dom)) < charts:
        problems.append("an interactive chart was not drawn")
    return problems


@pytest.mark.slow  # the whole book built, then about 50 pages opened one chromium each: minutes
@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_every_page_of_the_real_book_renders_offline(real_book, tmp_path):
    """`jupyter-book build book/`, then every page in chromium with DNS cut off (drawn, typeset, and no JavaScript
    error in the console); screenshot of the main results."""
    html = real_book
    pages = sorted(p for p in html.rglob("*.html") if not p.name.startswith(("genindex", "search", "py-modindex"))
                   and "_static" not in p.parts and "_sources" not in p.parts and "_images" not in p.parts)
    assert {f"{p}.html" for p in PAGES} <= {str(p.relative_to(html)) for p in pages}
    failures = {}
    for page in pages:
        dom, errors = open_page(page, tmp_path)
        problems = _page_problems(html, page, dom) + [f"JavaScript error: {e}" for e in errors]
        if problems:
            failures[str(page.relative_to(html))] = problems
    assert failures == {}, failures
    main = sorted(html.glob("studies/main_results.html"))
    if main:
        shots = ROOT / "book" / "_build" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        shot = shots / f"{main[0].stem}.png"
        _chromium(main[0].as_uri(), tmp_path, f"--screenshot={shot}")
        from PIL import Image

        img = np.asarray(Image.open(shot).convert("L"))
        assert (img < 128).mean() > 0.005, "the main-results screenshot is (nearly) blank"


MIN_CHART_TEXT_PX = 11   # the smallest chart text a reader is given, at the column's width


def answering_chapters() -> set[str]:
    """The study notebooks whose chapter gives an answer (a bold "Answer" paragraph, in a markdown cell or an
    ``answers.markdown`` cell), by study name."""
    return {nb.stem for nb in (ROOT / "notebooks").glob("*.ipynb")
            if any("**Answer" in "".join(c["source"]) for c in json.loads(nb.read_text())["cells"])}


_KEY_HEADER = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)+")   # an identifier with underscores ("kid_ratio")


def raw_headers(page: Path) -> list[str]:
    """The column headers of ``page``'s tables that are raw identifiers rather than words ("factor_refitted")."""
    found = []
    for head in re.findall(r"<thead>(.*?)</thead>", page.read_text(errors="replace"), re.S):
        for cell in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S):
            text = re.sub(r"<[^>]+>", "", cell).strip()
            if _KEY_HEADER.fullmatch(text):
                found.append(text)
    return found


def layout_problems(html: Path, page: Path, layout: dict, answers: set[str]) -> list[str]:
    """What a reader at ``FIRST_SCREEN`` meets on one page: an answer below the first screen (chapters of
    ``answers``; on a study page, each dataset's), anything running past the text column, a column header that is an identifier, chart text under
    ``MIN_CHART_TEXT_PX`` as drawn."""
    problems = []
    rel = page.relative_to(html)
    if rel.parts[0] == "studies" and page.stem.rsplit("-ihc", 1)[0] in answers:
        top = layout["answer"]
        if top is None or top >= FIRST_SCREEN[1]:
            problems.append(f"the answer starts at {top} px, below the first screen ({FIRST_SCREEN[1]} px)")
        problems += [f"answer {i} of the page's {len(layout['answers'])} starts at {at} px, below the first screen"
                     for i, at in enumerate(layout.get("answers", [])[1:], 2) if at >= FIRST_SCREEN[1]]
    problems += [f"runs past the column: {o}" for o in layout["overflow"][:3]]
    if page.name != "api.html":   # the API reference names parameters as typed
        problems += [f"a table header is an identifier: {h}" for h in raw_headers(page)]
    for im in layout["images"]:
        svg = (page.parent / im["src"]).resolve()
        if svg.suffix != ".svg" or not svg.is_file() or not im["natural"]:
            continue
        px = svg_text_px(svg)
        shown = px * min(1.0, im["drawn"] / im["natural"]) if px else None
        if shown is not None and shown < MIN_CHART_TEXT_PX:
            problems.append(f"chart {svg.name[:12]}: text {shown:.1f} px as drawn ({px:g} px, "
                            f"{im['natural']} px wide shown at {im['drawn']:.0f})")
    return problems


@pytest.mark.slow  # the whole book built, then every page opened in chromium at a reader's window: minutes
@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_every_chapter_answers_on_its_first_screen_and_nothing_runs_past_the_column(real_book, tmp_path):
    """At 1400 x 900 px: every chapter's answer starts on its first screen, no table, chart or text runs past the
    text column or scrolls sideways, and every chart's text is at least 11 px as drawn in the column."""
    html = real_book
    answers = answering_chapters()
    assert len(answers) >= 10, answers   # the chapters that answer a question, found in their notebooks
    pages = sorted(p for p in html.rglob("*.html") if not p.name.startswith(("genindex", "search", "py-modindex"))
                   and not {"_static", "_sources", "_images"} & set(p.parts) and "<head>" in p.read_text())
    failures = {str(p.relative_to(html)): found for p in pages
                if (found := layout_problems(html, p, page_layout(p, tmp_path), answers))}
    assert failures == {}, failures


def test_layout_problems_find_a_late_answer_an_overflow_and_small_chart_text(tmp_path):
    """The checks of the slow layout test, on a made-up page layout."""
    html = tmp_path / "html"
    (html / "studies").mkdir(parents=True)
    (html / "_images").mkdir()
    page = html / "studies" / "pareto.html"
    page.write_text("<html><body><p>x</p></body></html>")
    (html / "_images" / "c.svg").write_text('<svg width="1200"><text font-size="12px">x</text></svg>')
    layout = {"answer": 1200.0, "overflow": ["table 88 px: all even crops"],
              "images": [{"src": "../_images/c.svg", "drawn": 772.0, "natural": 1200}]}
    found = layout_problems(html, page, layout, {"pareto"})
    assert len(found) == 3 and "1200.0 px" in found[0] and "88 px" in found[1] and "7.7 px" in found[2], found
    layout = {"answer": 500.0, "overflow": [], "images": [{"src": "../_images/c.svg", "drawn": 772.0, "natural": 800}]}
    assert layout_problems(html, page, layout, {"pareto"}) == []   # 12 px at 772 / 800: 11.6 px
    late = layout_problems(html, page, {**layout, "answers": [500.0, 700.0, 950.0]}, {"pareto"})
    assert late == ["answer 3 of the page's 3 starts at 950.0 px, below the first screen"], late
    page.write_text("<table><thead><tr><th>method</th><th>kid_ratio</th><th>KID_wav ÷ truth's</th></tr></thead>"
                    "<tbody><tr><th>ddim_x1</th><td>1</td><td>2</td></tr></tbody></table>")
    assert layout_problems(html, page, layout, {"pareto"}) == ["a table header is an identifier: kid_ratio"]


def test_gpu_fragment_projects_the_paper_runs_from_the_measured_steps():
    assert "No GPU measurement" in F.book_fragments("/nonexistent", "quick")["reproducing-gpu.md"]
    gpu = {"gpu": "Test GPU", "paper_scale": {"total_projected_gpu_hours": 13.0, "translation": {
        "batch": 4, "steps": 50, "ovg_s": 3.0, "ddim_s": 1.0, "ratio": 3.0},
        "train": [{"backbone": "unet", "space": "latent", "parameterization": "eps", "dataset": "bbbc021",
                   "step_s": 0.5, "steps": 80000, "projected_gpu_hours": 0.5 * 80000 / 3600, "params_M": 600,
                   "peak_GiB": 40.0},
                  {"backbone": "unet", "space": "pixel", "parameterization": "eps", "dataset": "bbbc021",
                   "error": "OutOfMemoryError"}]}}
    text = F.book_fragments("/nonexistent", "quick", gpu=gpu)["reproducing-gpu.md"]
    assert "Test GPU" in text and "| 11.1 |" in text and "OutOfMemoryError" in text and "| 3.00 |" in text


def test_book_sources_hold_no_control_characters():
    """A control character in a page's source (a backspace where ``\\b`` of ``\\boldsymbol`` was meant) breaks its
    maths: no Markdown source of the book or the docs holds one (tab and newline aside)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    bad = [str(p.relative_to(root)) for p in [*root.glob("book/**/*.md"), *root.glob("docs/*.md")]
           if "_build" not in p.parts and re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", p.read_text(encoding="utf-8"))]
    assert bad == []
