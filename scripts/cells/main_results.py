"""Cells of notebooks/main_results.ipynb: the paper's Table 2 layout on one dataset."""

from ._common import SETUP

TITLE = "Main results"
DATASETS = ("ihc-sr", "ihc-edges")  # datasets the main command runs this study on
ORDER = 10                          # position among the studies in the book


CELLS = [
    ("md", """
# Main results: {dataset}

The layout of the paper's Table 2: every inversion method translates the paired test split of one dataset
(invert under the source label 0, sample under the target label 1, 50 steps), and we report PSNR against the
ground truth, the high-frequency score S_HF, the low-frequency score S_LF, the decorrelation score S_DC and the
Gaussianity score S_G (paper App. B; our exact choices are stored in the results' attributes and listed at the end),
as mean ± std over seeds, next to the paper's numbers for the counterpart setting.
"""),
    ("code", '''
dataset = "ihc-sr"        # ihc-sr | ihc-edges (bundled) | bbbc021 | edges2shoes (when prepared)
profile = "quick"         # smoke | quick | paper
seeds = None              # None means the seeds of the profile
methods = None            # None means all methods (the six of the paper and the baselines)
results_root = "data/results"
rerun = False             # True: recompute even when stored results exist
''', ["parameters"]),
    ("code", SETUP),
    ("code", '''
from spectral_collapse.studies.store import load_results, results_path
from spectral_collapse.studies.translation import PAPER_LABELS, BASELINE_LABELS, run_translation_study
from spectral_collapse.inversion.methods import METHODS
from spectral_collapse.data import DATASETS
if dataset not in DATASETS:
    raise ValueError(f"unknown dataset {dataset!r}; valid: {', '.join(DATASETS)}")
labels = methods or [*PAPER_LABELS, *[b for b in BASELINE_LABELS if b in METHODS]]
path = results_path("main_results", dataset, profile, results_root)
ds = None
if path.exists() and not rerun:
    ds = load_results(path)
    if not set(labels) <= set(ds["method"].values) or (seeds and not set(seeds) <= set(ds["seed"].values)):
        ds = None
if ds is None:
    ds = run_translation_study("main_results", dataset, profile, labels=labels, seeds=seeds, root=results_root)
ds = ds.sel({"method": [m for m in labels if m in ds["method"].values]})
if seeds:
    ds = ds.sel(seed=seeds)
print(f"{dataset}, profile {profile}: {ds.sizes['sample']} test images, seeds {[int(s) for s in ds['seed'].values]}, "
      f"{ds.attrs['steps']} steps; results in {path}")
'''),
    ("md", "## Our numbers\n\nMean ± std over seeds of the per-seed means. Deterministic methods do not draw noise, so their std is 0."),
    ("code", '''
from spectral_collapse.studies.report import format_summary, paper_comparison, collapse_verdict, summary
format_summary(ds)
'''),
    ("md", "## Beside the paper\n\nJoined on (method, metric) with the paper's table for the counterpart setting "
           "(`ihc-sr` ↔ BBBC021 ×16, Table 9; `ihc-edges` ↔ Edges2Shoes, Table 11). Our data and models are small "
           "analogues, so compare orderings between methods, not absolute values."),
    ("code", '''
cmp = paper_comparison(ds)
wide = cmp.pivot_table(index="method", columns="metric", values=["ours_mean", "paper_mean"], sort=False)
wide = wide.reindex([m for m in ds["method"].values])
wide.round(3)
'''),
    ("code", '''
long = cmp.melt(id_vars=["method", "metric"], value_vars=["ours_mean", "paper_mean"], var_name="source", value_name="value")
long["source"] = long["source"].str.replace("_mean", "")
long = long[long.metric.isin(["s_hf", "s_lf", "s_dc"])].dropna(subset=["value"])
alt.Chart(long).mark_bar().encode(
    x=alt.X("method:N", sort=list(ds["method"].values), title=None), xOffset="source:N",
    y=alt.Y("value:Q", title="score (higher is better)"), color=alt.Color("source:N", title=""),
    tooltip=["method", "metric", "source", alt.Tooltip("value:Q", format=".3f")],
).properties(width=230, height=200).facet(column=alt.Column("metric:N", title=None))
'''),
    ("md", "## Translations\n\nSource (input condition), each method's output, ground truth; the first test images."),
    ("code", '''
rows = {"source": ds["source_images"].values}
for m in ds["method"].values:
    rows[str(m)] = ds["images"].sel({"method": m}).isel(seed=0).values
rows["ground truth"] = ds["truth_images"].values
image_grid(rows, cell=64)
'''),
    ("md", "## Inverted latents\n\nThe unit-variance latents x_T (shown as x/3 + 0.5). Spectral collapse shows as visible structure of the input."),
    ("code", '''
lat_rows = {str(m): (ds["latents"].sel({"method": m}).isel(seed=0).values / 3) for m in ds["method"].values}
lat_rows["N(0, I)"] = np.random.default_rng(0).standard_normal(ds["latents"].isel({"method": 0, "seed": 0}).shape) / 3
image_grid(lat_rows, cell=64)
'''),
    ("md", "## Gaussianity of the latents\n\nS_G = 1 − D of a KS test of ‖x_T‖² against χ²(d), with the p-value and "
           "the mean of ‖x_T‖²/d (1 for Gaussian noise; the KS test rejects a 1% norm error at this d)."),
    ("code", '''
ds[["s_g", "ks_d", "ks_p", "mean_norm_ratio"]].isel(seed=0).to_dataframe().drop(columns="seed", errors="ignore").round(4)
'''),
    ("code", '''
alt.hconcat(*[metric_bars(ds, m, width=240, height=180) for m in ("s_hf", "s_dc", "s_g")])
'''),
    ("md", "## Are the models any good? Samples from noise\n\nSamples from pure noise under the target label "
           "(50 deterministic steps) with their S_HF against real target crops."),
    ("code", '''
display(image_grid({f"{m} model": ds["noise_samples"].sel(model=m).values[:16] for m in ds["model"].values}, cell=48))
ds["noise_s_hf"].mean("noise_image").to_dataframe().round(3)
'''),
    ("md", "## Verdict"),
    ("code", '''
display(Markdown(collapse_verdict(ds)))
bad = summary(ds)
if "nonfinite" in bad and bad["nonfinite"].any():
    display(Markdown("Samples that became non-finite are excluded from the means: "
                     + ", ".join(f"{r.method} {r.nonfinite}" for r in bad.drop_duplicates("method").itertuples() if r.nonfinite)))
'''),
    ("md", "## Settings of this run"),
    ("code", '''
import json
for k in ("wavelet", "mu_hf", "s_hf_unit", "s_lf_kappa", "s_lf_condition", "s_dc_definition", "ovg", "steps", "n_test"):
    print(f"{k}: {ds.attrs.get(k)}")
print("methods:", json.dumps(json.loads(ds.attrs["methods"]), indent=None)[:2000])
print("provenance:", {k: v for k, v in ds.attrs.items() if k.startswith(("version", "git", "created"))})
'''),
]

