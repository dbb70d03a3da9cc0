"""The benchmark suite: its measuring instruments, a smoke run, the chapters that read
it, the cached reference statistics, and scale-out: a study sharded over 2 torchrun processes equals one process.

The instruments are checked against known answers: the call counter against the forwards and backward calls each
method is defined to make, the memory probe against buffers of known size, the slope fit against a power law.
"""
from __future__ import annotations

import json
import os
import socket
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import common  # noqa: E402
from benchmarks.inversion import NaiveOVG, NoGradStep, build_case, make_model  # noqa: E402
from spectral_collapse.inversion import OVG, Euler, Heun, default_sigmas, get_method, invert  # noqa: E402


# ------------------------------------------------------------------------------------------- instruments

def test_stats_and_paired_ratios():
    s = common.stats([3.0, 1.0, 2.0])
    assert (s["median"], s["min"], s["max"], s["n"]) == (2.0, 1.0, 3.0, 3)
    r = common.ratio_stats([2.0, 6.0, 4.0], [1.0, 2.0, 2.0])   # per-pair ratios 2, 3, 2
    assert r["median"] == 2.0 and r["max"] == 3.0
    calls = []
    pr = common.paired(lambda: calls.append("b"), lambda: calls.append("c"), repeats=3, warmup=1)
    assert calls == ["b", "c"] * 4  # back to back, baseline first
    assert len(pr.wall) == len(pr.base_cpu) == 3


def test_loglog_slope_recovers_a_power_law():
    x = np.array([32, 64, 128, 256.0]) ** 2
    assert common.log_loglog_slope(x, 3.0 * x ** 1.5) == pytest.approx(1.5, abs=1e-12)


@pytest.fixture(scope="module")
def smoke_model():
    torch.set_num_threads(1)
    return make_model("smoke")


def _counted(D, x, method, guidance=None, steps=3, w=1.0):
    with common.count_calls(D.net) as c:
        invert(D, x, default_sigmas(D, steps), method, guidance=guidance, cfg_scale=w)
    return c


@pytest.mark.parametrize("vjp,backward", [("batched", 1), ("separate", 2)])
def test_call_counter_matches_each_methods_definition(smoke_model, vjp, backward):
    D, N = smoke_model, 3
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    c = _counted(D, x, Euler())
    assert (c.calls, c.elements, c.backward) == (N, 2 * N, 0)            # DDIM: one forward per step
    c = _counted(D, x, Heun())
    assert c.calls == 2 * N - 1                                           # Heun: Euler only on the step from sigma 0
    c = _counted(D, x, get_method("edict"))
    assert c.calls == 2 * N and c.elements == 2 * 2 * N                   # EDICT: two forwards per step
    c = _counted(D, x, Euler(), OVG(vjp=vjp))
    assert (c.calls, c.backward) == (N, backward * N)                     # OVG: shared forward, 1 or 2 backward calls
    c = _counted(D, x, NoGradStep(Euler()), NaiveOVG())
    assert (c.calls, c.backward) == (2 * N, 2 * N)                        # naive: extra forward, 2 backward calls
    c = _counted(D, x, get_method("direct_inversion"), w=7.5)
    assert c.calls == 2 * N and c.elements == 2 * N + 2 * 2 * N           # pivot (B) + guided offsets (2B) per step


def test_naive_ovg_computes_the_same_drift(smoke_model):
    """The naive variant is a fair comparison: same numbers, only the work differs."""
    D = smoke_model
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    sig = default_sigmas(D, 3)
    g = dict(eta_hf=1e-4, eta_lf=1e-1)
    a = invert(D, x, sig, Euler(), guidance=OVG(**g)).x
    b = invert(D, x, sig, NoGradStep(Euler()), guidance=NaiveOVG(**g)).x
    assert not torch.allclose(a, invert(D, x, sig, Euler()).x)  # the drift is not negligible
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("label", ["heun", "taba", "renoise_r9", "ddim", "edict"])
def test_calls_per_step_at_the_studies_steps_match_a_counted_inversion(smoke_model, label):
    """The cost table's count at the studies' 50 steps, computed from each method's definition, equals the calls a
    hook counts in a 50-step inversion (None: the count per step does not depend on the number of steps)."""
    from benchmarks.inversion import calls_per_step_at

    N = 50
    method, guidance, w, _ = build_case(label)
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    counted = _counted(smoke_model, x, method, guidance, steps=N, w=w).calls / N
    short = _counted(smoke_model, x, method, guidance, steps=3, w=w).calls / 3
    at = calls_per_step_at(label, N, "smoke")
    assert (at if at is not None else short) == pytest.approx(counted)
    if label in ("heun", "taba"):
        assert at != pytest.approx(short)   # these are the methods whose count moves with the number of steps


def test_build_case_rejects_unknown_labels():
    assert build_case("ovg_separate")[1].vjp == "separate"
    with pytest.raises(ValueError, match="valid: ddim"):
        build_case("nope")


@pytest.mark.skipif(not common.peak_supported(), reason="needs Linux /proc/self/clear_refs")
def test_memory_probe_measures_known_buffers():
    out = common.measure_peaks("benchmarks.common:allocation_case", [{"mb": 0}, {"mb": 64}, {"mb": 192}])
    assert out[0]["peak_mb"] < 2
    for r in out[1:]:
        assert r["peak_mb"] == pytest.approx(r["mb"], rel=0.05), r


# ------------------------------------------------------------------------------------ reference caches

def test_reference_statistics_are_cached_by_content(monkeypatch):
    from spectral_collapse.metrics import spectral as spec

    spec.clear_reference_cache()
    calls = []
    real = spec.hf_log_energy
    monkeypatch.setattr(spec, "hf_log_energy", lambda *a, **k: calls.append(1) or real(*a, **k))
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    mu = spec.hf_reference(x, wavelet="sym4")
    assert mu == pytest.approx(float(np.mean(real(x, wavelet="sym4"))))
    assert spec.hf_reference(x.clone(), wavelet="sym4") == mu and len(calls) == 1    # same content: cached
    spec.hf_reference(x, wavelet="sym2")                                              # other keywords: computed
    y = x.clone()
    y[0, 0, 0, 0] += 0.5
    spec.hf_reference(y, wavelet="sym4")                                              # other content: computed
    assert len(calls) == 3
    spec.clear_reference_cache()
    spec.hf_reference(x, wavelet="sym4")
    assert len(calls) == 4


def test_chunked_image_metrics_equal_whole_batch_and_skimage():
    """The fast paths (chunks of images, vectorised SSIM) change no number."""
    from skimage.metrics import structural_similarity

    from spectral_collapse.metrics import spectral as spec
    from spectral_collapse.metrics.image import ssim

    g = torch.Generator().manual_seed(0)
    x, y = (torch.rand((7, 3, 24, 24), generator=g) * 2 - 1 for _ in range(2))
    np.testing.assert_array_equal(spec.hf_log_energy(x, chunk=3), spec.hf_log_energy(x, chunk=100))
    mask = np.random.default_rng(0).random((7, 24, 24)) > 0.3
    for kw in ({}, {"mask": mask}, {"gray": True, "mask": "nonwhite"}):
        np.testing.assert_allclose(spec.s_lf(x, y, kappa=0.5, chunk=2, **kw), spec.s_lf(x, y, kappa=0.5, chunk=7, **kw),
                                   rtol=1e-13)
    ref = [structural_similarity(a, b, data_range=2.0, channel_axis=0) for a, b in zip(x.double().numpy(), y.double().numpy())]
    for chunk in (1, 3, 7):
        np.testing.assert_allclose(ssim(x, y, chunk=chunk), ref, rtol=1e-12)


# ------------------------------------------------------------------------------ smoke run and chapters

@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory):
    from benchmarks.run import run

    out = tmp_path_factory.mktemp("bench")
    path = run("smoke", out_dir=out, log=lambda *a: None)
    return path, json.loads(path.read_text())


@pytest.mark.slow  # the whole `python -m benchmarks --smoke` run (module fixture, minutes)
def test_smoke_run_writes_results_with_provenance(smoke_results):
    path, res = smoke_results
    assert (path.parent / "latest.json").read_text() == path.read_text()
    assert res["machine"]["device"] in ("cpu", "cuda") and res["versions"]["torch"] == torch.__version__
    assert "commit" in res and set(res["benchmarks"]) == {"inversion", "training", "metrics", "scaling"}
    inv = res["benchmarks"]["inversion"]
    by = {r["label"]: r for r in inv["rows"]}
    assert by["ddim"]["calls_per_step"] == 1 and by["ddim"]["backward_per_step"] == 0
    assert by["ovg"]["backward_per_step"] == (1 if OVG().vjp == "batched" else 2)
    assert by["edict"]["calls_per_step"] == 2 and by["heun"]["calls_per_step"] == 1.5  # 2 steps: 1 + 2 calls
    for r in inv["rows"]:
        assert r["ratio_cpu"]["median"] > 0 and r["peak_mb"] is not None
    assert inv["vjp"]["faster"] in ("batched", "separate")
    t = inv["targets"]
    assert t["floor"] == inv["floor"]["ratio_cpu"]["median"] > 0
    assert t["ovg_over_floor"] == pytest.approx(t["ovg_step"] / t["floor"])


@pytest.mark.slow  # reads the whole benchmarks smoke run
def test_full_runs_keep_latest_and_add_their_metric_rows(smoke_results, tmp_path, monkeypatch):
    """A --full run is stored by name beside latest.json (which the book reads for the default run); the targets
    table adds its measurements at the issue's sizes, from the newest full run by its recorded date."""
    from benchmarks import run as run_mod, tables

    monkeypatch.setitem(run_mod.CONFIGS, "full", run_mod.CONFIGS["smoke"])  # the behaviour, not the sizes
    latest = tmp_path / "latest.json"
    latest.write_text("default run")
    path = run_mod.run("full", only=["metrics"], out_dir=tmp_path, log=lambda *a: None)
    assert path.name.endswith("-full.json") and latest.read_text() == "default run"
    old = json.loads(path.read_text())
    newer = {**old, "date": "2999-01-01T00:00:00"}
    newer["benchmarks"]["metrics"]["pca_pixel"]["wall_s_2000"] = 12345.0
    (tmp_path / "zz-older-name-full.json").write_text(json.dumps({**old, "date": "1999-01-01T00:00:00"}))
    (tmp_path / "aa-newer-full.json").write_text(json.dumps(newer))
    full = tables.latest_full(tmp_path)
    assert full["date"].startswith("2999")
    tab = tables.targets_table(smoke_results[1], full)
    (key,) = [k for k in tab.index if k.startswith("pixel PCA")]   # the newest full run on the same device
    assert tab.loc[key].iloc[1] == "12345.0" and tab.loc[key, "verdict"] == "not met"   # 12345 s against < 60 s
    default = tables.targets_table(smoke_results[1])
    assert len(default) == len(tab)
    ddim = next(r for r in smoke_results[1]["benchmarks"]["inversion"]["rows"] if r["label"] == "ddim")
    assert tab.loc["DDIM / DDIM step"].iloc[1] == tables.fmt_iqr(ddim["ratio_cpu"])
    assert set(tab["verdict"]) <= {"met", "not met", "within noise", "—"}



@pytest.mark.slow  # reads the whole benchmarks smoke run
def test_device_selection_errors_and_gpu_results_files(smoke_results, tmp_path, monkeypatch):
    """--device: clear errors for an unknown device or a missing GPU; a GPU run (here its file handling, with the
    device check faked) is stored as *-cuda.json beside latest.json without replacing it, and found by date."""
    from benchmarks import common, tables
    from benchmarks import run as run_mod

    with pytest.raises(ValueError, match="valid: cpu, cuda"):
        common.set_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="torch sees no CUDA GPU"):
            common.set_device("cuda")
    assert common.device() == "cpu"
    with pytest.raises(SystemExit):
        run_mod.main(["--device", "nonsense", "--smoke", "--out", str(tmp_path)])
    monkeypatch.setattr(common, "set_device", lambda name: "cuda:0")
    latest = tmp_path / "latest.json"
    latest.write_text("cpu run")
    with pytest.raises(ValueError, match="runs on cuda:0; valid: inversion, scaling"):
        run_mod.run("smoke", only=["training"], out_dir=tmp_path, log=lambda *a: None)
    path = run_mod.run("smoke", only=["scaling"], out_dir=tmp_path, log=lambda *a: None)
    assert path.name.endswith("-smoke-cuda.json") and latest.read_text() == "cpu run"
    assert tables.latest_gpu(tmp_path)["benchmarks"].keys() == {"scaling"}
    assert tables.latest_gpu(smoke_results[0].parent) is None


def _run_chapter(chapter: str, results: str, tmp_path) -> str:
    """Execute the benchmark chapter notebooks/<chapter>.ipynb on ``results``; return its outputs as JSON text."""
    import nbformat
    import papermill as pm

    tmp_path.mkdir(parents=True, exist_ok=True)
    out = tmp_path / f"{chapter}-out.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / f"{chapter}.ipynb"), str(out), parameters={"results_file": results},
                        kernel_name="python3",
                        cwd=str(ROOT), progress_bar=False)
    return json.dumps([o for c in nbformat.read(str(out), as_version=4).cells for o in c.get("outputs", [])])


def test_floor_runner_does_one_forward_and_two_backward_calls_per_step(smoke_model):
    from benchmarks.common import count_calls
    from benchmarks.inversion import floor_runner

    x = torch.rand(2, 3, 16, 16) * 2 - 1
    with count_calls(smoke_model.net) as c:
        floor_runner(smoke_model, x, 3)()
    assert (c.calls, c.backward) == (3, 6)  # exactly OVG's network work (separate VJPs), nothing else


@pytest.mark.parametrize("variant", ["standard_layout", "input_grad_conv"])
def test_floor_variants_compute_the_same_prediction_and_input_gradient(smoke_model, variant):
    """The variants timed against the floor change how, not what: same eps and same VJP (float64 reference)."""
    from benchmarks.inversion import InputGradConv2d, floor_variant

    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    v = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    lab = torch.zeros(2, dtype=torch.long)
    D64 = floor_variant(smoke_model, x, "standard_layout")[0].double()
    xi = x.double().requires_grad_(True)
    eps64 = D64(xi, 0.7, lab).eps
    (g64,) = torch.autograd.grad(eps64, xi, v.double())
    Dv, xv = floor_variant(smoke_model, x, variant)
    if variant == "input_grad_conv":
        assert sum(type(m) is InputGradConv2d for m in Dv.modules()) >= 4  # the 3x3 'same' convs were swapped
    seen = []
    hook = Dv.net.conv_in.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    xi = xv.detach().requires_grad_(True)
    eps = Dv(xi, 0.7, lab).eps
    hook.remove()
    # the standard-layout variant's network sees contiguous batches; the library's default feeds channels-last
    assert seen[0].is_contiguous() == (variant == "standard_layout")
    assert seen[0].is_contiguous(memory_format=torch.channels_last) == (variant != "standard_layout")
    assert eps.is_contiguous()
    (g,) = torch.autograd.grad(eps, xi, v)
    torch.testing.assert_close(eps.double(), eps64, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(g.double(), g64, rtol=1e-4, atol=1e-4 * float(g64.abs().max()))
    with pytest.raises(ValueError, match="unknown floor variant"):
        floor_variant(smoke_model, x, "bf16")


@pytest.mark.slow  # executes the chapter on the stored results
@pytest.mark.parametrize("chapter", ["benchmarks"])
def test_chapters_execute_on_the_stored_results_and_glue_their_device(tmp_path, chapter):
    from benchmarks import tables

    shown = _run_chapter(chapter, "benchmarks/results/latest.json", tmp_path)
    assert '"ename"' not in shown and repr(tables.device_name(tables.load())) in shown
    with pytest.raises(Exception, match="python -m benchmarks"):
        _run_chapter(chapter, str(tmp_path / "missing.json"), tmp_path / "missing")


def test_main_command_breakdown(tmp_path):
    from benchmarks.tables import checkpoint_times, main_command_chapters, main_command_table, results_agreement

    ck = tmp_path / "ck" / "m-quick-123"
    ck.mkdir(parents=True)
    (ck / "log.json").write_text(json.dumps({"loss": [], "seconds_this_run": 42.0}))
    times = checkpoint_times(tmp_path / "ck")
    assert times["m-quick-123"]["seconds"] == 42.0 and not times["m-quick-123"]["seconds_complete"]
    (ck / "log.json").write_text(json.dumps({"loss": [], "seconds_this_run": 42.0, "seconds_total": 100.0}))
    times = checkpoint_times(tmp_path / "ck")   # a resumed training: every run it kept counts
    assert times["m-quick-123"]["seconds"] == 100.0 and times["m-quick-123"]["seconds_complete"]
    mc = {"install_s": 100, "book_s": 50, "total_s": 2250,
          "chapters": {"studies/pareto-ihc-sr": {"seconds": 600}, "studies/pareto-ihc-edges": {"seconds": 900},
                       "studies/main_results-ihc-sr": {"seconds": 300}, "claims": {"seconds": 30}}}
    t = main_command_table(mc)
    assert t.loc["total (wall time)", "seconds"] == 2250 and t.loc["study chapters, 3 (summed)", "minutes"] == 30.0
    assert t.loc["pages, 1 (summed)", "seconds"] == 30
    mc["results"] = {"identical": False, "files_compared": 27, "differences": [
        {"file": "a.nc", "variable": "psnr", "relative": 3e-14, "what": "values"},
        {"file": "a.nc", "variable": "scale_seconds", "relative": 0.2, "what": "values"},
        {"file": "b.nc", "variable": "", "relative": None, "what": "attributes: run_warnings"}]}
    assert results_agreement(mc) == ("2 of 27 files differ, their values by at most 3e-14 relative except "
                                     "scale_seconds (0.2), b.nc (attributes: run_warnings)")
    assert results_agreement({"results": {"identical": True, "files_compared": 3}}) == "identical in all 3 files"
    mc["results"]["differences"] = mc["results"]["differences"][2:]
    assert results_agreement(mc) == "1 of 27 files differ: b.nc (attributes: run_warnings)"
    c = main_command_chapters(mc)
    assert c.index.tolist() == ["pareto", "pareto", "main_results"]
    assert c["dataset"].tolist() == ["ihc-edges", "ihc-sr", "ihc-sr"]
    assert c["minutes"].tolist() == [15.0, 10.0, 5.0]


def test_floor_variants_table_reads_each_variant():
    from benchmarks.tables import floor_variants_table

    res = {"benchmarks": {"inversion": {"floor": {"ratio_cpu": {"median": 3.4}}, "floor_variants": {
        "channels_last": {"what": "cl", "floor_over_own_ddim": 3.6, "ddim_over_default_ddim": 0.8,
                          "floor_over_default_ddim": 2.88}}}}}
    t = floor_variants_table(res)
    assert t.iloc[0].tolist() == [3.4, 1.0, 3.4] and t.loc["channels last"].tolist() == [3.6, 0.8, 2.88]


@pytest.mark.slow  # reads the whole benchmarks smoke run
def test_machines_table_lists_each_default_cpu_run_once(smoke_results, tmp_path):
    from benchmarks.tables import cpu_words, machines_table

    _, res = smoke_results

    def run_file(name, cpu, date, mode="default", device="cpu", ovg=3.3):
        r = json.loads(json.dumps(res))
        r.update(mode=mode, date=date, commit="abcdef123456")
        r["machine"].update(cpu=cpu, device=device)
        r["benchmarks"]["inversion"]["targets"].update(ovg_step=ovg)
        (tmp_path / name).write_text(json.dumps(r))
        return r

    b = run_file("vm-20261122-090000.json", "CPU B", "2026-11-22T09:00:00+00:00", ovg=2.9)
    a = run_file("vm-20261121-090000.json", "CPU A", "2026-11-21T09:00:00+00:00")
    run_file("latest.json", "CPU B", "2026-11-22T09:00:00+00:00")             # a copy of the newest run
    run_file("vm-20261122-100000-full.json", "CPU B", "2026-11-22T10:00:00+00:00", mode="full")
    run_file("vm-20261122-110000-cuda.json", "GPU", "2026-11-22T11:00:00+00:00", device="cuda")
    run_file("vm-20261122-120000.json", "CPU C", "2026-11-22T12:00:00+00:00", mode="smoke")
    (tmp_path / "main_command.json").write_text(json.dumps({"total_s": 1.0}))
    t = machines_table(tmp_path)
    assert t["cpu"].tolist() == [cpu_words({"cpu": "CPU A"}), cpu_words({"cpu": "CPU B"})]
    assert t["OVG step / DDIM"].tolist() == [3.3, 2.9]
    for row, r in zip(t.itertuples(index=False), (a, b)):
        inv = r["benchmarks"]["inversion"]
        ddim = next(x for x in inv["rows"] if x["label"] == "ddim")
        assert row[t.columns.get_loc("DDIM step (ms)")] == round(1e3 * ddim["base_cpu_s"]["median"], 1)
        assert row[t.columns.get_loc("floor / DDIM")] == round(inv["targets"]["floor"], 2)
        assert row[t.columns.get_loc("trainer / bare")] == round(r["benchmarks"]["training"]["target"]["ratio"], 2)
    assert machines_table(tmp_path / "nothing-here").empty


# ---------------------------------------------------------------------------------------------- scale-out

WORKER = textwrap.dedent('''
    import json, os, sys
    import numpy as np, torch
    torch.set_num_threads(1)
    sys.path.insert(0, {root!r})
    from benchmarks.inversion import make_model
    from spectral_collapse.studies.main_results import run_translation_study
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    # no cell cache (run_translation_study's default): every launch computes everything
    # batches of one sample in both launches: the per-sample arithmetic is then identical (no batch-size-dependent
    # kernel choice), so sharding may change nothing, to the bit
    ds = run_translation_study("scaleout", "ihc-sr", "smoke", labels=["ddim", "ovg"], seeds=[0], n_test=5,
                               batch_size=1, models={{"eps": make_model("smoke")}}, progress=False)
    out = {{k: ds[k].values.tolist() for k in ("psnr", "s_hf", "s_lf", "s_dc", "latent_norm_ratio", "images")}}
    out["world"], out["nfe"] = world, ds["nfe"].values.tolist()
    with open(os.path.join(sys.argv[1], f"out-{{world}}-{{rank}}.json"), "w") as f:
        json.dump(out, f)
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # three launches (1 + 2 processes), about a minute; run with -m slow
def test_sharded_study_on_two_processes_equals_one_process(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(root=str(ROOT)))
    env = {**os.environ, "SPECTRAL_COLLAPSE_CHECKPOINTS": str(tmp_path / "ck"), "GLOO_SOCKET_IFNAME": "lo",
           "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    torchrun = Path(sys.executable).with_name("torchrun")
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, env=env, timeout=600)
    subprocess.run([str(torchrun), "--nnodes", "1", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
                    "--master_port", str(_free_port()), str(script), str(tmp_path)], check=True, env=env, timeout=600)
    one = json.loads((tmp_path / "out-1-0.json").read_text())
    for rank in (0, 1):
        two = json.loads((tmp_path / f"out-2-{rank}.json").read_text())
        assert two["world"] == 2
        # network calls are summed over processes: shares of 3 samples each (the second padded with its last
        # index to gather equal lengths), so 6 single-sample batches against one process's 5
        np.testing.assert_array_equal(np.array(two["nfe"]), np.array(one["nfe"]) // 5 * 6)
        for k in ("psnr", "s_hf", "s_lf", "s_dc", "latent_norm_ratio", "images"):
            np.testing.assert_array_equal(np.array(two[k], dtype=float), np.array(one[k], dtype=float), err_msg=k)


def test_the_model_set_is_dealt_to_training_processes_with_the_vae_before_its_latent_model():
    from benchmarks.from_scratch import shares
    from spectral_collapse.framework.model_set import MODEL_SET

    keys = [r.key for r in MODEL_SET]
    for jobs in (1, 2, 3, 4, len(keys)):
        parts = shares(keys, jobs)
        assert sorted(k for p in parts for k in p) == sorted(keys) and len(parts) == min(jobs, len(keys) - 1)
        home = next(p for p in parts if "ihc-sr-x4-eps-latent" in p)
        assert home.index("ihc-sr-x4-vae") < home.index("ihc-sr-x4-eps-latent")
    assert shares(["a", "b", "c"], 2) == [["a", "c"], ["b"]]


@pytest.mark.slow  # trains models in processes side by side
def test_train_set_trains_models_side_by_side_into_the_checkpoint_root(tmp_path, monkeypatch):
    """Two smoke models by two processes: each finishes in the root the environment names; the wall time is
    returned."""
    from benchmarks.from_scratch import train_set

    monkeypatch.setenv("SPECTRAL_COLLAPSE_CHECKPOINTS", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    wall = train_set("smoke", 2, ["ihc-sr-x4-eps", "ihc-sr-x4-edm"])
    done = sorted(p.name.rsplit("-", 1)[0] for p in tmp_path.iterdir() if (p / "DONE").exists())
    assert done == ["ihc-sr-x4-edm-smoke", "ihc-sr-x4-eps-smoke"] and wall > 0


@pytest.mark.slow  # trains and ships a model twice, with its quality gate
def test_a_from_scratch_run_trains_what_is_shipped_and_ships_it_under_its_work_folder(tmp_path, monkeypatch):
    """A model already shipped where the environment points is trained again under ``work_env`` and shipped under
    the work folder."""
    from benchmarks.from_scratch import train_set, work_env

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    for k, v in {"SPECTRAL_COLLAPSE_CHECKPOINTS": tmp_path / "first", "SPECTRAL_COLLAPSE_WEIGHTS": tmp_path / "shipped",
                 "SPECTRAL_COLLAPSE_SHIP_WEIGHTS": "1"}.items():
        monkeypatch.setenv(k, str(v))
    train_set("smoke", 1, ["ihc-sr-x4-eps"])
    (name,) = [p.name for p in (tmp_path / "shipped").iterdir()]
    for k, v in work_env(tmp_path / "work").items():
        monkeypatch.setenv(k, v)
    train_set("smoke", 1, ["ihc-sr-x4-eps"])
    # installed from the first shipped copy, nothing would be shipped under the work folder
    assert (tmp_path / "work" / "weights" / name / "sha256.json").is_file()
    assert (tmp_path / "work" / "checkpoints" / name / "DONE").is_file()


def test_a_target_is_judged_three_ways_by_its_quartiles():
    from benchmarks.tables import judge

    assert judge(2.5, "<= 3", 2.4, 2.6) == "met"
    assert judge(3.4, "<= 3", 3.3, 3.5) == "not met"
    assert judge(0.965, ">= 0.95", 0.923, 1.011) == "within noise"      # the quartiles cross the goal
    assert judge(2.9, "<= 3", 2.5, 3.2) == "within noise"
    assert judge(59.0, "< 60") == "met" and judge(61.0, "< 60") == "not met"   # no quartiles: the value decides


@pytest.mark.slow  # reads the whole benchmarks smoke run
def test_targets_are_read_in_the_clock_of_the_device_that_measured_them(smoke_results):
    from benchmarks import tables

    res = json.loads(json.dumps(smoke_results[1]))
    ovg = next(r for r in res["benchmarks"]["inversion"]["rows"] if r["label"] == "ovg")
    cpu = tables.targets_table(res)
    assert cpu.loc["OVG / DDIM step"].iloc[1] == tables.fmt_iqr(ovg["ratio_cpu"])
    assert tables.device_name(res).endswith("CPU") and tables.clock_word(res) == "CPU time"
    res["machine"].update(device="cuda:0", gpu="Test GPU 80GB")
    res["benchmarks"]["inversion"]["clock"] = "ratio_wall"
    gpu = tables.targets_table(res)
    assert gpu.loc["OVG / DDIM step"].iloc[1] == tables.fmt_iqr(ovg["ratio_wall"])
    assert tables.device_name(res) == "one Test GPU 80GB" and not tables.same_device(res, smoke_results[1])
    n = tables.verdict_counts(gpu)
    assert n["judged"] == n["met"] + n["within noise"] + n["not met"] == (gpu["verdict"] != "—").sum()


def test_shipped_training_table_reads_each_models_log(tmp_path):
    from benchmarks.tables import model_name, shipped_training_table

    assert model_name("ihc-sr-x4-eps-quick-7e26214ebd7e") == "ihc-sr-x4-eps-quick"
    assert model_name("my-model") == "my-model"
    for name, log in (("a-quick-0123456789ab", {"seconds_this_run": 3600.0, "device": "cpu: X"}),
                      ("b-quick-ba9876543210", {"seconds_this_run": 60.0, "seconds_total": 7200.0})):
        (tmp_path / name).mkdir()
        (tmp_path / name / "log.json").write_text(json.dumps({"loss": [], **log}))
        (tmp_path / name / "config.json").write_text(json.dumps({"train": {"steps": 6000 if name < "b" else 8000}}))
    t = shipped_training_table(tmp_path)
    assert t.loc["a-quick", "hours"] == 1.0 and t.loc["a-quick", "log records"] == "last run only"
    assert t.loc["b-quick", "hours"] == 2.0 and t.loc["b-quick", "log records"] == "all runs"
    assert t.loc["a-quick", "trained on"] == "cpu: X" and t.loc["b-quick", "steps"] == 8000


def test_device_check_table_pairs_each_figure_with_the_reference_scripts_float32_batch_32_figure():
    from benchmarks.tables import device_check_table

    rec = {"device_check": {"training": {"K=1 eager": 20.0, "K=1 cuda graphs": 100.0, "K=16 cuda graphs": None},
                            "inversion": {"DDIM sampling cuda graphs": 400.0}},
           "ceiling": [{"variant": "eager", "bf16": False, "batch": 32, "steps_per_s": 21.0},
                       {"variant": "eager", "bf16": True, "batch": 32, "steps_per_s": 99.0},        # bf16: not the same work
                       {"variant": "cuda_graph", "bf16": False, "batch": 128, "steps_per_s": 77.0},  # another batch
                       {"variant": "inversion_forward_graph", "batch": 32, "nfe_per_s": 500.0}]}
    t = device_check_table(rec).set_index("figure")
    assert list(t.index) == ["K=1 eager", "K=1 cuda graphs", "DDIM sampling cuda graphs"]  # unmeasured rows left out
    assert t.loc["K=1 eager", "reference script"] == 21.0 and t.loc["DDIM sampling cuda graphs", "reference script"] == 500.0
    assert t["reference script"].isna().tolist() == [False, True, False]
    assert t.loc["DDIM sampling cuda graphs", "unit"] == "NFE" and t.loc["K=1 eager", "unit"] == "model-steps"


def test_the_cluster_benchmark_runs_the_same_studies_each_way_into_its_own_folders(tmp_path):
    """The two runs differ only by ``--cluster local``: same profile, jobs, studies and datasets, each into its own
    results and book folder under the work folder (so neither reuses the other's cells)."""
    from benchmarks.cluster import MODES, studies_command

    a, b = (studies_command("smoke", 2, tmp_path, m, ["velocity"], ["ihc-sr"]) for m in MODES)
    def flags(cmd):  # the command without its two folders
        return [x for x in cmd if not x.startswith(str(tmp_path))]
    assert [x for x in flags(b) if x not in flags(a)] == ["--cluster", "local"] and len(b) == len(a) + 2
    for cmd, mode in ((a, "jobs"), (b, "cluster")):
        assert cmd[cmd.index("--results-root") + 1] == str(tmp_path / mode / "results")
        assert cmd[cmd.index("--book-dir") + 1] == str(tmp_path / mode / "book")
        assert cmd[cmd.index("--jobs") + 1] == "2" and cmd[cmd.index("--study") + 1] == "velocity"


def test_a_cluster_benchmark_run_alone_joins_the_other_runs_record_of_the_same_studies(tmp_path, monkeypatch):
    """``--mode cluster`` after a ``--mode jobs`` of the same profile, jobs and studies: one record with both runs
    (each with the environment it ran in) and their ratio; a record of other studies is not joined. The runs
    themselves are stood in for (their folders made by hand)."""
    from benchmarks import cluster
    from spectral_collapse.framework.store import save_results

    walls = {"jobs": 100.0, "cluster": 80.0}

    def fake_run(profile, jobs, work, mode, studies=None, datasets=None):
        save_results(xr.Dataset({"x": ("i", np.arange(3.0))}), work / mode / "results" / "s" / "r.nc")
        return {"wall_s": walls[mode], "returncode": 0, "command": mode}

    monkeypatch.setattr(cluster, "run_mode", fake_run)
    out, work = tmp_path / "rec.json", tmp_path / "work"
    args = ["--profile", "smoke", "--study", "velocity", "--work", str(work), "--out", str(out)]
    assert cluster.main([*args, "--mode", "jobs"]) == 0
    first = json.loads(out.read_text())
    assert list(first["runs"]) == ["jobs"] and first["cluster_over_jobs"] is None and first["files_compared"] == 0
    assert cluster.main([*args, "--mode", "cluster"]) == 0
    rec = json.loads(out.read_text())
    assert set(rec["runs"]) == {"jobs", "cluster"} and rec["cluster_over_jobs"] == 0.8
    assert rec["runs"]["jobs"]["environment"] == first["environment"]
    assert rec["compared"] == "the two runs" and rec["identical"] and rec["files_compared"] == 1
    other = tmp_path / "other.json"   # other studies: not joined
    other.write_text(json.dumps({**first, "studies": ["pareto"]}))
    assert cluster.earlier_runs(other, "smoke", 2, ["velocity"], None) == {}


def test_the_cluster_record_tables_give_each_run_and_each_stored_difference(tmp_path):
    """The book's tables of a cluster record: a run per row in minutes with its own day and commit, and each
    difference that ``compare_folders`` reports (a timing, a rounding, an attribute, a file in one folder only) as a
    row, numbers largest first."""
    from benchmarks import cluster
    from benchmarks import tables as T
    from spectral_collapse.framework.store import compare_folders, save_results

    base = xr.Dataset({"time_s": ("m", [1.0, 2.0]), "ks_p": ("m", [0.5, 0.25])}, attrs={"k": 1})
    save_results(base, tmp_path / "a" / "x.nc")
    save_results(base.assign(time_s=("m", [1.0, 3.0]), ks_p=("m", [0.5, np.nextafter(0.25, 1)])),
                 tmp_path / "b" / "x.nc")
    save_results(base, tmp_path / "a" / "y.nc")
    save_results(base.assign_attrs(k=2), tmp_path / "b" / "y.nc")
    save_results(base, tmp_path / "a" / "z.nc")
    _, diffs = compare_folders(tmp_path / "a", tmp_path / "b", names=("the ordinary run", "the cluster run"))
    env = {"date": "2026-11-28T20:00:00", "commit": "abcdef0123",
           "machine": {"cpu": "AMD EPYC", "cpu_count": 2, "load_average": [0.2]}}
    old = {**env, "date": "2026-11-27T20:00:00", "commit": "1234567890"}
    runs = {"jobs": {"wall_s": 4500.0, "returncode": 0, "environment": old},
            "cluster": {"wall_s": 3000.0, "returncode": 0}}
    rec = json.loads(json.dumps(cluster.record("smoke", 2, runs, ["x.nc", "y.nc", "z.nc"], diffs, None, None)))
    rec["environment"] = env   # as a record read back from its file, written on the day above
    runs = T.cluster_runs_table(rec)
    assert list(runs.index) == ["--jobs 2", "--cluster local --jobs 2"] and list(runs["minutes"]) == [75.0, 50.0]
    assert list(runs["date"]) == ["2026-11-27", "2026-11-28"] and list(runs["commit"]) == ["1234567", "abcdef0"]
    assert T.cluster_cpus(rec) == ["AMD EPYC"]   # the ordinary run, joined from a record of the day before, as well
    rec["runs"]["jobs"]["environment"] = {**old, "machine": {**env["machine"], "cpu": "Intel(R) Xeon(R) Processor"}}
    assert T.cluster_cpus(rec) == ["AMD EPYC", "Intel(R) Xeon(R) Processor"]
    assert list(T.cluster_runs_table(rec)["cpu"]) == ["Intel(R) Xeon(R) Processor", "AMD EPYC"]
    t = T.cluster_differences_table(rec)
    assert list(zip(t["file"], t["variable"], t["what"])) == [
        ("x.nc", "time_s", "values"), ("x.nc", "ks_p", "values"), ("y.nc", "", "attributes: k"),
        ("z.nc", "", "only in the ordinary run")]
    assert t["relative difference"][0] == pytest.approx(1 / 3, rel=0.01) and 0 < t["relative difference"][1] < 1e-15
    assert t["relative difference"][2:].isna().all()
    assert T.cluster_runs_table(T.NO_CLUSTER_RECORD).empty and T.cluster_differences_table(T.NO_CLUSTER_RECORD).empty
    assert T.cluster_which(rec) == "the smoke studies"   # all of them, each on its own datasets
    narrow = cluster.record("quick", 2, runs, [], [], ["pareto", "velocity"], ["ihc-sr"])
    assert T.cluster_which(narrow) == "the quick studies pareto, velocity on ihc-sr"
    assert T.cluster_which(cluster.record("quick", 2, runs, [], [], ["pareto"], None)) == "the quick studies pareto"
    assert T.newest_cluster(tmp_path) is None


@pytest.mark.slow  # two smoke runs of one study, each on a fresh LocalCluster (minutes)
def test_the_cluster_benchmark_records_both_runs_and_identical_results(tmp_path):
    """One smoke study both ways: both runs exit 0, store results the comparison finds identical, and the record's
    ratio is the cluster run's wall time over the ordinary run's."""
    from benchmarks import cluster

    out = tmp_path / "cluster.json"
    assert cluster.main(["--profile", "smoke", "--study", "velocity", "--dataset", "ihc-sr",
                         "--work", str(tmp_path / "work"), "--out", str(out)]) == 0
    rec = json.loads(out.read_text())
    assert rec["identical"] and rec["files_compared"] >= 1 and not rec["differences"]
    assert {m: r["returncode"] for m, r in rec["runs"].items()} == {"jobs": 0, "cluster": 0}
    assert rec["cluster_over_jobs"] == pytest.approx(rec["runs"]["cluster"]["wall_s"] / rec["runs"]["jobs"]["wall_s"],
                                                     abs=1e-3)


def _git(cwd, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                   capture_output=True)


def test_main_command_clone_computes_everything_from_the_shipped_weights(tmp_path):
    """The timed clone loses the studies' stored results and every executed chapter and page, and keeps the shipped
    weights, the benchmark records and the book's written pages; with ``remove=False`` it is an ordinary clone."""
    from benchmarks.main_command import prepare

    src = tmp_path / "src"
    files = ["data/results/main_results/ihc-sr-quick.nc", "book/studies/main_results-ihc-sr.ipynb",
             "book/claims.ipynb", "book/studies/index.md", "book/api.md", "data/weights/m-quick-1/ema.safetensors",
             "data/results/reproducing/paper-unet-cpu.json"]
    for f in files:
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        (src / f).write_text("x")
    _git(tmp_path, "init", "--quiet", str(src))
    _git(src, "add", ".")
    _git(src, "commit", "--quiet", "-m", "c")
    prepare(src, tmp_path / "clone")
    assert [f for f in files if (tmp_path / "clone" / f).exists()] == files[3:]
    prepare(src, tmp_path / "clone", remove=False)
    assert all((tmp_path / "clone" / f).exists() for f in files)


def test_main_command_reads_each_chapters_time_and_the_models_trained(tmp_path):
    from benchmarks.main_command import chapter_times, trained_here

    def notebook(path, pm):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"cells": [], "metadata": {"papermill": pm} if pm else {}}))

    notebook(tmp_path / "studies" / "pareto-ihc-sr.ipynb",
             {"duration": 755.04, "start_time": "2026-11-29T10:00:00+00:00", "end_time": "2026-11-29T10:12:35+00:00"})
    notebook(tmp_path / "claims.ipynb", {"duration": 9.0, "start_time": "a", "end_time": "b"})
    notebook(tmp_path / "studies" / "written-by-hand.ipynb", None)
    notebook(tmp_path / "studies" / "pareto.ipynb", {"duration": 755.04, "start_time": "a", "end_time": "b"})
    times = chapter_times(tmp_path)
    assert sorted(times) == ["claims", "studies/pareto-ihc-sr"] and times["studies/pareto-ihc-sr"]["seconds"] == 755.0
    for name, shipped in (("a-quick-1", True), ("b-quick-2", False)):
        (tmp_path / "ck" / name).mkdir(parents=True)
        if shipped:
            (tmp_path / "ck" / name / "shipped.sha256.json").write_text("{}")
    assert trained_here(tmp_path / "ck") == ["b-quick-2"]
