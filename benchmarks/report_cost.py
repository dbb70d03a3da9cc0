"""The cost chapter's sentences about what each benchmark row runs and what its numbers measure: each row's work in
words, what the memory column measures on the run's device, how the calls per step move with the number of steps,
and how much of a row's time its network calls do not explain (re-exported by ``benchmarks.report``)."""
from __future__ import annotations

from spectral_collapse.pipeline.cost_pages import row_ref

from .report_clocks import clock_of, clock_word, device_name, method_row

__all__ = ["ROW_WORDS", "what_list", "memory_words", "calls_note", "beyond_calls_line", "outside_calls_words"]


def _vjp_default() -> str:
    """How the library's OVG takes its two vector-Jacobian products by default, in words."""
    from spectral_collapse.inversion import OVG

    return "in one batched backward call" if OVG().vjp == "batched" else "in two backward calls"


def _renoise_words(label: str) -> str:
    from .inversion import build_case

    m = build_case(label)[0]
    reg = (f"noise regularisation ({_regularisation_words(m)}) against one more forward at a noised copy of the "
           "input" if m.regularization_steps > 0 else "no noise regularisation")
    if m.first_step_renoise_steps >= m.renoise_steps:
        runs = f"R = {m.renoise_steps} on every step"
    else:
        runs = (f"R = {m.renoise_steps} re-evaluations per step ({m.first_step_renoise_steps} on the steps that end "
                f"below training time {m.first_step_max_t:g})")
    avg = ", the estimates averaged" if m.average else ""
    return runs + avg + ", " + reg


def _regularisation_words(method) -> str:
    """ReNoise's noise regularisation per regularised estimate, read from the method's settings: "4 rounds, each one
    KL and 5 autocorrelation gradient steps"."""
    return (f"{method.regularization_steps} rounds, each one KL and {method.ac_rolls} autocorrelation gradient steps "
            "on the estimate")


# what each benchmark row runs, in words (``inversion.LABELS`` holds the benchmark's own notes; ``w``: its guidance
# scale, filled in from the row)
ROW_WORDS = {
    "ddim": lambda: "an Euler step with the source time label (the reference)",
    "edm": lambda: "an Euler step of the EDM-preconditioned model (same backbone)",
    "heun": lambda: "two network calls per step, one on the step that starts at σ = 0",
    "taba": lambda: ("its first K = round(0.04 N) of N steps, at least one, replaced by one forward-diffusion jump "
                     "with no network call"),
    "ovg": lambda: ("DDIM plus the OVG drift as the library computes it by default: one forward shared with the base "
                    f"step, both vector-Jacobian products (VJPs) taken from it {_vjp_default()}"),
    "ovg_batched": lambda: "DDIM plus OVG, both VJPs in one batched backward call",
    "ovg_separate": lambda: "DDIM plus OVG, the two VJPs in two backward calls through the shared graph",
    "ovg_naive": lambda: ("an extra forward with graph, gradients for the network's weights switched on, two "
                          "backward calls"),
    "null_class": lambda: ("a DDIM inversion gives the trajectory to follow, then up to 10 Adam steps per step tune the "
                           "null label's embedding so that guided sampling follows it"),
    "direct_inversion": lambda: ("a DDIM inversion gives the trajectory to follow, then one guided forward per step "
                                 "gives the offsets that bring guided sampling back onto it"),
    "renoise": lambda: "as in the translation studies: " + _renoise_words("renoise"),
    "renoise_r9": lambda: "the authors' published settings: " + _renoise_words("renoise_r9"),
    "edict": lambda: "exact: two forwards per step on the coupled pair of latents",
    "bdia": lambda: "exact: one forward per step on the pair of the current and the previous latent",
}


def what_list(res: dict) -> str:
    """Markdown bullets: what each row of the cost table runs, in words (``ROW_WORDS``; a row without words: the
    note recorded with the run), and its guidance scale where it is not 1."""
    inv = res["benchmarks"]["inversion"]
    out = []
    for r in inv["rows"]:
        words = ROW_WORDS.get(r["label"])
        note = words() if words else r.get("note", "")
        w = r.get("cfg_scale", 1)
        out.append(f"- {row_ref(r['label'])}: " + (f"at guidance scale w = {w:g}: " if w != 1 else "") + note)
    return "\n".join(out)


def memory_words(res: dict) -> str:
    """What the memory column of a run measures, on its device and batch: on a CPU the operating system's resident
    high-water mark above the resident set before the call, one fresh process per method; on a GPU the peak of the
    memory PyTorch's allocator hands out (``torch.cuda.max_memory_allocated``) above what was allocated before the
    call. Both for one whole inversion of the run's batch."""
    inv = res["benchmarks"]["inversion"]
    on_gpu = str((res.get("machine") or {}).get("device", "cpu")).startswith("cuda") or inv.get("clock") == "ratio_wall"
    call = f"one whole inversion of the batch of {inv['batch']} at {inv['steps']} steps"
    if on_gpu:
        return (f"Memory on this run is GPU memory: the peak of the memory PyTorch's allocator had handed out "
                f"(`torch.cuda.max_memory_allocated`) during {call}, run once before to warm up, above what was "
                "allocated before the call (model, inputs); memory the allocator keeps cached but has not handed "
                "out is not counted.")
    return (f"Memory: the peak resident memory (the operating system's high-water mark) during {call}, above what "
            "the process held before the call (model, inputs, libraries), each method in a fresh process.")


def calls_note(inv: dict, studies_steps: int, moved: list[str], first: list[tuple[str, int, int]]) -> str:
    """Why the calls per step at the benchmark's few steps differ from those at the studies' number: ``moved`` the
    rows whose count moves ("row: a at n steps, b at N"), ``first`` the ReNoise rows with the number of steps that
    run the first-step R at the benchmark's and the studies' steps. Every symbol is defined where it first appears."""
    n = inv["steps"]
    return (f"Calls per step at {n} steps are not those at the studies' {studies_steps}: " + "; ".join(moved)
            + ". The counts follow from each method's definition, over N inversion steps: Heun makes two calls a "
            "step except on the step that starts at σ = 0, where its correction is skipped ((2N − 1)/N calls per "
            "step); TABA replaces its first K = round(0.04 N) steps, at least one, by a forward-diffusion jump with "
            "no call ((N − K)/N calls per step); ReNoise with the authors' settings makes fewer re-evaluations on the "
            "steps that end below training time 250"
            + "".join(f"; for {row_ref(lab)} those are {a} of the benchmark's {n} steps and {b} of the studies' "
                      f"{studies_steps}" for lab, a, b in first)
            + ". The times and memory are those of the benchmark's run.")


def outside_calls_words(label: str) -> str:
    """The work a row's step does besides its network calls, read from the method's code and settings; '' for a
    row whose step does nothing else worth naming."""
    if label in ("renoise", "renoise_r9"):
        from .inversion import build_case

        m = build_case(label)[0]
        if m.regularization_steps > 0:
            return (f"besides its network calls a ReNoise step runs its noise regularisation, {m.regularization_steps} "
                    f"rounds of one KL and {m.ac_rolls} autocorrelation gradient steps on every regularised estimate, "
                    "each a small autograd computation, plus a few tensor updates and the draw of its reference's "
                    "noise")
    return ""


def _per_call(inv: dict, clock: str) -> tuple[float, str]:
    """A network call's cost in DDIM steps on a run, and how it was found: from the two ReNoise rows (the more calls
    of the authors' setting over the same step work) where both were timed, else a DDIM step (one call)."""
    a, b = method_row(inv, "renoise"), method_row(inv, "renoise_r9")
    if a is not None and b is not None and b["calls_per_step"] > a["calls_per_step"]:
        dc = b["calls_per_step"] - a["calls_per_step"]
        dt = b[clock]["median"] - a[clock]["median"]
        if dt > 0:
            return dt / dc, (f"the {dc:.2f} more calls per step of {row_ref('renoise_r9')} than "
                             f"{row_ref('renoise')} add {dt:.2f}×, "
                             f"{dt / dc:.2f}× each")
    return 1.0, "a DDIM step is one call"


def beyond_calls_line(res: dict, other: dict | None = None, factor: float = 2.0) -> str:
    """One sentence on the first row without backward passes whose time per step is more than ``factor`` times its
    network calls per step (a DDIM step is one call): a call's cost on this device (``_per_call``), how much of the
    row's ratio its calls take at that cost, the time left outside the calls, and that remainder on ``other`` (a run
    on another device). The record times no part of a step on its own, so the remainder is stated, not attributed;
    what the step does besides its calls is named from the method's code. '' when no row is so far above its
    calls."""
    inv = res["benchmarks"]["inversion"]
    clock = clock_of(res)
    far = [r for r in inv["rows"] if not r.get("backward_per_step") and r.get("cfg_scale", 1) == 1
           and r["label"] != "ddim" and (r.get(clock) or {}).get("median", 0) > factor * r["calls_per_step"]]
    if not far:
        return ""
    r = far[0]
    t, c = r[clock]["median"], r["calls_per_step"]
    per, how = _per_call(inv, clock)
    text = (f"On {device_name(res)} a network call costs about {per:.2f}× a DDIM step ({how}). Of "
            f"{row_ref(r['label'])}'s {t:.2f}× in {clock_word(clock)}, its {c:.2f} calls per step take about "
            f"{c * per:.2f}×; the other {t - c * per:.2f}× is time spent outside the network calls")
    oinv = ((other or {}).get("benchmarks") or {}).get("inversion") or {}
    o = method_row(oinv, r["label"])
    if o is not None:
        oc = clock_of(other)
        oper = _per_call(oinv, oc)[0]
        text += (f" (on {device_name(other)}: {o[oc]['median'] - o['calls_per_step'] * oper:.2f}× of "
                 f"{o[oc]['median']:.2f}×)")
    why = outside_calls_words(r["label"])
    return (text + ". The benchmark does not time the parts of a step separately, so it cannot say which work that "
            "is" + (f"; {why}" if why else "") + ".")
