"""Cells of notebooks/gaussianity.ipynb: the paper's Fig. 7 and S_G (KS test of ||x_T||^2 against chi2(d))."""

from ._common import SETUP

TITLE = "Gaussianity of inverted latents"
DATASETS = ("ihc-sr", "ihc-edges")
ORDER = 31

CELLS = [
    ("md", """
# Gaussianity of inverted latents: {dataset}

If x_T ~ N(0, I_d) then ||x_T||² ~ χ²(d) (paper App. B.2, Eq. 31). Per inversion method we compare the squared
norms of its latents with that density, run a one-sample Kolmogorov-Smirnov test, and report S_G = 1 − D_KS
(Eq. 33), the p-value and the mean of ||x_T||²/d. At d in the thousands the test rejects even a 1 % scale error,
so the mean ratio says *how far* a method is off. Norms are shown as u = ||x_T||²/d, whose χ² density is
d·χ²_d(u d) (mean 1, sd √(2/d)).
"""),
    ("code", '''
dataset = "ihc-sr"        # ihc-sr | ihc-edges (bundled) | bbbc021 | edges2shoes (when prepared)
profile = "quick"         # smoke | quick | paper
seeds = None              # unused here (the seed of stochastic methods is `seed`)
methods = None            # None means the paper's six methods
n_latents = None          # None means the profile's default (smoke 16, quick 256, paper 2000)
seed = 0
bins = 30
results_root = "data/results"
rerun = False
''', ["parameters"]),
    ("code", SETUP),
    ("code", '''
import pandas as pd
from spectral_collapse.studies.analysis import chi2_curve, load_or_run, settings, norm_histogram, verdict
ds = load_or_run("gaussianity", dataset, profile, root=results_root, rerun=rerun, labels=methods, n_latents=n_latents,
                 seed=int(seed))
d = int(ds.attrs["d"])
print(f"{dataset}, profile {profile}: {ds.sizes['latent']} latents per method, d = {d}")
'''),
    ("md", "## Squared norms against χ²(d)\n\nHistogram of u = ||x_T||²/d per method (bars) and the χ²(d)/d "
           "density (orange)."),
    ("code", '''
sd = (2 / d) ** 0.5
panels = []
for m in [*ds["method"].values, "gaussian"]:
    u = ds["gaussian_norm_ratio"].values if m == "gaussian" else ds["norm_ratio"].sel({"method": m}).values
    u = u[np.isfinite(u)]
    lo, hi = min(u.min(), 1 - 5 * sd), max(u.max(), 1 + 5 * sd)
    h = norm_histogram(u, bins=int(bins), range_=(lo, hi))
    c = chi2_curve(d, lo, hi)
    bars = alt.Chart(h).mark_bar(opacity=0.6).encode(x=alt.X("left:Q", title="||x_T||²/d"), x2="right:Q",
                                                     y=alt.Y("density:Q", title="density"))
    line = alt.Chart(c).mark_line(color="orange").encode(x="u:Q", y="density:Q")
    panels.append((bars + line).properties(width=200, height=150, title=str(m)))
alt.vconcat(*[alt.hconcat(*panels[i:i + 4]) for i in range(0, len(panels), 4)])
'''),
    ("md", "## KS test per method"),
    ("code", '''
tab = ds[["s_g", "ks_d", "ks_p", "mean_norm_ratio", "z_mean"]].to_dataframe()
tab.loc["gaussian (reference)", ["s_g", "ks_p"]] = [ds.attrs["gaussian_s_g"], ds.attrs["gaussian_ks_p"]]
tab.round(4)
'''),
    ("code", '''
alt.hconcat(metric_bars(ds, "s_g", over=None, width=260, height=180),
            metric_bars(ds, "mean_norm_ratio", over=None, width=260, height=180))
'''),
    ("md", "## Verdict"),
    ("code", "display(Markdown(verdict(ds)))"),
    ("md", "## Settings of this run"),
    ("code", '''
print(settings(ds, ("n_latents", "d", "steps", "seed",
                    "definition", "ovg", "inversion", "models", "request")))
'''),
]
