"""Cells of notebooks/decorrelation.ipynb: S_DC, its flag masks, and S_DC against S_G (the paper's Fig. 8)."""

from ._common import SETUP

TITLE = "Patch decorrelation of inverted latents"
DATASETS = ("ihc-sr", "ihc-edges")
ORDER = 32

CELLS = [
    ("md", """
# Patch decorrelation of inverted latents: {dataset}

The decorrelation score S_DC (paper App. B.3, Eq. 34-36): in every 4×4 window of a latent, the mean squared
difference between horizontal and vertical neighbours (the patch roughness) is compared with a threshold τ set
by Monte Carlo on N(0, I) latents so that 5 % of white-noise patches fall below it. A window is flagged as
autocorrelated when at least half of the channels fall below τ. Eq. 36 defines the flagged share; the paper's
tables report S_DC with higher = better (≈ 0.98 for good methods), so we report S_DC = 1 − flagged share
(white noise ≈ 0.99). The flag masks below show flagged windows in white. The scatter repeats the inversion
with several step counts and seeds (stochastic methods) and plots the set-level S_G against the mean S_DC.
"""),
    ("code", '''
dataset = "ihc-sr"        # ihc-sr | ihc-edges (bundled) | bbbc021 | edges2shoes (when prepared)
profile = "quick"         # smoke | quick | paper
seeds = None              # None means the profile's seeds (vary only the stochastic methods)
methods = None            # None means the paper's six methods
n_latents = None          # None means the profile's default (smoke 16, quick 256, paper 2000)
steps_grid = None         # None means (steps/5, steps/2, steps) of the profile
results_root = "data/results"
rerun = False
''', ["parameters"]),
    ("code", SETUP),
    ("code", '''
import pandas as pd
from spectral_collapse.studies.analysis import load_or_run, settings, verdict
steps_grid = coerce_list(steps_grid, int, "steps_grid")
ds = load_or_run("decorrelation", dataset, profile, root=results_root, rerun=rerun, labels=methods, seeds=seeds,
                 n_latents=n_latents, steps_grid=steps_grid)
print(f"{dataset}, profile {profile}: {ds.sizes['latent']} latents per method; {ds.sizes['run']} runs for the scatter "
      f"({ds.attrs['n_run']} test inputs each, steps {list(ds.attrs['steps_grid'])})")
'''),
    ("md", "## S_DC per method\n\nMean over latents; 1 − flagged share, higher = more like white noise."),
    ("code", '''
display(ds[["s_dc", "flagged_ratio"]].mean("latent").to_dataframe().round(4))
metric_bars(ds, "s_dc", over=None, width=320, height=200)
'''),
    ("md", "## Flag masks\n\nFor each method: latents x_T (shown as x/3) and their flag masks "
           "(white = flagged window)."),
    ("code", '''
rows = {}
for m in ds["method"].values:
    rows[f"{m} x_T"] = ds["latents"].sel({"method": m}).values / 3
    rows[f"{m} flags"] = ds["mask"].sel({"method": m}).values[:, None] * 2.0 - 1   # flagged = white
image_grid(rows, cell=56)
'''),
    ("md", "## S_DC against S_G (Fig. 8)\n\nOne point per inversion run (method, number of steps, seed)."),
    ("code", '''
runs = pd.DataFrame({"method": ds["run_method"].values, "steps": ds["run_steps"].values, "seed": ds["run_seed"].values,
                     "s_g": ds["run_s_g"].values, "s_dc": ds["run_s_dc"].values})
alt.Chart(runs).mark_point(filled=True, size=70).encode(
    x=alt.X("s_g:Q", title="S_G (set of latents)", scale=alt.Scale(zero=False)),
    y=alt.Y("s_dc:Q", title="mean S_DC", scale=alt.Scale(zero=False)),
    color="method:N", shape="steps:N", tooltip=["method", "steps", "seed", "s_g", "s_dc"],
).properties(width=380, height=260)
'''),
    ("code", "runs.round(4)"),
    ("md", "## Verdict"),
    ("code", "display(Markdown(verdict(ds)))"),
    ("md", "## Settings of this run"),
    ("code", '''
print(settings(ds, ("n_latents", "n_run", "steps_grid", "seeds",
                    "s_dc_definition", "ovg", "inversion", "models", "request")))
'''),
]
