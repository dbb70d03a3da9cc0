"""The cost chapter as a reader reads it: a time ratio far above its network calls is split into the calls' share and
the rest, with the record's limits stated; the memory column says what it measures on each device and batch; every
symbol of a count is defined where it first appears; ReNoise's two settings read as one plain sentence; rows are
described in words, not code; percentages carry a space before the sign."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the benchmarks package sits beside src/

from benchmarks import inversion, report  # noqa: E402
from spectral_collapse.pipeline import cost_pages  # noqa: E402

SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
CODE = re.compile(r"\w\(\)|\.py\b|`|\b[A-Z][a-z]+[A-Z]\w*Config\b|is_grads_batched")
GLUED_PERCENT = re.compile(r"\d%")


def _st(m):
    return {"median": m, "q25": m - 0.05, "q75": m + 0.05, "n": 3}


def _run(device: str, ratios: dict[str, float], calls: dict[str, float] | None = None) -> dict:
    calls = {"renoise": 3.0, "renoise_r9": 9.0, "heun": 2.0, **(calls or {})}
    clock = "ratio_wall" if device == "cuda" else "ratio_cpu"
    rows = [{"label": lab, "calls_per_step": calls.get(lab, 1.0), "nfe_per_step": calls.get(lab, 1.0),
             "backward_per_step": 2.0 if lab.startswith("ovg") else 0.0, "cfg_scale": 1,
             clock: _st(ratios.get(lab, calls.get(lab, 1.0))), "mem_ratio": 1.0, "peak_mb": 10.0}
            for lab in inversion.LABELS]
    machine = {"device": device, "gpu": "Test GPU", "cpu": "Test CPU", "torch_threads": 1}
    return {"date": "2026-01-02T00:00:00", "machine": machine,
            "benchmarks": {"inversion": {"rows": rows, "steps": 3, "batch": 6, "repeats": 3, "profile": "quick",
                                         "clock": clock}}}


def test_a_ratio_far_above_its_calls_is_split_into_the_calls_and_the_rest():
    # GPU: R = 1 at 3 calls reads 14x; R = 9 at 9 calls reads 20x, so a call costs (20 - 14) / 6 = 1 DDIM step
    gpu = _run("cuda", {"renoise": 14.0, "renoise_r9": 20.0})
    cpu = _run("cpu", {"renoise": 4.5, "renoise_r9": 10.5})
    line = report.beyond_calls_line(gpu, cpu)
    per, rest = (20.0 - 14.0) / 6.0, 14.0 - 3.0 * (20.0 - 14.0) / 6.0
    assert f"{per:.2f}× a DDIM step" in line and f"other {rest:.2f}×" in line
    assert f"on {report.device_name(cpu)}: {4.5 - 3.0:.2f}× of 4.50×" in line     # the other device's remainder
    assert report.device_name(gpu) in line and "cannot say which work" in line     # stated, not attributed
    assert "noise regularisation" in line                                           # named from the code
    assert line.count(". ") == 2                                # three short sentences: call cost, split, caveat
    assert report.beyond_calls_line(_run("cuda", {})) == ""                        # times that follow the calls
    nb = json.loads((ROOT / "notebooks" / "cost.ipynb").read_text())
    code = " ".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "beyond_calls_line(gres" in code


def test_the_memory_column_says_what_it_measures_on_each_device_and_batch():
    gpu, cpu = _run("cuda", {}), _run("cpu", {})
    g, c = report.memory_words(gpu), report.memory_words(cpu)
    assert "GPU memory" in g and "max_memory_allocated" in g and "batch of 6" in g and "3 steps" in g
    assert "GPU" not in c and "resident" in c and "batch of 6" in c
    assert not CODE.search(c) and ".py" not in g
    nb = json.loads((ROOT / "notebooks" / "cost.ipynb").read_text())
    code = " ".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "memory_method" not in code and "memory_words(gres)" in code and "memory_words(res)" in code


def _undefined_symbols(text: str) -> list[str]:
    """Single capital letters used as symbols whose first use neither defines them ("K = ...") nor names what they
    count ("over N steps", "N inversion steps", "of N steps")."""
    bad = []
    for sym in sorted(set(re.findall(r"(?<![\w.])([A-Z])(?![\w.])", text)) - {"A"}):
        first = re.search(rf"(?<![\w.]){sym}(?![\w.])", text)
        around = text[max(0, first.start() - 6):first.end() + 20]
        if not re.search(rf"(over|of) {sym} (inversion )?steps|{sym} = |{sym} inversion steps", around):
            bad.append(sym)
    return bad


def test_every_symbol_of_a_count_is_defined_where_it_first_appears():
    inv = _run("cpu", {})["benchmarks"]["inversion"]
    note = report.calls_note(inv, 50, ["TABA: 0.67 at 3 steps, 0.96 at 50"], [("renoise_r9", 1, 13)])
    assert "(N − K)/N" in note and not _undefined_symbols(note.replace("σ = 0", "")), _undefined_symbols(note)
    taba = next(x for x in report.what_list(_run("cpu", {})).splitlines() if x.startswith("- TABA"))
    assert not _undefined_symbols(taba), taba
    nb = json.loads((ROOT / "notebooks" / "cost.ipynb").read_text())
    code = " ".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "(N − K)/N" not in code and "calls_note(" in code


@pytest.mark.parametrize("labels", [("renoise", "renoise_r9"), ("renoise_r9",), ("renoise",)])
def test_renoise_settings_read_as_one_plain_sentence(labels):
    s = cost_pages.variants_sentence(labels)
    assert not re.search(r"steps? R\b", s), s                 # "renoising step R" reads garbled
    for lab in labels:
        r = 1 if lab == "renoise" else 9
        assert f"(R = {r}" in s and cost_pages.bench_name(lab) in s


def test_rows_are_described_in_words_and_percentages_carry_a_space():
    res = _run("cpu", {"ovg": 3.0, "ovg_naive": 4.0})
    words = report.what_list(res)
    assert not SNAKE.findall(words) and not CODE.search(words), (SNAKE.findall(words), CODE.findall(words))
    texts = [report.naive_line(res), cost_pages.cost_fragment("ddim", res), cost_pages.cost_fragment("ovg", res),
             report.beyond_calls_line(_run("cuda", {"renoise": 14.0, "renoise_r9": 20.0}))]
    assert "25 %" in texts[0]
    assert not [t for t in texts if GLUED_PERCENT.search(t)]
    assert cost_pages.percent(0.213) == "21 %" and cost_pages.percent(0.0525, 1) == "5.2 %"


@pytest.mark.parametrize("chapter", ["cost", "benchmarks"])
def test_the_executed_chapters_print_percentages_the_book_way(chapter):
    path = ROOT / "book" / "studies" / f"{chapter}-ihc-sr.ipynb"
    if not path.exists():
        pytest.skip(f"{chapter} chapter not executed")
    nb = json.loads(path.read_text())
    md = "\n".join("".join(o.get("data", {}).get("text/markdown", "")) for c in nb["cells"]
                   for o in c.get("outputs", []))
    assert md and not GLUED_PERCENT.findall(md)
    assert "renoising step R " not in md and "memory_method" not in md
