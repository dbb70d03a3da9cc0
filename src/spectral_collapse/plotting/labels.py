"""Chart text in reader form: titles, axis titles, facet headers, subtitles and image-grid row labels. The data of a
chart keep their keys; :func:`chart_label` names them ("ovg_edm" -> "OVG + EDM", "s_hf" -> "S_HF", "eta_hf" -> "η_HF",
"x0 4 ovg_stable" -> "x0, ×4, OVG (stable form)"), :func:`reader_spec` applies it to every title of a Vega-Lite spec
(the book's renderer passes each chart through it) and :func:`chart_label_expr` is the Vega expression that names keys
among an axis's, a legend's or a header's labels."""
from __future__ import annotations

import functools
import json
import re

from ..text import SYMBOLS, factor, notation, symbol
from ..text import step_size, step_sizes  # noqa: F401  (charts name step sizes as the text does)

__all__ = ["chart_label", "chart_title", "with_units", "UNITS", "chart_names", "chart_label_expr", "reader_spec",
           "COMPOUND_WORDS", "step_size", "step_sizes", "reader_names", "OTHER_NAMES", "js_string", "ternary"]

# words of a compound row label that name a model rather than a method: parameterizations and backbones
COMPOUND_WORDS = {"eps": "eps", "x0": "x0", "v": "v", "flow": "flow", "unet": "U-Net", "dit": "DiT"}
# the unit an axis or a title names after a score's chart name: PSNR is in decibels
UNITS = {"PSNR": "dB"}
# a chart title that starts with one of these stays lower-case (a parameterization, a variable)
_LOWER = {"eps", "x0", "v", "u", "k", "t"}


@functools.lru_cache(maxsize=None)
def chart_names() -> dict[str, str]:
    """{key: the name a chart writes}: method labels (not "copy"), metric and step-size keys (their chart symbol:
    "η_HF"), schedules and a few signs ("sigma" -> "σ")."""
    from ..studies.method_labels import METHOD_NAMES
    from ..studies.schedule import SCHEDULE_NAMES

    names = {k: symbol(k, "chart") if k in SYMBOLS else v for k, v in reader_names().items()}
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


def _compound(words: list[str]) -> str | None:
    """"x0 4 ovg_stable" -> "x0, ×4, OVG (stable form)": every word a key, a model word or a whole number, with a method
    or metric among them; else None."""
    from ..studies.method_labels import METHOD_NAMES

    names = chart_names()
    if len(words) < 2 or not any(w in names or w in METHOD_NAMES for w in words):
        return None
    out = []
    for w in words:
        if w in names:
            out.append(names[w])
        elif w in COMPOUND_WORDS:
            out.append(COMPOUND_WORDS[w])
        elif re.fullmatch(r"[1-9]\d*", w):
            out.append(factor(int(w)))
        else:
            return None
    return ", ".join(out)


def _variant(text: str) -> str | None:
    """A method label with a variant's suffix ("ovg_batched", "renoise_r9") by its variant name (``VARIANT_NAMES``) or
    as "method (variant)"; else None."""
    from ..studies.method_labels import METHOD_NAMES, VARIANT_NAMES

    if text in VARIANT_NAMES and text not in METHOD_NAMES:
        return VARIANT_NAMES[text]

    m = re.fullmatch(r"([a-z]+(?:_[a-z]+)*?)_([a-z0-9.]+)", text)
    if not m or m.group(1) not in METHOD_NAMES or m.group(1) == "copy":
        return None
    r = re.fullmatch(r"r(\d+)", m.group(2))
    return f"{METHOD_NAMES[m.group(1)]} ({f'R = {r.group(1)}' if r else m.group(2)})"


def chart_label(text):
    """Any chart text in reader form; a list line by line; anything that is not text as it is."""
    if isinstance(text, (list, tuple)):
        return type(text)(chart_label(t) for t in text)
    if not isinstance(text, str):
        return text
    names = chart_names()
    if text in names:
        return names[text]
    whole = _compound(text.split()) or _variant(text)
    if whole is not None:
        return whole
    return notation(_keys().sub(lambda m: names[m.group(1)], text), "chart")


def with_units(text):
    """``text`` with each score that has a unit (``UNITS``) followed by it ("PSNR" -> "PSNR (dB)") unless it names the
    unit already; lists line by line."""
    if isinstance(text, (list, tuple)):
        return type(text)(with_units(t) for t in text)
    if not isinstance(text, str):
        return text
    for name, unit in UNITS.items():
        if unit not in text:
            text = re.sub(rf"(?<![\w\-]){re.escape(name)}(?![\w\-])", f"{name} ({unit})", text)
    return text


def chart_title(text):
    """A chart's or panel's own title: ``chart_label``, capitalised unless it begins with a lower-case symbol, model
    word or dataset name."""
    text = chart_label(text)
    if isinstance(text, str):
        first = re.match(r"[a-z][a-z]+(?![\w\-])", text)
        if first and first.group(0) not in _LOWER and first.group(0) not in COMPOUND_WORDS:
            return text[0].upper() + text[1:]
    return text


def chart_label_expr(default: str = "datum.label", labels=None, key: str = "datum.label", units: bool = False) -> str:
    """A Vega expression comparing ``key`` and writing each key by its chart name (and each of ``labels`` by
    ``chart_label``), else ``default``; ``units``: names with their units (facet headers)."""
    shown = dict(chart_names())
    for v in labels or ():
        name = chart_label(v)
        if name != v:
            shown[v] = name
    if units:
        shown.update({name: name for name in UNITS})
        shown = {raw: with_units(name) for raw, name in shown.items()}
        shown = {raw: name for raw, name in shown.items() if name != raw}
    return ternary(shown, key, default)


def ternary(shown: dict, key: str = "datum.label", default: str = "datum.label") -> str:
    """A Vega expression giving ``shown[v]`` where ``key`` is v, else ``default``."""
    expr = default
    for raw, name in reversed(list(shown.items())):
        expr = f"{key} === {js_string(raw)} ? {js_string(name)} : {expr}"
    return expr


def _data_labels(spec: dict) -> list[str]:
    """The short texts among a spec's data values that ``chart_label`` renames."""
    rows = [r for v in (spec.get("datasets") or {}).values() for r in v if isinstance(r, dict)]
    found = dict.fromkeys(v for r in rows for v in r.values() if isinstance(v, str) and 0 < len(v) <= 60)
    return [v for v in found if chart_label(v) != v]


# where a spec holds data, not text to read
_LEGENDS = {"color", "fill", "stroke", "shape", "strokeDash", "size", "opacity"}
_DATA = {"data", "datasets", "values", "transform"}
_CHANNELS = {"x", "y", "row", "column", "facet", *_LEGENDS, "theta", "radius"}


def reader_spec(spec: dict) -> dict:
    """A new Vega-Lite spec (``Chart.to_dict()``) in reader form: titles by ``chart_title`` / ``chart_label`` with
    units, and the labels an axis, a legend or a header lists from the data renamed by a ``labelExpr`` (one the chart
    sets stays)."""
    if not isinstance(spec, dict):
        return spec
    labels = _data_labels(spec)
    expr = chart_label_expr(labels=labels)
    out = _walk(spec, True, expr)
    config = dict(out.get("config") or {})
    for part, own_expr, theme in (("axis", expr, chart_label_expr()),
                                  ("header", chart_label_expr(labels=labels, key="datum.value", units=True),
                                   chart_label_expr(key="datum.value"))):
        own = dict(config.get(part) or {})
        if own.get("labelExpr") in (None, theme):
            config[part] = {**own, "labelExpr": own_expr}
    out["config"] = config
    return out


def _layer_titles(layers) -> frozenset:
    """The channels some layer of a layered chart titles itself (no other layer then gets a title from its field)."""
    titled = set()
    for layer in layers if isinstance(layers, list) else []:
        enc = layer.get("encoding", {}) if isinstance(layer, dict) else {}
        titled |= {k for k, v in enc.items() if isinstance(v, dict) and "title" in v}
        titled |= _layer_titles(layer.get("layer")) if isinstance(layer, dict) else set()
    return frozenset(titled)


def _walk(spec, _chart: bool, expr: str, titled: frozenset = frozenset()):
    if isinstance(spec, list):
        return [_walk(v, _chart, expr, titled) for v in spec]
    if not isinstance(spec, dict):
        return spec
    if "layer" in spec:
        titled = titled | _layer_titles(spec["layer"])
    out = {}
    for k, v in spec.items():
        if k in _DATA:
            out[k] = v
        elif k == "title":
            out[k] = _title(v, _chart)
        elif k in _CHANNELS and isinstance(v, dict):
            out[k] = _walk(_channel(k, v, expr, k in titled), False, expr, titled)
        elif k in {"encoding", "header", "axis", "legend"}:
            out[k] = _walk(v, False, expr, titled)
        else:
            out[k] = _walk(v, _chart, expr, titled)
    return out


def _channel(name: str, v: dict, expr: str, titled: bool = False) -> dict:
    """A channel titled by its field where the field is a key and nothing titles it, and a nominal legend naming keys
    unless it sets its labels."""
    field = v.get("field")
    if (isinstance(field, str) and "title" not in v and not titled
            and not any(a in v for a in ("aggregate", "bin", "timeUnit")) and chart_label(field) != field):
        v = {**v, "title": field}
    legend = v.get("legend", {})
    if name in _LEGENDS and v.get("type") in ("nominal", "ordinal") and legend is not None \
            and "labelExpr" not in legend:
        v = {**v, "legend": {**legend, "labelExpr": expr}}
    return v


def _title(v, chart: bool):
    name = chart_title if chart else chart_label
    if isinstance(v, dict):
        return {**v, **{k: (with_units(name(v[k])) if k == "text" else chart_label(v[k])) for k in ("text", "subtitle")
                        if k in v}}
    return with_units(name(v))


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
               "delta_log_e_hf_chroma_ref": "chroma detail (vs real crops)"}


def js_string(text: str) -> str:
    """``text`` as a string literal of a Vega expression."""
    return json.dumps(str(text), ensure_ascii=False)
