"""The claims tally of two results roots side by side and every verdict that moved between them, with the
comparisons whose numbers changed: ``python -m spectral_collapse.claims.tally --before OLD --after NEW``. A side may
also be a claims table saved by ``--save`` (JSON), to compare the rules of two versions of the code on the same
results."""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ..verdicts.words import VERDICT_ORDER, tally
from .paper import evaluate_claims
from .evidence import STUDY_NAMES, load_evidence

__all__ = ["check_root", "claims_of", "tally_table", "moved", "main"]


def check_root(root: str | Path, profile: str = "quick") -> None:
    """Refuse a ``root`` holding no ``profile`` results (``<study>/<dataset>-<profile>.nc``), naming what it holds
    instead."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no results folder {root}: pass the root that holds the studies' folders")
    if any(next((root / study).glob(f"*-{profile}.nc"), None) for study in STUDY_NAMES):
        return
    here = sorted(p.name for p in root.glob("*.nc"))
    others = sorted({p.stem.rsplit("-", 1)[-1] for study in STUDY_NAMES for p in (root / study).glob("*-*.nc")})
    why = (f"it holds results files itself ({', '.join(here[:3])}): a study's folder; pass its parent {root.parent}"
           if here else f"it holds results of the profile(s) {', '.join(others)}: pass --profile {others[0]}"
           if others else "pass the root that holds the studies' folders (main_results/, ...)")
    raise FileNotFoundError(f"no {profile} results found under {root}: {why}")


def claims_of(root: str | Path, profile: str = "quick") -> pd.DataFrame:
    """The claims table on the stored results under ``root``, or the one saved there by ``--save`` (JSON, not a
    pickle: reading a file never runs code)."""
    if Path(root).is_file() and Path(root).suffix == ".json":
        return pd.read_json(root, orient="split", dtype=False).astype(str).set_index("claim")
    check_root(root, profile)
    return evaluate_claims(load_evidence(root, profile)).set_index("claim")


def tally_table(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Claims per verdict word (``words.tally``), before and after."""
    return pd.DataFrame({"before": tally(before["verdict"]), "after": tally(after["verdict"])},
                        index=list(VERDICT_ORDER)).rename_axis("verdict")


def moved(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Each claim whose verdict or effect words differ, with its changed comparisons ("−" before, "+" after)."""
    rows = []
    for key in before.index.union(after.index, sort=False):
        b, a = (t.loc[key] if key in t.index else None for t in (before, after))
        if b is not None and a is not None and (b["verdict"], b["effect"]) == (a["verdict"], a["effect"]):
            continue
        old = set(str(b["our numbers"]).split("; ")) if b is not None else set()
        new = set(str(a["our numbers"]).split("; ")) if a is not None else set()
        why = [f"− {t}" for t in sorted(old - new)] + [f"+ {t}" for t in sorted(new - old)]
        rows.append({"claim": key, "before": "" if b is None else b["verdict"], "after": "" if a is None else
                     a["verdict"], "effect before": "" if b is None else b["effect"],
                     "effect after": "" if a is None else a["effect"], "why": "\n".join(why) or "its caveat"})
    return pd.DataFrame(rows, columns=["claim", "before", "after", "effect before", "effect after", "why"])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--before", required=True, help="results root before (e.g. a copy of data/results)")
    p.add_argument("--after", default="data/results", help="results root after (default data/results)")
    p.add_argument("--profile", default="quick", help="smoke | quick | paper (default quick)")
    p.add_argument("--save", help="also write the after side's claims table here (.json), for a later --before")
    args = p.parse_args(argv)
    try:
        before, after = claims_of(args.before, args.profile), claims_of(args.after, args.profile)
    except FileNotFoundError as e:   # the message alone, first: a bad root is the user's to fix, not a crash
        p.exit(2, f"{p.prog}: error: {e}\n")
    if args.save:
        after.reset_index().astype(str).to_json(args.save, orient="split", index=False)
    pd.set_option("display.max_colwidth", None)
    print(tally_table(before, after).to_string(), end="\n\n")
    m = moved(before, after)
    print(f"{len(m)} claim(s) moved" + (":" if len(m) else "."))
    for r in m.itertuples():
        print(f"\n{r.claim}: {r.before} → {r.after}"
              + (f"; effect: {r._4 or '—'} → {r._5 or '—'}" if r._4 != r._5 else ""))
        print("  " + r.why.replace("\n", "\n  "))


if __name__ == "__main__":
    main()
