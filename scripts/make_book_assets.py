"""Prepare the book's offline assets.

    python scripts/make_book_assets.py                  # offline: vega bundle + check vendored MathJax
    python scripts/make_book_assets.py --fetch-mathjax  # refresh book/_vendor/mathjax from npm (network)

1. book/_static/vega-offline.js: vega + vega-lite + vega-embed built by vl-convert (no network), so that
   charts left in Altair's interactive HTML mode draw offline (see spectral_collapse.plotting.render).
   Not committed; regenerated when altair or vl-convert changes.
2. book/_vendor/mathjax/: MathJax 3 (tex-svg-full.js, the assistive-MathML extension it loads at start,
   the licence), committed (2.3 MB). _config.yml points `mathjax_path` at it, so maths renders offline.
   `--fetch-mathjax` re-downloads it with `npm pack mathjax@<version>`.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VEGA_BUNDLE = ROOT / "book" / "_static" / "vega-offline.js"
MATHJAX_DIR = ROOT / "book" / "_vendor" / "mathjax"
MATHJAX_VERSION = "3.2.2"
# Files taken from the npm package (paths inside it -> paths under MATHJAX_DIR).
MATHJAX_FILES = {
    "package/es5/tex-svg-full.js": "tex-svg-full.js",
    "package/es5/a11y/assistive-mml.js": "a11y/assistive-mml.js",
    "package/LICENSE": "LICENSE",
}


def fetch_mathjax(dest: Path = MATHJAX_DIR, version: str = MATHJAX_VERSION) -> None:
    """Download mathjax@``version`` with `npm pack` and copy the files the book needs into ``dest``."""
    if shutil.which("npm") is None:
        raise SystemExit("npm not found; install Node.js, or keep the committed book/_vendor/mathjax")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", "--loglevel=error", f"mathjax@{version}", "--pack-destination", tmp], check=True,
                       stdout=subprocess.DEVNULL)
        (tarball,) = Path(tmp).glob("mathjax-*.tgz")
        with tarfile.open(tarball) as tar:
            for member, target in MATHJAX_FILES.items():
                out = dest / target
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(tar.extractfile(member).read())
                print(f"wrote {out.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    """Write the vega bundle and check (or, with --fetch-mathjax, fetch) the vendored MathJax."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fetch-mathjax", action="store_true", help=f"npm pack mathjax@{MATHJAX_VERSION}")
    parser.add_argument("--no-vega", action="store_true", help="skip the vega bundle")
    args = parser.parse_args(argv)
    if not args.no_vega:
        sys.path.insert(0, str(ROOT / "src"))
        from spectral_collapse.plotting.render import write_vega_bundle

        path = write_vega_bundle(VEGA_BUNDLE)
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KiB)")
    if args.fetch_mathjax:
        fetch_mathjax()
    missing = [t for t in MATHJAX_FILES.values() if not (MATHJAX_DIR / t).is_file()]
    if missing:
        print(f"missing {missing} in {MATHJAX_DIR.relative_to(ROOT)}; run with --fetch-mathjax", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
