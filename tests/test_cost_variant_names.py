"""What a reader reads on the benchmark, cost and reproducing pages: every benchmark row by its reader name (never a
variant's key), one form of a median with its quartiles (an en dash, the word "quartiles" or a header saying so), a
saving stated against its base and its device, and the paper's training recipe written in words with ×."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the benchmarks package sits beside src/

from benchmarks import inversion, report, report_runs  # noqa: E402
from spectral_collapse.pipeline import cost_pages  # noqa: E402
from spectral_collapse.report import reproducing as rp  # noqa: E402

SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")     # a key as code writes it: "ovg_naive", "renoise_r9"
VARIANTS = ("heun", "ovg_batched", "ovg_separate", "ovg_naive", "renoise", "renoise_r9")


def _stat(m, lo=None, hi=None, n=3):
    return {"median": m, "q25": m - 0.1 if lo is None else lo, "q75": m + 0.1 if hi is None else hi, "n": n}


def _results() -> dict:
    rows = [{"label": lab, "calls_per_step": 1.0, "nfe_per_step": 1.0, "backward_per_step": 0.0,
             "ratio_cpu": _stat(1.0 + i / 10), "mem_ratio": 1.0, "peak_mb": 20.0, "cfg_scale": 1}
            for i, lab in enumerate(inversion.LABELS)]
    by = {r["label"]: r for r in rows}
    by["ovg"]["ratio_cpu"], by["ovg_naive"]["ratio_cpu"] = _stat(3.0), _stat(4.0)
    return {"date": "2026-01-02T00:00:00", "machine": {"cpu": "Test CPU", "torch_threads": 1, "device": "cpu"},
            "benchmarks": {"inversion": {"rows": rows, "steps": 3, "repeats": 3, "batch": 8, "profile": "quick",
                                         "parameters": 1_110_000,
                                         "translation": {"ovg": {"ratio_cpu": _stat(2.0)},
                                                         "ovg_naive": {"ratio_cpu": _stat(2.5)}}}}}


def test_benchmark_rows_are_named_for_the_reader_never_by_their_keys():
    res = _results()
    table = report.cost_table(res)
    assert not [k for k in table.index if SNAKE.search(k) or k in VARIANTS], list(table.index)
    assert len(set(table.index)) == len(table.index)                 # every row its own name
    prose = report.what_list(res) + report.memory_resolution_line(res) + report.reference_line(res)
    assert not SNAKE.findall(prose.replace("is_grads_batched", "")), SNAKE.findall(prose)
    assert "`" not in report.memory_resolution_line(res) + report.reference_line(res)
    sentence = report.variants_sentence(r["label"] for r in res["benchmarks"]["inversion"]["rows"])
    for lab in VARIANTS:      # one sentence says what each variant is, by the name its row shows
        assert report.bench_name(lab) in sentence, lab
    assert not SNAKE.findall(sentence)
    for method in ("edm", "ovg", "renoise"):   # a method page's cost paragraph names its variants in words
        text = cost_pages.cost_fragment(method, res)
        assert not SNAKE.findall(text.replace("{doc}`cost chapter </studies/cost-ihc-sr>`", "")
                                 .replace("{doc}`benchmarks chapter </studies/benchmarks-ihc-sr>`", "")), text
    assert report.FLOOR_NAMES and not any(SNAKE.search(v) for v in report.FLOOR_NAMES.values())


def test_a_median_and_its_quartiles_read_one_way_everywhere():
    st = _stat(3.37, 3.34, 3.39)
    prose = report.fmt_ratio(st, unit="×")
    assert prose == "3.37× (quartiles 3.34–3.39)"
    assert "[" not in report.fmt_ratio(st) and report.fmt_ratio({"median": 2.0, "n": 1}) == "2.00"
    cell = report.fmt_iqr(st).replace("\u00a0", " ").replace("\u2060", "")
    assert cell == "3.37 (3.34–3.39)"
    table = report.cost_table(_results())           # a table cell's quartiles: the header says so
    assert any(c.endswith(report.QUARTILES) for c in table.columns)
    t = pd.DataFrame({"goal": ["<= 3"], "measured": [3.37], "quartiles": ["3.34–3.39"], "verdict": ["met"],
                      "row": ["r"]}, index=["target"])
    shown, _ = report_runs.targets_display(t)
    assert "quartiles" in shown.columns[1] and "3.34–3.39" in shown.iloc[0, 1].replace("\u2060", "")
    frag = cost_pages.cost_fragment("ovg", _results())
    assert "(quartiles 2.90–3.10)" in frag and not re.search(r"\d-\d", frag)
    res = _results()
    rows = report_runs._Rows()
    rows.add("x", "<= 3", st)
    assert rows[0][3] == "3.34–3.39"


def test_the_saving_of_sharing_the_forward_names_its_base_and_device():
    res = _results()
    line = report.naive_line(res)
    assert "25 % cheaper than the released code's step" in line      # 1 - 3.0 / 4.0, against the released code's step
    assert report.device_name(res) in line and "CPU time" in line
    assert "4.00× a DDIM step against 3.00×" in line and "saves" not in line
    assert "20 % cheaper" in line                                     # whole translations: 1 - 2.0 / 2.5


def test_the_paper_recipe_and_counts_are_written_in_words_with_times_signs():
    timing = {"forward": {"cpu_s_per_image": 0.5}, "forward_backward": {"cpu_s_per_image": 1.5},
              "forward_flops": 2e11}
    work = list(rp.paper_scale_estimate(timing)["work"])
    from spectral_collapse.studies.profiles import get_profile

    cfg = get_profile("paper").train_eps
    assert f"each {cfg.steps:,} steps of batch {cfg.batch_size}" in work[0]
    assert not any(re.search(r"\d x \d|\bx\b", w) for w in work) and "×" in work[1]
    assert " x " not in rp.profile_text("quick") and "×" in rp.profile_text("quick")
    book = (Path(__file__).resolve().parents[1] / "book" / "reproducing.md").read_text()
    assert not re.search(r"\b\d+k steps\b|\d-\d", book.split("```bash")[0])


def test_study_keys_and_devices_are_named_in_words():
    assert report_runs.study_words("pareto/ihc-sr") == "OVG step sizes, ihc-sr"
    assert not SNAKE.search(report_runs.study_words("main_results/ihc-edges"))
    assert report_runs.study_words("not_a_study/x") == "not_a_study/x"
    assert report_runs.device_words("cuda: NVIDIA H100") == "GPU: NVIDIA H100"
    assert report_runs.device_words("cpu: AMD EPYC, 1 thread") == "CPU: AMD EPYC, 1 thread"
    table = report_runs.smoke_table({"studies_s": {"main_results/ihc-sr": 3.0, "eps_vs_x0/ihc-sr": 5.0}})
    assert not [k for k in table.index if SNAKE.search(k)]
