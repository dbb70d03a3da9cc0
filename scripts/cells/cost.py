"""Cells of notebooks/cost.ipynb: measured cost per inversion step of every method (issue 3 item 3), read from
the stored benchmark results (benchmarks/results/latest.json, written by `python -m benchmarks`)."""

TITLE = "Cost per inversion step"
DATASETS = ("ihc-sr",)  # the benchmark's model is the quick profile's U-Net at the ihc-sr image shape
ORDER = 90

SETUP_BENCH = '''
import sys
from IPython.display import Markdown, display
import altair as alt
from spectral_collapse.studies.notebook import setup_notebook, coerce_str
root = setup_notebook()
sys.path.insert(0, str(root))  # the benchmarks/ package lives at the repository root
from benchmarks import report
dataset = coerce_str(dataset, "dataset")
profile = coerce_str(profile, "profile")
res = report.load(results_file)
results_dir = (root / results_file).parent  # --full and --device cuda runs are stored beside it
inv = (res or {}).get("benchmarks", {}).get("inversion")
if res is None:
    display(Markdown(f"**Not measured yet**: no `{results_file}`. Run `python -m benchmarks` (a few minutes on "
                     "2 cores) and execute this notebook again."))
else:
    display(Markdown(report.environment_md(res)
                     + ("" if inv is not None else " This file holds no inversion benchmark (`--only` run).")))
'''

CELLS = [
    ("md", """
# Cost per inversion step

Every inversion method of the suite on the same network and batch, in the same run: network calls and network
forward evaluations per sample (NFE; classifier-free guidance evaluates the null label too, so one call at
w > 1 counts 2), backward calls through the network, time and peak extra memory per inversion step relative to
DDIM inversion. The paper gives no cost figures; the authors' code does one forward with graph plus two
vector-Jacobian products per OVG step, and the baseline authors' costs are collected in
shared/reference/baselines-facts.md (Null-text: up to 1 + 10 + 2 forwards and 10 backward passes per step,
ReNoise R + 1 forwards, EDICT 2, BDIA 1). Whether our measurements agree with those counts is stated at the end.
"""),
    ("code", '''
dataset = "ihc-sr"        # only names the page: the benchmark's model has this dataset's shape (quick U-Net, 32 x 32 RGB)
profile = "quick"         # unused: the benchmark records its own model and sizes
results_root = "data/results"   # unused (the orchestrator passes it)
results_file = "benchmarks/results/latest.json"   # written by `python -m benchmarks`
''', ["parameters"]),
    ("code", SETUP_BENCH),
    ("md", "## Cost table\n\nTimes are medians over paired repeats with the quartiles in brackets, as multiples of a "
           "DDIM inversion step timed just before each repeat. CPU time is the steadier figure on a shared machine; "
           "wall time is given beside it. Peak memory is the resident-set high-water mark above what was resident "
           "before the call (model, inputs), one fresh process per method."),
    ("code", '''
if inv is not None:
    display(Markdown(f"Model: {inv['parameters'] / 1e6:.2f} M-parameter U-Net (random weights), input "
                     f"{' x '.join(map(str, inv['image_shape']))}, batch {inv['batch']}, {inv['steps']} inversion steps, "
                     f"{inv['repeats']} paired repeats. {inv['time_per_step'].capitalize()}. Memory: {inv['memory_method']}."))
    display(report.cost_table(res))
'''),
    ("code", '''
if inv is not None:
    import pandas as pd
    df = pd.DataFrame([{"method": r["label"], "time vs DDIM (CPU)": r["ratio_cpu"]["median"],
                        "q25": r["ratio_cpu"]["q25"], "q75": r["ratio_cpu"]["q75"]} for r in inv["rows"]])
    order = list(df["method"])
    bars = alt.Chart(df).mark_bar().encode(
        x=alt.X("time vs DDIM (CPU):Q", scale=alt.Scale(type="log"), title="time per inversion step / DDIM (log)"),
        y=alt.Y("method:N", sort=order, title=None), tooltip=["method", alt.Tooltip("time vs DDIM (CPU):Q", format=".2f")])
    err = alt.Chart(df).mark_rule().encode(x="q25:Q", x2="q75:Q", y=alt.Y("method:N", sort=order))
    one = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    display((bars + err + one).properties(width=420, height=22 * len(df)))
'''),
    ("md", "## Does it match the published costs?"),
    ("code", '''
if inv is not None:
    by = {r["label"]: r for r in inv["rows"]}
    lines = []
    def count(lab, key):
        return by[lab][key] if lab in by else float("nan")
    if "ovg" in by:
        lines.append(f"OVG: {count('ovg', 'calls_per_step'):.0f} network call and {count('ovg', 'backward_per_step'):.0f} "
                     f"backward call(s) per step (the VJPs are {inv['vjp']['default']}), "
                     f"{by['ovg']['ratio_cpu']['median']:.2f}x a DDIM step in CPU time "
                     f"(target at most 3x: {'met' if inv['targets']['ovg_step_met'] else 'not met'}).")
    if "ovg_naive" in by:
        lines.append(f"The released code's way (an extra forward with graph, two backward calls) costs "
                     f"{by['ovg_naive']['ratio_cpu']['median']:.2f}x, so sharing the base step's forward saves "
                     f"{1 - by['ovg']['ratio_cpu']['median'] / by['ovg_naive']['ratio_cpu']['median']:.0%} of an OVG step.")
    for lab, expect in (("null_class", "at most 1 + 10 + 2 forwards (x2 NFE under guidance) and 10 backward passes"),
                        ("renoise", "R + 1 forwards plus one reference forward; R = 1 here"),
                        ("renoise_r9", "R + 1 forwards plus one reference forward; R = 9, 5 on the first steps"),
                        ("edict", "2 forwards"), ("bdia", "1 forward"), ("heun", "2 forwards"),
                        ("direct_inversion", "1 pivot forward plus one guided (2 NFE) forward")):
        if lab in by:
            lines.append(f"{lab}: {count(lab, 'calls_per_step'):.2f} calls, {count(lab, 'nfe_per_step'):.2f} NFE and "
                         f"{count(lab, 'backward_per_step'):.2f} backward calls per step (authors: {expect}); "
                         f"{by[lab]['ratio_cpu']['median']:.2f}x DDIM in time, "
                         f"{by[lab].get('mem_ratio') or float('nan'):.2f}x in peak memory.")
    display(Markdown("\\n".join(f"- {s}" for s in lines)))
'''),
]
