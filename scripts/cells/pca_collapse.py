"""Cells of notebooks/pca_collapse.ipynb: the paper's Fig. 3 (PCA of inverted latents against Gaussian noise)."""

from ._common import SETUP

TITLE = "PCA collapse of inverted latents"
DATASETS = ("ihc-sr", "ihc-edges")
ORDER = 30

CELLS = [
    ("md", """
# PCA collapse of inverted latents: {dataset}

The paper's Fig. 3: one PCA over a set of inverted noise maps x_T, and the cumulative share of the variance carried
by the first k principal components. Gaussian noise N(0, I) of the same count and shape spreads its variance
evenly over all components (a nearly straight line); latents that keep the structure of their input concentrate
it in few components. On `ihc-sr` the profile's model (trained at its own SR factor) inverts inputs degraded at
several factors with DDIM, so the inputs get sparser while the model stays the same; on `ihc-edges` DDIM, TABA
and EDM inversions of the same edge maps are compared.
"""),
    ("code", '''
dataset = "ihc-sr"        # ihc-sr | ihc-edges (bundled) | bbbc021 | edges2shoes (when prepared)
profile = "quick"         # smoke | quick | paper
seeds = None              # unused here (the seed of stochastic methods is `seed`)
methods = None            # None means DDIM on SR datasets, DDIM / TABA / EDM otherwise
factors = None            # None means [2, 4, 8] on SR datasets
n_latents = None          # None means the profile's default (smoke 16, quick 256, paper 2000)
seed = 0
results_root = "data/results"
rerun = False             # True: recompute even when stored results exist
''', ["parameters"]),
    ("code", SETUP),
    ("code", '''
import pandas as pd
from spectral_collapse.studies.analysis import load_or_run, settings, verdict
factors = coerce_list(factors, int, "factors")
ds = load_or_run("pca_collapse", dataset, profile, root=results_root, rerun=rerun, factors=factors, labels=methods,
                 n_latents=n_latents, seed=int(seed))
print(f"{dataset}, profile {profile}: series {list(ds['series'].values)}, {int(ds['n'].values[-1])} latents of "
      f"dimension {ds['latents'][0, 0].size}; model trained at x{ds.attrs['model_factor']} (0 = no SR factor)")
'''),
    ("md", "## Cumulative explained variance\n\nShare of the total variance in the first k components, per series."),
    ("code", '''
cev = ds["cev"].to_dataframe().reset_index().dropna(subset=["cev"])
alt.Chart(cev).mark_line().encode(
    x=alt.X("component:Q", title="principal component k"), y=alt.Y("cev:Q", title="cumulative explained variance"),
    color=alt.Color("series:N", sort=list(ds["series"].values)), strokeDash=alt.condition(
        alt.datum.series == "gaussian", alt.value([4, 3]), alt.value([1, 0])),
).properties(width=420, height=280)
'''),
    ("code", '''
pd.DataFrame({k: ds[k].values for k in ("k50", "k90", "k99", "auc", "n", "nonfinite")},
             index=pd.Index(ds["series"].values, name="series")).round(3)
'''),
    ("md", "`k50`, `k90`, `k99`: components needed for 50 / 90 / 99 % of the variance; `auc`: mean of the curve "
           "(0.5 for variance spread evenly, near 1 when a few components carry it)."),
    ("md", "## Inputs and their latents\n\nInputs (top of each pair) and the unit-variance latents x_T "
           "(shown as x/3)."),
    ("code", '''
rows = {}
for s in ds["series"].values:
    if s != "gaussian":
        rows[f"{s} input"] = ds["inputs"].sel(series=s).values
    rows[f"{s} x_T"] = ds["latents"].sel(series=s).values / 3
image_grid(rows, cell=56)
'''),
    ("md", "## Verdict"),
    ("code", "display(Markdown(verdict(ds)))"),
    ("md", "## Settings of this run"),
    ("code", '''
print(settings(ds, ("n_latents", "steps", "model_factor", "pca",
                    "gaussian", "inversion", "models", "request")))
'''),
]
