"""Cells of notebooks/benchmarks.ipynb: the performance benchmark suite (issue 7), read from the stored results
(benchmarks/results/latest.json from `python -m benchmarks`, main_command.json from the timed main command)."""

from .cost import SETUP_BENCH

TITLE = "Performance benchmarks"
DATASETS = ("ihc-sr",)  # the benchmark's model is the quick profile's U-Net at the ihc-sr image shape
ORDER = 95

CELLS = [
    ("md", """
# Performance benchmarks

What one translation, one training step and one metric evaluation cost, measured by `python -m benchmarks` and
stored with the machine, package versions and commit. Every figure is a ratio against a baseline timed in the
same run (medians over paired repeats, quartiles in brackets), so numbers from a loaded machine stay
comparable. The paper reports no costs; the released OVG code spends 3-6x avoidable compute per step on
logging forwards and unused parameter gradients (ovg-official-facts.md 1.5). The floor of an OVG step is one
forward with graph plus two vector-Jacobian products; we time that floor in the same run (no step logic around
it), so the table shows both how far OVG is from DDIM and how much it adds on top of the unavoidable work.
"""),
    ("code", '''
dataset = "ihc-sr"        # only names the page
profile = "quick"         # unused: the benchmark records its own model and sizes
results_root = "data/results"   # unused (the orchestrator passes it)
results_file = "benchmarks/results/latest.json"   # written by `python -m benchmarks`
main_command_file = "benchmarks/results/main_command.json"   # written when the main command is timed
''', ["parameters"]),
    ("code", SETUP_BENCH),
    ("md", "## Targets"),
    ("code", '''
if res is not None:
    display(report.targets_table(res, report.latest_full(results_dir)))
'''),
    ("md", "## Inversion and translation\n\nPer-step cost of every method relative to DDIM inversion (the full "
           "table with forward and backward counts is in the *Cost per inversion step* chapter), a whole OVG "
           "translation (inversion with guidance, plain sampling) relative to a DDIM translation, and the choice "
           "between one batched backward call for OVG's two vector-Jacobian products and two separate calls."),
    ("code", '''
if inv is not None:
    display(report.cost_table(res)[["time vs DDIM (CPU)", "time vs DDIM (wall)", "memory vs DDIM"]])
    tr = inv["translation"]
    v = inv["vjp"]
    fl = inv.get("floor")
    floor_line = "" if fl is None else (
        f"- Floor, one forward with graph and two VJPs per step and nothing else: {report.fmt_ratio(fl['ratio_cpu'])}x "
        f"a DDIM step in CPU time; the OVG step is {inv['targets']['ovg_over_floor']:.2f}x that floor, so its "
        f"distance to the 3x target is {'none' if inv['targets']['ovg_step_met'] else 'the floor itself' if inv['targets']['ovg_over_floor'] < 1.05 else 'partly overhead'}"
        " on this machine.\\n")
    display(Markdown(floor_line +
        f"- Whole translation ({inv['steps']} + {inv['steps']} steps): OVG {report.fmt_ratio(tr['ovg']['ratio_cpu'])}x "
        f"a DDIM translation in CPU time ({report.fmt_ratio(tr['ovg']['ratio_wall'])}x wall); the naive OVG "
        f"{report.fmt_ratio(tr['ovg_naive']['ratio_cpu'])}x. Target at most 2x: "
        f"{'met' if inv['targets']['ovg_translation_met'] else 'not met'}.\\n"
        f"- Batched over separate VJPs: {report.fmt_ratio(v['batched_over_separate'])}x in CPU time "
        f"({report.fmt_ratio(v['batched_over_separate_wall'])}x wall), so **{v['faster']}** is faster here; the "
        f"library default is `vjp=\\"{v['default']}\\"`"
        f"{'' if v['default_is_faster'] else ' (not the faster one on this run)'}."))
    fv = inv.get("floor_variants") or {}
    if fv:
        display(Markdown("Can the floor be lowered? The same floor, timed with the model changed as below (same "
                         "numbers to round-off, tested): against the variant's own DDIM step (the target's ratio), "
                         "and with DDIM and floor against the default DDIM step (absolute speed). These ratios move by "
                         "about 0.1 between runs on this machine (README, Performance), so a difference of that size "
                         "is not a gain; the library keeps the default."))
        display(report.floor_variants_table(res))
'''),
    ("md", "## Training throughput\n\nOur trainer against a bare PyTorch + diffusers loop on the same U-Net, batch, "
           "optimizer and data source (whole runs timed, setup included), and the bare loop with only an EMA "
           "update added, which attributes the overhead."),
    ("code", '''
t = (res or {}).get("benchmarks", {}).get("training")
if t is not None:
    display(report.training_table(res))
    ours, ema = t["ours"]["throughput_ratio_cpu"]["median"], t["bare_ema"]["throughput_ratio_cpu"]["median"]
    msg = (f"Batch {t['batch']}, {t['steps']} steps per run, {t['repeats']} paired repeats. Our trainer reaches "
           f"{ours:.3f}x the bare loop's images per second (target at least 0.95: {'met' if t['target']['met'] else 'not met'}).")
    if not t["target"]["met"]:
        msg += (f" The EMA update alone brings the bare loop to {ema:.3f}x; the rest ({max(0.0, ema - ours):.3f}) is "
                "the trainer's other per-step work (gradient clipping, LR schedule, label dropout, reading the loss "
                "back every step) and its fixed cost per run (Accelerate set-up, checkpoint and weight files).")
    display(Markdown(msg))
'''),
    ("md", "## Metric throughput"),
    ("code", '''
m = (res or {}).get("benchmarks", {}).get("metrics")
if m is not None:
    display(report.metrics_table(res))
    p = m["pca_pixel"]
    full = report.latest_full(results_dir)
    line = (f"PCA on 2000 x {p['d']}: {p['wall_s_2000']:.0f} s wall"
            + (f" (extrapolated as N^2 from N = {p['n']})" if p["extrapolated_to_2000"] else "")
            + f" with {p['torch_threads']} torch thread(s); target under 60 s.")
    if full is not None and p["extrapolated_to_2000"]:
        fp = full["benchmarks"]["metrics"]["pca_pixel"]
        line += (f" Last full measurement ({full['date']}, {full['machine']['hostname']}): {fp['wall_s_2000']:.0f} s wall, "
                 f"peak {fp.get('peak_extra_mb', float('nan')):.0f} MiB above the {fp.get('input_mb', float('nan')):.0f} MiB input.")
    elif not p["extrapolated_to_2000"]:
        line += f" Peak memory {p.get('peak_extra_mb', float('nan')):.0f} MiB above the {p.get('input_mb', float('nan')):.0f} MiB input."
    else:
        line += " No full run stored yet (`python -m benchmarks --full`)."
    display(Markdown(line + f" Reference statistics are cached: S_DC's tau costs {m['latent']['tau_cold_cpu_s']:.2f} s once per "
                     f"latent shape, mu_HF {m['image']['mu_hf_cold_cpu_s']:.3f} s once per image set "
                     f"({m['image']['mu_hf_warm_cpu_s'] * 1000:.1f} ms from the cache)."))
'''),
    ("md", "## How cost grows with resolution and batch size\n\nTime per translation against the number of pixels "
           "(H = W = 32, 64, 128) and against the batch size, log-log, for DDIM and OVG; the slope of the "
           "least-squares line is the growth exponent (1 = linear)."),
    ("code", '''
s = (res or {}).get("benchmarks", {}).get("scaling")
if s is not None:
    df = report.scaling_frame(res)
    charts = []
    for sweep, title in (("resolution", "pixels per image"), ("batch", "batch size")):
        d = df[df.sweep == sweep]
        base = alt.Chart(d).encode(x=alt.X("x:Q", scale=alt.Scale(type="log"), title=title),
                                   y=alt.Y("cpu_s:Q", scale=alt.Scale(type="log"), title="CPU s per translation"),
                                   color=alt.Color("method:N", title=None))
        charts.append((base.mark_line(point=True) + base.transform_regression("x", "cpu_s", groupby=["method"],
                       method="pow").mark_line(strokeDash=[3, 3])).properties(width=260, height=200, title=sweep))
    display(alt.hconcat(*charts))
    sp, sb = s["slope_pixels"], s["slope_batch"]
    display(Markdown(f"Slopes (CPU time): against pixels DDIM {sp['ddim']['cpu']:.2f}, OVG {sp['ovg']['cpu']:.2f}; "
                     f"against batch size DDIM {sb['ddim']['cpu']:.2f}, OVG {sb['ovg']['cpu']:.2f} "
                     f"({s['steps']} + {s['steps']} steps per translation, {s['repeats']} repeats)."))
'''),
    ("md", "## The main command\n\nWall time of the quick-profile main command on 2 cores (target under 60 minutes), "
           "broken down into install, training per model, studies and book build, as recorded in "
           "`benchmarks/results/main_command.json` by whoever timed it; the training times of the stored "
           "checkpoints are read from their own logs."),
    ("code", '''
from benchmarks.main_command import checkpoint_times, load_main_command
mc = load_main_command(root / main_command_file)
ck = checkpoint_times()
if mc is None:
    display(Markdown("**Not measured yet**: no `benchmarks/results/main_command.json`. Training times of the "
                     "checkpoints present:" if ck else "**Not measured yet**, and no finished checkpoints are present."))
if mc is not None or ck:
    display(report.main_command_table(mc, ck))
if mc is not None:
    display(Markdown(f"Total {mc['total_s'] / 60:.1f} min on {mc.get('cores', '?')} cores: target under 60 min "
                     f"{'met' if mc['met'] else 'not met'}."))
    sbs = mc.get("side_by_side")
    if sbs:
        display(Markdown(report.side_by_side_line(sbs)))
    for line in report.main_command_elsewhere(mc, results_dir):
        display(Markdown(line))
'''),
    ("md", "## Scale-out\n\nTraining runs through Accelerate, and the translation studies shard their test samples "
           "over the processes of a launch (`torchrun --nproc_per_node K` on CPU, `accelerate launch` on GPUs or "
           "nodes; `spectral_collapse.studies.distributed`), then gather them in sample order. "
           "tests/test_benchmarks.py launches 2 CPU processes and checks that a sharded smoke study gives the "
           "same numbers as one process."),
    ("md", "## Devices"),
    ("md", "### The same benchmarks on each CPU measured so far\n\nEvery stored default run "
           "(`benchmarks/results/<machine>-<date>.json`), oldest first. The machines this project runs on differ from "
           "session to session, and so do the ratios: the OVG step and its floor depend on how fast this CPU's "
           "convolution and normalisation backward kernels are next to their forwards, not on our code. Rows from "
           "older commits predate later changes to the benchmark (the floor and its variants were added later; their "
           "cells are empty there)."),
    ("code", '''
mt = report.machines_table(results_dir)
if len(mt):
    display(mt)
    display(Markdown(report.machines_summary(mt)))
'''),
    ("md", "### GPU"),
    ("code", '''
gres = report.latest_gpu(results_dir)
if gres is not None:
    g = gres["benchmarks"]
    display(Markdown(f"**On a GPU**: {gres['machine'].get('gpu')} (`python -m benchmarks --device "
                     f"{gres['machine']['device']}`), {gres['date']}, commit {gres['commit']}. Inversion and scaling "
                     "run on the GPU, every call synchronised, so the ratios are of wall time."))
    display(report.targets_table(gres))
    if "inversion" in g:
        display(report.cost_table(gres)[["time vs DDIM (wall)", "memory vs DDIM"]])
elif res is not None:
    gpu = res["machine"].get("gpu")
    display(Markdown("These numbers were taken on CPU only. "
                     + (f"A {gpu} was present, but no `python -m benchmarks --device cuda` run is stored yet."
                        if gpu else "No GPU was available when they were measured, so issue 7's GPU numbers are "
                        "not measured yet (`python -m benchmarks --device cuda` on a GPU machine adds them here); "
                        "every result file names its machine and device.")))
'''),
]
