"""Diffusion trainer through Accelerate: AdamW, warm-up + cosine LR, EMA, label dropout, gradient clipping;
checkpoints cached by a hash of their configuration (train/cache.py), resumable after a kill to the same weights."""
from __future__ import annotations

import copy
import os
import shutil
import time
from contextlib import nullcontext
from dataclasses import fields
from pathlib import Path

import torch
from tqdm import tqdm

from ..models.backbones import count_parameters
from .shipped import export, install, refresh, replaced, shipped_root, shipping
from .cache import (CheckpointCorrupt, atomic_write_bytes, atomic_write_json, check_weight_hashes, checkpoint_dir,
                    checkpoint_lock, is_complete, read_json, read_weights, resume, retrain_fix, save_weights,
                    write_resume, write_weight_hashes)
from .config import CheckpointMismatch, ModelSpec, TrainConfig, TrainedModel, check_objective, full_config
from .losses import BANDS, HELDOUT_EVERY, LOG_NORMAL, diffusion_loss, heldout_loss, heldout_set, to_device

__all__ = ["train", "load_trained", "CPU_MICRO_BATCH", "micro_batch_for", "ema_update", "ema_decay", "device_name",
           "reusable", "adopt", "shipped_result", "LOG_EVERY", "Run"]

CPU_MICRO_BATCH = 8
LOG_EVERY = 50  # steps per entry of the training-loss log (the mean over those steps)


def micro_batch_for(device) -> int | None:
    """Samples per network call of a step on ``device``: CPU_MICRO_BATCH on a CPU, else the whole batch (None)."""
    return CPU_MICRO_BATCH if torch.device(device).type == "cpu" else None


def ema_update(ema: torch.nn.Module, net: torch.nn.Module, decay: float) -> None:
    """ema <- ema + (1 - decay) (net - ema) for every parameter in one multi-tensor call; buffers are copied."""
    with torch.no_grad():
        torch._foreach_lerp_(list(ema.parameters()), [p.detach() for p in net.parameters()], 1 - decay)
        for e, b in zip(ema.buffers(), net.buffers()):
            e.copy_(b)


def ema_decay(cfg: TrainConfig, step: int) -> float:
    """The EMA decay after optimizer step ``step`` (1 for the first), with ``ema_warmup``: min(decay, (1+n)/(10+n))."""
    return min(cfg.ema_decay, (1 + step) / (10 + step)) if cfg.ema_warmup else cfg.ema_decay


def reusable(ckpt: Path) -> bool:
    """Whether the finished checkpoint ``ckpt`` can be loaded as it is (no lock needed)."""
    return is_complete(ckpt) and not shipping(ckpt) and not replaced(ckpt)


def adopt(ckpt: Path) -> bool:
    """Holding ``ckpt``'s lock: bring in what was trained or shipped meanwhile; True when nothing is left to train."""
    refresh(ckpt)  # other weights shipped under this folder's name since it was built: installed again
    if shipping(ckpt) and is_complete(ckpt):
        export(ckpt)
    return is_complete(ckpt) or install(ckpt)  # trained meanwhile by another process, or shipped (data/weights)


def shipped_result(tm: "TrainedModel", ckpt: Path, spec: ModelSpec) -> "TrainedModel":
    """``tm`` as trained, or, when its weights are to be shipped, loaded back from the shipped form."""
    if not shipping(ckpt) or not is_complete(ckpt):
        return tm
    export(ckpt)
    return load_trained(ckpt, spec)


def train(spec: ModelSpec, cfg: TrainConfig, data, *, name: str, root: str | os.PathLike = "data/checkpoints",
          progress: bool = True, stop_after: int | None = None, accelerator=None) -> TrainedModel:
    """Train (or resume, or reuse) a model. ``stop_after`` stops early after that many total steps (tests)."""
    check_objective(spec, cfg)
    shipped_root()  # a bad SPECTRAL_COLLAPSE_WEIGHTS refused before the checkpoint folder is made
    full = full_config(spec, cfg, data)
    ckpt = checkpoint_dir(name, full, root)
    if reusable(ckpt):
        return load_trained(ckpt, spec)
    with checkpoint_lock(ckpt, name):
        if adopt(ckpt):
            return load_trained(ckpt, spec)
        tm = _train(spec, cfg, data, full, ckpt, name=name, progress=progress, stop_after=stop_after,
                    accelerator=accelerator)
        return shipped_result(tm, ckpt, spec)


class Run:
    """One model's training state (network, EMA, AdamW, generator, resumed) and the book-keeping around its steps (loss
    log, held-out evaluation, snapshots, the checkpoint); ``main``: the process that evaluates and writes."""

    def __init__(self, spec: ModelSpec, cfg: TrainConfig, data, full: dict, ckpt: Path, *, name: str, device, gen,
                 stop_after: int | None, main: bool = True, lr=None, opt_kw: dict | None = None,
                 scheduler: bool = True):
        self.spec, self.cfg, self.ckpt, self.main, self.gen = spec, cfg, ckpt, main, gen
        self.device = torch.device(device)
        torch.manual_seed(cfg.seed)
        self.D = spec.build().to(self.device)
        self.net = self.D.net
        self.ema = copy.deepcopy(self.net).requires_grad_(False)
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=cfg.lr if lr is None else lr,
                                     weight_decay=cfg.weight_decay, **(opt_kw or {}))
        # stepped once per optimizer step, by the trainer
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, cfg.lr_factor) if scheduler else None
        self.step, self.log, self.held_log, self.seconds_before = resume(ckpt, self.net, self.ema, self.opt, gen,
                                                                         self.sched)
        if main:
            ckpt.mkdir(parents=True, exist_ok=True)
            atomic_write_json(ckpt / "config.json", {**full, "name": name, "parameters": count_parameters(self.net)})
        self.step0 = self.step
        self.end = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
        self.micro = micro_batch_for(self.device)
        self.loss_sum, self.run_n = torch.zeros((), device=self.device), 0  # read back every LOG_EVERY steps
        if self.log and self.log[-1][0] == self.step and self.step % LOG_EVERY:  # the snapshot's unfinished window
            mean, self.run_n = self.log.pop()[1], self.step % LOG_EVERY
            self.loss_sum.fill_(mean * self.run_n)  # the float32 sum it was, so the window's mean is the same
        self.held = heldout_set(data, self.D, cfg.objective, P_mean=cfg.P_mean, P_std=cfg.P_std) if main else None
        self.E = None
        if self.held is not None:  # the spec's denoiser on the EMA weights
            self.E = spec.build()
            self.E.net = self.ema
            self.E.to(self.device).eval()
        self.net.train()

    def on_stream(self):
        """The context that device work around a step runs in (the lockstep trainer's stream per model)."""
        return nullcontext()

    def states(self) -> tuple:
        """(optimizer, LR scheduler) as a resume snapshot stores them (objects with ``state_dict()``)."""
        return self.opt, self.sched

    def evaluate(self) -> None:
        if self.E is not None and (not self.held_log or self.held_log[-1][0] < self.step):
            with self.on_stream():
                loss = heldout_loss(self.E, self.held, self.cfg.objective, sigma_data=self.spec.sigma_data)
            self.held_log.append([self.step, *loss])

    def after_step(self, t0: float) -> None:
        """After a step: the loss log, the held-out evaluation and the resume snapshot when due."""
        cfg, step = self.cfg, self.step
        if step % LOG_EVERY == 0 or step == self.end:
            with self.on_stream():
                total = float(self.loss_sum)
                self.loss_sum.zero_()
            self.log.append((step, total / max(self.run_n, 1)))
            self.run_n = 0
        if step % HELDOUT_EVERY == 0 or step == cfg.steps:
            self.evaluate()
        if self.main and (step % cfg.checkpoint_every == 0 or step == self.end) and step < cfg.steps:
            with self.on_stream():
                write_resume(self.ckpt, self.net, self.ema, *self.states(), step, self.gen, self.snapshot_log(),
                             self.held_log, self.seconds_before + time.time() - t0)

    def snapshot_log(self) -> list:
        """The loss log as a resume snapshot stores it: the unfinished window's mean as a last entry at this step."""
        if self.run_n == 0:
            return self.log
        with self.on_stream():
            total = float(self.loss_sum)
        return [*self.log, (self.step, total / self.run_n)]

    def finish(self, t0: float, **extra) -> TrainedModel:
        """After the last step, write the checkpoint (weights, hashes, log.json with ``extra``, DONE); the EMA model."""
        ckpt, seconds = self.ckpt, time.time() - t0
        if self.step >= self.cfg.steps and self.main:
            save_weights(self.net, ckpt / "model.safetensors")
            save_weights(self.ema, ckpt / "ema.safetensors")
            write_weight_hashes(ckpt)
            atomic_write_json(ckpt / "log.json", {
                "loss": self.log, "seconds_this_run": seconds, "steps_this_run": self.step - self.step0,
                "seconds_total": self.seconds_before + seconds, "micro_batch": self.micro or self.cfg.batch_size,
                "device": device_name(self.device), "heldout": self.held_log, "heldout_bands": BANDS,
                "heldout_every": HELDOUT_EVERY, **extra})
            atomic_write_bytes(ckpt / "DONE", b"")
            shutil.rmtree(ckpt / "resume", ignore_errors=True)
            shutil.rmtree(ckpt / "resume.old", ignore_errors=True)
        self.D.net = self.ema
        self.D.eval()
        return TrainedModel(denoiser=self.D, path=self.ckpt, log=self.log, spec=self.spec, config=self.cfg)


def _train(spec: ModelSpec, cfg: TrainConfig, data, full: dict, ckpt: Path, *, name: str, progress: bool,
           stop_after: int | None, accelerator) -> TrainedModel:
    from accelerate import Accelerator

    acc = accelerator or Accelerator(cpu=not torch.cuda.is_available())
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + acc.process_index)
    run = Run(spec, cfg, data, full, ckpt, name=name, device=acc.device, gen=gen, stop_after=stop_after,
              main=acc.is_main_process)
    Dw, opt = acc.prepare(run.D, run.opt)
    bar = tqdm(total=cfg.steps, initial=run.step, desc=f"train {name}", dynamic_ncols=True,
               disable=not (progress and acc.is_main_process))

    def backward(part, last: bool):  # gradients are all-reduced once, after the batch's last chunk
        with nullcontext() if last or acc.num_processes == 1 else acc.no_sync(Dw):
            acc.backward(part)

    # the VP time grid read from the plain model: the loss calls the (possibly DDP-wrapped) one
    table, t0 = None if cfg.objective in LOG_NORMAL else run.D.schedule.sigmas(), time.time()
    if run.step == 0:
        run.evaluate()
    while run.step < run.end:
        x, y = data.train_batch(cfg.batch_size, gen)
        drop = torch.rand(y.shape[0], generator=gen) < cfg.label_dropout
        y = torch.where(drop, torch.full_like(y, 2), y)
        x, y = to_device(x, acc.device), to_device(y, acc.device)
        loss = diffusion_loss(Dw, x, y, gen, cfg.objective, P_mean=cfg.P_mean, P_std=cfg.P_std,
                              sigma_data=spec.sigma_data, micro_batch=run.micro, backward=backward,
                              min_snr_gamma=cfg.min_snr_gamma, truncated_snr=cfg.truncated_snr, table=table)
        if cfg.grad_clip > 0:
            acc.clip_grad_norm_(run.net.parameters(), cfg.grad_clip)
        opt.step()
        run.sched.step()
        opt.zero_grad(set_to_none=True)
        run.step += 1
        ema_update(run.ema, run.net, ema_decay(cfg, run.step))
        run.loss_sum.add_(loss.detach())
        run.run_n += 1
        run.after_step(t0)
        bar.update(1)
        if run.log and run.log[-1][0] == run.step:
            bar.set_postfix(loss=f"{run.log[-1][1]:.4f}")
    bar.close()
    acc.wait_for_everyone()
    return run.finish(t0)


def device_name(device) -> str:
    """The device a run trained on, in words: the GPU's name, or the CPU's model and the threads used."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    import platform
    import re

    from ..text import plural

    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    m = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
    cpu = m.group(1).strip() if m else platform.processor() or platform.machine()
    return f"cpu: {cpu}, {plural(torch.get_num_threads(), 'thread')}"


def load_trained(path: str | os.PathLike, spec: ModelSpec | None = None) -> TrainedModel:
    """Load a finished checkpoint's EMA weights, checked against their hashes and, with ``spec``, the model."""
    path = Path(path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"no checkpoint at {path} (config.json missing); train it with "
                                f"`python -m spectral_collapse.cli train` or the study that needs it")
    fix = retrain_fix(path)
    saved = read_json(path / "config.json", fix)
    try:
        saved_spec = ModelSpec.from_dict(saved["model"])
        train_kw = {f.name: saved["train"][f.name] for f in fields(TrainConfig) if f.name in saved["train"]}
        config = TrainConfig(**train_kw)
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointCorrupt(f"{path / 'config.json'} does not describe a model and its training "
                                f"({type(err).__name__}: {err}); {fix}") from None
    if spec is not None and saved_spec.to_dict() != spec.to_dict():
        diff = [k for k in spec.to_dict() if spec.to_dict()[k] != saved_spec.to_dict().get(k)]
        raise CheckpointMismatch(f"checkpoint {path} was trained for a different model (differs in: {', '.join(diff)}); "
                                 f"delete it or ask for the model it holds")
    if not is_complete(path):
        raise FileNotFoundError(f"checkpoint {path} is incomplete (training was interrupted); rerun training to resume it")
    check_weight_hashes(path)
    D = saved_spec.build()
    weights = read_weights(path / "ema.safetensors", fix)
    try:
        D.net.load_state_dict(weights)
    except RuntimeError as err:  # state-dict keys or shapes differ: weights from another model
        detail = next((line.strip() for line in str(err).splitlines()[1:] if line.strip()), str(err))
        raise CheckpointMismatch(f"the weights in {path / 'ema.safetensors'} do not fit the model described by its "
                                 f"config.json ({detail}); the folder was altered: delete it and train again") from err
    D.eval().requires_grad_(False)
    log = read_json(path / "log.json", fix) if (path / "log.json").exists() else {"loss": []}
    if not isinstance(log, dict) or not isinstance(log.get("loss"), list):
        raise CheckpointCorrupt(f"{path / 'log.json'} holds no loss log; {fix}")
    return TrainedModel(denoiser=D, path=path, log=log["loss"], spec=saved_spec, config=config)

