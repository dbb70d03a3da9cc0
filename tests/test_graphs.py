"""CUDA graphs of the inversion and sampling loops (inversion.graphs).

On a CPU the loop runs as it always did: translations with the graphs switched on and off are bit-identical. The
graph machinery itself (static buffers, the autograd function whose backward replays the vector-Jacobian product,
one graph per live forward) is checked on the CPU by ``EMULATE``, which reruns each captured call eagerly in place
of a graph: OVG's two products, Heun's two evaluations per guided step, classifier-free guidance and plain sampling
give the eager loop's numbers. The gpu-marked test compares real CUDA graphs with the eager loop on a GPU.
"""
from __future__ import annotations

import pytest
import torch

from conftest import tiny_unet
from spectral_collapse.inversion import OVG, TABA, Euler, Heun, sample, translate
from spectral_collapse.inversion import graphs
from spectral_collapse.models.denoisers import EDMDenoiser, EpsDenoiser


def models(dtype=torch.float64):
    return {"eps": EpsDenoiser(tiny_unet(0, dtype)).eval(), "edm": EDMDenoiser(tiny_unet(1, dtype)).eval()}


def source(n=3, dtype=torch.float64):
    return (torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(7), dtype=dtype) * 2 - 1)


CASES = {  # (model, method, guidance, cfg_scale)
    "ddim+ovg": ("eps", Euler(), OVG(eta_hf=1e-6, eta_lf=1e-2), 1.0),
    "taba+ovg": ("eps", TABA(), OVG(eta_hf=1e-6, eta_lf=1e-2), 1.0),
    "heun+ovg": ("edm", Heun(), OVG(eta_hf=1e-6, eta_lf=1e-2), 1.0),
    "ddim cfg": ("eps", Euler(), None, 2.0),
    "ddim destination": ("eps", Euler(time_label="destination"), None, 1.0),
}


def run(case, D):
    _, method, guidance, w = CASES[case]
    return translate(D, source(), method, guidance=guidance, steps=4, cfg_scale=w, warn_norm=False)


@pytest.mark.parametrize("case", ["ddim+ovg", "heun+ovg"])
def test_cpu_translation_is_bit_identical_with_graphs_on_or_off(monkeypatch, case):
    D = models()[CASES[case][0]]
    on = run(case, D)
    monkeypatch.setenv(graphs.ENV, "0")
    off = run(case, D)
    assert torch.equal(on.output, off.output) and torch.equal(on.latent, off.latent)
    assert graphs.graph_stats(D) == {"captures": 0, "replays": 0, "eager": 0}  # nothing was served on the CPU


@pytest.mark.parametrize("case", list(CASES))
def test_replayed_calls_give_the_eager_loops_numbers(monkeypatch, case):
    D = models()[CASES[case][0]]
    eager = run(case, D)
    monkeypatch.setattr(graphs, "EMULATE", True)
    replayed = run(case, D)
    torch.testing.assert_close(replayed.output, eager.output, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(replayed.latent, eager.latent, rtol=1e-12, atol=1e-12)
    stats = graphs.graph_stats(D)
    if case == "ddim destination":  # a network told another time runs eagerly in the inversion
        assert stats["eager"] == 4 and stats["replays"] == 4
    else:
        assert stats["eager"] == 0 and stats["replays"] == replayed.nfe // (2 if CASES[case][3] != 1 else 1)


def test_heun_guided_step_holds_two_graphs(monkeypatch):
    # Heun's second evaluation comes while the first one's autograd graph is in use (OVG differentiates it): the
    # second gets a graph of its own, and the guided kinds never need more than two
    monkeypatch.setattr(graphs, "EMULATE", True)
    D = models()["edm"]
    run("heun+ovg", D)
    runner = graphs._RUNNERS[D]
    guided = [slots for (shape, dtype, grad), slots in runner.entries.items() if grad]
    assert [len(s) for s in guided] == [2]


def test_a_stale_backward_is_refused(monkeypatch):
    monkeypatch.setattr(graphs, "EMULATE", True)
    monkeypatch.setattr(graphs, "MAX_SLOTS", 1)
    D = models()["eps"].requires_grad_(False)  # as in the loop (frozen_parameters): input gradients only
    x = source().requires_grad_(True)
    with graphs.replayed(D), torch.enable_grad():
        first = D(x, 1.0, 0)
        held = first.eps  # alive: the next call of this kind finds no free graph and runs eagerly
        second = D(x, 2.0, 0)
        assert graphs.graph_stats(D)["eager"] == 1
        del first, held
        D(x, 3.0, 0)  # the graph is free again and replayed
        x2 = x.detach().requires_grad_(True)
        out = D(x2, 4.0, 0).eps
    del second
    entry = graphs._RUNNERS[D].entries[(tuple(x.shape), x.dtype, True)][0]
    entry.generation += 1  # as if another call had replayed the graph
    with pytest.raises(RuntimeError, match="replayed again before the gradient"):
        torch.autograd.grad(out.sum(), x2)


def test_hooks_parameter_gradients_and_autocast_run_eagerly(monkeypatch):
    monkeypatch.setattr(graphs, "EMULATE", True)
    D = models()["eps"]
    x = source()
    with graphs.replayed(D):
        with torch.enable_grad():
            D(x.requires_grad_(True), 1.0, 0)  # the parameters need gradients here
        handle = D.net.class_embedding.register_forward_hook(lambda m, i, o: o)
        with torch.no_grad():
            D(x, 1.0, 0)
        handle.remove()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            D(x, 1.0, 0)  # what a graph captured under autocast would do differs from the call without it
    assert graphs.graph_stats(D)["eager"] == 3 and graphs.graph_stats(D)["replays"] == 0
    assert "forward" not in vars(D)  # the model is as it was outside the block


# --- on a GPU (gpu-marked: run with -m gpu) ------------------------------------------------------------------------

@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", list(CASES))
def test_cuda_graphs_give_the_eager_loops_numbers(monkeypatch, case, dtype):
    # float64: the graphed forward and vector-Jacobian products are the eager ones up to summation order
    D = models(dtype)[CASES[case][0]].cuda()
    x = source(4, dtype).cuda()
    _, method, guidance, w = CASES[case]
    go = lambda: translate(D, x, method, guidance=guidance, steps=6, cfg_scale=w, warn_norm=False)  # noqa: E731
    graphed = go()
    assert graphs.graph_stats(D)["replays"] > 0
    monkeypatch.setenv(graphs.ENV, "0")
    eager = go()
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(graphed.output, eager.output, rtol=tol, atol=tol)
    torch.testing.assert_close(graphed.latent, eager.latent, rtol=tol, atol=tol)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_graph_sampling_equals_eager_sampling(monkeypatch):
    D = models(torch.float32)["eps"].cuda()
    z = torch.randn(8, 3, 16, 16, generator=torch.Generator().manual_seed(0)).cuda() * 14
    sig = torch.linspace(14.0, 0.0, 11, dtype=torch.float64)
    graphed = sample(D, z, sig, Euler(), label=1).x
    monkeypatch.setenv(graphs.ENV, "0")
    torch.testing.assert_close(graphed, sample(D, z, sig, Euler(), label=1).x, rtol=1e-4, atol=1e-4)


# --- the device check's Python entry (scripts/gpu_check.sh runs it) ------------------------------------------------

def test_device_check_runs_on_a_cpu_and_marks_the_cuda_lines_skipped(tmp_path, capsys):
    import json
    import subprocess

    from benchmarks import gpu_check

    assert subprocess.run(["bash", "-n", "scripts/gpu_check.sh"]).returncode == 0
    assert gpu_check.main(["--tiny", "--out", str(tmp_path / "check.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    rec = json.loads((tmp_path / "check.json").read_text())
    assert lines[0].startswith("device: ") and rec["device"] in lines[0]
    shown = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in lines[1:]}
    cuda = torch.cuda.is_available()
    for section, figures in (("training", rec["training"]), ("inversion", rec["inversion"])):
        for name, value in figures.items():
            if "cuda graphs" in name and not cuda:
                assert value is None and shown[f"{section} {name}"] == "skipped (CUDA only)"
            else:
                assert value > 0 and shown[f"{section} {name}"].startswith(f"{value:.1f} ")
    assert set(rec["training"]) == {"K=1 eager", "K=1 cuda graphs", "K=2 cuda graphs"}
    assert set(rec["inversion"]) == {f"{what} {tag}" for what in ("DDIM sampling", "OVG-guided steps")
                                     for tag in ("eager", "cuda graphs")}


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible: the paper-scale timing would run")
def test_the_paper_scale_timing_refuses_a_machine_without_a_gpu(capsys):
    from benchmarks import gpu_check

    assert gpu_check.main(["--paper-scale"]) == 2 and "CUDA device only" in capsys.readouterr().err
