"""What the Pareto chapter says: whether OVG expands the S_HF / S_LF frontier of the baselines (Sec. 5.2, Fig. 6), on
whose points, and the rule for grid points with failed images."""
from __future__ import annotations

import json

import xarray as xr

from ..studies.pareto import MOST_FAILED, joint_front
from ..plotting.labels import step_size
from ..studies.claim_titles import SLF_READING
from ..text import verb

__all__ = ["frontier_verdict", "grid_rule", "grid_table", "unbroken", "choice_markdown"]

GRID_COLUMNS = ["base", "eta_hf", "eta_lf", "s_hf", "s_lf", "psnr", "s_dc", "s_g", "failed", "on_front", "chosen"]


def unbroken(name: str) -> str:
    """A reader name whose words stay on one line in a narrow table column or a wrapped subtitle: "OVG + TABA" with
    non-breaking spaces, never "OVG +" over "TABA"."""
    return str(name).replace(" ", "\u00a0")


def grid_table(ds: xr.Dataset, digits: int = 4):
    """The grid as the chapter's table shows it: one row per (base, eta_HF, eta_LF) with its means, failed count and
    marks; each base by its reader name held on one line (``unbroken``), each step size as every text of the book
    writes it (``plotting.labels.step_size``: "10⁻⁶"), "yes" where a point is on its base's front or chosen."""
    from ..plotting.labels import step_size
    from ..studies.method_labels import method_name
    from ..studies.pareto import grid_summary

    table = grid_summary(ds)
    shown = table[[c for c in GRID_COLUMNS if c in table]].round({c: digits for c in ("s_hf", "s_lf", "psnr", "s_dc",
                                                                                        "s_g")})
    yes = {True: "yes", False: ""}  # on the front / chosen: marked, else blank
    return shown.assign(base=shown["base"].map(lambda b: unbroken(method_name(b))),
                        eta_hf=shown["eta_hf"].map(step_size), eta_lf=shown["eta_lf"].map(step_size),
                        on_front=shown["on_front"].map(yes), chosen=shown["chosen"].map(yes)).rename(
        columns={"base": "OVG variant", "on_front": "on its variant's front"})


def grid_rule(ds: xr.Dataset) -> str:
    """The rule for grid points with failed images, stated once for the chapter's chart, table and verdict."""
    n = ds.sizes.get("sample", 0)
    return (f"A grid point with any failed validation crop (of its {n}) is never chosen and is not a point of any front, "
            f"its OVG variant's or the joint one with the baselines; where more than {100 * MOST_FAILED:.0f} % of its "
            "validation crops failed its means are not shown (—), since they would describe the few crops that "
            "survived, not the point.")


def swept_order(ds: xr.Dataset):
    """A sort key that puts OVG variants in the order the sweep holds them (its ``base`` coordinate: OVG, OVG + TABA,
    OVG + EDM), so every text of the chapter names them in one order; a name the sweep lacks goes last."""
    held = [str(b) for b in ds["base"].values.ravel().tolist()] if "base" in ds.coords else []
    return lambda b: (held.index(str(b)) if str(b) in held else len(held), str(b))


def _bases_words(on, order=str) -> str:
    """The OVG variants whose grid points are on the joint front, with their counts in words: "OVG (2 points) and
    OVG + EDM (2 points)"."""
    from ..studies.method_labels import method_name
    from ..text import plural
    from ..text import listed as and_list

    counts = on.groupby("base").size()
    return and_list(f"{method_name(b)} ({plural(int(counts[b]), 'point')})" for b in sorted(counts.index, key=order))


def frontier_verdict(ds: xr.Dataset) -> dict:
    """Does OVG expand the S_HF / S_LF frontier of the baselines (Sec. 5.2, Fig. 6)? Numbers and one paragraph.

    On the joint front of every grid point free of failed samples and every baseline (means over the sweep's validation crops),
    count the OVG points and say which OVG variants they belong to; the claim holds when at least one OVG point is on
    it (OVG reaches beyond the baselines' envelope), and it rests on those variants' points alone. The chosen point of
    the primary base is compared with the best baseline on each axis.
    """
    from ..studies.method_labels import method_name

    grid, base, front = joint_front(ds)
    n_ovg, n_base = int(front[:len(grid)].sum()), int(front[len(grid):].sum())
    on = grid[front[:len(grid)]]
    dominated = [str(m) for m, on_ in zip(base["method"], front[len(grid):]) if not on_]
    primary = ds.attrs.get("primary", "ovg")
    ch = json.loads(ds.attrs.get("choices", "{}")).get(primary)
    order = swept_order(ds)
    bases = sorted(set(map(str, on["base"])), key=order)
    swept = sorted(set(map(str, grid["base"])), key=order)
    out = {"front_ovg": n_ovg, "front_baselines": n_base, "dominated_baselines": dominated, "choice": ch,
           "holds": bool(n_ovg > 0), "front_bases": bases}
    from ..text import listed as and_list

    family = and_list([method_name(b) for b in swept]) if swept else "OVG"
    text = (f"On the joint S_HF / S_LF front of {len(grid)} grid points free of failed samples and {len(base)} baselines, "
            f"{n_ovg} {verb(n_ovg, 'point belongs', 'points belong')} to OVG variants and {n_base} "
            f"{verb(n_base, 'is a baseline', 'are baselines')}; baselines dominated by some point: "
            f"{', '.join(method_name(m) for m in dominated) or 'none'}.")
    if n_ovg:
        rest = [b for b in swept if b not in bases]
        if rest:
            text += f" No point of {' or '.join(method_name(b) for b in rest)} is on it."
    if ch and len(base):
        best_hf, best_lf = base.loc[base["s_hf"].idxmax()], base.loc[base["s_lf"].idxmax()]
        text += (f" The chosen {method_name(primary)} point (eta_HF = {step_size(ch['eta_hf'])}, eta_LF = "
                 f"{step_size(ch['eta_lf'])}) has S_HF {ch['s_hf']:.3f} and S_LF {ch['s_lf']:.3f}; the best baseline "
                 f"on S_HF is {method_name(best_hf['method'])} ({best_hf['s_hf']:.3f}) and on S_LF "
                 f"{method_name(best_lf['method'])} ({best_lf['s_lf']:.3f}).")
    from ..studies.claims import chapter_claims, findings_markdown

    verdict = "holds" if out["holds"] else "does not hold"
    rule = (f"The rule: the claim holds when at least one grid point of any OVG variant swept ({family}) lies on the "
            "joint S_HF / S_LF front with the baselines, that is, reaches beyond the baselines' envelope.")
    carried = (f" Here it is carried by {_bases_words(on, order)}." if out["holds"] else
               " Here no point of any OVG variant is on it.")
    out["text"] = (f"The paper's claim that sweeping OVG's step sizes expands the frontier {verdict} here (means over "
                   "the sweep's validation crops, no interval, so read as indicative). " + rule + carried + " " + text
                   + f" {SLF_READING}." + "\n\nOn the claims page, by the same rule:\n\n"
                   + findings_markdown(chapter_claims(ds)))
    return out


def choice_markdown(ds: xr.Dataset, dataset: str, profile: str) -> str:
    """Markdown: each OVG variant's chosen step sizes with their means, the rule, which choice the other studies use,
    how the grid is formed (the profile's log-spaced grid, grown by one log step past an edge that the primary
    variant's choice lies on, at most ``extend`` times), and any choice that lies on an edge of the swept grid. All
    in the present tense, as rules."""
    import numpy as np

    from ..studies.method_labels import method_name

    choices = json.loads(ds.attrs["choices"])
    primary = ds.attrs["primary"]
    lines = [f"- **{method_name(b)}**: eta_HF = {step_size(c['eta_hf'])}, eta_LF = {step_size(c['eta_lf'])} "
             f"(S_HF {c['s_hf']:.3f}, S_LF {c['s_lf']:.3f})" for b, c in choices.items()]
    lines.append(f"\nRule: {ds.attrs['rule']}. "
                 + (f"The {method_name(primary)} choice is what the other studies of {dataset} ({profile}) use for "
                    "OVG." if primary in choices else
                    f"No {method_name(primary)} grid point is free of failed samples, so the other studies use OVG's "
                    "default step sizes."))
    grown = json.loads(ds.attrs.get("grid_extended", "[]"))
    if grown:
        lines.append(f"\nThe grid is the profile's log-spaced grid, grown by one log step past each edge that the "
                     f"{method_name(primary)} choice lies on and swept at the added points; here it is grown past "
                     f"{', '.join(_edge_words(g) for g in grown)}. The eta_HF and eta_LF rows of the parameter table "
                     "list the grid as swept.")
    axes = {"eta_HF": sorted(map(float, ds["eta_hf"].values)), "eta_LF": sorted(map(float, ds["eta_lf"].values))}

    def on_edges(c: dict) -> list[str]:
        out = []
        for name, v in (("eta_HF", c["eta_hf"]), ("eta_LF", c["eta_lf"])):
            axis = axes[name]
            if len(axis) > 1 and np.isclose(v, axis[0]):
                out.append(f"{name} {step_size(v)}, the smallest value swept")
            elif len(axis) > 1 and np.isclose(v, axis[-1]):
                out.append(f"{name} {step_size(v)}, the largest value swept")
        return out

    edged = {b: on_edges(c) for b, c in choices.items() if on_edges(c)}
    if edged:
        lines.append("\n**Chosen on the edge of the grid:** " + "; ".join(f"{method_name(b)} ({', '.join(e)})"
                                                                        for b, e in edged.items())
                     + ". A better point may lie beyond that edge: the grid stops there"
                     + (f" (it grows only past an edge of the {method_name(primary)} choice, and at most `extend` "
                        "times)" if primary in choices else "")
                     + ". Rerun with a wider `eta_hf` / `eta_lf` grid, or a larger `extend`, to find out.")
    return "\n".join(lines)


def _edge_words(edge: str) -> str:
    """"eta_lf low" -> "the low edge of eta_LF" (an edge as the sweep stores it, in words)."""
    axis, _, side = str(edge).partition(" ")
    name = {"eta_hf": "eta_HF", "eta_lf": "eta_LF"}.get(axis, axis)
    return f"the {side} edge of {name}" if side else name
