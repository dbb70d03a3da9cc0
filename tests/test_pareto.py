"""OVG step-size sweep (studies/pareto.py, notebooks/pareto.ipynb): frontier, choice rule, the exported choice,
notebook."""
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spectral_collapse.plotting.pareto import grid_heatmaps
from spectral_collapse.studies import pareto as P
from spectral_collapse.studies import pareto_choice as PC
from spectral_collapse.framework.cells import StudyContext
from spectral_collapse.studies.registry import study_spec
from spectral_collapse.framework.method_labels import OVG_DEFAULTS, ovg_setting

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------- frontier

def brute_front(x, y) -> np.ndarray:
    """O(n^2) definition: i is on the front iff finite and no j has x_j >= x_i, y_j >= y_i with one strict."""
    n = len(x)
    on = np.zeros(n, bool)
    for i in range(n):
        if not (np.isfinite(x[i]) and np.isfinite(y[i])):
            continue
        on[i] = not any(np.isfinite(x[j]) and np.isfinite(y[j]) and x[j] >= x[i] and y[j] >= y[i]
                        and (x[j] > x[i] or y[j] > y[i]) for j in range(n))
    return on


@pytest.mark.parametrize("seed", range(12))
def test_pareto_front_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    # coarse integer values force ties and exact duplicates; some NaN
    x = rng.integers(0, 6, n).astype(float)
    y = rng.integers(0, 6, n).astype(float)
    x[rng.random(n) < 0.1] = np.nan
    np.testing.assert_array_equal(PC.pareto_front(x, y), brute_front(x, y))


def test_pareto_front_continuous_points_and_errors():
    rng = np.random.default_rng(99)
    x, y = rng.random(200), rng.random(200)
    np.testing.assert_array_equal(PC.pareto_front(x, y), brute_front(x, y))
    assert PC.pareto_front([np.nan], [1.0]).tolist() == [False]
    with pytest.raises(ValueError, match="same length"):
        PC.pareto_front([1, 2], [1])


# ------------------------------------------------------------------------------------------- choice rule

def test_maximin_and_knee_choose_the_points_defined_by_the_rule():
    #            A: texture only, B: steep shoulder, C: balanced, D: structure only, E: dominated by C
    s_hf = np.array([1.00, 0.45, 0.70, 0.00, 0.60])
    s_lf = np.array([0.00, 0.99, 0.70, 1.00, 0.60])
    # maximin: min(scaled) is 0, 0.45, 0.70, 0 -> C
    assert PC.choose_operating_point(s_hf, s_lf, "maximin") == 2
    # knee: distance above the chord x + y = 1 is (x + y - 1) / sqrt(2): B 0.311 > C 0.283
    assert PC.choose_operating_point(s_hf, s_lf, "knee") == 1
    # the rule works on min-max scaled axes, so it is invariant to a positive affine change of either score
    assert PC.choose_operating_point(0.2 + 0.1 * s_hf, 3 * s_lf - 1, "maximin") == 2
    assert PC.choose_operating_point(0.2 + 0.1 * s_hf, 3 * s_lf - 1, "knee") == 1


def test_choice_respects_eligibility_ties_and_bad_input():
    s_hf = np.array([0.5, 0.9, 0.5])
    s_lf = np.array([0.5, 0.9, 0.5])
    assert PC.choose_operating_point(s_hf, s_lf, eligible=[True, False, True], size=[3, 0, 1]) == 2  # tie -> smaller
    assert PC.choose_operating_point(s_hf, s_lf, eligible=[False, False, False]) is None
    assert PC.choose_operating_point([np.nan, 0.2], [0.1, 0.3]) == 1
    with pytest.raises(ValueError, match="maximin, knee"):
        PC.choose_operating_point(s_hf, s_lf, rule="best")
    # the chosen point is always on the front of the eligible points
    rng = np.random.default_rng(3)
    for _ in range(20):
        a, b = rng.random(9), rng.random(9)
        for rule in PC.RULES:
            assert PC.pareto_front(a, b)[PC.choose_operating_point(a, b, rule)]


def test_default_grid_is_centred_and_spans_two_decades():
    for profile, (n_hf, n_lf) in P.GRID_SIZES.items():
        hf, lf = P.default_grid(profile)
        assert (len(hf), len(lf)) == (n_hf, n_lf)
        for axis, c in ((hf, OVG_DEFAULTS["eta_hf"]), (lf, OVG_DEFAULTS["eta_lf"])):
            assert axis == sorted(axis)
            assert math.isclose(axis[-1] / axis[0], 100, rel_tol=0.01)
            assert math.isclose(math.exp(np.mean(np.log(axis))), c, rel_tol=0.01)


# ------------------------------------------------------------------------------------------- the export

def test_the_exported_choice_says_where_it_comes_from_and_reaches_readers():
    spec = study_spec("main_results", dataset="ihc-sr", profile="smoke")
    none = PC.ovg_choice(None, spec)
    assert (none["eta_hf"], none["eta_lf"]) == (OVG_DEFAULTS["eta_hf"], OVG_DEFAULTS["eta_lf"])
    assert "no Pareto sweep stored for ihc-sr, smoke" in none["source"]
    good = synthetic_sweep([(0.9, 0.8), (0.5, 0.5), (0.95, 0.3), (0.2, 0.9)], {"ddim": (0.4, 0.7)})
    got = PC.ovg_choice(good, spec)
    assert (got["eta_hf"], got["eta_lf"]) == (1e-6, 1e-3) and "Pareto sweep" in got["source"]
    assert ovg_setting(spec.with_inputs(pareto=got)) == got
    diverged = good.copy()
    diverged.attrs["choices"] = "{}"  # every grid point of the primary base diverged: no stale choice survives
    fallback = PC.ovg_choice(diverged, spec)
    assert fallback["eta_hf"] == OVG_DEFAULTS["eta_hf"] and "free of failed samples" in fallback["source"]
    assert ovg_setting(spec)["source"].startswith("defaults")


def synthetic_sweep(ovg_points, baselines, primary="ovg") -> xr.Dataset:
    """A pareto results dataset with one base on a 2 x 2 grid; values constant over 3 samples."""
    hf, lf = [1e-6, 1e-5], [1e-3, 1e-2]
    s_hf = np.array([p[0] for p in ovg_points]).reshape(1, 2, 2, 1).repeat(3, -1)
    s_lf = np.array([p[1] for p in ovg_points]).reshape(1, 2, 2, 1).repeat(3, -1)
    dims = ("base", "eta_hf", "eta_lf", "sample")
    ds = xr.Dataset({"s_hf": (dims, s_hf), "s_lf": (dims, s_lf), "finite": (dims, np.ones_like(s_hf, bool)),
                     "s_g": (dims[:3], np.ones((1, 2, 2)))},
                    coords={"base": [primary], "eta_hf": hf, "eta_lf": lf, "sample": range(3)})
    names = list(baselines)
    b_hf = np.array([baselines[m][0] for m in names])[:, None].repeat(3, 1)
    b_lf = np.array([baselines[m][1] for m in names])[:, None].repeat(3, 1)
    ds["baseline_s_hf"] = (("method", "sample"), b_hf)
    ds["baseline_s_lf"] = (("method", "sample"), b_lf)
    ds = ds.assign_coords(method=names)
    flat_hf, flat_lf = s_hf[0, ..., 0].ravel(), s_lf[0, ..., 0].ravel()
    front = PC.pareto_front(flat_hf, flat_lf).reshape(1, 2, 2)
    k = PC.choose_operating_point(flat_hf, flat_lf)
    chosen = np.zeros(4, bool)
    chosen[k] = True
    ds["on_front"] = (dims[:3], front)
    ds["chosen"] = (dims[:3], chosen.reshape(1, 2, 2))
    i, j = divmod(k, 2)
    ds.attrs.update(dataset="ihc-sr", profile="smoke", primary=primary, rule="maximin", n_images=3, seed=0,
                    choices=json.dumps({primary: {"eta_hf": hf[i], "eta_lf": lf[j], "s_hf": flat_hf[k],
                                                  "s_lf": flat_lf[k]}}),
                    baseline_sources=json.dumps({m: "synthetic" for m in names}))
    return ds


def test_pareto_results_rejects_bad_arguments_before_work():
    with pytest.raises(ValueError, match="ovg, ovg_taba, ovg_edm"):
        P.pareto_results(None, None, {}, profile="smoke", bases=["ddim"])
    with pytest.raises(ValueError, match="maximin, knee"):
        P.pareto_results(None, None, {}, profile="smoke", rule="best")
    with pytest.raises(ValueError, match="distinct values >= 0"):
        P.pareto_results(None, None, {}, profile="smoke", eta_hf=[1e-6, 1e-6])
    with pytest.raises(ValueError, match="unknown profile"):
        P.pareto_results(None, None, {}, profile="tiny")
    with pytest.raises(ValueError, match="maximin, knee"):  # the notebook's knobs are checked when parsed
        study_spec("pareto", dataset="ihc-sr", profile="smoke", rule="best")


# ------------------------------------------------------------------------------------------- notebook

def _papermill(out: Path, cwd: Path, **params) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / "pareto.ipynb"), str(out), "--cwd", str(cwd),
            "-k", "python3", "--no-progress-bar"]
    for k, v in params.items():
        args += ["-p", k, str(v)]  # lists go as JSON strings; the notebook coerces them
    return subprocess.run(args, capture_output=True, text=True, timeout=1200)


def test_notebook_stops_at_once_when_edges2shoes_is_not_prepared(tmp_path, monkeypatch):
    monkeypatch.setenv("SPECTRAL_COLLAPSE_DATA", str(tmp_path / "raw"))
    monkeypatch.setenv("SPECTRAL_COLLAPSE_CHECKPOINTS", str(tmp_path / "ck"))
    out = tmp_path / "out.ipynb"
    proc = _papermill(out, ROOT, dataset="edges2shoes", profile="smoke", results_root=str(tmp_path / "results"))
    assert proc.returncode != 0
    msg = proc.stderr + proc.stdout
    assert "DatasetNotPreparedError" in msg
    assert "python -m spectral_collapse download edges2shoes" in msg
    assert "-p dataset ihc-edges" in msg   # a papermill user's words for the bundled alternative
    # it stopped in the check cell: nothing trained, nothing computed
    assert not (tmp_path / "ck").exists() and not (tmp_path / "results").exists()
    nb = json.loads(out.read_text())
    failed = [c for c in nb["cells"] if c["cell_type"] == "code" and any(o.get("output_type") == "error"
                                                                        for o in c.get("outputs", []))]
    assert len(failed) == 1 and "open_study(" in "".join(failed[0]["source"])


@pytest.mark.slow
def test_notebook_runs_on_smoke_and_exports_the_choice(tmp_path, monkeypatch):
    monkeypatch.setenv("SPECTRAL_COLLAPSE_CHECKPOINTS", str(tmp_path / "ck"))
    results = tmp_path / "results"
    out = tmp_path / "out.ipynb"
    proc = _papermill(out, ROOT, dataset="ihc-sr", profile="smoke", results_root=str(results), bases='["ovg"]',
                      eta_hf="[1e-7, 1e-5]", eta_lf="[1e-3]", baselines='["ddim"]', n_images=4, extend=0)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ds = xr.load_dataset(results / "pareto" / "ihc-sr-smoke.nc", engine="h5netcdf")
    assert ds.sizes["eta_hf"] == 2 and ds.sizes["eta_lf"] == 1 and ds.sizes["sample"] == 4
    assert list(ds["method"].values) == ["ddim"] and int(ds["chosen"].sum()) == 1
    choice = PC.ovg_choice(ds)
    assert choice["eta_hf"] in (1e-7, 1e-5) and choice["eta_lf"] == 1e-3
    assert not list((results / "pareto").glob("*.json"))  # the choice lives in the results, not a side file
    nb = json.loads(out.read_text())
    text = json.dumps(nb["cells"])
    assert "image/svg+xml" in text and "image/png" in text      # the Fig. 6 chart and the image grid
    assert "expands the frontier" in text
    glued = {o["metadata"]["scrapbook"]["name"] for c in nb["cells"] for o in c.get("outputs", [])
             if "scrapbook" in o.get("metadata", {})}
    assert {"claim_pareto_expands", "front_ovg", "chosen"} <= glued


@pytest.mark.slow
def test_a_hand_run_from_the_repository_root_leaves_no_untracked_file(tmp_path):
    """The README's hand run, `papermill notebooks/pareto.ipynb out.ipynb -p dataset ihc-edges -p profile smoke` from
    the repository root, in a fresh clone (with this checkout's .gitignore and library): its results, cell cache,
    smoke models and output notebook all land where git ignores them, so `git status` reads as before."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "--quiet", "--shared", str(ROOT), str(repo)], check=True, timeout=300)
    shutil.copy(ROOT / ".gitignore", repo / ".gitignore")

    def status() -> list[str]:
        return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo, check=True,
                              capture_output=True, text=True).stdout.splitlines()

    before = status()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    for name in ("SPECTRAL_COLLAPSE_CHECKPOINTS", "SPECTRAL_COLLAPSE_CACHE", "SPECTRAL_COLLAPSE_DATA"):
        env.pop(name, None)  # the defaults, relative to the clone, are what a hand run uses
    proc = subprocess.run([sys.executable, "-m", "papermill", "notebooks/pareto.ipynb", "out.ipynb", "-p", "dataset",
                           "ihc-edges", "-p", "profile", "smoke", "-k", "python3", "--no-progress-bar"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (repo / "out.ipynb").is_file() and (repo / "data" / "results" / "pareto" / "ihc-edges-smoke.nc").is_file()
    assert status() == before, [line for line in status() if line not in before]


def test_a_choice_on_the_grid_edge_grows_the_grid_for_every_variant_and_is_flagged(monkeypatch):
    """OVG's KID_wav falls as eta_hf grows (best at eta_LF 1e-2, inside the grid); OVG + TABA's falls as eta_lf
    shrinks (best at eta_HF 1e-6). Each choice sits on its own edge of the quick grid, so with extend=1 the grid grows
    past both (eta_HF up, eta_LF down), each choice moves there and is flagged as still on its edge; with extend=0
    the grid stays and both edges are said."""
    from types import SimpleNamespace

    import torch

    def fake_cell(ctx, D, ms, src, gt, seed, prof, scoring, n_show, ls=None):
        h, lo = ms.guidance.eta_hf, ms.guidance.eta_lf
        kid = (-math.log10(h) + abs(math.log10(lo) + 2) if ms.label == "ovg"
               else 10 + math.log10(lo) + abs(math.log10(h) + 6))
        n = src.shape[0]
        cell = xr.Dataset({k: ("sample", np.full(n, 0.0)) for k in P.SCORES})
        cell["s_lf"] = ("sample", np.full(n, 0.7))
        cell["failed"] = ("sample", np.zeros(n, bool))
        cell["s_g"], cell["kid_wav"] = ((), 0.5), ((), kid)
        cell["images"] = (("image", "channel", "y", "x"), np.zeros((n_show, 3, 4, 4), np.float32))
        return cell

    monkeypatch.setattr(P, "_cell", fake_cell)
    monkeypatch.setattr(P, "scoring_settings", lambda data: {"kappa": 0.1, "wavelet": "db1", "mu_hf": 1.0,
                                                             "reference": {"n": 4}})
    monkeypatch.setattr(P, "_bands", lambda *a: ({"luma": (-1.0, 1.0), "chroma": (-1.0, 1.0)}, 0.1, "truths"))
    x = torch.zeros(4, 3, 4, 4)
    data = SimpleNamespace(test_source=x, test_target=x, name="toy", paired=True,
                           task=SimpleNamespace(describe=lambda: {"kind": "sr"}), meta={})
    kw = dict(profile="quick", bases=["ovg", "ovg_taba"], baselines=[], eta_lf=[1e-3, 1e-2, 1e-1])
    grown = P.pareto_results(StudyContext(), data, {"eps": None}, extend=1, **kw)
    assert json.loads(grown.attrs["grid_extended"]) == ["eta_hf high", "eta_lf low"]
    choices = json.loads(grown.attrs["choices"])
    assert (choices["ovg"]["eta_hf"], choices["ovg"]["eta_lf"]) == pytest.approx((1e-4, 1e-2))
    assert (choices["ovg_taba"]["eta_hf"], choices["ovg_taba"]["eta_lf"]) == pytest.approx((1e-6, 1e-4))
    assert list(grown["eta_hf"].values) == pytest.approx([1e-7, 1e-6, 1e-5, 1e-4])
    assert list(grown["eta_lf"].values) == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1])
    assert json.loads(grown.attrs["choice_on_edge"]) == ["eta_hf high"]            # the primary's
    assert choices["ovg_taba"]["on_edge"] == ["eta_lf low"] and choices["ovg"]["on_edge"] == ["eta_hf high"]
    stuck = P.pareto_results(StudyContext(), data, {"eps": None}, extend=0, **kw)
    choices = json.loads(stuck.attrs["choices"])
    assert choices["ovg"]["eta_hf"] == pytest.approx(1e-5) and choices["ovg_taba"]["eta_lf"] == pytest.approx(1e-3)
    assert choices["ovg_taba"]["on_edge"] == ["eta_lf low"] and json.loads(stuck.attrs["grid_extended"]) == []


def test_the_choice_keeps_to_the_real_crops_band_and_then_to_realism():
    """Chroma detail grows with the step size (colour noise) while KID_wav keeps falling: the choice is the lowest
    KID among the points inside both bands, not the lowest KID; with no point in band it falls back to the points
    nearest the bands and says so. S_LF enters as the other objective: a point with equal KID and lower S_LF is
    dominated."""
    from spectral_collapse.studies.pareto_choice import choose_point, truth_bands

    kid = np.array([0.9, 0.6, 0.4, 0.2])
    chroma = np.array([-0.8, 0.0, 0.5, 2.0])           # the last point adds colour noise
    luma = np.zeros(4)
    bands = truth_bands(np.array([-0.5, 0.5]), np.array([-1.0, 1.0]))
    assert bands["luma"] == pytest.approx((-0.7071, 0.7071), abs=1e-4)                 # mean ± sd (ddof 1)
    assert bands["chroma"][1] == pytest.approx(1.4142, abs=1e-4)
    pick = choose_point(kid, np.full(4, 0.7), luma, chroma, bands)
    assert pick["index"] == 2 and pick["banded"] and list(pick["in_band"]) == [True, True, True, False]
    off = choose_point(kid, np.full(4, 0.7), luma + 5, chroma, bands)        # nothing in the luma band
    assert off["index"] == 2 and not off["banded"]      # the colour-noise point lies farther out: not a candidate
    lf = np.array([0.9, 0.8, 0.5, 0.1])
    assert choose_point(np.array([0.9, 0.4, 0.4, 0.2]), lf, luma, chroma, bands)["index"] == 1   # 2 is dominated
    assert choose_point(kid, lf, luma, chroma, bands, eligible=[True, True, False, True])["index"] in (0, 1)
    assert truth_bands([0.3], [0.1])["luma"] == (-np.inf, np.inf)


def test_with_no_point_in_band_the_choice_is_the_one_nearest_the_bands():
    """Out-of-band detail is measured in band widths, summed over luma and chroma. A point whose KID_wav is lowest
    and S_LF highest but whose luma detail lies far above the band (block edges copied from the input) loses to the
    point nearest the bands; distances are exact for a hand-computed case."""
    from spectral_collapse.studies.pareto_choice import band_distance, choose_point

    bands = {"luma": (-0.5, 0.5), "chroma": (0.0, 2.0)}
    luma, chroma = np.array([-1.0, 2.5, 0.7]), np.array([3.0, 1.0, 2.2])
    np.testing.assert_allclose(band_distance(luma, chroma, bands), [0.5 + 0.5, 2.0, 0.2 + 0.1])
    assert band_distance([0.0], [1.0], bands)[0] == 0
    pick = choose_point(np.array([9.0, 1.0, 5.0]), np.array([0.5, 0.95, 0.6]), luma, chroma, bands)
    assert pick["index"] == 2 and not pick["banded"]
    pick = choose_point(np.array([9.0, 1.0, 5.0]), np.array([0.5, 0.95, 0.6]), luma, chroma, bands,
                        eligible=[True, True, False])       # the nearest point failed: the next nearest
    assert pick["index"] == 0


def test_the_choice_is_no_less_real_than_the_variants_unguided_method():
    """Unconstrained, the balanced point trades KID_wav for S_LF (index 1); with the unguided base at KID 0.5 only
    the point that beats it is a candidate; where no point beats the base, the least-KID point is taken and the
    choice says so. KID_wav enters on a log scale: a point at 1e4 does not squash the rest to one end."""
    from spectral_collapse.studies.pareto_choice import choose_point

    kid, lf, zero = np.array([0.9, 0.6, 0.4, 0.2]), np.array([0.9, 0.8, 0.5, 0.1]), np.zeros(4)
    bands = {"luma": (-1.0, 1.0), "chroma": (-1.0, 1.0)}
    chroma = np.array([0.0, 0.0, 0.0, 3.0])
    assert choose_point(kid, lf, zero, chroma, bands)["index"] == 1
    pick = choose_point(kid, lf, zero, chroma, bands, base_kid=0.5)
    assert pick["index"] == 2 and pick["beats_base"]
    none = choose_point(kid, lf, zero, chroma, bands, base_kid=0.3)            # 0.2 is out of band
    assert none["index"] == 2 and not none["beats_base"]
    wide = np.array([1.0, 2.0, 1e4, 3.0])                                       # linear scaling: 1e4 squashes the rest
    assert choose_point(wide, np.array([0.1, 0.5, 0.9, 0.6]), zero, zero, bands)["index"] == 3


def test_the_sweep_tunes_on_crops_the_tables_do_not_score():
    """Validation crops are one per block of the split (the same regions as the test crops), seeded, and never a
    test crop of any seed."""
    from spectral_collapse.framework.splits import validation_indices
    from spectral_collapse.framework.splits import validation_crops
    from spectral_collapse.framework.splits import test_subsets

    val = validation_crops(64, 16)
    assert val == validation_crops(64, 16) and len(val) == 16
    assert [v // 4 for v in val] == list(range(16))                      # one of each block of 4 (a row of tiles)
    assert len({v % 4 for v in val}) > 1                                 # not always the same column
    idx, note = validation_indices(64, None, 16)
    assert idx == val and "validation crops" in note and "apart from the crops the tables score" in note
    some, _ = validation_indices(64, 6, 16)
    assert len(some) == 6 and set(some) <= set(val) and some[0] == val[0] and some[-1] == val[-1]  # spread over all
    subsets = test_subsets(64, 16, [0, 1, 2], 16)
    every = [i for s in subsets.values() for i in s]
    assert len(every) == len(set(every)) == 48 and set(every) == set(range(64)) - set(val)   # disjoint, the rest
    assert all(max(s) - min(s) > 32 for s in subsets.values())          # each seed's crops span the image
    overlap = test_subsets(64, 24, [0, 1, 2], 16)                       # 72 > 48: each seed draws its own 24
    assert all(len(v) == 24 and not set(v) & set(val) for v in overlap.values()) and overlap[0] != overlap[1]
    idx, note = validation_indices(8, 6, 0)                             # no validation split: said plainly
    assert idx == list(range(6)) and "also test crops" in note
    assert validation_crops(8, 8) == [] and test_subsets(8, 8, [0], 8)[0] == list(range(8))


def test_each_ovg_variant_runs_at_its_own_choice():
    from spectral_collapse.framework.method_labels import method_specs

    per = {"ovg_edm": {"eta_hf": 3e-6, "eta_lf": 7e-3}}
    specs = {m.label: m for m in method_specs(["ovg", "ovg_edm", "ovg_taba"], eta_hf=1e-6, eta_lf=1e-2,
                                              per_base=per)}
    assert (specs["ovg_edm"].guidance.eta_hf, specs["ovg_edm"].guidance.eta_lf) == (3e-6, 7e-3)
    assert (specs["ovg"].guidance.eta_hf, specs["ovg_taba"].guidance.eta_lf) == (1e-6, 1e-2)


def test_a_failed_grid_point_is_a_grey_cell_that_says_so():
    """A grid point whose samples failed has no score: its heat-map cell reads "failed" on grey instead of staying
    blank, and the chart's data hold no NaN (which a strict JSON reader refuses)."""
    import vl_convert as vlc

    ds = synthetic_sweep([(0.3, 0.3), (0.2, 0.4), (0.4, 0.2), (0.1, 0.1)], {"ddim": (0.5, 0.9)})
    ds["s_hf"][0, 1, 1] = np.nan
    ds["s_lf"][0, 1, 1] = np.nan
    ds["finite"][0, 1, 1] = False
    chart = grid_heatmaps(ds)
    text = chart.to_json()
    assert "NaN" not in text
    svg = vlc.vegalite_to_svg(text)
    assert svg.count(">failed<") == 2          # one cell in each metric's panel


def test_a_point_restores_texture_better_than_the_baselines_only_in_band_and_below_every_kid():
    """Of four grid points: one in band with a KID below DDIM's and TABA's (counted), one below both but out of band
    (colour noise: not counted), one in band below DDIM's only (not counted), one in band and best but with a failed
    crop (not counted)."""
    from spectral_collapse.studies.pareto import beats_baselines

    ds = synthetic_sweep([(0.3, 0.3), (0.2, 0.4), (0.4, 0.2), (0.1, 0.1)], {"ddim": (0.5, 0.9), "taba": (0.6, 0.5)})
    ds["kid_wav"] = (("base", "eta_hf", "eta_lf"), np.array([[[1.0, 1.5], [2.5, 0.5]]]))
    ds["in_band"] = (("base", "eta_hf", "eta_lf"), np.array([[[True, False], [True, True]]]))
    ds["baseline_kid_wav"] = ("method", [3.0, 2.0])
    ds["failed"] = (("base", "eta_hf", "eta_lf", "sample"), np.zeros((1, 2, 2, 3), bool))
    ds["failed"][0, 1, 1, 0] = True
    got = beats_baselines(ds)
    assert len(got) == 1 and (got["eta_hf"][0], got["eta_lf"][0], got["kid_wav"][0]) == (1e-6, 1e-3, 1.0)
    assert len(beats_baselines(ds, baselines=("ddim",))) == 2                  # below DDIM's 3.0: also (1e-5, 1e-3)
    assert len(beats_baselines(ds, banded=False)) == 2                         # the out-of-band point counts too
    assert beats_baselines(ds.drop_vars("baseline_kid_wav")).empty
    from spectral_collapse.framework.oracle_arm import arm_results, with_arm
    from spectral_collapse.studies.pareto import baseline_summary, grid_summary

    both = with_arm(ds, ds.assign(baseline_kid_wav=ds["baseline_kid_wav"] * 10))   # an oracle arm beside it
    pd.testing.assert_frame_equal(baseline_summary(both), baseline_summary(ds))     # one row per baseline, the trained
    pd.testing.assert_frame_equal(grid_summary(both), grid_summary(ds))
    assert beats_baselines(both).equals(got)
    assert baseline_summary(arm_results(both))["kid_wav"].tolist() == [30.0, 20.0]  # the arm's, by arm_results


def test_a_sweep_run_with_other_data_options_serves_no_reader():
    sweep = synthetic_sweep([(0.3, 0.3), (0.2, 0.4), (0.9, 0.9), (0.1, 0.1)], {"ddim": (0.5, 0.5)})
    sweep.attrs["spec"] = json.dumps({"params": {"data_options": {"factor": 2}}})
    op = PC.ovg_choice(sweep, study_spec("main_results", dataset="ihc-sr", profile="smoke"))
    assert (op["eta_hf"], op["eta_lf"]) == (OVG_DEFAULTS["eta_hf"], OVG_DEFAULTS["eta_lf"])
    assert op["source"].startswith("defaults") and "data_options={'factor': 2} (this study: None)" in op["source"]
    assert "per_base" not in op
    assert np.isnan(PC.scaled([np.nan, np.nan])).all()      # nothing finite to scale: NaN stays NaN
