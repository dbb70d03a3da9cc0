"""What the OVG-schedule chapter says: the cost and quality of each guidance schedule, the σ range that carries
the S_HF gain, and the cheapest schedule that keeps it. Tables and prose name each schedule as its chart does
(``row_names``: "first half", "every 4th step") and a noise level by its symbol σ.

A schedule's share of the gain is measured on its own: (its mean S_HF − DDIM's) / (full OVG's − DDIM's). The shares
of the three thirds therefore need not add to 100 %: one third alone can keep more than full OVG (a share above
100 %), and a schedule can make S_HF worse than DDIM (a share below 0), which the verdict says. The words follow the
numbers: the largest share is named as the largest, and another third that keeps most of the gain on its own is
named beside it. A share outside 0 to 100 % is said for what it is (``outside_shares``): the schedules that overshoot
(alone they raise S_HF past full OVG's) and those that work against the gain (alone they lower it below DDIM's).
The caveat on the in-run timings (``timing_caveat``) is read from the stored times: it names the schedules timed at
or below DDIM's and those timed in the opposite order of their backward passes.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import xarray as xr

from ..text import listed, percent, spaced_percents

__all__ = ["overview", "schedule_table", "cost_table", "quality_table", "verdict", "settings", "HEADERS", "shown",
           "timing_caveat", "outside_shares", "target_reading", "other_datasets"]

THIRDS = ("low", "mid", "high")

# Short column headers of the schedule table as a reader reads them (``schedule_table`` keeps the results' names)
HEADERS = {"guided_steps": "guided steps", "sigma_lo": "σ from", "sigma_hi": "σ to", "nfe": "NFE",
           "backward_passes": "backward passes", "time_s": "time (s)", "time_ratio": "time / DDIM",
           "s_hf_gain_share": "share of gain", "psnr": "PSNR", "s_hf": "S_HF", "s_lf": "S_LF", "s_dc": "S_DC",
           "latent_norm_ratio": "‖x_T‖²/d", "s_g": "S_G", "n_failed": "failed"}


def row_names(keys) -> list[str]:
    """Each method or schedule key as the chapter's chart and tables name it ("ddim" -> "DDIM", "first_half" ->
    "first half", "every_4" -> "every 4th step"; ``plotting.labels.chart_label``)."""
    from ..plotting.labels import chart_label

    return [chart_label(str(k)) for k in keys]


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """The schedule table with its short headers (``HEADERS``) and its rows named as the chart names them
    (``row_names``); the index keeps its name."""
    out = table.rename(columns=HEADERS)
    out.index = pd.Index(row_names(out.index), name=out.index.name)
    return out


COST = ("guided_steps", "sigma_lo", "sigma_hi", "nfe", "backward_passes", "time_s", "time_ratio")
QUALITY = ("s_hf_gain_share", "psnr", "s_hf", "s_lf", "s_dc", "latent_norm_ratio", "s_g", "n_failed")


def cost_table(ds: xr.Dataset) -> pd.DataFrame:
    """The cost half of ``schedule_table``: which steps a schedule guides and what it costs, short headers."""
    return shown(schedule_table(ds)[list(COST)])


def quality_table(ds: xr.Dataset) -> pd.DataFrame:
    """The quality half of ``schedule_table``, short headers, with each schedule's share of the gain beside its 95 %
    bootstrap interval over the test crops (``studies.schedule.gain_share_interval``)."""
    from ..studies.schedule import gain_share_interval

    tab = schedule_table(ds)[list(QUALITY)]
    spans = []
    for m in tab.index:
        _, lo, hi, _ = gain_share_interval(ds, str(m))
        spans.append(f"[{lo:.3f}, {hi:.3f}]".replace("-", "−") if np.isfinite(lo) and hi > lo else "—")
    tab.insert(1, "share_ci", spans)
    return shown(tab).rename(columns={"share_ci": "95 % interval"})


def overview(ds: xr.Dataset) -> str:
    """One line on what a run holds."""
    scheds = row_names(m for m in map(str, ds["method"].values) if m not in ("ddim", "ovg"))
    return (f"{ds.attrs['dataset']}, profile {ds.attrs['profile']}: {ds.sizes['sample']} test inputs, "
            f"{ds.attrs['steps']} steps each way; schedules {', '.join(scheds)} between DDIM and full OVG; timing on "
            f"{ds.attrs['timing_images']} inputs (DDIM {float(ds.attrs['ddim_time_s']):.{TABLE_DIGITS}f} s)")


def schedule_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per method: guided steps, their σ range, cost (NFE, backward passes, time) and quality (means over the kept
    samples; failed samples counted)."""
    per = ds[["psnr", "s_hf", "s_lf", "s_dc", "latent_norm_ratio"]].mean("sample", skipna=True).to_dataframe()
    cols = ["guided_steps", "sigma_lo", "sigma_hi", "nfe", "backward_passes", "time_s", "time_ratio",
            "s_hf_gain_share"]
    tab = ds[cols].to_dataframe().join(per).join(ds[["s_g", "norm_z", "n_failed"]].to_dataframe())
    tab.index.name = "method"
    return tab


SIGMA_DIGITS = 3   # decimals of a σ wherever the chapter prints one: its tables, its verdict and its settings


TABLE_DIGITS = 3   # decimals of the chapter's cost and quality tables (the notebook rounds them so); its prose
#                    prints a time from those tables with as many


def sigma_text(x: float) -> str:
    """A σ as every part of the chapter prints it: ``SIGMA_DIGITS`` decimals ("0.892", "13.043"); σ 0, the clean
    image, as "0", not "0.000"."""
    return "0" if float(x) == 0 else f"{float(x):.{SIGMA_DIGITS}f}"


def structure_reading(ds: xr.Dataset, schedule: str) -> str:
    """A sentence on what ``schedule`` keeps of full OVG's structure change (S_LF from DDIM's), said when its mean S_LF
    differs from full OVG's by at least S_LF's minimal effect (``MIN_EFFECT``): its S_LF beside full OVG's and
    DDIM's and the share of that change it keeps; '' when it matches full OVG's S_LF, or when full OVG leaves S_LF
    within that effect of DDIM's (no change to share), and when the results hold no S_LF of the three."""
    from ..metrics.intervals import MIN_EFFECT

    if "s_lf" not in ds or not {schedule, "ovg", "ddim"} <= set(map(str, ds["method"].values)):
        return ""
    lf = {m: float(ds["s_lf"].sel({"method": m}).mean(skipna=True).values) for m in (schedule, "ovg", "ddim")}
    least = MIN_EFFECT.get("s_lf", 0.01)
    change = lf["ovg"] - lf["ddim"]
    if not all(map(math.isfinite, lf.values())) or abs(lf[schedule] - lf["ovg"]) < least:
        return ""
    said = (f" Its structure differs from full OVG's: S_LF {lf[schedule]:.3f} against full OVG's {lf['ovg']:.3f} "
            f"and DDIM's {lf['ddim']:.3f}")
    if abs(change) >= least:
        said += f", so it keeps {_pct((lf[schedule] - lf['ddim']) / change)} of full OVG's S_LF change"
    return said + "."


def _pct(x: float) -> str:
    """A share of the gain in whole percent ("76 %", ``text.percent``)."""
    return percent(x, 0)


def _num(ds, var, m) -> float:
    return float(ds[var].sel({"method": m}).values)


def _psnr(ds, m) -> float:
    return float(ds["psnr"].sel({"method": m}).mean(skipna=True).values)


def timing_caveat(ds: xr.Dataset) -> str:
    """What the stored wall times of this run can carry, in words: they are whole translations timed within the
    study's run; where a guided schedule times at or below DDIM's, or a schedule with more backward passes times
    below one with fewer, they are named, and the backward passes, not the ratios, order the costs."""
    methods = [m for m in map(str, ds["method"].values) if m != "ddim"]
    ratio = {m: _num(ds, "time_ratio", m) for m in methods}
    passes = {m: _num(ds, "backward_passes", m) for m in methods}
    timed = [m for m in methods if math.isfinite(ratio[m]) and math.isfinite(passes[m])]
    device = ds.attrs.get("device")
    where = (f"on {device}" if device else "on the machine that ran the study (these results do not record which)")
    text = (f"The times are whole translations of {ds.attrs.get('timing_images', 'a few')} inputs timed within this "
            f"study's run, {where}. Translations this small are noisy to time")
    below = [m for m in timed if passes[m] > 0 and ratio[m] <= 1.0]
    pairs = [(a, b) for a in timed for b in timed if passes[a] > passes[b] and ratio[a] < ratio[b]]
    said = []
    if below:
        said.append(f"{listed(below)} {'times' if len(below) == 1 else 'time'} at or below DDIM's ("
                    + ", ".join(f"{ratio[m]:.2f}x" for m in below) + ") although every guided step adds backward "
                    "passes")
    if pairs:
        a, b = max(pairs, key=lambda p: ratio[p[1]] - ratio[p[0]])
        n_pairs = sum(passes[a_] != passes[b_] for i, a_ in enumerate(timed) for b_ in timed[i + 1:])
        said.append(f"{len(pairs)} of the {n_pairs} pairs of schedules with different backward passes time in the "
                    f"opposite order (the widest: {a}, {int(passes[a])} backward passes, at {ratio[a]:.2f}x against "
                    f"{b}, {int(passes[b])}, at {ratio[b]:.2f}x)")
    if said:
        return text + ", and here " + "; ".join(said) + ". So the backward passes, not these ratios, order the " \
            "schedules' costs."
    return text + ", though here the ratios rise with the backward passes."


def _n(key) -> str:
    from ..studies.schedule import schedule_name

    return schedule_name(key)


def prose_names(text: str) -> str:
    """``text`` with every schedule key that is no English word ("first_half", "every_4") in its prose name."""
    import re

    from ..studies.schedule import SCHEDULE_NAMES

    keys = "|".join(k for k in SCHEDULE_NAMES if "_" in k)
    return re.sub(rf"(?<![\w`])({keys})(?![\w`])", lambda m: SCHEDULE_NAMES[m.group(1)], text)


def _overshoot_reading(ds: xr.Dataset, big) -> str:
    """What an overshoot beyond the smallest difference that counts shows, read on each schedule's share interval over
    the test crops: guiding the other steps as well lowers S_HF only where the whole interval lies above 100 %."""
    from ..studies.schedule import gain_share_interval

    ci = {m: gain_share_interval(ds, m)[1:3] for m in big}
    clear = [m for m in big if np.isfinite(ci[m][0]) and ci[m][0] > 1.0]
    loose = [m for m in big if m not in clear]
    out = ""
    if clear:
        out += (f"; {listed(map(_n, clear))}'s share interval over the crops lies wholly above 100 %, so there "
                "guiding the other steps as well lowers S_HF")
    if loose:
        out += ("; " + "; ".join(f"{_n(m)}'s share interval over the crops ({_pct(ci[m][0])} to {_pct(ci[m][1])}) "
                                 "contains 100 %" if np.isfinite(ci[m][0]) else
                                 f"{_n(m)}'s share has no interval over the crops" for m in loose)
                + ", so these crops do not show that guiding the other steps as well lowers S_HF")
    return out


def outside_shares(ds: xr.Dataset) -> str:
    """A sentence on the shares of the gain outside 0 to 100 % ('' when there is none): the schedules that overshoot
    (alone they raise the mean S_HF past full OVG's) and those that work against the gain (alone they lower it below
    DDIM's), with their means; an overshoot smaller than the smallest S_HF difference that counts is said to be so,
    and when both kinds occur, that full OVG's gain is no sum of parts that each add to it."""
    from ..metrics.intervals import MIN_EFFECT

    methods = [m for m in map(str, ds["method"].values) if m not in ("ddim", "ovg")]
    share = {m: _num(ds, "s_hf_gain_share", m) for m in methods}
    mean = {m: _num(ds, "s_hf_mean", m) for m in methods + ["ddim", "ovg"]}
    over = [m for m in methods if math.isfinite(share[m]) and share[m] > 1.0]
    under = [m for m in methods if math.isfinite(share[m]) and share[m] < 0.0]
    if not over and not under:
        return ""
    parts = []
    if over:
        least = MIN_EFFECT["s_hf"]
        big = [m for m in over if mean[m] - mean["ovg"] >= least]
        small = [m for m in over if m not in big]
        said = (f"{listed(map(_n, over))} {'overshoots' if len(over) == 1 else 'overshoot'}, guided alone: "
                + "; ".join(f"{_n(m)} raises the mean S_HF to {mean[m]:.3f} against full OVG's {mean['ovg']:.3f} (a share of "
                            f"{_pct(share[m])})" for m in over))
        if big:
            said += (f". {'Only ' if small else ''}{listed(map(_n, big))} {'does' if len(big) == 1 else 'do'} so by "
                     f"at least the smallest S_HF difference that counts ({least})" + _overshoot_reading(ds, big))
        if small:
            one = len(small) == 1
            said += (f"{'; ' if big else '. '}{listed(map(_n, small))} {'ends' if one else 'end'} less than the "
                     f"smallest S_HF difference that counts ({least}) above full OVG's, so "
                     f"{'it matches' if one else 'they match'} full OVG rather than {'beats' if one else 'beat'} it")
        parts.append(said)
    if under:
        parts.append(f"{listed(map(_n, under))} {'works' if len(under) == 1 else 'work'} "
                     "against the gain: " + "; ".join(
                         f"{_n(m)} lowers the mean S_HF to {mean[m]:.3f} against DDIM's {mean['ddim']:.3f} (a share of "
                         f"{_pct(share[m])})" for m in under)
                     + f": guided alone, {'that part' if len(under) == 1 else 'each of those parts'} of the trajectory "
                       "moves the texture away from full OVG's")
    text = "Shares outside 0 to 100 %: " + ". The other way, ".join(parts) + "."
    if over and under:
        text += (" Full OVG's gain is thus not a sum of parts that each add to it: guided alone, some parts push S_HF "
                 "up to or past full OVG's and others pull it below DDIM's, and full OVG's result lies between.")
    return text


def target_reading(ds: xr.Dataset, schedule: str) -> tuple[str, str]:
    """Whether ``schedule`` (timed within the budget) meets the target share of the gain, read on its 95 % interval
    over the test crops: ("meets" | "misses" | "open", words with the interval). It meets the target when the whole
    interval is at or above the target share, misses it when the whole interval is below, and is open otherwise
    (its mean on one side, its interval across the line: on these crops it may or may not keep that share)."""
    from ..studies.schedule import TARGET_SHARE, gain_share_interval

    target = float(ds.attrs.get("target_share", TARGET_SHARE))
    share, lo, hi, n = gain_share_interval(ds, schedule)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        reading = "meets" if share >= target else "misses"
        return reading, f"{_pct(share)} of the gain (one run's means, no interval over crops)"
    said = f"{_pct(share)} of the gain (95 % interval over the {n} test crops {_pct(lo)} to {_pct(hi)})"
    return ("meets" if lo >= target else "misses" if hi < target else "open"), said


def _summary(ds: xr.Dataset) -> dict:
    """What a schedule result found, for another dataset's chapter: the third with the largest share, the best
    schedule within the time budget and its reading of the target (``target_reading``)."""
    methods = list(map(str, ds["method"].values))
    share = {m: _num(ds, "s_hf_gain_share", m) for m in methods}
    thirds = [t for t in THIRDS if t in share and math.isfinite(share[t])]
    best = ds.attrs.get("best_schedule", "")
    reading = target_reading(ds, best) if best else ("misses", "")
    top = max(thirds, key=share.get) if thirds else ""
    return {"top": top, "overlap": bool(top and _thirds_overlap(ds, top, thirds)), "top_share": share.get(max(thirds, key=share.get))
            if thirds else np.nan, "best": best, "reading": reading[0], "said": reading[1]}


def other_datasets(ds: xr.Dataset, root=None) -> str:
    """What the stored results of the same study on the other datasets (same profile, under ``root``) found, beside
    this one's: where the largest share of the gain lies and whether a cheap schedule meets the target, and whether
    that agrees with this dataset's answer. "" when no other dataset's result is stored."""
    from pathlib import Path

    from ..studies.store import load_results

    root = Path(root or "data/results")
    here, profile = str(ds.attrs.get("dataset", "")), str(ds.attrs.get("profile", ""))
    mine = _summary(ds)
    out = []
    for path in sorted((root / "ovg_schedule").glob(f"*-{profile}.nc")):
        other = load_results(path)
        name = str(other.attrs.get("dataset", ""))
        if not name or name == here:
            continue
        theirs = _summary(other)
        if not theirs["top"]:
            continue
        what = {"meets": "meets the target", "misses": "misses the target", "open": "leaves the target open"}
        text = (f"On {name}, the stored result of this study finds the largest mean share in the {theirs['top']} "
                f"third ({_pct(theirs['top_share'])}{'; its interval overlaps another third' if theirs['overlap'] else ''})")
        text += (f", and its best schedule within the time budget, {theirs['best']}, keeps {theirs['said']} and "
                 f"{what[theirs['reading']]}" if theirs["best"] else ", and no schedule within the time budget")
        same = theirs["top"] == mine["top"] and theirs["reading"] == mine["reading"]
        text += (": the same answer as here." if same else
                 ": a different answer from this dataset's, so where along the inversion OVG must act depends on the "
                 "data and model, and neither run's answer is general.")
        out.append(text)
    return prose_names(" ".join(out))


def _thirds_overlap(ds: xr.Dataset, top: str, thirds) -> str:
    """Whether the largest third's share stands apart, read on the thirds' 95 % share intervals over the test crops:
    ", though its interval (...) overlaps that of the mid third (...)" when it overlaps another's; "" when it does not
    (or no interval is stored)."""
    from ..studies.schedule import gain_share_interval

    ci = {t: gain_share_interval(ds, t)[1:3] for t in thirds}
    if not all(np.isfinite(v).all() for v in ci.values()):
        return ""
    near = [t for t in thirds if t != top and ci[t][1] >= ci[top][0]]
    if not near:
        return ""
    return (f", though its 95 % interval over the crops ({_pct(ci[top][0])} to {_pct(ci[top][1])}) overlaps "
            + " and ".join(f"the {t} third's ({_pct(ci[t][0])} to {_pct(ci[t][1])})" for t in near)
            + ", so these crops do not tell which third keeps the most")


def verdict(ds: xr.Dataset, root=None) -> str:
    """Short paragraphs: where the S_HF gain lies, how it compares with the paper's account, the best cheap schedule
    (its share of the gain with a 95 % interval over the test crops, read against the target), and what the same
    study found on the other datasets whose results are stored under ``root``."""
    methods = list(map(str, ds["method"].values))
    share = {m: _num(ds, "s_hf_gain_share", m) for m in methods}
    ratio = {m: _num(ds, "time_ratio", m) for m in methods}
    gain = _num(ds, "s_hf_mean", "ovg") - _num(ds, "s_hf_mean", "ddim")
    parts = [f"Full OVG changes the mean S_HF from {_num(ds, 's_hf_mean', 'ddim'):.3f} (DDIM) to "
             f"{_num(ds, 's_hf_mean', 'ovg'):.3f} at {ratio['ovg']:.2f}x DDIM's wall time, with "
             f"{int(_num(ds, 'backward_passes', 'ovg'))} backward passes. {timing_caveat(ds)} The *Performance "
             "benchmarks* chapter measures OVG's cost per device in a dedicated benchmark."]
    from ..metrics.intervals import MIN_EFFECT

    if not math.isfinite(gain) or abs(gain) < MIN_EFFECT["s_hf"]:
        parts.append(f"That change ({gain:+.3f}) is below the smallest S_HF difference that counts "
                     f"({MIN_EFFECT['s_hf']}), so there is no gain to share out: shares of it would be ratios of "
                     "noise, and the schedules are not ranked by it on this run.")
        return prose_names("\n\n".join(parts))
    thirds = [t for t in THIRDS if t in share and math.isfinite(share[t])]
    if thirds:
        top = max(thirds, key=share.get)
        desc = ", ".join(f"{t} {_pct(share[t])}" for t in thirds)
        rng = json.loads(ds.attrs["schedules"]).get(top, {}).get("sigma_range") or [np.nan, np.nan]
        also = [t for t in thirds if t != top and share[t] >= 0.5]   # another third that alone keeps most of it
        parts.append(f"Guiding one third of the steps alone keeps this share of full OVG's gain (each third measured on "
                     f"its own, so the shares need not add to 100 % and one can exceed it): {desc}. The largest is the "
                     f"{top} third's (σ {sigma_text(rng[0])} to {sigma_text(rng[1])}, {_pct(share[top])})"
                     + (overlap := _thirds_overlap(ds, top, thirds))
                     + (f", but the {' and '.join(also)} third{'s' * (len(also) > 1)} alone keep"
                        f"{'s' * (len(also) == 1)} {' and '.join(_pct(share[t]) for t in also)} as well, so the gain "
                        f"is not confined to one third: {'either' if len(also) == 1 else 'each'} of them alone keeps "
                        "most of it." if also else ", and no other third keeps half of the gain."))
        if "high" in thirds:
            agree = top == "high"
            parts.append("The paper places the collapse at the low-SNR, high-σ end of the inversion (Sec. 4, "
                         "App. E, Fig. 17); on this run's shares (each with its 95 % interval over the crops in the "
                         "table above) "
                         f"this {'agrees' if agree and not also else 'partly agrees' if agree else 'does not agree'}: "
                         + ("guidance where σ is high keeps the largest mean share of full OVG's S_HF change"
                            + (f", though not the only large one ({', '.join(also)} too)" if also else "")
                            if agree else f"the largest mean share comes from the {top} third, not from the high-σ "
                            "end") + ("; the intervals overlap, so this is a reading of means" if overlap else "")
                         + ".")
    outside = outside_shares(ds)
    if outside:
        parts.append(outside)
    best = ds.attrs.get("best_schedule", "")
    rule = spaced_percents(ds.attrs.get("target_rule", ""))   # a stored rule in the book's percent style
    if best:
        b = best
        reading, said = target_reading(ds, b)
        parts.append(f"The best schedule within {float(ds.attrs['max_time_ratio'])}x DDIM's time is {b}: "
                     f"{said} at {ratio[b]:.2f}x DDIM's time "
                     f"({int(_num(ds, 'backward_passes', b))} backward passes, PSNR {_psnr(ds, b):.2f} dB "
                     f"against {_psnr(ds, 'ovg'):.2f} dB for full OVG). "
                     + {"meets": f"It meets the target ({rule}), its whole interval at or above that share.",
                        "misses": f"It misses the target ({rule}), its whole interval below that share.",
                        "open": f"Whether it meets the target ({rule}) is open: its interval reaches across that "
                                "share, so on these crops it may or may not keep it."}[reading]
                     + structure_reading(ds, b))
    else:
        cheap = min((m for m in methods if m not in ("ddim", "ovg")), key=ratio.get, default=None)
        parts.append(f"No schedule runs within {float(ds.attrs['max_time_ratio'])}x DDIM's time"
                     + (f" (the cheapest, {cheap}, takes {ratio[cheap]:.2f}x)" if cheap else "")
                     + f", so none meets the target ({rule}).")
    if best and target_reading(ds, best)[0] != "meets" and not int(ds.attrs.get("target_met", 0)):
        most = max((m for m in methods if m not in ("ddim", "ovg") and math.isfinite(share.get(m, np.nan))),
                   key=lambda m: share[m])
        parts.append(f"No schedule keeps 90 % of the gain (the most, {most}, keeps {_pct(share[most])}): no part "
                     "of the trajectory guided alone carries all of it"
                     if share[most] < 0.9 else
                     "Schedules that keep 90 % of the gain cost more than the time budget")
        parts[-1] += "."
    others = other_datasets(ds, root)
    if others:
        parts.append(others)
    return prose_names("\n\n".join(parts))


def settings(ds: xr.Dataset, keys) -> pd.DataFrame:
    """The chapter's "settings of this run": the named attrs, when they were computed and with which packages."""
    import re

    from ..studies.settings import settings_table

    table = settings_table(ds, keys)
    # the gain's definition under the name the quality table heads it by; each σ at the chapter's one precision
    table = table.rename(index={"s_hf_gain": HEADERS["s_hf_gain_share"], "texture score's gain": HEADERS["s_hf_gain_share"]})
    if "value" in table:
        table["value"] = table["value"].map(lambda v: re.sub(
            r"(σ )(\d+(?:\.\d+)?) to (\d+(?:\.\d+)?)",
            lambda m: f"{m.group(1)}{sigma_text(_stored_sigma(ds, m.group(2)))} to "
                      f"{sigma_text(_stored_sigma(ds, m.group(3)))}", v) if isinstance(v, str) else v)
    return table


def _stored_sigma(ds: xr.Dataset, text: str) -> float:
    """The stored σ of the run's grid that a rounded σ of a setting stands for (the nearest one), so that the
    setting prints it at the chapter's precision from the stored value, not from its rounding."""
    sig = np.asarray(json.loads(ds.attrs.get("sigmas", "[]")), dtype=np.float64)
    x = float(text)
    return float(sig[np.argmin(np.abs(sig - x))]) if sig.size else x
