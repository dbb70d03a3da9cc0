"""Lockstep trainer: K models trained in one process, each model's whole step one CUDA graph replayed on its own stream
on a GPU; on a CPU the step runs eagerly and equals the trainer's to the bit. Around a step: the trainer's ``Run``."""
from __future__ import annotations

import time
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import torch
from tqdm import tqdm

from ..data.unpaired import dihedral, draw_batch
from .cache import checkpoint_dir, checkpoint_lock
from .losses import LOG_NORMAL, diffusion_loss
from .shipped import shipped_root
from .trainer import Run, adopt, device_name, ema_decay, ema_update, load_trained, reusable, shipped_result
from .config import ModelSpec, TrainConfig, TrainedModel, check_objective, full_config

__all__ = ["Job", "Member", "train_lockstep", "device_pools", "schedule_state", "portable_optimizer_state",
           "WARMUP_STEPS"]

WARMUP_STEPS = 3  # eager steps on a side stream before a capture (optimizer state, cuDNN and cuBLAS set-up), undone


@dataclass(frozen=True)
class Job:
    """One model of a round: what ``trainer.train`` takes."""

    spec: ModelSpec
    cfg: TrainConfig
    data: object
    name: str


_POOLS: dict = {}  # (id of the pools, device) -> (pools, views): one device copy per data set


def device_pools(data, device) -> tuple[torch.Tensor, torch.Tensor]:
    """(source, target) views (V, N, C, H, W) of ``data`` on ``device``: the 8 dihedral ones, or the encoded ones."""
    if hasattr(data, "_encoded") and hasattr(data, "views"):
        pools, views = data._encoded(), None
    elif torch.is_tensor(getattr(data, "source", None)) and torch.is_tensor(getattr(data, "target", None)):
        pools, views = (data.source, data.target), range(8)
    else:
        raise ValueError(f"the lockstep trainer needs the training pools on the device; {type(data).__name__} has no "
                         f"source and target tensors (UnpairedDomains) nor encoded views (LatentDomains); train it "
                         f"with train.trainer.train")
    key = (id(pools[0]), id(pools[1]), str(torch.device(device)))
    if key not in _POOLS:  # the pools are kept too, so that their ids stay theirs
        made = pools if views is None else [torch.stack([dihedral(p, k) for k in views]) for p in pools]
        _POOLS[key] = (pools, tuple(p.to(device) for p in made))
    return _POOLS[key][1]


def schedule_state(cfg: TrainConfig, step: int) -> dict:
    """The state of the trainer's LR scheduler after ``step`` steps, as its resume snapshots hold it."""
    dummy = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=cfg.lr)
    sd = torch.optim.lr_scheduler.LambdaLR(dummy, cfg.lr_factor).state_dict()
    sd.update(last_epoch=step, _step_count=step + 1, _last_lr=[cfg.lr * cfg.lr_factor(step)])
    return sd


def portable_optimizer_state(opt: torch.optim.Optimizer, cfg: TrainConfig, step: int) -> dict:
    """``opt.state_dict()`` after ``step`` steps as the trainer's AdamW writes it (float LR, CPU step counts)."""
    sd = opt.state_dict()
    groups = [{**g, "lr": cfg.lr * cfg.lr_factor(step), "initial_lr": cfg.lr, "capturable": False, "foreach": None}
              for g in sd["param_groups"]]
    state = {k: {n: (v.detach().to("cpu", torch.float32) if n == "step" else v) for n, v in st.items()}
             for k, st in sd["state"].items()}
    return {"state": state, "param_groups": groups}


class Member(Run):
    """One model of a round: a trainer's ``Run`` with the step function and, on a GPU, its CUDA graph and stream."""

    def __init__(self, job: Job, full: dict, ckpt: Path, device: torch.device, stop_after: int | None):
        spec, cfg = job.spec, job.cfg
        self.job, self.cuda = job, device.type == "cuda"
        if cfg.batch_size < 2:
            raise ValueError(f"{job.name}: batch_size must be >= 2 to hold both domains, got {cfg.batch_size}")
        lr = torch.tensor(cfg.lr, dtype=torch.float32, device=device) if self.cuda else cfg.lr
        extra = {"capturable": True, "foreach": True} if self.cuda else {}
        super().__init__(spec, cfg, job.data, full, ckpt, name=job.name, device=device, stop_after=stop_after,
                         gen=torch.Generator(device).manual_seed(cfg.seed * 1000), lr=lr, opt_kw=extra,
                         scheduler=False)
        if self.cuda:  # a loaded snapshot brings the trainer's float LR and CPU step counts
            for g in self.opt.param_groups:
                g.update(lr=lr, capturable=True, foreach=True)
            for st in self.opt.state.values():
                if "step" in st:
                    st["step"] = st["step"].to(device, torch.float32)
        self.src, self.tgt = device_pools(job.data, device)
        vp = cfg.objective not in LOG_NORMAL
        self.table = self.D.schedule.sigmas().to(device) if vp and self.cuda else None
        if self.cuda:  # the schedule as tables on the device, read at the step counter ``t`` (the warm-up before a
            n = cfg.steps + WARMUP_STEPS + 1  # capture may step past the last step: it is undone)
            self.lr_table = torch.tensor([cfg.lr * cfg.lr_factor(s) for s in range(n)], device=device)
            self.w_table = torch.tensor([1 - ema_decay(cfg, s + 1) for s in range(n)], device=device)
            self.t = torch.tensor([self.step], dtype=torch.long, device=device)
        self.graph, self.stream = None, torch.cuda.Stream(device) if self.cuda else None
        if self.stream is not None:  # everything above was queued on the current stream
            self.stream.wait_stream(torch.cuda.current_stream(device))

    def step_fn(self) -> None:
        """One training step (module docstring). On a GPU nothing in it waits for the device, so it can be captured."""
        cfg, g = self.cfg, self.gen
        self.opt.zero_grad(set_to_none=True)
        x, y = draw_batch(self.src, self.tgt, cfg.batch_size, g)
        drop = torch.rand(y.shape[0], generator=g, device=g.device) < cfg.label_dropout
        y = torch.where(drop, torch.full_like(y, 2), y)
        loss = diffusion_loss(self.D, x, y, g, cfg.objective, P_mean=cfg.P_mean, P_std=cfg.P_std,
                              sigma_data=self.job.spec.sigma_data, micro_batch=self.micro,
                              backward=lambda part, last: part.backward(),
                              min_snr_gamma=cfg.min_snr_gamma, truncated_snr=cfg.truncated_snr, table=self.table)
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), cfg.grad_clip)
        if self.cuda:
            self.opt.param_groups[0]["lr"].copy_(self.lr_table.index_select(0, self.t).squeeze(0))
            self.opt.step()
            ema = list(self.ema.parameters())
            diff = torch._foreach_sub([p.detach() for p in self.net.parameters()], ema)
            torch._foreach_mul_(diff, self.w_table.index_select(0, self.t).squeeze(0))
            torch._foreach_add_(ema, diff)
            for e, b in zip(self.ema.buffers(), self.net.buffers()):
                e.copy_(b)
            self.t.add_(1)
        else:
            self.opt.param_groups[0]["lr"] = cfg.lr * cfg.lr_factor(self.step)
            self.opt.step()
            ema_update(self.ema, self.net, ema_decay(cfg, self.step + 1))
        self.loss_sum.add_(loss.detach())

    def _state(self) -> list[torch.Tensor]:
        """Every tensor a step changes, optimizer state aside."""
        return [*self.net.parameters(), *self.net.buffers(), *self.ema.parameters(), *self.ema.buffers(), self.t,
                self.loss_sum]

    def capture(self) -> None:
        """Capture ``step_fn`` as a CUDA graph after WARMUP_STEPS eager steps, undone: the first replay is the next."""
        saved = [t.detach().clone() for t in self._state()]
        opt_saved = {p: {k: v.clone() for k, v in st.items()} for p, st in self.opt.state.items()}
        rng = self.gen.get_state()
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(WARMUP_STEPS):
                self.step_fn()
        torch.cuda.current_stream(self.device).wait_stream(side)
        self.opt.zero_grad(set_to_none=True)  # the graph's backward makes the gradients in its own memory pool
        graph = torch.cuda.CUDAGraph()
        graph.register_generator_state(self.gen)
        with torch.cuda.graph(graph):
            self.step_fn()
        with torch.no_grad():
            for t, v in zip(self._state(), saved):
                t.copy_(v)
            for p, st in self.opt.state.items():  # a fresh optimizer's state is zeros (AdamW's lazy initial state)
                for k, v in st.items():
                    v.copy_(opt_saved[p][k]) if p in opt_saved else v.zero_()
        self.gen.set_state(rng)
        self.graph = graph
        self.stream.wait_stream(torch.cuda.current_stream(self.device))

    def advance(self) -> None:
        """One step on this model's stream: the graph replayed, or ``step_fn`` run eagerly."""
        with self.on_stream():
            self.graph.replay() if self.graph is not None else self.step_fn()
        self.step += 1
        self.run_n += 1

    def on_stream(self):
        return torch.cuda.stream(self.stream) if self.stream is not None else nullcontext()

    def states(self) -> tuple:
        """The optimizer and LR scheduler states in the trainer's form, so that either trainer resumes the other."""
        cfg, step = self.cfg, self.step
        return (SimpleNamespace(state_dict=lambda: portable_optimizer_state(self.opt, cfg, step)),
                SimpleNamespace(state_dict=lambda: schedule_state(cfg, step)))

    def finish(self, t0: float, round_size: int) -> TrainedModel:
        return super().finish(t0, trainer="lockstep", round_size=round_size, cuda_graph=self.graph is not None)


def train_lockstep(jobs, *, root: str | Path = "data/checkpoints", device=None, cuda_graphs: bool = True,
                   progress: bool = True, stop_after: int | None = None, record: dict | None = None) -> list:
    """Train (or resume, or reuse) every job's model in one round; a TrainedModel per job; ``record``: the figures."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    results, members = {}, []
    shipped_root()  # a bad SPECTRAL_COLLAPSE_WEIGHTS refused before any checkpoint folder is made
    with ExitStack() as locks:
        for i, job in enumerate(jobs):
            check_objective(job.spec, job.cfg)
            full = full_config(job.spec, job.cfg, job.data)
            ckpt = checkpoint_dir(job.name, full, root)
            if reusable(ckpt):
                results[i] = load_trained(ckpt, job.spec)
                continue
            locks.enter_context(checkpoint_lock(ckpt, job.name))
            if adopt(ckpt):
                results[i] = load_trained(ckpt, job.spec)
                continue
            members.append((i, Member(job, full, ckpt, device, stop_after)))
        for _, m in members:
            if m.step == 0:
                m.evaluate()
        t_cap = time.time()
        if device.type == "cuda" and cuda_graphs:
            for _, m in members:
                m.capture()
        capture_s, t0 = time.time() - t_cap, time.time()
        bar = tqdm(total=sum(m.end - m.step for _, m in members), desc=f"train {len(members)} models in lockstep",
                   dynamic_ncols=True, disable=not (progress and members))
        active, steps = [m for _, m in members if m.step < m.end], 0
        while active:
            for m in active:
                m.advance()
            for m in active:
                m.after_step(t0)
            steps += len(active)
            bar.update(len(active))
            active = [m for m in active if m.step < m.end]
        bar.close()
        for _, m in members:
            if m.stream is not None:
                m.stream.synchronize()
        seconds = time.time() - t0
        for i, m in members:
            results[i] = shipped_result(m.finish(t0, len(members)), m.ckpt, m.job.spec)
    if record is not None:
        record.update(models=len(members), model_steps=steps, seconds=seconds, capture_s=capture_s,
                      model_steps_per_s=steps / seconds if seconds > 0 else None, device=device_name(device),
                      cuda_graphs=bool(device.type == "cuda" and cuda_graphs))
    return [results[i] for i in range(len(jobs))]
