"""The training loss in chunks (train/losses.py ``micro_batch``): the whole batch's loss and gradient, the same
random draws, and the trainer's choice of chunk per device."""
from __future__ import annotations

import json

import pytest
import torch

from conftest import TinyData, tiny_training, tiny_unet
from spectral_collapse.models.denoisers import make_denoiser
from spectral_collapse.train.losses import diffusion_loss
from spectral_collapse.train.trainer import CPU_MICRO_BATCH, micro_batch_for, train


def _grads(D, objective, micro_batch):
    """(loss, {name: grad}, generator state after) of one batch of 8 through ``diffusion_loss``."""
    D.zero_grad(set_to_none=True)
    gen = torch.Generator().manual_seed(7)
    x0 = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 2 - 1
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    kw = dict(P_mean=-1.2, P_std=1.2, sigma_data=0.5)
    if micro_batch is None:
        loss = diffusion_loss(D, x0, labels, gen, objective, **kw)
        loss.backward()
    else:
        seen = []
        loss = diffusion_loss(D, x0, labels, gen, objective, micro_batch=micro_batch,
                              backward=lambda part, last: (seen.append(last), part.backward()), **kw)
        assert seen == [False] * (len(seen) - 1) + [True] and len(seen) == -(-8 // micro_batch)
    return float(loss.detach()), {k: p.grad.clone() for k, p in D.named_parameters()}, gen.get_state()


@pytest.mark.parametrize("objective", ["eps", "x0", "v", "edm"])
def test_chunks_give_the_whole_batchs_loss_gradient_and_draws(objective):
    """Chunks of 3 of a batch of 8 (the last chunk short), in float64: the loss and every weight gradient equal the
    whole batch's to rounding, and the generator ends where the whole batch leaves it (every draw made once)."""
    D = make_denoiser(tiny_unet(), "edm" if objective == "edm" else objective).train()
    whole_loss, whole, whole_state = _grads(D, objective, None)
    loss, chunked, state = _grads(D, objective, 3)
    assert loss == pytest.approx(whole_loss, rel=1e-12)
    assert torch.equal(state, whole_state)
    for k, g in whole.items():
        torch.testing.assert_close(chunked[k], g, rtol=1e-9, atol=1e-12, msg=k)
    # a chunk as large as the batch is the whole batch
    loss8, g8, _ = _grads(D, objective, 8)
    assert loss8 == whole_loss and all(torch.equal(g8[k], whole[k]) for k in whole)


def test_chunks_need_a_backward_and_a_positive_size():
    D = make_denoiser(tiny_unet(), "eps")
    x0, labels = torch.zeros(4, 3, 16, 16, dtype=torch.float64), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match="micro_batch"):
        diffusion_loss(D, x0, labels, torch.Generator(), "eps", micro_batch=2)
    with pytest.raises(ValueError, match="micro_batch"):
        diffusion_loss(D, x0, labels, torch.Generator(), "eps", micro_batch=0, backward=lambda p, last: None)


def test_trainer_chunks_cpu_batches_and_records_the_chunk(tmp_path):
    """On a CPU the trainer runs CPU_MICRO_BATCH samples per network call and writes that to the checkpoint's log;
    an accelerator takes whole batches."""
    assert micro_batch_for("cpu") == CPU_MICRO_BATCH and micro_batch_for("cuda") is None
    spec, cfg = tiny_training(batch_size=CPU_MICRO_BATCH + 3, steps=2)
    tm = train(spec, cfg, TinyData(), name="tiny", root=tmp_path, progress=False)
    assert json.loads((tm.path / "log.json").read_text())["micro_batch"] == CPU_MICRO_BATCH


def test_min_snr_weights_and_the_same_loss_in_eps_and_x0_form():
    """Min-SNR-gamma: eps weight min(SNR, g) / SNR with SNR = 1 / sigma^2; since an eps error is an x0 error times
    1 / sigma, the weighted eps loss equals the x0 loss weighted by min(SNR, g) for the same prediction."""
    import torch

    from spectral_collapse.models.denoisers import EpsDenoiser, X0Denoiser
    from oracle import GaussianOracleNet
    from spectral_collapse.models.schedules import VPSchedule
    from spectral_collapse.train.losses import mean_loss, min_snr_weight

    sig = torch.tensor([0.1, 0.5, 1.0, 10.0], dtype=torch.float64)
    w = min_snr_weight(sig, "eps", 5.0)
    expect = torch.minimum(1 / sig**2, torch.tensor(5.0)) * sig**2
    torch.testing.assert_close(w, expect)
    assert w[-1] == 1.0 and w[0] == pytest.approx(0.05)
    with pytest.raises(ValueError, match="edm"):
        min_snr_weight(sig, "edm", 5.0)
    sched = VPSchedule()
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(4, 3, 8, 8, generator=g, dtype=torch.float64)
    n = torch.randn(4, 3, 8, 8, generator=g, dtype=torch.float64)
    labels = torch.ones(4, dtype=torch.long)
    net = GaussianOracleNet("eps", stds=(0.3, 0.7, 0.5), schedule=sched).double()  # not the data's std: errors
    D_eps, D_x0 = EpsDenoiser(net, sched), X0Denoiser(GaussianOracleNet("x0", stds=(0.3, 0.7, 0.5),
                                                                        schedule=sched).double(), sched)
    with torch.no_grad():
        le = mean_loss(D_eps, x0, labels, sig, n, "eps", 0.5, min_snr_gamma=5.0)
        lx = mean_loss(D_x0, x0, labels, sig, n, "x0", 0.5, min_snr_gamma=5.0)
        plain = mean_loss(D_eps, x0, labels, sig, n, "eps", 0.5)
    assert float(le) == pytest.approx(float(lx), rel=1e-9)
    assert float(le) < float(plain)


def test_unweighted_training_keeps_its_checkpoint_hash():
    from spectral_collapse.train.config import ModelSpec, TrainConfig, full_config

    class Data:
        name, meta = "d", {}

    cfg = TrainConfig()
    assert not {"min_snr_gamma", "truncated_snr"} & set(full_config(ModelSpec(), cfg, Data())["train"])
    assert full_config(ModelSpec(), TrainConfig(truncated_snr=True), Data())["train"]["truncated_snr"] is True
    assert full_config(ModelSpec(), TrainConfig(min_snr_gamma=5.0), Data())["train"]["min_snr_gamma"] == 5.0
    with pytest.raises(ValueError, match="min_snr_gamma"):
        TrainConfig(objective="edm", min_snr_gamma=5.0)
    with pytest.raises(ValueError, match="truncated_snr"):
        TrainConfig(objective="edm", truncated_snr=True)


def test_truncated_snr_loss_is_the_larger_of_the_eps_and_x0_errors():
    """Truncated SNR: per sample, the weighted eps loss is max(eps error, x0 error), computed here directly from an
    imperfect oracle's predictions; the x0 form of the same weighting gives the same loss."""
    import torch

    from spectral_collapse.models.denoisers import EpsDenoiser, X0Denoiser
    from oracle import GaussianOracleNet
    from spectral_collapse.models.schedules import VPSchedule
    from spectral_collapse.train.losses import mean_loss, truncated_snr_weight

    sig = torch.tensor([0.1, 0.5, 1.0, 10.0], dtype=torch.float64)
    torch.testing.assert_close(truncated_snr_weight(sig, "eps"), torch.tensor([1.0, 1.0, 1.0, 100.0],
                                                                               dtype=torch.float64))
    sched = VPSchedule()
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(4, 3, 8, 8, generator=g, dtype=torch.float64)
    n = torch.randn(4, 3, 8, 8, generator=g, dtype=torch.float64)
    labels = torch.ones(4, dtype=torch.long)
    make = lambda kind: GaussianOracleNet(kind, stds=(0.3, 0.7, 0.5), schedule=sched).double()  # noqa: E731
    D_eps, D_x0 = EpsDenoiser(make("eps"), sched), X0Denoiser(make("x0"), sched)
    with torch.no_grad():
        pred = D_eps(x0 + sig.reshape(-1, 1, 1, 1) * n, sig, labels)
        per = torch.maximum((pred.eps - n).pow(2).mean((1, 2, 3)), (pred.x0 - x0).pow(2).mean((1, 2, 3)))
        le = mean_loss(D_eps, x0, labels, sig, n, "eps", 0.5, truncated_snr=True)
        lx = mean_loss(D_x0, x0, labels, sig, n, "x0", 0.5, truncated_snr=True)
    assert float(le) == pytest.approx(float(per.mean()), rel=1e-9)
    assert float(lx) == pytest.approx(float(le), rel=1e-9)


def test_ema_update_is_the_per_tensor_lerp_in_float64():
    """The multi-tensor EMA step equals ema + (1 - decay)(net - ema) computed tensor by tensor in float64."""
    from spectral_collapse.train.trainer import ema_update

    torch.manual_seed(0)
    net, ema = tiny_unet(), tiny_unet()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p))
    want = [e.double() + 0.3 * (p.double() - e.double()) for e, p in zip(ema.parameters(), net.parameters())]
    ema_update(ema, net, 0.7)
    for w, e in zip(want, ema.parameters()):
        assert torch.allclose(e.double(), w, rtol=0, atol=1e-6)
    assert any((e != p).any() for e, p in zip(ema.parameters(), net.parameters()))  # moved part of the way only


def test_to_device_keeps_values_and_dtype_on_the_cpu():
    from spectral_collapse.train.losses import to_device

    t = torch.randn(3, 4, dtype=torch.float64)
    out = to_device(t, "cpu")
    assert out.dtype == torch.float64 and torch.equal(out, t)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_pinned_copies_give_the_same_loss_as_plain_copies_on_a_gpu():
    """On a GPU the loss drawn through pinned, non-blocking copies equals the one through plain copies."""
    from spectral_collapse.train.losses import to_device

    t = torch.randn(64, 3, 8, 8)
    assert torch.equal(to_device(t, "cuda").cpu(), t)
    D_cpu = make_denoiser(tiny_unet(), "eps")
    D = make_denoiser(tiny_unet(), "eps").cuda()
    x0 = torch.randn(8, 3, 16, 16, dtype=torch.float64)
    y = torch.zeros(8, dtype=torch.long)
    a = diffusion_loss(D, x0.cuda(), y.cuda(), torch.Generator().manual_seed(3), "eps")
    b = diffusion_loss(D_cpu, x0, y, torch.Generator().manual_seed(3), "eps")
    assert a.device.type == "cuda" and abs(float(a) - float(b)) <= 1e-9 * abs(float(b))
