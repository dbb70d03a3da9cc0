"""Cells shared by the four ablation notebooks (paper Sec. 6.3, Tables 3-6); computation in studies/ablations.py."""

from ._common import SETUP


def parameters(example_axis: str) -> str:
    return f'''
dataset = "ihc-sr"        # ihc-sr (bundled) | bbbc021 (when prepared); ihc-edges / edges2shoes: {example_axis}
profile = "quick"         # smoke | quick | paper
seeds = None              # None means the seeds of the profile, for example [0, 1, 2]
methods = None            # None means ddim, taba, ovg (the rows of the paper's ablation tables)
factors = None            # SR factors; None means the profile's (smoke 2, 4; quick 2, 4, 8; paper 8, 16, 32)
results_root = "data/results"
rerun = False             # True: recompute even when stored results exist
'''


def load_or_run(study: str) -> str:
    return f'''
from spectral_collapse.studies.ablations import (ABLATION_LABELS, ablation_arms, ablation_comparison, ablation_verdict,
                                                 arm_latents, format_ablation, run_ablation_study, trained_models)
from spectral_collapse.studies.store import load_results, results_path
import json
factors = coerce_list(factors, int, "factors")
labels = methods or list(ABLATION_LABELS)
arms = ablation_arms("{study}", profile, factors=factors, dataset=dataset)
path = results_path("{study}", dataset, profile, results_root)
ds = load_results(path) if path.exists() and not rerun else None
if ds is not None:
    stored = {{a["tag"] for a in json.loads(ds.attrs["arms"])}}
    if not set(labels) <= set(ds["method"].values) or not {{a.tag for a in arms}} <= stored or (
            seeds and not set(seeds) <= set(ds["seed"].values)):
        ds = None
if ds is None:
    ds = run_ablation_study("{study}", dataset, profile, labels=labels, seeds=seeds, factors=factors, root=results_root)
ds = ds.sel({{"method": [m for m in labels if m in ds["method"].values]}})
if seeds:
    ds = ds.sel(seed=seeds)
AXES = json.loads(ds.attrs["axes"])
AXIS = AXES[-1]
print(f"{{dataset}}, profile {{profile}}: arms {{[a.tag for a in arms]}}, {{ds.sizes['sample']}} test images, "
      f"seeds {{[int(s) for s in ds['seed'].values]}}, {{ds.attrs['steps']}} steps; results in {{path}}")
'''


TRAINED = ("md", "## What was trained\n\nEvery model behind these numbers, read from its checkpoint "
                 "(`data/checkpoints/<name>-<hash>/config.json`); models shared with other chapters are reused, not "
                 "retrained.")
TRAINED_CODE = ("code", '''
trained_models(ds)
''')

OURS = [
    ("md", "## Our numbers\n\nMean ± std over seeds of the per-seed means. Deterministic methods (DDIM, OVG) draw no "
           "noise, so their std is 0."),
    ("code", '''
format_ablation(ds)
'''),
]

PAPER = [
    ("md", "## Beside the paper\n\nJoined on (arm, method, metric) with the paper's table (BBBC021, the only dataset "
           "of the paper's ablations). Our data and models are small analogues: compare orderings, not values."),
    ("code", '''
cmp = ablation_comparison(ds)
key = [c for c in cmp.columns if c.startswith("paper_") and c not in ("paper_mean", "paper_std")]
wide = cmp.pivot_table(index=[*AXES, *key, "method"], columns="metric", values=["ours_mean", "paper_mean"],
                       sort=False)
wide.round(3)
'''),
    ("code", '''
if len(AXES) == 1:
    display(alt.hconcat(*[metric_bars(ds, m, color=AXIS, width=200, height=170)
                          for m in ("s_hf", "s_dc", "s_lf", "psnr") if m in ds]))
'''),
]

IMAGES = [
    ("md", "## Translations\n\nSource (input condition), each arm's outputs (first seed) and the ground truth."),
    ("code", '''
import itertools
grids = [[v.item() for v in ds[a].values] for a in AXES]
rows = {}
for combo in itertools.product(*grids):
    sel = dict(zip(AXES, combo))
    name = " ".join(f"{v}" for v in combo)
    if "source" not in rows or AXIS == "factor":
        src = ds["source_images"].sel(sel).values if "source_images" in ds else None
        rows[f"source {name}" if AXIS == "factor" else "source"] = src
    for m in ds["method"].values:
        rows[f"{name} {m}"] = ds["images"].sel({**sel, "method": m}).isel(seed=0).values
rows["ground truth"] = ds["truth_images"].isel({a: 0 for a in AXES}).values
image_grid(rows, cell=56)
'''),
    ("md", "## Inverted latents and their PCA\n\nThe unit-variance latents x_T of DDIM and OVG (shown as x/3 + 0.5), "
           "then the cumulative explained variance of one PCA over the inverted latents of the test images, against "
           "Gaussian noise of the same count and dimension d (the paper's Fig. 3). Collapse concentrates the variance "
           "in few components."),
    ("code", '''
lat_rows = {}
for combo in itertools.product(*grids):
    sel = dict(zip(AXES, combo))
    lat = arm_latents(ds, **sel)
    for m in [x for x in ("ddim", "ovg") if x in ds["method"].values]:
        lat_rows[f"{' '.join(map(str, combo))} {m}"] = lat.sel({"method": m}).isel(seed=0).values[:, :3] / 3
image_grid(lat_rows, cell=56)
'''),
    ("code", '''
pca = ds["pca_cev"].isel(seed=0).to_dataframe().reset_index().dropna(subset=["pca_cev"])
if pca.empty:  # PCA needs two finite inverted latents of an arm
    display(Markdown(f"No PCA curve: no arm has two finite inverted latents in this run ({ds.attrs.get('n_test')} "
                     "test images per arm)."))
else:
    pca["arm"] = pca[AXES].astype(str).agg(" ".join, axis=1)
    gauss = ds["pca_cev_gaussian"].to_dataframe().reset_index().dropna()
    if AXES[0] in gauss:
        gauss["arm"] = gauss[AXES].astype(str).agg(" ".join, axis=1)
    else:
        gauss["arm"] = "all"
    gauss["method"] = "N(0, I)"
    both = pd.concat([pca.rename(columns={"pca_cev": "cev"}), gauss.rename(columns={"pca_cev_gaussian": "cev"})])
    display(alt.Chart(both).mark_line().encode(
        x=alt.X("component:Q", title="principal component k"), y=alt.Y("cev:Q", title="cumulative explained variance"),
        color="method:N", strokeDash="method:N").properties(width=220, height=180)
        .facet(column=alt.Column("arm:N", title=None)))
'''),
]

VERDICT = [
    ("md", "## Verdict"),
    ("code", '''
display(Markdown(ablation_verdict(ds)))
'''),
    ("md", "## Settings of this run"),
    ("code", '''
for k in ("steps", "n_test", "ovg", "s_hf_unit", "s_lf_condition", "s_dc_definition", "axes"):
    print(f"{k}: {ds.attrs.get(k)}")
for tag, a in json.loads(ds.attrs["per_arm"]).items():
    print(tag, {k: a.get(k) for k in ("backbone", "space", "parameterization", "wavelet", "latent_space")})
print("provenance:", {k: v for k, v in ds.attrs.items() if k.startswith(("version", "git", "created"))})
'''),
]


def ablation_cells(study: str, intro: str, example_axis: str, extra=()) -> list:
    """The notebook: intro, parameters, setup, results (loaded or computed), tables, paper, images, verdict."""
    return [
        ("md", intro),
        ("code", parameters(example_axis), ["parameters"]),
        ("code", SETUP + "import pandas as pd\n"),
        ("code", load_or_run(study)),
        TRAINED, TRAINED_CODE,
        *OURS, *PAPER, *extra, *IMAGES, *VERDICT,
    ]
