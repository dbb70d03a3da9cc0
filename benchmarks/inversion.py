"""Inversion cost of every registered method and of OVG, relative to DDIM inversion on the same model and batch.

Per method: network calls, batch elements and backward calls per step, time per step and peak extra memory as ratios
to DDIM's. OVG computed as the released code does is timed beside the library's. Weights are random (seeded): cost
does not depend on them, except Null-Class's early stop (it runs all 10 steps).
"""
from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, replace
from functools import partial

import torch

from spectral_collapse.inversion import OVG, Euler, Heun, get_method, invert, translate
from spectral_collapse.inversion.loop import default_sigmas
from spectral_collapse.inversion.methods.renoise import ReNoise
from spectral_collapse.inversion.methods.ddim import TABA
from spectral_collapse.framework.profiles import get_profile
from spectral_collapse.framework.method_labels import BASELINE_PARAMS

from .common import count_calls, device, measure_peaks, paired

# the rows of the cost table, in order; build_case says what each runs
LABELS = ("ddim", "edm", "heun", "taba", "ovg", "ovg_batched", "ovg_separate", "ovg_naive", "null_class",
          "direct_inversion", "renoise", "renoise_r9", "edict", "bdia")
GUIDED_SCALE = 7.5  # Null-Class and DirectInversion are defined with classifier-free guidance (authors: 7.5)
SCHEDULE_STEPS = 15   # steps of the schedule timing: enough for a third of them to be a schedule of its own
FLOOR_VARIANTS = ("standard_layout", "input_grad_conv")   # floor_variant says what each changes


@dataclass(frozen=True)
class NoGradStep:
    """Wraps a method so that its step runs without autograd (naive OVG: the base step's forward has no graph)."""

    base: object

    def step(self, D, x, sigma, sigma_next, ctx):
        with torch.no_grad():
            return self.base.step(D, x, sigma, sigma_next, ctx)


@dataclass(frozen=True)
class NaiveOVG(OVG):
    """OVG as the released code computes it: its own forward with graph, 2 backward calls (weights' gradients on)."""

    vjp: str = "separate"

    def drift(self, D, x, x_base, sigma, sigma_next, ctx):
        D.requires_grad_(True)
        with torch.enable_grad():
            x_in = x.detach().requires_grad_(True)
            pred = D(x_in, sigma, ctx.label)
            ctx.nfe += 1
            ctx.first = (x_in, sigma, pred)
            return super().drift(D, x_in, x_base, sigma, sigma_next, ctx)


def make_model(profile: str, parameterization: str = "eps", size: int | None = None, seed: int = 0):
    """The profile's backbone with random weights (seeded), as a denoiser in eval mode; ``size`` overrides H = W."""
    spec = get_profile(profile).model_spec(parameterization)
    if size is not None:
        spec = replace(spec, backbone=replace(spec.backbone, sample_size=size))
    torch.manual_seed(seed)
    return spec.build().eval().to(device())


def build_case(label: str) -> tuple[object, object | None, float, str]:
    """(method, guidance, cfg_scale, parameterization) of a benchmark label (baselines as the studies set them,
    renoise_r9 with the authors' R = 9, ovg_naive as the released code)."""
    if label not in LABELS:
        raise ValueError(f"unknown benchmark label {label!r}; valid: {', '.join(LABELS)}")
    table = {
        "ddim": (Euler(), None, 1.0, "eps"),
        "edm": (Euler(), None, 1.0, "edm"),
        "heun": (Heun(), None, 1.0, "eps"),
        "ovg": (Euler(), OVG(), 1.0, "eps"),
        "ovg_batched": (Euler(), OVG(vjp="batched"), 1.0, "eps"),
        "ovg_separate": (Euler(), OVG(vjp="separate"), 1.0, "eps"),
        "ovg_naive": (NoGradStep(Euler()), NaiveOVG(), 1.0, "eps"),
        "null_class": (get_method("null_class"), None, GUIDED_SCALE, "eps"),
        "direct_inversion": (get_method("direct_inversion"), None, GUIDED_SCALE, "eps"),
        "renoise_r9": (get_method("renoise"), None, 1.0, "eps"),
    }
    return table.get(label) or (get_method(label, **BASELINE_PARAMS.get(label, {})), None, 1.0, "eps")


def calls_per_step_at(label: str, steps: int, profile: str = "quick") -> float | None:
    """Network calls per inversion step of a label at ``steps`` steps, from the method's definition (Heun (2N - 1) / N,
    TABA (N - K) / N, ReNoise R + 1 plus its regularisation's); None when the count does not depend on the number of
    steps."""
    method, _, _, par = build_case(label)
    if isinstance(method, Heun):
        return (2 * steps - 1) / steps
    if isinstance(method, TABA):
        return (steps - method.jump_steps(steps)) / steps
    if isinstance(method, ReNoise) and method.first_step_renoise_steps < method.renoise_steps:
        D = make_model(profile, par)
        levels = sorted(float(v) for v in default_sigmas(D, steps))
        top, ref = method.first_step_sigma(D), int(method.regularization_steps > 0)
        return sum((method.first_step_renoise_steps if nxt < top else method.renoise_steps) + 1 + ref
                   for nxt in levels[1:]) / steps
    return None


def bench_inputs(profile: str, batch: int, size: int | None = None, seed: int = 1) -> torch.Tensor:
    """``batch`` uniform images in [-1, 1] of the profile's channels and size (or ``size``), seeded."""
    p = get_profile(profile)
    s = size or p.image_size
    g = torch.Generator().manual_seed(seed)
    return (torch.rand((batch, p.backbone.in_channels, s, s), generator=g) * 2 - 1).to(device())


def _runner(D, x, label: str, steps: int):
    method, guidance, w, _ = build_case(label)
    return partial(invert, D, x, default_sigmas(D, steps), method, guidance=guidance, cfg_scale=w)


def translations(D, x, steps: int, cases: dict, repeats: int) -> dict:
    """Whole translations of each case {label: (method, guidance)} as ratios to paired DDIM translations."""
    base = lambda: translate(D, x, Euler(), steps=steps)
    return {label: paired(base, lambda m=method, g=g: translate(D, x, m, guidance=g, steps=steps), repeats).summary()
            for label, (method, g) in cases.items()}


def schedule_translations(D, x, repeats: int) -> dict:
    """Full OVG and OVG under the stored quick ``ovg_schedule`` study's best schedule (else "high"), SCHEDULE_STEPS."""
    from spectral_collapse.studies.ovg_schedule import schedule_set
    from spectral_collapse.framework.store import load_results, results_path

    path = results_path("ovg_schedule", "ihc-sr", "quick")
    best = load_results(path).attrs.get("best_schedule") if path.exists() else None
    name = str(best) if best and best not in ("ddim", "ovg", "none", "None") else "high"
    sig = default_sigmas(D, SCHEDULE_STEPS)
    sched = schedule_set([name], sig.cpu().numpy())[name]
    return {"steps": SCHEDULE_STEPS, "schedule": name,
            "guided_steps": len(sched.guided_steps(sorted(float(v) for v in sig))),
            **translations(D, x, SCHEDULE_STEPS, {"ovg": (Euler(), OVG()),
                                                  f"ovg_{name}": (Euler(), OVG(schedule=sched))}, repeats)}


def floor_runner(D, x, steps: int):
    """The least work of ``steps`` OVG steps: one forward with graph and the two VJPs w.r.t. x, no step logic."""
    lab = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)

    def run():
        for _ in range(steps):
            with torch.enable_grad():
                xi = x.detach().requires_grad_(True)
                pred = D(xi, 1.0, lab)
                torch.autograd.grad(pred.eps, xi, grad_outputs=torch.ones_like(pred.eps), retain_graph=True)
                torch.autograd.grad(pred.x0, xi, grad_outputs=torch.ones_like(pred.x0))
    return run


class _ConvInputGrad(torch.autograd.Function):
    """A stride-1 'same' convolution whose input gradient is a convolution with the flipped, transposed kernel (no
    weight gradient)."""

    @staticmethod
    def forward(ctx, x, w, b, pad):
        ctx.save_for_backward(w)
        ctx.pad = pad
        return torch.nn.functional.conv2d(x, w, b, padding=pad)

    @staticmethod
    def backward(ctx, g):
        (w,) = ctx.saved_tensors
        return torch.nn.functional.conv2d(g, w.flip(2, 3).transpose(0, 1), padding=ctx.pad), None, None, None


class InputGradConv2d(torch.nn.Conv2d):
    """Conv2d using ``_ConvInputGrad`` when only the input needs a gradient (frozen weights, stride 1, same size)."""

    def forward(self, x):
        k = self.kernel_size
        if (torch.is_grad_enabled() and x.requires_grad and not self.weight.requires_grad and self.stride == (1, 1)
                and self.dilation == (1, 1) and self.groups == 1 and self.padding_mode == "zeros"
                and not isinstance(self.padding, str) and tuple(2 * q + 1 for q in self.padding) == tuple(k)):
            return _ConvInputGrad.apply(x, self.weight, self.bias, self.padding)
        return super().forward(x)


def floor_variant(D, x, variant: str):
    """A copy of (D, x) with frozen weights for one of FLOOR_VARIANTS: contiguous batches instead of ``call_net``'s
    channels-last ("standard_layout"), or ``InputGradConv2d`` convolutions ("input_grad_conv")."""
    if variant not in FLOOR_VARIANTS:
        raise ValueError(f"unknown floor variant {variant!r}; valid: {', '.join(FLOOR_VARIANTS)}")
    D2 = copy.deepcopy(D).requires_grad_(False)  # inference: frozen weights, as the library's trained models
    if variant == "standard_layout":
        D2.net.input_memory_format = torch.contiguous_format
        return D2, x.contiguous()
    for m in D2.modules():
        if type(m) is torch.nn.Conv2d:
            m.__class__ = InputGradConv2d
    return D2, x


def _gpu_peak_mb(fn) -> float:
    """Peak CUDA memory (MiB) allocated by one call of ``fn`` above what was allocated before it."""
    fn()  # warm (kernels, workspaces)
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - before) / 2**20


def memory_case(case: dict):
    """Memory-helper runner: build the case's model and input, warm up, return the measured call."""
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    D = make_model(case["profile"], build_case(case["label"])[3])
    x = bench_inputs(case["profile"], case["batch"])
    with torch.no_grad():  # initialise the kernels outside the measured call
        D(x, 1.0, torch.zeros(x.shape[0], dtype=torch.long))
    return _runner(D, x, case["label"], case["steps"])


def run_inversion(profile: str = "quick", batch: int = 8, steps: int = 3, repeats: int = 3) -> dict:
    """Cost per inversion step of every label relative to DDIM, and OVG vs DDIM whole translations."""
    on_gpu = device() != "cpu"
    clock = "ratio_wall" if on_gpu else "ratio_cpu"  # a GPU's work is its synchronised wall time, not host CPU time
    models = {par: make_model(profile, par) for par in ("eps", "edm")}
    x = bench_inputs(profile, batch)
    D = models["eps"]
    base = _runner(D, x, "ddim", steps)
    base()
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label in LABELS:
            _, _, w, par = build_case(label)
            fn = _runner(models[par], x, label, steps)
            with count_calls(models[par].net) as cnt:
                fn()  # counted warm-up run
            summ = paired(base, fn, repeats, warmup=0).summary(per=steps)
            rows.append({"label": label, "cfg_scale": w, "calls_per_step": cnt.calls / steps,
                         "nfe_per_step": cnt.elements / batch / steps, "backward_per_step": cnt.backward / steps,
                         **summ})
        trans = translations(D, x, steps, {k: build_case(k)[:2] for k in ("ovg", "ovg_naive")}, repeats)
        sched = schedule_translations(D, x, repeats)
        vjp = paired(_runner(D, x, "ovg_separate", steps), _runner(D, x, "ovg_batched", steps), repeats, 0).summary()
        floor = paired(base, floor_runner(D, x, steps), repeats, warmup=1).summary(per=steps)
        variants = {}   # can the floor be lowered on this CPU? against its own and against the default DDIM step
        for name in () if on_gpu else FLOOR_VARIANTS:
            Dv, xv = floor_variant(D, x, name)
            pairs = {"floor_over_own_ddim": (_runner(Dv, xv, "ddim", steps), floor_runner(Dv, xv, steps)),
                     "floor_over_default_ddim": (base, floor_runner(Dv, xv, steps)),
                     "ddim_over_default_ddim": (base, _runner(Dv, xv, "ddim", steps))}
            variants[name] = {k: paired(a, b, repeats).summary()[clock]["median"] for k, (a, b) in pairs.items()}
    if on_gpu:
        peaks = {lab: {"peak_mb": _gpu_peak_mb(_runner(models[build_case(lab)[3]], x, lab, steps))} for lab in LABELS}
    else:
        cases = [{"label": lab, "profile": profile, "batch": batch, "steps": steps} for lab in LABELS]
        peaks = {c["label"]: c for c in measure_peaks("benchmarks.inversion:memory_case", cases)}
    base_peak = peaks["ddim"]["peak_mb"]
    for r in rows:
        pk = peaks[r["label"]]
        r.update(peak_mb=pk["peak_mb"], mem_ratio=pk["peak_mb"] / base_peak if base_peak > 0 else float("nan"),
                 **({"memory_error": pk["error"]} if "error" in pk else {}))
    faster = "batched" if vjp[clock]["median"] < 1 else "separate"
    ovg_step = rows[LABELS.index("ovg")][clock]["median"]
    ovg_tr = trans["ovg"][clock]["median"]
    return {
        "profile": profile, "batch": batch, "steps": steps, "repeats": repeats, "baseline": "ddim",
        "image_shape": list(x.shape[1:]), "parameters": sum(p.numel() for p in D.parameters()),
        "rows": rows, "translation": trans, "schedule_translation": sched, "floor": floor, "floor_variants": variants,
        "vjp": {"batched_over_separate": vjp["ratio_cpu"], "batched_over_separate_wall": vjp["ratio_wall"],
                "faster": faster, "default": OVG().vjp, "default_is_faster": OVG().vjp == faster},
        "device": device(), "clock": clock,
        "targets": {"ovg_step_max": 3.0, "ovg_step": ovg_step, "ovg_step_met": bool(ovg_step <= 3.0),
                    "floor": floor[clock]["median"], "ovg_over_floor": ovg_step / floor[clock]["median"],
                    "ovg_translation_max": 2.0, "ovg_translation": ovg_tr, "ovg_translation_met": bool(ovg_tr <= 2.0)},
    }
