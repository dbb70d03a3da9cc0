"""Chapter text rules: how far an ablation's PCA curves can tell methods apart, the scale factors' trend said from the
numbers (the paper's Table 5 and ours), and the metric-validation chapter's one name per quantity."""
from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from spectral_collapse.reference import paper_tables
from spectral_collapse.report.ablation_curves import factor_trend_text, pca_note, pca_separation, trend_words


# ------------------------------------------------------------------------------------------------- PCA reach

def _pca_ds(aucs: dict[str, list[float]], n: int = 10, m: int = 12, arms=("unet",)) -> xr.Dataset:
    """An ablation's PCA variables: per method and seed a cumulative curve over ``n`` latents (components beyond n
    NaN) whose mean is the given value (a straight ramp to 1 at n − 1, scaled to hit the mean)."""
    methods, seeds = list(aucs), len(next(iter(aucs.values())))
    cev = np.full((len(arms), len(methods), seeds, m), np.nan)
    for a in range(len(arms)):
        for i, meth in enumerate(methods):
            for s, target in enumerate(aucs[meth]):
                k = np.arange(1, n + 1)
                base = np.minimum(k / (n - 1), 1.0)
                curve = np.clip(base ** (np.log(target) / np.log(base.mean())), 0, 1)
                curve[-1] = 1.0
                cev[a, i, s, :n] = curve
    gauss = np.full((len(arms), m), np.nan)
    gauss[:, :n] = np.minimum(np.arange(1, n + 1) / (n - 1), 1.0)
    return xr.Dataset({"pca_cev": (("backbone", "method", "seed", "component"), cev),
                       "pca_cev_gaussian": (("backbone", "component"), gauss),
                       "latent_dim": (("backbone",), [48] * len(arms))},
                      coords={"backbone": list(arms), "method": methods, "seed": np.arange(seeds),
                              "component": np.arange(1, m + 1)},
                      attrs={"axes": json.dumps(["backbone"]), "dataset": "toy", "profile": "quick"})


def test_pca_note_states_n_from_the_curves_and_which_methods_separate_over_the_seeds(tmp_path):
    ds = _pca_ds({"ddim": [0.70, 0.72, 0.71], "ovg": [0.715, 0.73, 0.74], "taba": [0.60, 0.61, 0.605]}, n=10)
    t = pca_separation(ds)
    assert set(t["n"]) == {10} and set(t[t.method != "N(0, I)"]["seeds"]) == {3}
    said = pca_note(ds, results_root=tmp_path)
    assert "n = 10 inverted latents" in said and "n − 1 = 9 components" in said and "d = 48" in said
    assert "Do not separate: ddim vs ovg" in said
    assert "ddim vs taba" in said.split("Do not separate")[0] and "ovg vs taba" in said.split("Do not separate")[0]
    # no pca_collapse results stored under this root: the chapter is named in words, not linked
    assert "{doc}" not in said and "PCA-collapse chapter" in said


def test_pca_note_with_one_seed_says_the_curves_cannot_tell_methods_apart(tmp_path):
    ds = _pca_ds({"ddim": [0.70], "ovg": [0.60]}, n=6)
    said = pca_note(ds, results_root=tmp_path)
    assert "n = 6" in said and "cannot tell methods apart" in said and "Separate" not in said


def test_pca_note_links_the_pca_chapter_with_its_latents_when_stored(tmp_path):
    from spectral_collapse.studies.store import results_path, save_results

    pc = xr.Dataset({"n": (("series",), [40, 40])}, coords={"series": ["ddim x4", "gaussian"]},
                    attrs={"study": "pca_collapse"})
    save_results(pc, results_path("pca_collapse", "toy", "quick", tmp_path), add_provenance=False)
    said = pca_note(_pca_ds({"ddim": [0.7, 0.71], "ovg": [0.5, 0.51]}, n=8), results_root=tmp_path)
    assert "</studies/pca_collapse-toy>" in said and "40 latents per series (ddim x4, Gaussian noise)" in said
    assert "Separate: ddim vs ovg" in said and "Do not separate" not in said


# --------------------------------------------------------------------------------------- trends over factors

@pytest.mark.parametrize("values, said", [
    ([3, 2, 1], "falls at every step"), ([1, 2, 3], "rises at every step"), ([2, 2, 2], "stays level"),
    ([3, 3, 1], "falls or stays level"), ([0.97, 0.69, 0.88], "is not monotone (lowest at b, highest at a)"),
    ([1], "one value only")])
def test_trend_words_say_what_the_numbers_do(values, said):
    assert trend_words(list(zip("abc", values))) == said


def _scale_ds(s_dc: list[float], s_hf: list[float]) -> xr.Dataset:
    factors, rng = [2, 4, 8], np.random.default_rng(0)

    def var(means):
        v = np.array(means)[:, None, None, None] + 0 * rng.standard_normal((3, 1, 2, 4))
        return (("factor", "method", "seed", "sample"), v)

    return xr.Dataset({"s_dc": var(s_dc), "s_hf": var(s_hf)},
                      coords={"factor": factors, "method": ["ddim"], "seed": [0, 1], "sample": np.arange(4)},
                      attrs={"axes": json.dumps(["factor"]), "study": "scale_factor", "dataset": "toy",
                             "profile_values": json.dumps({"factors": factors})})


def test_factor_trend_reads_table_5_as_printed_and_ours_the_same_way():
    paper = paper_tables()
    ddim = paper[(paper.table == "table5") & (paper.dataset == "bbbc021") & (paper.method == "ddim")]
    order = sorted(set(ddim["scale"]), key=lambda v: int(v.lstrip("x")))

    def printed(metric):
        return [(sc, float(ddim[(ddim.scale == sc) & (ddim.metric == metric)]["mean"].iloc[0])) for sc in order]

    said = factor_trend_text(_scale_ds(s_dc=[0.5, 0.4, 0.3], s_hf=[0.8, 0.9, 0.85]))
    paper_part, ours_part = said.split("Ours, the same way")
    for metric, name in (("s_dc", "S_DC"), ("s_hf", "S_HF")):
        values = ", ".join(f"{v:.2f} ({sc})" for sc, v in printed(metric))
        assert f"{name} {values} {trend_words(printed(metric))}" in paper_part
    deepens = all(trend_words(printed(m)) == "falls at every step" for m in ("s_dc", "s_hf"))
    assert ("So Table 5 shows collapse deepening" in paper_part) == deepens
    assert ("does not show collapse deepening" in paper_part) == (not deepens)
    assert "S_DC 0.500 (x2), 0.400 (x4), 0.300 (x8) falls at every step" in ours_part
    assert "S_HF 0.800 (x2), 0.900 (x4), 0.850 (x8) is not monotone (lowest at x2, highest at x4)" in ours_part


# ----------------------------------------------------------------------------------- one name per quantity

def _validation(points: np.ndarray, metrics: list[str], methods: list[str]) -> xr.Dataset:
    pearson = np.corrcoef(points.T)
    return xr.Dataset({"points": (("point", "metric"), points), "point_method": (("point",), methods),
                       "point_seed": (("point",), [0] * len(methods)),
                       "pearson": (("metric_a", "metric_b"), pearson)},
                      coords={"metric": metrics, "metric_a": metrics, "metric_b": metrics})


def test_the_correlation_heatmap_names_metrics_as_the_table_does():
    from spectral_collapse.plotting.latents import correlation_heatmap
    from spectral_collapse.studies.metric_validation import POINT_HEADERS

    rng = np.random.default_rng(2)
    s_g = rng.random(6)
    metrics = ["delta_log_e_hf", "ks_d", "s_g", "s_lf_gt"]
    ds = _validation(np.stack([rng.random(6), 1 - s_g, s_g, rng.random(6)], 1), metrics, list("abcdef"))
    spec = correlation_heatmap(ds).to_dict()
    labels = {r["metric"] for rows in spec["datasets"].values() for r in rows} | \
             {r["against"] for rows in spec["datasets"].values() for r in rows}
    assert labels == {POINT_HEADERS[m] for m in ("delta_log_e_hf", "s_g", "s_lf_gt")}
    text = json.dumps(spec)
    assert '"title": null' in text and "Pearson r" in text and '"title": "pearson' not in text
    assert "metric_a" not in text and "metric_b" not in text
