"""Cells of notebooks/eps_vs_x0.ipynb: the paper's Table 6 (eps- vs x0-prediction)."""

from ._ablation import ablation_cells

TITLE = "Prediction target: eps vs x0"
DATASETS = ("ihc-sr",)
ORDER = 63

CELLS = ablation_cells("eps_vs_x0", """
# Prediction target, eps vs x0: {dataset}

The paper's Table 6 (Sec. 6.3) compares, for the same inversion method (standard DDIM, TABA, OVG), factor and
seed, a DDIM model trained to predict eps with one trained to predict x0, and counts how often x0 improves each
metric. The text calls x0-prediction "a definitive cure for spectral collapse" (S_HF better in 96.6% of cases,
S_DC in 89.7%) that costs structure (S_LF and PSNR improving in only 17-35% of trials), although the table itself
lists 72.4% for S_LF and 79.3% for PSNR. Here the x0 model is the same U-Net, schedule and training recipe as the
eps model, one pair per SR factor; deterministic methods give the same comparison for every seed, so they count
once per seed as the paper's cells do.
""", "one factor only", extra=[
    ("md", "## % improved by x0-prediction\n\nShare of (method, factor, seed) cells in which the x0 model scores "
           "better than the eps model (higher is better for every score here), beside the paper's Table 6."),
    ("code", '''
from spectral_collapse.studies.ablations import improvement_table, percent_improved
pi = percent_improved(ds)
pi.assign(improved=(100 * pi.improved).round(1), paper_improved=(100 * pi.paper_improved).round(1))
'''),
    ("code", '''
imp = improvement_table(ds)
alt.Chart(imp.dropna(subset=["delta"])).mark_bar().encode(
    x=alt.X("method:N", title=None), xOffset="factor:N", y=alt.Y("mean(delta):Q", title="x0 - eps"),
    color="factor:N").properties(width=130, height=150).facet(column=alt.Column("metric:N", title=None)).resolve_scale(
    y="independent")
'''),
])
