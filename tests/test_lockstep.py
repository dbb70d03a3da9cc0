"""The lockstep trainer (train.lockstep): on a CPU, K models trained together equal each trained alone, and a model
trained by it equals the trainer's (train.trainer) to the bit, since it makes the same draws from the same CPU
generator in the same order; snapshots of either trainer resume in the other. The CUDA-graph path has gpu-marked
tests (excluded by default; run them with -m gpu on a machine with a GPU)."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file

from conftest import no_shipped_weights, tiny_training
from spectral_collapse.data.unpaired import UnpairedDomains, draw_batch
from spectral_collapse.train.lockstep import Job, device_pools, portable_optimizer_state, schedule_state, train_lockstep
from spectral_collapse.train.trainer import train
from spectral_collapse.train.config import TrainConfig


def pool_data(seed: int = 0, name: str = "pools") -> UnpairedDomains:
    """Random 16-px pools and a paired test split (the held-out evaluation runs on it)."""
    g = torch.Generator().manual_seed(seed)
    r = lambda n: torch.rand(n, 3, 16, 16, generator=g) * 2 - 1  # noqa: E731
    return UnpairedDomains(name=name, size=16, source=r(12), target=r(10), test_source=r(3), test_target=r(3),
                           meta={"seed": seed})


def weights(path) -> dict:
    return {**{f"net.{k}": v for k, v in load_file(str(path / "model.safetensors")).items()},
            **{f"ema.{k}": v for k, v in load_file(str(path / "ema.safetensors")).items()}}


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    bad = [k for k in wa if not torch.equal(wa[k], wb[k])]
    assert not bad, f"{len(bad)} tensors differ, first {bad[0]}"


def job(parameterization="eps", seed=0, data_seed=0, **config):
    spec, cfg = tiny_training(parameterization, **{"steps": 5, "checkpoint_every": 2, **config})
    return Job(spec, replace(cfg, seed=seed), pool_data(data_seed), f"m-{parameterization}-{seed}")


def test_draw_batch_is_the_data_sets_own_batch():
    data = pool_data(3)
    src, tgt = device_pools(data, "cpu")
    assert src.shape == (8, 12, 3, 16, 16) and tgt.shape == (8, 10, 3, 16, 16)
    x, y = draw_batch(src, tgt, 7, torch.Generator().manual_seed(5))
    x_ref, y_ref = data.train_batch(7, torch.Generator().manual_seed(5))
    assert torch.equal(x, x_ref) and torch.equal(y, y_ref)


def test_draw_batch_holds_both_domains_and_draws_without_a_generator():
    src, tgt = torch.zeros(1, 3, 1, 2, 2), torch.ones(1, 2, 1, 2, 2)  # one view each: no view is drawn
    with pytest.raises(ValueError, match="batch_size must be >= 2 to hold both domains, got 1"):
        draw_batch(src, tgt, 1, None)
    x, y = draw_batch(src, tgt, 5, None)
    assert y.tolist() == [0, 0, 1, 1, 1] and (x[:2] == 0).all() and (x[2:] == 1).all()


@pytest.mark.parametrize("views", [(0,), (0, 3, 5)])
def test_draw_batch_is_a_latent_data_sets_own_batch(views):
    from spectral_collapse.models.vae import LatentDomains

    class Halve:  # a stand-in autoencoder: 2 channels at half the size
        def encode(self, x):
            return x[:, :2, ::2, ::2] * 0.5

        def describe(self):
            return {"kind": "halve"}

    data = LatentDomains(pool_data(4), Halve(), views=views)
    src, tgt = device_pools(data, "cpu")
    assert src.shape == (len(views), 12, 2, 8, 8)
    x, y = draw_batch(src, tgt, 6, torch.Generator().manual_seed(9))
    x_ref, y_ref = data.train_batch(6, torch.Generator().manual_seed(9))
    assert torch.equal(x, x_ref) and torch.equal(y, y_ref)


def test_a_snapshot_from_another_kind_of_generator_resumes_seeded_from_it():
    from spectral_collapse.train.cache import restore_generator

    foreign = torch.arange(16, dtype=torch.uint8)  # a CUDA generator's state is 16 bytes: seed and offset
    a, b = torch.Generator(), torch.Generator()
    with pytest.warns(RuntimeWarning, match="from another kind of generator"):
        restore_generator(a, foreign)
    with pytest.warns(RuntimeWarning):
        restore_generator(b, foreign)
    assert torch.equal(torch.rand(4, generator=a), torch.rand(4, generator=b))
    same = torch.Generator().manual_seed(3)
    restore_generator(a, same.get_state())
    assert torch.equal(torch.rand(4, generator=a), torch.rand(4, generator=same))


def test_schedule_state_is_the_trainers_scheduler_after_n_steps():
    cfg = TrainConfig(steps=30, warmup_steps=4, lr=3e-3)
    opt = torch.optim.AdamW([torch.zeros(2, requires_grad=True)], lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, cfg.lr_factor)
    for n in range(1, 13):
        opt.step()
        sched.step()
        assert schedule_state(cfg, n) == sched.state_dict()


def test_models_trained_together_equal_each_trained_alone(tmp_path):
    jobs = [job("eps", seed=0), job("edm", seed=1, data_seed=1), job("eps", seed=2, steps=3)]
    together = train_lockstep(jobs, root=tmp_path / "together", progress=False, device="cpu")
    for j, t in zip(jobs, together):
        alone = train_lockstep([j], root=tmp_path / f"alone-{j.name}", progress=False, device="cpu")[0]
        assert_same_weights(t.path, alone.path)
        assert t.log == alone.log
    assert [len(t.log) for t in together] == [1, 1, 1] and together[2].log[0][0] == 3  # the short one left early


@pytest.mark.parametrize("parameterization", ["eps", "edm", "x0", "flow"])
def test_lockstep_equals_the_trainer_on_the_cpu(tmp_path, parameterization):
    j = job(parameterization, seed=4)
    ours = train_lockstep([j], root=tmp_path / "lockstep", progress=False, device="cpu")[0]
    ref = train(j.spec, j.cfg, j.data, name=j.name, root=tmp_path / "trainer", progress=False)
    assert ours.path.name == ref.path.name  # the same checkpoint folder (configuration hash)
    assert_same_weights(ours.path, ref.path)
    assert ours.log == ref.log
    import json

    held = [json.loads((p / "log.json").read_text())["heldout"] for p in (ours.path, ref.path)]
    assert held[0] == held[1] and len(held[0]) == 2  # step 0 and the last step


@pytest.mark.parametrize("first", ["lockstep", "trainer"])
def test_a_snapshot_of_either_trainer_resumes_in_the_other(tmp_path, first):
    j = job("eps", seed=6)
    run = {"lockstep": lambda **kw: train_lockstep([j], root=tmp_path / "r", progress=False, device="cpu", **kw)[0],
           "trainer": lambda **kw: train(j.spec, j.cfg, j.data, name=j.name, root=tmp_path / "r", progress=False, **kw)}
    run[first](stop_after=3)
    assert (next((tmp_path / "r").iterdir()) / "resume").is_dir()
    resumed = run["trainer" if first == "lockstep" else "lockstep"]()
    straight = train(j.spec, j.cfg, j.data, name=j.name, root=tmp_path / "straight", progress=False)
    assert_same_weights(resumed.path, straight.path)


def test_pools_are_required(tmp_path):
    from conftest import TinyData

    spec, cfg = tiny_training()
    with pytest.raises(ValueError, match="needs the training pools on the device; TinyData"):
        train_lockstep([Job(spec, cfg, TinyData(), "tiny")], root=tmp_path, progress=False, device="cpu")


def test_portable_optimizer_state_is_the_trainers_optimizer_state():
    cfg = TrainConfig(steps=10, warmup_steps=3, lr=0.01)
    ours, theirs = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.AdamW([ours], lr=torch.tensor(0.01))  # a tensor LR, as the capturable AdamW has on a GPU
    ref = torch.optim.AdamW([theirs], lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(ref, cfg.lr_factor)
    for step in range(2):
        opt.param_groups[0]["lr"].fill_(cfg.lr * cfg.lr_factor(step))
        ours.grad, theirs.grad = torch.ones(3), torch.ones(3)
        opt.step()
        ref.step()
        sched.step()
    sd, want = portable_optimizer_state(opt, cfg, 2), ref.state_dict()
    assert sd["param_groups"] == want["param_groups"]
    assert sd["state"][0].keys() == want["state"][0].keys()
    for k, v in want["state"][0].items():
        assert sd["state"][0][k].dtype == v.dtype and sd["state"][0][k].device == v.device
        torch.testing.assert_close(sd["state"][0][k], v)


# --- the CUDA-graph path (gpu-marked: run with -m gpu on a machine with a GPU) ----------------------------------

gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.gpu
@gpu
def test_graphed_round_equals_eager_steps_on_the_gpu(tmp_path):
    # Both runs draw from the same CUDA generators: replaying the captured step must give the eager step's numbers
    # (the warm-up before the capture is undone), to float rounding.
    jobs = [job("eps", seed=0, steps=6), job("edm", seed=1, data_seed=1, steps=4)]
    graphed = train_lockstep(jobs, root=tmp_path / "g", progress=False, device="cuda", cuda_graphs=True)
    eager = train_lockstep(jobs, root=tmp_path / "e", progress=False, device="cuda", cuda_graphs=False)
    for a, b in zip(graphed, eager):
        wa, wb = weights(a.path), weights(b.path)
        for k in wa:
            torch.testing.assert_close(wa[k], wb[k], rtol=1e-4, atol=1e-5, msg=k)
        assert [s for s, _ in a.log] == [s for s, _ in b.log]
        for (_, la), (_, lb) in zip(a.log, b.log):
            assert la == pytest.approx(lb, rel=1e-4)


@pytest.mark.gpu
@gpu
def test_graphed_models_together_equal_each_alone_on_the_gpu(tmp_path):
    jobs = [job("eps", seed=0, steps=6), job("eps", seed=3, steps=6)]
    together = train_lockstep(jobs, root=tmp_path / "t", progress=False, device="cuda")
    alone = train_lockstep(jobs[1:], root=tmp_path / "a", progress=False, device="cuda")[0]
    wa, wb = weights(together[1].path), weights(alone.path)
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-4, atol=1e-5, msg=k)


@pytest.mark.gpu
@gpu
@pytest.mark.parametrize("stop", [3, 5])  # 5 of 6: the warm-up before the capture steps past the last step
def test_graphed_training_resumes_to_the_uninterrupted_weights(tmp_path, stop):
    j = job("eps", seed=2, steps=6, checkpoint_every=stop)
    train_lockstep([j], root=tmp_path / "r", progress=False, device="cuda", stop_after=stop)
    resumed = train_lockstep([j], root=tmp_path / "r", progress=False, device="cuda")[0]
    straight = train_lockstep([j], root=tmp_path / "s", progress=False, device="cuda")[0]
    wa, wb = weights(resumed.path), weights(straight.path)
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-4, atol=1e-5, msg=k)


def test_the_from_scratch_run_trains_the_set_in_lockstep_and_gates_it(tmp_path, monkeypatch):
    """The GPU phases of ``benchmarks.from_scratch`` run on a CPU too: a smoke model trained in a round into the
    checkpoint root, its figures recorded with the device, then gated."""
    from benchmarks.from_scratch import gate_set, lockstep_set
    from spectral_collapse.framework import model_set as models

    monkeypatch.setattr(models, "CHECKPOINT_ROOT", str(tmp_path))
    keys = ["ihc-sr-x4-eps"]
    no_shipped_weights(tmp_path, monkeypatch)   # the smoke models are shipped: train them here
    rec = lockstep_set("smoke", keys)
    done = sorted(p.name.rsplit("-", 1)[0] for p in tmp_path.iterdir() if (p / "DONE").exists())
    assert done == ["ihc-sr-x4-eps-smoke"]
    steps = sum(models.get_profile("smoke").train_config(r.parameterization, r.dataset).steps
                for r in models.model_set(keys))
    assert rec["models"] == 1 and rec["model_steps"] == steps and rec["device"].startswith("cpu: ")
    assert rec["model_steps_per_s"] > 0 and rec["phase_s"] >= rec["seconds"] and rec["cuda_graphs"] is False
    gate = gate_set("smoke", keys)
    assert set(gate["passed"]) == set(keys) and gate["phase_s"] > 0
    assert all((p / "quality.json").is_file() for p in tmp_path.iterdir() if (p / "DONE").exists())
