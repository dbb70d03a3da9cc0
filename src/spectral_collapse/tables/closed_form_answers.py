"""The values the closed-form chapter quotes, by name. Costs: the main results' leak table (a few seconds)."""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

from ..data.support import support_projector
from ..text import trend
from .support import leak_table

__all__ = ["closed_form_answers"]

SERIES = ("input", "oracle", "oracle_ddim", "shipped", "white")   # the latent sets the chapter compares
LEAK_METHODS = ("ddim", "edm", "ovg", "taba")


def _pct(v) -> str:
    return f"{100 * float(v):.0f} %"


def _listed(values, fmt="{:.2f}") -> str:
    return " / ".join(fmt.format(float(v)) for v in values)


def inside_blocks(edges) -> str:
    """The drift's change inside blocks over across their edges per block-edge ratio; "n/a" without a block grid;
    inf (a drift constant on each block) reads "0 (to rounding)"."""
    edges = np.atleast_1d(np.asarray(np.nan if edges is None else edges, dtype=float))
    if np.isnan(edges).any():
        return "n/a (no block grid)"
    return " / ".join("0 (to rounding)" if 1 / e < 1e-6 else f"{1 / e:.2f}" for e in edges)


def _oracle(ds: xr.Dataset) -> dict[str, object]:
    a = ds.attrs
    out = {"etas": " / ".join(f"{float(e):.0e}" for e in ds["eta_hf"].values),
           "d": str(int(np.prod(ds["latent"].shape[1:]))), "n_images": str(int(a["n_images"])),
           "support_source": str(int(a["support_source"])), "low_fraction": _pct(a["low_fraction"]),
           **{f"low_chroma_{dom}": _pct(a[f"low_chroma_{dom}"]) for dom in ("source", "target")},
           "sigma_0": f"{a['sigma_0']:.3g}", "sigma_T": f"{a['sigma_T']:.3g}", "ddim_gap": _pct(a["ddim_gap"]),
           "white_chroma": _pct(a["white_noise_chroma_share"]),
           "truth_chroma": _pct(a.get("truth_detail_chroma_share", np.nan))}
    for m in ("oracle", "shipped"):
        d = ds.sel(model=m)
        out[f"{m}_drift_chroma"] = _listed(d["drift_chroma_share"].values)
        out[f"{m}_first_step"] = _listed(100 * d["drift_first_step"].values, "{:.0f} %")
        out[f"{m}_inside_blocks"] = inside_blocks(d["drift_block_edge_ratio"].values)
    for s in SERIES:
        r = ds.sel(series=s)
        out.update({f"{s}_norm": f"{float(r['norm_ratio']):.3f}", f"{s}_sdc": f"{float(r['s_dc']):.2f}",
                    f"{s}_k90": f"{int(r['k90'])}", f"{s}_hf": f"{10 ** float(r['hf_deficit']):.2f}"})
    out["k90_white"] = f"{int(ds['k90_white'].values[0])}"
    return out


def _operating(ds: xr.Dataset, main: xr.Dataset | None) -> dict[str, object]:
    """The drift's chroma share at OVG's operating step (the nearest to the main results' eta_HF) for the oracle and
    the shipped model beside white noise's: the colour bias is the method's where the oracle's exceeds it."""
    etas = np.asarray(ds["eta_hf"].values, dtype=float)
    op = json.loads(main.attrs.get("ovg", "{}")) if main is not None else {}
    eta = float((op.get("per_base") or {}).get("ovg", op).get("eta_hf", np.nan)) if op else np.nan
    k = int(np.argmin(np.abs(np.log10(etas) - np.log10(eta)))) if np.isfinite(eta) and eta > 0 else len(etas) // 2
    share = {m: float(np.asarray(ds.sel(model=m)["drift_chroma_share"].values, dtype=float)[k])
             for m in ("oracle", "shipped")}
    white = float(ds.attrs.get("white_noise_chroma_share", np.nan))
    return {"op_eta": f"{etas[k]:.0e}", "op_source": "the main results' OVG step" if np.isfinite(eta) else
            "the middle step size (no main results stored)",
            "oracle_op_chroma": _pct(share["oracle"]), "shipped_op_chroma": _pct(share["shipped"]),
            # whether the oracle's drift carries more colour than i.i.d. noise at that step: the bias is the method's
            "oracle_colour_above_white": bool(share["oracle"] > white)}


def _support(ds: xr.Dataset, main: xr.Dataset | None) -> dict[str, str]:
    task = json.loads(main.attrs.get("task", "null")) if main is not None else None
    out = {"support_error": ""}   # why no support is known, when none is
    try:
        proj = support_projector(task, tuple(int(s) for s in ds["latent"].shape[-3:]))
    except ValueError as err:
        out.update(support_kind="none", support_error=str(err), support_dim="n/a", support_d="n/a", white_share="n/a")
    else:
        kind = {"BlockProjector": "block", "GreyProjector": "grey"}.get(type(proj).__name__, "other")
        out.update(support_kind=kind, block_factor=str(getattr(proj, "factor", "n/a")), support_dim=f"{proj.dim:,}",
                   support_d=f"{proj.d:,}", white_share=f"{proj.white_share:.4f}")
    leaks = leak_table(main) if main is not None else None
    have = leaks is not None and not leaks.empty
    for m in LEAK_METHODS:
        for col in ("trained", "oracle"):
            v = leaks.loc[m, col] if have and m in leaks.index and col in leaks else float("nan")
            out[f"leak_{col}_{m}"] = f"{v:.2g}" if abs(v) < 1e-3 else f"{v:.2f}"
    return out


def _scale(ds: xr.Dataset) -> dict[str, str]:
    out = {"sizes": " / ".join(str(int(s)) for s in ds["size"].values),
           "scale_inputs": str(int(ds["scale_n_inputs"].values[0])),
           "scale_drift_inputs": _listed(ds["scale_drift_inputs"].values, "{:.0f}"),
           "scale_fit_crops": _listed(ds["scale_fit_crops"].values, "{:.0f}")}
    for var, fmt in (("scale_s_dc", "{:.2f}"), ("scale_norm_ratio", "{:.3f}"), ("scale_drift_chroma", "{:.2f}"),
                     ("scale_low_chroma_target", "{:.2f}"), ("scale_seconds", "{:.0f}")):
        out[var] = _listed(ds[var].values, fmt)
    out["scale_hf"] = _listed(10 ** ds["scale_hf_deficit"].values)
    out["scale_k90"] = _listed(ds["scale_k90"].values, "{:.0f}")
    out["scale_k90_white"] = _listed(ds["scale_k90_white"].values, "{:.0f}")
    # a trend is named only for a change of more than 0.05 in one direction (text.trend)
    out["trend_sdc"] = trend(ds["scale_s_dc"].values, "shrinks", "grows", "neither grows nor shrinks")
    out["trend_norm"] = trend(abs(ds["scale_norm_ratio"].values - 1), "further from 1", "closer to 1",
                              "neither closer to nor further from 1")
    out["trend_chroma"] = trend(ds["scale_drift_chroma"].values, "rises", "falls", "neither rises nor falls")
    return out


def closed_form_answers(ds: xr.Dataset, main: xr.Dataset | None = None) -> dict[str, object]:
    """Every value the closed-form chapter quotes, by name (``main``: the main results, for the support and leaks)."""
    return {**_oracle(ds), **_support(ds, main), **_scale(ds), **_operating(ds, main)}
