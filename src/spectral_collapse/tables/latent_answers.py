"""The values the latent-analysis chapters quote, by name. Costs: the chapter's tables (``tables.latents``)."""
from __future__ import annotations

import xarray as xr

from ..claims.paper import chapter_verdicts
from ..metrics.intervals import paired_ci
from ..metrics.latent import ks_resolution, white_noise_s_dc
from . import latents as T
from .main_answers import verdict_answers

__all__ = ["gaussianity_answers", "decorrelation_answers", "pca_answers", "velocity_answers"]


def _num(x, digits: int = 3) -> str:
    """``x`` with ``digits`` decimals and a true minus sign."""
    return f"{x:.{digits}f}".replace("-", "−")


def gaussianity_answers(ds: xr.Dataset) -> dict[str, str]:
    """S_G, mean ‖x_T‖²/d and norm z per method, DDIM's paired differences, the KS test's counts and ranges."""
    out = {}
    tab = T.gaussianity_table(ds)
    d, n = int(ds.attrs["d"]), int(ds.attrs["n_latents"])
    for key, row in tab.rename(index={"gaussian (reference)": "gauss"}).iterrows():
        out.update({f"{key}_s_g": _num(row["s_g"]), f"{key}_norm": _num(row["mean_norm_ratio"]),
                    f"{key}_z": _num(row["norm_z"], 1)})
    for key in ("ddim", "taba", "edm"):
        if key not in tab.index:
            out.update({f"{key}_{col}": "n/a (not run)" for col in ("s_g", "norm", "z")})
    con = T.gaussianity_contrasts(ds)
    for other in ("taba", "edm"):
        r = con.loc[f"ddim − {other}"] if f"ddim − {other}" in con.index else None
        out[f"dg_{other}"] = "n/a" if r is None else f"{_num(r.s_g, 4)} [{_num(r.s_g_lo, 4)}, {_num(r.s_g_hi, 4)}]"
        out[f"dz_{other}"] = ("n/a" if r is None else
                              f"{_num(r.abs_z, 1)} [{_num(r.abs_z_lo, 1)}, {_num(r.abs_z_hi, 1)}]")
    methods = tab.index[tab.index != "gaussian (reference)"]
    sd_lo, sd_hi = T.sd_ratio_range(n)
    return {**out, "n_rejected": f"{int((tab.loc[methods, 'ks_p'] < 0.05).sum())}", "n_methods": f"{len(methods)}",
            "d": f"{d}", "n": f"{n}", "ks_res": _num(ks_resolution(n)),
            "norm_err": f"{100 * T.smallest_norm_error(n, d):.1f} %", "sd_range": f"{sd_lo:.2f} to {sd_hi:.2f}"}


def decorrelation_answers(ds: xr.Dataset) -> dict[str, str]:
    """Mean S_DC per method, DDIM's paired differences, r(S_G, S_DC) over runs, sizes and white noise's S_DC."""
    tab = T.decorrelation_table(ds)
    out = {f"{m}_s_dc": _num(tab.loc[m, "s_dc"]) if m in tab.index else "n/a" for m in ("ddim", "taba", "edm")}
    for m in ("taba", "edm"):
        ci = paired_ci(*(ds["s_dc"].sel({"method": k}) for k in ("ddim", m))) if {m, "ddim"} <= set(tab.index) else None
        out[f"d_{m}"] = f"{_num(ci.mean)} [{_num(ci.lo)}, {_num(ci.hi)}]" if ci is not None else "n/a"
    r, lo, hi, n_runs = T.run_correlation(ds)
    return {**out, "r": f"{_num(r, 2)} [{_num(lo, 2)}, {_num(hi, 2)}]", "n_runs": f"{n_runs}",
            "n": f"{ds.sizes['latent']}", "runs": f"{ds.sizes['run']}", "n_run": f"{ds.attrs['n_run']}",
            "steps": ", ".join(str(int(s)) for s in ds.attrs["steps_grid"]),
            "white": _num(white_noise_s_dc(int(ds.sizes["channel"]))), "channels": f"{ds.sizes['channel']}"}


def pca_answers(ds: xr.Dataset, name=str) -> dict[str, str]:
    """The verdicts, k90 and AUC of noise and of each series (``name``: as written), and noise's curve."""
    out = verdict_answers(chapter_verdicts(ds))
    tab = T.pca_table(ds)
    inv = [s for s in tab.index if s != "gaussian"]
    for col, fmt in (("k90", "{:d}"), ("auc", "{:.3f}")):
        out[f"{col}_gauss"] = fmt.format(tab.loc["gaussian", col])
        out[f"{col}_list"] = ", ".join(f"{name(s)} {fmt.format(tab.loc[s, col])}" for s in inv)
    out.update(draws=f"{ds.sizes.get('draw', 0)}", subsample=f"{ds.attrs.get('k90_subsample', 0)}",
               n=f"{int(tab['n'].max())}")
    noise = T.noise_curve(ds)
    out.update({f"noise_{k}": f"{noise[k]}" for k in ("m", "gap_at", "k90", "k90_even")})
    out.update({f"noise_{k}": f"{noise[k]:.3f}" for k in ("gap", "auc", "auc_even")})
    out["above_list"] = "; ".join(f"{name(s)} above it at {r.above:.0f} of {r.of:.0f} components, "
                                  f"by up to {r.max_above:.3f}" for s, r in T.against_noise(ds).iterrows())
    out["noise_scatter"] = f"{T.noise_scatter(ds):.3f}"
    return out


def velocity_answers(ds: xr.Dataset) -> dict[str, str]:
    """Late HF log power per method and its fall, DDIM's gaps to EDM and OVG, and the cells above noise."""
    s = T.velocity_summary(ds)
    fall = s["hf_late"] - s["hf_early"]
    out = {}
    for m in ("ddim", "edm", "ovg"):
        have = m in s.index
        out.update({f"{m}_late": _num(s.loc[m, "hf_late"], 2) if have else "n/a",
                    f"{m}_fall": _num(fall[m], 2) if have else "n/a"})
    for m in ("edm", "ovg"):
        have = {m, "ddim"} <= set(s.index)
        out.update({f"gap_{m}": _num(s.loc["ddim", "hf_late"] - s.loc[m, "hf_late"], 2) if have else "n/a",
                    f"dfall_{m}": _num(fall["ddim"] - fall[m], 2) if have else "n/a"})
    return {**out, "n_samples": f"{ds.attrs['n_samples']}", "n_positive": f"{len(T.positive_cells(ds))}"}
