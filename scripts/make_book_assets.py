"""Prepare the book's offline assets.

    python scripts/make_book_assets.py      # the vega bundle, and a check of the vendored MathJax

1. book/_static/vega-offline.js: vega + vega-lite + vega-embed built by vl-convert (no network), so that
   charts left in Altair's interactive HTML mode draw offline (see spectral_collapse.plotting.render).
   Not committed; regenerated when altair or vl-convert changes.
2. book/_vendor/mathjax/: MathJax 3.2.2 (tex-svg-full.js, the assistive-MathML extension it loads at start, the
   licence), committed (2.3 MB); _config.yml points `mathjax_path` at it, so maths renders offline. To refresh it:
   `npm pack mathjax@3.2.2` and copy package/es5/tex-svg-full.js, package/es5/a11y/assistive-mml.js and
   package/LICENSE there.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VEGA_BUNDLE = ROOT / "book" / "_static" / "vega-offline.js"
MATHJAX_DIR = ROOT / "book" / "_vendor" / "mathjax"
MATHJAX_FILES = ("tex-svg-full.js", "a11y/assistive-mml.js", "LICENSE")


def main() -> int:
    """Write the vega bundle and check the vendored MathJax; 1 when a MathJax file is missing."""
    sys.path.insert(0, str(ROOT / "src"))
    from spectral_collapse.plotting.render import write_vega_bundle

    path = write_vega_bundle(VEGA_BUNDLE)
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KiB)")
    missing = [t for t in MATHJAX_FILES if not (MATHJAX_DIR / t).is_file()]
    if missing:
        print(f"missing {missing} in {MATHJAX_DIR.relative_to(ROOT)}; see this script's docstring to vendor MathJax",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
