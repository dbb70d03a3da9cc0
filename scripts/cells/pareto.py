"""Cells of notebooks/pareto.ipynb: the OVG step-size sweep of the paper's Sec. 5.2 and Fig. 6."""

TITLE = "OVG step sizes: Pareto sweep"
DATASETS = ("ihc-sr", "ihc-edges")  # datasets the main command runs this study on
ORDER = 5                           # executed before main_results (order 10), which reads the stored choice


CELLS = [
    ("md", """
# OVG step sizes (Pareto sweep): {dataset}

The paper tunes the two OVG step sizes, eta_HF (variance / texture drift) and eta_LF (structure drift), "via a grid
search", and Fig. 6 claims that sweeping them *expands the Pareto frontier* of structure (S_LF) against texture
(S_HF) beyond the baselines. Neither the grid nor the chosen values are published. Here we sweep a log-spaced grid
centred on our defaults, translate the first test images with every grid point of each OVG base (OVG on DDIM, on
TABA, on the EDM model), and plot S_LF against S_HF with the baselines on the same axes.

**Choice rule** (stated before looking at the numbers). For each base, only grid points whose every test image stays
finite are eligible. S_HF and S_LF are min-max scaled to [0, 1] over the eligible grid points of that base, and we take
the point of the base's Pareto front that maximises min(scaled S_HF, scaled S_LF): the most balanced point (ties: the
larger scaled sum, then the smaller step sizes). With `rule = "knee"` the front point farthest above the chord
joining the front's two ends is taken instead. The choice of the `ovg` base is written to
`data/results/pareto/<dataset>-<profile>-choice.json`, and the main-results study uses it for every OVG label.
"""),
    ("code", '''
dataset = "ihc-sr"        # ihc-sr | ihc-edges (bundled) | bbbc021 | edges2shoes (when prepared)
profile = "quick"         # smoke | quick | paper
eta_hf = None             # None: the grid of the profile (log-spaced, two decades around the default), or a list
eta_lf = None             # idem for eta_LF
bases = None              # None: all of ovg, ovg_taba, ovg_edm; or a list of some of them
baselines = None          # None: ddim, taba, edm plus every other non-OVG method of the stored main results
n_images = 12             # test images per grid point (the first of the paired test split)
seed = None               # None: the first seed of the profile
rule = "maximin"          # maximin | knee
results_root = "data/results"
rerun = False             # True: recompute even when stored results exist
''', ["parameters"]),
    ("code", '''
from IPython.display import Markdown, display
import json
import numpy as np
from spectral_collapse.studies.notebook import setup_notebook, coerce_list, coerce_str
from spectral_collapse.plotting.charts import image_grid
root = setup_notebook()
dataset = coerce_str(dataset, "dataset")
profile = coerce_str(profile, "profile")
rule = coerce_str(rule, "rule")
eta_hf = coerce_list(eta_hf, float, "eta_hf")
eta_lf = coerce_list(eta_lf, float, "eta_lf")
bases = coerce_list(bases, str, "bases")
baselines = coerce_list(baselines, str, "baselines")
n_images = int(n_images)
seed = None if seed in (None, "", "None") else int(seed)
'''),
    ("code", '''
# Fail at once, before any work, when the dataset is unknown or a real dataset is not prepared: the error gives the
# download command and the bundled alternative.
from spectral_collapse.studies.models import dataset_for
_ = dataset_for(profile, dataset)
'''),
    ("code", '''
from spectral_collapse.studies import pareto as P
from spectral_collapse.studies.store import load_results, results_path
bases = bases or list(P.BASES)
baselines = list(P.BASELINES) if baselines is None else baselines
path = results_path("pareto", dataset, profile, results_root)
ds = None
if path.exists() and not rerun:
    ds = load_results(path)
    grid = json.loads(ds.attrs["grid"])
    wanted = P.default_grid(profile)
    have = set(map(str, ds["method"].values)) if "method" in ds.coords else set()
    same = (sorted(map(str, ds["base"].values)) == sorted(bases) and ds.attrs.get("rule") == rule
            and set(baselines) <= have and int(ds.attrs["n_images"]) == n_images
            and grid["eta_hf"] == sorted(eta_hf or wanted[0]) and grid["eta_lf"] == sorted(eta_lf or wanted[1])
            and (seed is None or int(ds.attrs["seed"]) == seed))
    if not same:
        ds = None
if ds is None:
    ds = P.run_pareto_study(dataset, profile, eta_hf=eta_hf, eta_lf=eta_lf, bases=bases, baselines=baselines,
                            n_images=n_images, seed=seed, rule=rule, root=results_root, progress=False)
else:
    P.store_choice(ds, results_root)   # the choice file follows the stored results
grid = json.loads(ds.attrs["grid"])
print(f"{dataset}, profile {profile}: {ds.attrs['n_images']} test images, seed {ds.attrs['seed']}, "
      f"{ds.attrs['steps']} steps; eta_HF grid {grid['eta_hf']}, eta_LF grid {grid['eta_lf']}; "
      f"bases {list(map(str, ds['base'].values))}; results in {path}")
'''),
    ("md", "## S_LF against S_HF (Fig. 6)\n\nEvery grid point of every base (colour), the Pareto front of each base "
           "(dashed), the chosen point of each base (ringed) and the baselines (grey diamonds), as means over the "
           "sweep's test images."),
    ("code", '''
P.pareto_chart(ds)
'''),
    ("md", "## Over the grid\n\nMean S_HF and S_LF at each (eta_HF, eta_LF), per base."),
    ("code", '''
P.grid_heatmaps(ds)
'''),
    ("code", '''
table = P.grid_summary(ds)
cols = ["base", "eta_hf", "eta_lf", "s_hf", "s_lf", "psnr", "s_dc", "s_g", "nonfinite", "on_front", "chosen"]
shown = table[cols].round({c: 4 for c in ("s_hf", "s_lf", "psnr", "s_dc", "s_g")})
shown.assign(eta_hf=shown["eta_hf"].map("{:.0e}".format), eta_lf=shown["eta_lf"].map("{:.0e}".format))
'''),
    ("md", "## Baselines on the same images"),
    ("code", '''
P.baseline_summary(ds).round(4)
'''),
    ("md", "## Translations\n\nSource, the output at the chosen point of each base, at the grid's two extreme corners "
           "(smallest and largest step sizes), and the ground truth."),
    ("code", '''
rows = {"source": ds["source_images"].values}
hf_axis, lf_axis = ds["eta_hf"].values, ds["eta_lf"].values
for b in map(str, ds["base"].values):
    ch = ds["chosen"].sel(base=b)
    if bool(ch.any()):
        pick = ch.where(ch, drop=True)
        h, lo = float(pick["eta_hf"].values[0]), float(pick["eta_lf"].values[0])
        rows[f"{b} chosen"] = ds["images"].sel(base=b, eta_hf=h, eta_lf=lo).values
    rows[f"{b} smallest"] = ds["images"].sel(base=b, eta_hf=hf_axis[0], eta_lf=lf_axis[0]).values
    rows[f"{b} largest"] = ds["images"].sel(base=b, eta_hf=hf_axis[-1], eta_lf=lf_axis[-1]).values
rows["ground truth"] = ds["truth_images"].values
image_grid(rows, cell=64)
'''),
    ("md", "## Chosen operating point"),
    ("code", '''
choices = json.loads(ds.attrs["choices"])
lines = [f"- **{b}**: eta_HF = {c['eta_hf']:.3g}, eta_LF = {c['eta_lf']:.3g} "
         f"(S_HF {c['s_hf']:.3f}, S_LF {c['s_lf']:.3f})" for b, c in choices.items()]
chosen_file = P.choice_path(dataset, profile, results_root)
stored = P.read_choice(dataset, profile, results_root)
lines.append(f"\\nRule: `{ds.attrs['rule']}`. The `{ds.attrs['primary']}` choice is stored in `{chosen_file}`"
             + (f" (eta_HF = {stored['eta_hf']:.3g}, eta_LF = {stored['eta_lf']:.3g}) and used by the "
                "main-results study." if stored else " (no point was eligible, so nothing was stored)."))
display(Markdown("\\n".join(lines)))
'''),
    ("md", "## Verdict"),
    ("code", '''
display(Markdown(P.frontier_verdict(ds)["text"]))
'''),
    ("md", "## Settings of this run"),
    ("code", '''
for k in ("rule", "primary", "seed", "n_images", "steps", "wavelet", "mu_hf", "s_lf_kappa", "grid",
          "baseline_sources", "models"):
    print(f"{k}: {ds.attrs.get(k)}")
print("provenance:", {k: v for k, v in ds.attrs.items() if k.startswith(("version", "git", "created"))})
'''),
]
