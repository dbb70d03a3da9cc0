"""Cells of notebooks/metric_validation.ipynb: spectrum slopes (Fig. 9), S_HF on filtered images (Figs. 11-12),
metric correlations (Fig. 14)."""

from ._common import SETUP

TITLE = "Validation of the metrics"
DATASETS = ("ihc-sr", "ihc-edges")
ORDER = 34

CELLS = [
    ("md", """
# Validation of the metrics: {dataset}

Three checks of the paper's App. B. (1) The radially averaged log power spectrum of real images and its slope
over [0.005, 0.4] cycles/pixel, which picks the wavelet sym⌈|slope|⌉ of S_HF (Eq. 37, Fig. 9). (2) S_HF of real
held-out images after an ideal Fourier filter (Figs. 11-12): removing low frequencies should leave S_HF alone,
removing high frequencies should lower it. The paper calls these "low-frequency filtered" and "high-frequency
filtered" images; we read the name as the band that was *removed*, the reading under which its claim is
meaningful. (3) The correlation matrix of all metrics over the runs of the main-results study (Fig. 14).
"""),
    ("code", '''
dataset = "ihc-sr"        # ihc-sr | ihc-edges (bundled) | bbbc021 | edges2shoes (when prepared)
profile = "quick"         # smoke | quick | paper
seeds = None              # unused (the main_results runs are used as stored)
methods = None            # unused
kappas = None             # None means 0.1 ... 0.8 of Nyquist
n_real = 64               # held-out real images for the filter test
results_root = "data/results"
rerun = False
''', ["parameters"]),
    ("code", SETUP),
    ("code", '''
import json
import pandas as pd
from spectral_collapse.studies.analysis import load_or_run, settings, verdict
kappas = coerce_list(kappas, float, "kappas")
ds = load_or_run("metric_validation", dataset, profile, root=results_root, rerun=rerun, kappas=kappas,
                 n_real=int(n_real))
print(f"{dataset}, profile {profile}: wavelet {ds.attrs['wavelet']}, mu_HF {ds.attrs['mu_hf']:.3f} "
      f"({ds.attrs['s_hf_unit']} units) from {ds.attrs['n_reference']} real images; {ds.sizes['point']} runs")
'''),
    ("md", "## Radially averaged power spectra (Fig. 9)\n\nMean over images and channels of log10 power; "
           "dashed: the least-squares line over the fitting band."),
    ("code", '''
rows = []
f = ds["freq"].values
band = ds.attrs["band"]
for dom in ds["domain"].values:
    lp = ds["log_power"].sel(domain=dom).mean("channel").values
    a, b = float(ds["slope_channel"].sel(domain=dom).mean()), float(ds["intercept_channel"].sel(domain=dom).mean())
    for fi, v in zip(f[1:], lp[1:]):
        rows.append({"domain": str(dom), "log10 f": np.log10(fi), "log10 power": v, "kind": "spectrum"})
        if band[0] <= fi <= band[1]:
            rows.append({"domain": str(dom), "log10 f": np.log10(fi), "log10 power": a * np.log10(fi) + b,
                         "kind": "fit"})
spec = pd.DataFrame(rows)
alt.Chart(spec).mark_line().encode(x="log10 f:Q", y="log10 power:Q", color="domain:N",
                                   strokeDash=alt.StrokeDash("kind:N", sort=["spectrum", "fit"])
                                   ).properties(width=380, height=240)
'''),
    ("code", '''
from spectral_collapse.metrics.spectral import wavelet_order
pd.DataFrame({"slope": ds["slope"].values, "wavelet sym⌈|s|⌉": [wavelet_order(s) for s in ds["slope"].values]},
             index=pd.Index(ds["domain"].values, name="domain")).round(3)
'''),
    ("md", "## S_HF of Fourier-filtered real images (Figs. 11-12)\n\nExamples at three cutoffs κ "
           "(fraction of Nyquist)."),
    ("code", '''
ks = list(ds["kappa"].values)
pick = [ks[0], ks[len(ks) // 2], ks[-1]]
rows = {"original": ds["held_out_images"].values}
for filt, name in (("lowpass", "HF removed"), ("highpass", "LF removed")):
    for k in pick:
        rows[f"{name} κ={k:.2f}"] = ds["examples"].sel(filter=filt, kappa=k).values
image_grid(rows, cell=56)
'''),
    ("code", '''
t = ds["filtered_s_hf"].to_dataframe().reset_index()
t["filter"] = t["filter"].map({"lowpass": "low-pass (HF removed)", "highpass": "high-pass (LF removed)"})
stats = t.groupby(["filter", "kappa"])["filtered_s_hf"].agg(["mean", "std"]).reset_index()
stats["lo"], stats["hi"] = stats["mean"] - stats["std"], stats["mean"] + stats["std"]
base = float(ds["unfiltered_s_hf"].mean())
line = alt.Chart(stats).mark_line(point=True).encode(x=alt.X("kappa:Q", title="cutoff κ (fraction of Nyquist)"),
                                                     y=alt.Y("mean:Q", title="S_HF"), color="filter:N")
band_ = alt.Chart(stats).mark_area(opacity=0.2).encode(x="kappa:Q", y="lo:Q", y2="hi:Q", color="filter:N")
rule = alt.Chart(pd.DataFrame({"y": [base]})).mark_rule(strokeDash=[4, 3], color="gray").encode(y="y:Q")
(band_ + line + rule).properties(width=380, height=240, title="S_HF (dashed: unfiltered held-out images)")
'''),
    ("code", "stats.pivot(index='kappa', columns='filter', values='mean').round(3)"),
    ("md", "## Correlations between metrics (Fig. 14)\n\nPearson correlation over the (method, seed) runs of the "
           "main results (deterministic methods counted once). Metrics that are unavailable (NaN) or constant are "
           "left out."),
    ("code", '''
from spectral_collapse.plotting.charts import metric_heatmap
cfg = json.loads(ds.attrs.get("ms_ssim_config", "{}"))
print(f"LPIPS: {ds.attrs.get('lpips_status')}\\nFID / KID: {ds.attrs.get('fid_status')}\\nMS-SSIM: {cfg.get('scales')} "
      f"scales, {'standard' if cfg.get('standard') else 'reduced (non-standard) configuration'}")
corr = ds["pearson"].to_dataframe().reset_index()
metric_heatmap(corr, "pearson", x="metric_a", y="metric_b", scheme="redblue", fmt=".2f", cell_width=44,
               cell_height=22)
'''),
    ("code", '''
pts = pd.DataFrame(ds["points"].values, columns=ds["metric"].values)
pts.insert(0, "seed", ds["point_seed"].values)
pts.insert(0, "method", ds["point_method"].values)
pts.round(3)
'''),
    ("md", "## Verdict"),
    ("code", "display(Markdown(verdict(ds)))"),
    ("md", "## Settings of this run"),
    ("code", '''
print(settings(ds, ("band", "wavelet", "mu_hf", "s_hf_unit", "n_reference", "filters", "image_metrics", "fid",
                    "main_steps", "ms_ssim_config", "request")))
'''),
]
