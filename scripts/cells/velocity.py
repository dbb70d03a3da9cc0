"""Cells of notebooks/velocity.ipynb: spectral velocity heatmaps of the inversion (the paper's Fig. 17)."""

from ._common import SETUP

TITLE = "Spectral velocity of inversion"
DATASETS = ("ihc-sr", "ihc-edges")
ORDER = 33

CELLS = [
    ("md", """
# Spectral velocity of inversion: {dataset}

The paper's App. E.2 / Fig. 17: the "inversion velocity" Δz_i = z_{i+1} − z_i between consecutive inversion
steps, seen through its radially averaged Fourier power (log10, averaged over channels and test inputs). The loop
hands every step to a callback, which records the states. States are measured on the VP scale
z = x / √(1 + σ²) (the DDIM x_t) for every model, so the EDM model's large-σ states are comparable. Negative
values (blue) are updates that have all but stopped.
"""),
    ("code", '''
dataset = "ihc-sr"        # ihc-sr | ihc-edges (bundled) | bbbc021 | edges2shoes (when prepared)
profile = "quick"         # smoke | quick | paper
seeds = None              # unused (the methods here are deterministic; `seed` keys any noise)
methods = None            # None means DDIM, EDM, OVG, OVG + EDM
n_samples = 4             # test inputs averaged per heatmap
space = "vp"              # vp | sigma
seed = 0
results_root = "data/results"
rerun = False
''', ["parameters"]),
    ("code", SETUP),
    ("code", '''
from spectral_collapse.studies.analysis import load_or_run, settings, velocity_summary, verdict
ds = load_or_run("velocity", dataset, profile, root=results_root, rerun=rerun, labels=methods, n_samples=int(n_samples),
                 space=coerce_str(space, "space"), seed=int(seed))
print(f"{dataset}, profile {profile}: {ds.sizes['step']} inversion steps, {ds.sizes['freq']} frequency bins, "
      f"{ds.attrs['n_samples']} inputs, space {ds.attrs['space']}")
'''),
    ("md", "## Heatmaps\n\nStep i (σ rising to the right) against frequency (cycles/pixel); "
           "colour = log10 power of Δz."),
    ("code", '''
frame = ds["log_power"].to_dataframe().reset_index()
frame = frame[(frame["freq"] > 0) & np.isfinite(frame["log_power"])]
frame["freq"] = frame["freq"].round(3)
lim = float(np.abs(frame["log_power"]).max())
alt.Chart(frame).mark_rect().encode(
    x=alt.X("step:O", axis=alt.Axis(values=list(range(0, ds.sizes["step"], max(1, ds.sizes["step"] // 10))))),
    y=alt.Y("freq:O", sort="descending", title="cycles / pixel"),
    color=alt.Color("log_power:Q", title="log10 power", scale=alt.Scale(scheme="redblue", reverse=True, domainMid=0,
                                                                        domain=[-lim, lim])),
    tooltip=["method", "step", "freq", alt.Tooltip("log_power:Q", format=".2f")],
).properties(width=260, height=180).facet(facet=alt.Facet("method:N", sort=list(ds["method"].values)), columns=2)
'''),
    ("md", "## Summary\n\nMean log10 update power at high (≥ 0.25 cycles/px) and low frequencies, early and "
           "late in the inversion."),
    ("code", "velocity_summary(ds).round(3)"),
    ("code", '''
sig = ds[["sigma_from", "sigma_to"]].to_dataframe().reset_index()
alt.Chart(sig).mark_line().encode(x="step:Q", y=alt.Y("sigma_to:Q", scale=alt.Scale(type="log"), title="σ after step"),
                                  color="method:N").properties(width=320, height=160, title="noise levels of each grid")
'''),
    ("md", "## Verdict"),
    ("code", "display(Markdown(verdict(ds)))"),
    ("md", "## Settings of this run"),
    ("code", '''
print(settings(ds, ("n_samples", "space", "steps", "definition",
                    "ovg", "inversion", "models", "request")))
'''),
]
