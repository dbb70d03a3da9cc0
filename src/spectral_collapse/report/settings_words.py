"""The words of a chapter's settings table: what a stored key, an arm's tag or a stored definition says, written for
a reader.

Results files keep their settings as the code wrote them: keys ("latent_space", "num_train_timesteps"), mappings,
and definitions that name the variables and functions they came from ("x_T = Denoiser.to_noise", "the raw form:
s_dc_raw"). A settings table shows each of them in words (``report.settings.reader_view`` applies ``words`` to every
row's name and value): a stored key by its name (``KEY_WORDS``; a metric by its reader name, a schedule or a method
label by its chart name, any other key with its underscores as spaces), "key = value" clauses as "key: value", an
ablation arm's tag by what it varies ("train_seed1" -> "training seed 1", "eps-factor4" -> "eps, ×4"), and the
stored definitions' internal names by what they stand for (``_PHRASES``). Results already stored read the same way:
the words are made when the table is shown, the results file is not changed.
"""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import numpy as np

from ..text import spaced_percents
from ..train.cache import HASHED_NAME, model_name

__all__ = ["KEY_WORDS", "key_words", "arm_words", "words", "SNAKE_KEY", "tuning_text", "ms_ssim_text", "readable",
           "model_name", "ovg_text", "plain_source", "sweep_words", "parameterization_words", "PARAMETERIZATION_WORDS",
           "DATA_OPTION_WORDS", "option_words", "HASHED_NAME", "MISSING", "is_empty", "guidance_text", "parsed_value"]

# a stored key: lower-case words joined by underscores ("s_dc_raw", "num_train_timesteps"); not part of a name with
# hyphens, a path or a file name ("ihc-sr-x4-eps-quick", "data/weights")
SNAKE_KEY = re.compile(r"(?<![\w\-./])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?:\.\d+)?(?![\w\-/])")

# a variable with a subscript ("x_t", "x_0", "z_i"), which the book writes as it is
_VARIABLE = re.compile(r"[a-z]_[a-z0-9]{1,2}")

# stored keys as a reader names them (those not named by the metrics', methods' or schedules' names)
KEY_WORDS = {
    "latent_space": "latent space", "vae": "autoencoder", "scaling_factor": "scaling factor", "encode": "encoding",
    "num_train_timesteps": "training timesteps", "shift_terminal": "terminal shift", "dynamic": "dynamic shift",
    "train_seed": "training seed", "factor": "SR factor", "backward_passes": "backward passes",
    "time_ratio": "time ratio", "norm_ratio": "‖x_T‖²/d", "norm_z": "norm z-score", "z_mean": "mean z-score",
    "ks_resolution": "the KS resolution", "flagged_ratio": "flagged share", "s_dc_raw": "S_DC raw", "cev": "the curves",
    "cev_raw": "the curves of the raw latents", "per_base": "per OVG variant", "timing_images": "timed inputs",
}

# stored definitions, as the studies wrote them and typeset (``report.latents.typeset``: ‖x_T‖², √, −), with their
# internal names put in words (applied before the keys)
_PHRASES = (
    (re.compile(r"x_T = \w+\.to_noise"),
     "x_T is the last inversion state scaled to the unit-variance noise the model samples from"),
    (re.compile(r"(?:each latent scaled to unit variance first )?\(s_dc, flagged_ratio, mask; the raw form: s_dc_raw\)"),
     "S_DC, the flagged share and the flag masks are computed on each latent scaled to unit variance; S_DC raw is "
     "the same score on the latents as inverted, without that scaling"),
    (re.compile(r"s_dc_raw: the same on the raw latent"),
     "S_DC raw is the same score on the latents as inverted, without that scaling"),
    (re.compile(r"; s_lf_gt uses the ground truth"),
     "; S_LF (truth): the same score against the ground-truth image instead"),
    (re.compile(r"\(cev; raw latents: cev_raw\)"), "(the curves; the raw latents' curves beside them)"),
    (re.compile(r"norm_ratio = ‖x_T‖² / d; "), ""),
    (re.compile(r"norm_z = \(mean ‖x_T‖² − d\) / √\(2 d / n\), ~N\(0, 1\) under N\(0, I\)"),
     "norm z-score = (mean ‖x_T‖² − d) / √(2 d / n), about N(0, 1) for n Gaussian latents"),
    (re.compile(r"S_G values within ks_resolution \(the KS critical distance at n, alpha ([\d.]+)\) tie"),
     r"two S_G closer than the KS test's resolution (its critical distance at n latents, α = \1) count as tied"),
    (re.compile(r"\|FFT\(z_\{i\+1\} − z_i\)\|\^2"), "|FFT(zᵢ₊₁ − zᵢ)|²"),
    (re.compile(r"of timing_images inputs"), "of the timed inputs"),
    (re.compile(r"\bFPR (?=\d)"), "false-positive rate "),
    (re.compile(r"of the same count and shape, seed \+ (\d+)$"), r"of the same count and shape, seeded with the run's seed + \1"),
    (re.compile(r"^invert under the source label (\S+) on the profile's grid"),
     r"inverted under the source label \1 on the profile's step grid"),
    (re.compile(r"(?<=\d)x(?= the\b)"), "×"),
    (re.compile(r"\bEq\. (\d+)-(\d+)"), r"Eq. \1–\2"),
    (re.compile(r"\bScaledLatentEuler\b"), "Euler on a scaled latent"),
    (re.compile(r"\bNullClass\b"), "Null-Class"),
)

# a model word of an arm's tag ("unet" -> "U-Net"), a factor ("factor4" -> "×4"), a seed ("train_seed1")
_ARM_PART = re.compile(r"(?:(?P<factor>factor)(?P<f>\d+)|(?P<seed>train_seed)(?P<s>\d+))")


@functools.lru_cache(maxsize=None)
def _names() -> dict[str, str]:
    """{key: words}: metric and step-size keys by their chart names (symbols: "η_HF"), method labels and schedules by
    theirs, then ``KEY_WORDS``."""
    from ..plotting.labels import chart_names
    from ..plotting.labels import reader_names

    return {**reader_names(), **chart_names(), **KEY_WORDS}


def key_words(key: str) -> str:
    """A stored key in words: its name where the book has one ("latent_space" -> "latent space", "s_lf_gt" ->
    "S_LF (truth)", "every_2" -> "every 2nd step", "ddim_x1.15" -> "DDIM, latent ×1.15"), else its underscores as
    spaces."""
    from ..plotting.labels import chart_label

    key = str(key)
    if key in _names():
        return _names()[key]
    if _VARIABLE.fullmatch(key):
        return key
    named = chart_label(key)
    return named if named != key and "_" not in named else key.replace("_", " ")


def arm_words(tag: str) -> str:
    """An ablation arm's tag by what it varies: "train_seed1" -> "training seed 1", "eps-factor4" -> "eps, ×4",
    "unet" -> "U-Net", "latent" -> "latent space"; a name already in words ("U-Net") as it is, never split at its
    hyphen."""
    from ..plotting.labels import COMPOUND_WORDS
    from ..text import factor

    if not re.fullmatch(r"[a-z0-9_.-]+", str(tag)):   # already a reader name ("U-Net", "ε-prediction, ×4")
        return str(tag)
    parts = []
    for p in str(tag).split("-"):
        m = _ARM_PART.fullmatch(p)
        if m and m.group("factor"):
            parts.append(factor(int(m.group("f"))))
        elif m:
            parts.append(f"training seed {m.group('s')}")
        elif p in ("pixel", "latent"):
            parts.append(f"{p} space")
        else:
            parts.append(COMPOUND_WORDS.get(p, key_words(p)))
    return ", ".join(parts)


def words(text: str) -> str:
    """A settings row's name or value in words: the stored definitions' internal names (``_PHRASES``), an arm's row
    ("arm train_seed1" -> "arm: training seed 1"), "key = value" clauses as "key: value", and every other stored
    key by ``key_words``."""
    from ..text import typeset

    text = str(text)
    arm = re.fullmatch(r"arm:? (.+)", text)
    if arm:
        return f"arm: {arm_words(arm.group(1))}"
    text = typeset(text)
    for pattern, to in _PHRASES:
        text = pattern.sub(to, text)
    text = re.sub(r"(^|; )([a-z][a-z0-9]*(?:_[a-z0-9]+)+) = ", lambda m: f"{m.group(1)}{key_words(m.group(2))}: ",
                  text)
    return SNAKE_KEY.sub(lambda m: key_words(m.group(0)), text)


def tuning_text(value) -> str:
    """A step-size tuning record ({"grid": {key: values}, "choice": {key: value, score: value}, "n_images", "rule",
    "choice_on_edge"}) as a reader takes it in: the grid's size and range per step size, the chosen point with its
    scores, the rule and the images, and where the choice lies on the grid's edge."""
    from ..text import symbol

    from ..plotting.labels import step_size

    grid, choice = value.get("grid") or {}, value.get("choice") or {}

    def shown(k, v) -> str:   # an OVG step size in the book's one form ("10⁻⁸"), anything else as it is
        return step_size(v) if k in ("eta_hf", "eta_lf") else readable(v)

    sizes = " × ".join(str(len(v)) for v in grid.values())
    ranges = ", ".join(f"{symbol(k, 'chart')} {shown(k, min(v))} to {shown(k, max(v))}" for k, v in grid.items() if v)
    steps = ", ".join(f"{symbol(k, 'chart')} {shown(k, v)}" for k, v in choice.items() if k in grid)
    scores = ", ".join(f"{symbol(k, 'chart')} {v:.3f}" for k, v in choice.items()
                       if k not in grid and isinstance(v, (int, float)))
    text = f"grid of {sizes} ({ranges}); chosen {steps}" + (f" ({scores})" if scores else "")
    if value.get("rule") or value.get("n_images"):
        text += f" by the {value.get('rule', '')} rule".replace("the  rule", "the rule") + (
            f" on {value['n_images']} {'validation crops' if value.get('tuning_crops') else 'images'}"
            if value.get("n_images") else "")
    edge = []
    for e in value.get("choice_on_edge") or []:
        key, _, side = str(e).partition(" ")
        edge.append(f"the {side or 'outer'} end of {symbol(key, 'chart') if key in grid else key}")
    if edge:
        text += "; at " + " and ".join(edge) + ", the grid's edge"
    return text


def ms_ssim_text(value) -> str:
    """An MS-SSIM configuration (``metrics.image.ms_ssim``'s record) in words: scales, window, whether it is the
    standard form, the smallest image it needs."""
    from ..metrics.image import MS_SSIM_WEIGHTS

    cfg = parsed_value(value)
    if not isinstance(cfg, dict) or "scales" not in cfg:
        return readable(value)

    kind = "the standard form" if cfg.get("standard") else \
        f"a reduced, non-standard form (the standard one has {len(MS_SSIM_WEIGHTS)} scales)"
    window = (f", a {cfg['kernel_size']}-px Gaussian window" if cfg.get("kernel_size") else "") + (
        f" (σ {readable(cfg['kernel_sigma'])})" if cfg.get("kernel_size") and cfg.get("kernel_sigma") else "")
    need = f"; needs images of at least {cfg['min_size']} px" if cfg.get("min_size") else ""
    return f"{cfg['scales']} scales{window}: {kind}{need}"


# ---------------------------------------------------------------------------------------------- values in words
# A stored value as a reader takes it in (``readable``): a mapping as "key value" in words, a checkpoint by its model
# name, OVG's step sizes in the book's one form; ``report.settings`` re-exports these for the chapters.

MISSING = "—"


def parsed_value(value):
    """A JSON object stored as text, parsed; anything else (or text that is not JSON) as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# the data loaders' options (``data.folder.load_folder``, ``data.bbbc021``) as a reader names them; a stored text that
# quotes one ("drawn (seed 0, test_fraction 0.2)") reads in words where it is shown, the stored text unchanged
DATA_OPTION_WORDS = {
    "test_fraction": "held-out share", "split_seed": "split seed", "degrade_source": "degraded source",
    "max_per_pool": "crops per pool at most", "min_size": "smallest side", "max_pixels": "largest image",
    "max_total_pixels": "largest total", "on_corrupt": "on a corrupt file", "on_size_mismatch": "on mixed sizes",
    "on_small": "on a small image", "test_source": "test source", "test_target": "test target",
}
_OPTION = re.compile(r"(?<![\w\-./`])(" + "|".join(sorted(map(re.escape, DATA_OPTION_WORDS), key=len, reverse=True))
                     + r")(?= [\d'\"])")   # a key with its value after it; a bare key (naming the option) stays


def option_words(text: str) -> str:
    """A stored text (a results attribute, a run's note) with each data-loader option key it quotes with its value in
    words (``DATA_OPTION_WORDS``: "test_fraction 0.2" -> "held-out share 0.2"); a bare key that names the option to
    set, code spans, paths and longer identifiers unchanged."""
    parts = re.split(r"(`[^`]*`)", str(text))
    return "".join(p if i % 2 else _OPTION.sub(lambda m: DATA_OPTION_WORDS[m.group(1)], p) for i, p in enumerate(parts))


_DEFAULTS_OLD = re.compile(r"defaults \(OVG_DEFAULTS, calibrated on (?P<on>[^)]*)\)")


def plain_source(text: str) -> str:
    """Where OVG's step sizes came from, in words: the suite's default step sizes are named as such, not by the
    constant that holds them, and the Pareto choice rule by what it picks (``studies.pareto.rule_in_words``)."""
    from ..studies.pareto import rule_in_words

    text = _DEFAULTS_OLD.sub(lambda m: f"defaults (the suite's step sizes, tuned on {m.group('on')})", str(text))
    return rule_in_words(text)


# a Pareto sweep's stored source ("Pareto sweep for ihc-sr, quick (ovg, rule maximin, 12 validation images, seed 0;
# each OVG variant at its own choice)", the flow chapter's "Pareto sweep of OVG on the flow model (...)"), read apart
# for display; the stored text, part of the results' key, keeps its form
_SWEEP = re.compile(r"^Pareto sweep(?P<of> of OVG on the flow model)?(?: for (?P<data>[^()]+?), (?P<profile>[\w-]+))? "
                    r"\((?P<primary>\w+), rule (?P<rule>\w+), (?P<n>\d+) (?P<split>validation )?images, "
                    r"seed (?P<seed>[^;()]+)(?:; each OVG variant at its own choice)?\)$")


def sweep_words(source) -> tuple[str, str] | None:
    """(the primary OVG variant's key, where its step sizes come from in flat words) of a Pareto sweep's stored
    source: "the most balanced point (rule maximin) of the Pareto sweep for ihc-sr (quick), on 12 validation images,
    seed 0"; None for any other source (the defaults, a short calibration)."""
    from ..studies.pareto import rule_words

    m = _SWEEP.match(str(source or "").strip())
    if m is None:
        return None
    sweep = "the Pareto sweep" + (" of OVG on the flow model" if m["of"] else "") + (
        f" for {m['data']} ({m['profile']})" if m["data"] else "")
    return m["primary"], f"{rule_words(m['rule'])} of {sweep}, on {m['n']} {'validation crops' if m['split'] else 'images'}, seed {m['seed']}"


def ovg_text(value) -> str:
    """An ``ovg`` attr ({eta_hf, eta_lf, source, per_base}) in flat words, each OVG variant's step sizes once: "eta_hf
    10⁻⁶, eta_lf 10⁻³: the most balanced point (rule maximin) of the Pareto sweep for ihc-sr (quick), on 12
    validation images, seed 0"; with other variants, the first named ("ovg at …: …; by the same rule, ovg_edm at
    …; ovg_taba at …"). A source that is no sweep's (the defaults, a calibration) follows in parentheses, or after a
    semicolon where it has parentheses of its own (no brackets nested in brackets)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return readable(value)
    if not isinstance(value, dict) or "eta_hf" not in value:
        return readable(value)
    from ..plotting.labels import step_size

    def eta(v) -> str:
        """A step size in the book's one form ("10⁻⁶", ``plotting.labels.step_size``); "—" where none is stored."""
        return "—" if is_empty(v) else step_size(v)

    def pair(c: dict) -> str:
        return f"eta_hf {eta(c.get('eta_hf'))}, eta_lf {eta(c.get('eta_lf'))}"

    source = value.get("source")
    sweep = sweep_words(source) if source else None
    primary = sweep[0] if sweep else "ovg"
    per = {b: c for b, c in (value.get("per_base") or {}).items() if isinstance(c, dict)} \
        if isinstance(value.get("per_base"), dict) else {}
    others = [(b, pair(c)) for b, c in per.items() if b != primary]
    if not others:
        entries = [(None, pair(value))]
    elif primary in per:
        entries = [(primary, pair(value)), *others]
    else:   # the chapter runs other variants only: the primary's step sizes do not apply to it
        entries = others
    (first, values), rest = entries[0], entries[1:]
    text = f"{first} at {values}" if first else values
    if sweep:
        text += f": {sweep[1]}"
    elif source:   # in parentheses, or after a semicolon where it has parentheses of its own
        where = plain_source(source)
        text += f"; {where}" if "(" in where else f" ({where})"
    if rest:
        text += ("; by the same rule, " if sweep else "; ") + "; ".join(f"{b} at {v}" for b, v in rest)
    return text


def is_empty(value) -> bool:
    if value is None or (isinstance(value, str) and value.strip() in ("", "null")):
        return True
    return isinstance(value, float) and not np.isfinite(value)


def _mapping(value: dict, depth: int) -> str:
    """A mapping's entries in words: "key value", its key by its name (``settings_words.key_words``), joined by
    commas ("backbone U-Net, space pixel"), by semicolons where a value is a list ("η_HF 10⁻⁷, 10⁻⁶;
    η_LF 10⁻²", step sizes in the book's one form), a nested mapping in parentheses; keys that share one text value named once ("DDIM, TABA and EDM:
    computed on the sweep's images")."""
    from ..plotting.labels import COMPOUND_WORDS
    from .settings_words import key_words

    def shown(v):
        if isinstance(v, (list, tuple, np.ndarray)):
            return ", ".join(readable(x, depth + 2) for x in v)
        text = readable(v, depth + 1)
        return COMPOUND_WORDS.get(text, text) if isinstance(v, str) else text

    def step_sizes(v) -> str:
        """An OVG step size, or a grid of them, in the book's one form ("10⁻⁷, 10⁻⁶, 10⁻⁵")."""
        from ..text import step_size

        return ", ".join(step_size(x) for x in v) if isinstance(v, (list, tuple, np.ndarray)) else step_size(v)

    names = {k: key_words(k) for k in value}
    texts = {k: step_sizes(v) if str(k) in ("eta_hf", "eta_lf") and not is_empty(v) else shown(v)
             for k, v in value.items()}
    if len(value) > 1 and len(set(texts.values())) == 1 and " " in next(iter(texts.values())):
        keys = list(names.values())
        return f"{', '.join(keys[:-1])} and {keys[-1]}: {next(iter(texts.values()))}"
    parts = [f"{names[k]} {texts[k]}" for k in value]
    lists = any(isinstance(v, (list, tuple, np.ndarray)) and len(v) > 1 for v in value.values())
    return ("; " if lists else ", ").join(parts)


def readable(value, depth: int = 0) -> str:
    """A stored setting as text a reader can take in: JSON text is parsed, mappings read "key value" in words
    (``_mapping``; entries without a value are left out), lists comma-joined, booleans "on" / "off", floats in short
    form, a checkpoint by its model name, missing values "—"."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and (value[:1] in "[{" or value.strip() == "null"):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    if is_empty(value):
        return MISSING
    if isinstance(value, dict):
        body = _mapping({k: v for k, v in value.items() if not is_empty(v)}, depth)
        if not body:
            return MISSING
        return f"({body})" if depth else body
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple, np.ndarray)):
        body = ", ".join(readable(v, depth + 1) for v in value)
        return f"({body})" if depth else body
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    # a stored text keeps the form it was stored in (it may be part of a results key): "90%" is shown "90 %"
    return model_name(text) if HASHED_NAME.match(Path(text).name) else spaced_percents(text)


def guidance_text(g) -> str:
    """A guidance spec by its type and step sizes, each step size in the book's one form ("10⁻³",
    ``text.step_size``, as the OVG row writes it); the full spec stays in the results file."""
    from ..text import step_size

    if not isinstance(g, dict):
        return readable(g)
    steps = ", ".join(f"{k} {step_size(g[k])}" for k in ("eta_hf", "eta_lf") if k in g)
    return f"{g.get('type', 'guidance')} {steps}".strip()


# a method spec's parameterization as the chapters name the model it runs on
PARAMETERIZATION_WORDS = {"eps": "ε-prediction", "x0": "x0-prediction", "v": "v-prediction", "edm": "EDM",
                          "flow": "flow"}


def parameterization_words(p) -> str:
    """A parameterization key by the model it names ("eps" -> "ε-prediction", "edm" -> "EDM"); others as they are."""
    return PARAMETERIZATION_WORDS.get(str(p).lower(), str(p))
