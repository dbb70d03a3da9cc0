"""Chart text in reader form (:func:`chart_label`, :func:`reader_spec`, :func:`chart_label_expr`)."""
from __future__ import annotations

import functools
import json
import re

from ..text import SYMBOLS, notation, symbol

__all__ = ["chart_label", "chart_title", "with_units", "UNITS", "chart_names", "chart_label_expr", "reader_spec",
           "reader_names", "OTHER_NAMES"]

# the unit an axis or a title names after a score's chart name: PSNR is in decibels
UNITS = {"PSNR": "dB"}
# a chart title that starts with one of these stays lower-case (a parameterization, a backbone, a variable)
_LOWER = {"eps", "x0", "v", "u", "k", "t", "flow", "unet", "dit"}


@functools.lru_cache(maxsize=None)
def chart_names() -> dict[str, str]:
    """{key: the name a chart writes} of methods, variants, metrics, step sizes, schedules and a few signs."""
    from ..framework.method_labels import VARIANT_NAMES
    from ..reference.method_names import METHOD_NAMES
    from ..studies.ovg_schedule import SCHEDULE_NAMES

    names = {k: symbol(k, "chart") if k in SYMBOLS else v for k, v in reader_names().items()}
    names.update({k: v for k, v in VARIANT_NAMES.items() if k not in METHOD_NAMES})
    names.update({k: v for k, v in METHOD_NAMES.items() if k != "copy"})
    names["sigma"] = "σ"
    # guidance schedules with an identifier for a key ("every_4" -> "every 4th step")
    names.update({k: v.removeprefix("the ") for k, v in SCHEDULE_NAMES.items() if "_" in k})
    names["train_seed"] = "training seed"
    names.update({"gaussian": "Gaussian", "gaussian (reference)": "Gaussian (reference)"})
    # the latent's mean squared norm per dimension under the keys of its per-sample and per-latent values
    names.update({k: names["mean_norm_ratio"] for k in ("latent_norm_ratio", "norm_ratio")})
    return names


@functools.lru_cache(maxsize=None)
def _keys() -> re.Pattern:
    keys = sorted(chart_names(), key=len, reverse=True)
    # a key on its own: not part of an identifier, a path, a file name or an assignment ("s_hf_unit", "x=ddim")
    return re.compile(r"(?<![\w\-./=])(" + "|".join(map(re.escape, keys)) + r")(?![\w\-/(]|\.\w)")


def chart_label(text):
    """Any chart text in reader form; a list line by line; anything that is not text as it is."""
    if isinstance(text, (list, tuple)):
        return type(text)(chart_label(t) for t in text)
    if not isinstance(text, str):
        return text
    names = chart_names()
    if text in names:
        return names[text]
    return notation(_keys().sub(lambda m: names[m.group(1)], text), "chart")


def with_units(text):
    """``text`` with each score's unit (``UNITS``) after it unless named ("PSNR" -> "PSNR (dB)"); lists line by line."""
    if isinstance(text, (list, tuple)):
        return type(text)(with_units(t) for t in text)
    if not isinstance(text, str):
        return text
    for name, unit in UNITS.items():
        if unit not in text:
            text = re.sub(rf"(?<![\w\-]){re.escape(name)}(?![\w\-])", f"{name} ({unit})", text)
    return text


def chart_title(text):
    """A chart's or panel's own title: ``chart_label``, capitalised unless it begins with a lower-case word."""
    text = chart_label(text)
    if isinstance(text, str):
        first = re.match(r"[a-z][a-z]+(?![\w\-])", text)
        if first and first.group(0) not in _LOWER:
            return text[0].upper() + text[1:]
    return text


def chart_label_expr(default: str = "datum.label", labels=(), key: str = "datum.label", units: bool = False) -> str:
    """A Vega expression writing each key (and each of ``labels``) at ``key`` by its chart name, else ``default``."""
    shown = {**chart_names(), **{v: chart_label(v) for v in labels}}
    if units:
        shown = {**shown, **{name: name for name in UNITS}}
        shown = {raw: with_units(name) for raw, name in shown.items()}
    expr = default
    for raw, name in reversed([(raw, name) for raw, name in shown.items() if name != raw]):
        expr = f"{key} === {json.dumps(raw, ensure_ascii=False)} ? {json.dumps(name, ensure_ascii=False)} : {expr}"
    return expr


# where a spec holds data, not text to read; the channels whose field may title them
_DATA = {"data", "datasets", "values", "transform"}
_LEGENDS = {"color", "fill", "stroke", "shape", "strokeDash", "size", "opacity"}
_CHANNELS = {"x", "y", "row", "column", "facet", "theta", "radius", *_LEGENDS}


def reader_spec(spec: dict) -> dict:
    """A new Vega-Lite spec in reader form: titles, labels, nominal legends and headers by their names."""
    if not isinstance(spec, dict):
        return spec
    rows = [r for v in (spec.get("datasets") or {}).values() for r in v if isinstance(r, dict)]
    labels = [v for v in dict.fromkeys(v for r in rows for v in r.values() if isinstance(v, str) and 0 < len(v) <= 60)
              if chart_label(v) != v]
    expr = chart_label_expr(labels=labels)
    out = _walk(spec, True, expr)
    config = dict(out.get("config") or {})
    for part, own_expr, theme in (("axis", expr, chart_label_expr()),
                                  ("header", chart_label_expr(labels=labels, key="datum.value", units=True),
                                   chart_label_expr(key="datum.value"))):
        own = dict(config.get(part) or {})
        if own.get("labelExpr") in (None, theme):
            config[part] = {**own, "labelExpr": own_expr}
    return {**out, "config": config}


def _titled(layers) -> set:
    """The channels some layer of a layered chart titles itself (no other layer then gets a title from its field)."""
    out = set()
    for layer in layers if isinstance(layers, list) else []:
        if isinstance(layer, dict):
            out |= {k for k, v in layer.get("encoding", {}).items() if isinstance(v, dict) and "title" in v}
            out |= _titled(layer.get("layer"))
    return out


def _walk(spec, chart: bool, expr: str, titled: frozenset = frozenset()):
    if isinstance(spec, list):
        return [_walk(v, chart, expr, titled) for v in spec]
    if not isinstance(spec, dict):
        return spec
    titled = titled | _titled(spec.get("layer"))
    out = {}
    for k, v in spec.items():
        if k in _DATA:
            out[k] = v
        elif k == "title":
            name = chart_title if chart else chart_label
            out[k] = ({**v, **{t: with_units(name(v[t])) if t == "text" else chart_label(v[t])
                               for t in ("text", "subtitle") if t in v}} if isinstance(v, dict)
                      else with_units(name(v)))
        elif k in _CHANNELS and isinstance(v, dict):
            field = v.get("field")
            if (isinstance(field, str) and "title" not in v and k not in titled and chart_label(field) != field
                    and not any(a in v for a in ("aggregate", "bin", "timeUnit"))):
                v = {**v, "title": field}
            legend = v.get("legend", {})
            named = k in _LEGENDS and v.get("type") in ("nominal", "ordinal") and legend is not None
            if named and "labelExpr" not in legend:
                v = {**v, "legend": {**legend, "labelExpr": expr}}
            out[k] = _walk(v, False, expr, titled)
        else:
            out[k] = _walk(v, chart and k not in {"encoding", "header", "axis", "legend"}, expr, titled)
    return out


@functools.lru_cache(maxsize=None)
def reader_names() -> dict[str, str]:
    """{metric or step-size key: plain name} ("s_hf" -> "S_HF", "ms_ssim" -> "MS-SSIM")."""
    from ..studies.metric_validation import POINT_HEADERS

    names = {key: plain for key, (_, _, plain, _) in SYMBOLS.items()}
    return {**OTHER_NAMES, **{k: v for k, v in POINT_HEADERS.items() if k not in names}, **names}


# result keys that are neither a symbol nor a metric header
OTHER_NAMES = {"noise_s_hf": "S_HF of samples from noise", "ks_p": "p-value", "norm_z": "norm z-score",
               "delta_log_e_hf_luma": "Δlog E_Y", "delta_log_e_hf_chroma": "Δlog E_CbCr", "kid_wav": "KID_wav",
               "hf_coherence": "HF coherence", "delta_log_e_hf_luma_ref": "luma detail (vs real crops)",
               "delta_log_e_hf_chroma_ref": "chroma detail (vs real crops)", "colour_noise": "colour noise",
               "luma_noise": "luminance noise", "norm_ratio": "norm ratio", "hf_deficit": "HF deficit",
               "support_leak": "support leak"}
